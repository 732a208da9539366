/** Loads every YAML document under deploy/ for the manifest tests. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const deployDir = path.resolve(process.cwd(), 'deploy');

export interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  // The manifests are data; tests navigate them structurally.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(name) ? [full] : [];
  });
}

export function loadManifests(): Manifest[] {
  return yamlFiles(deployDir)
    .filter((f) => path.basename(f) !== 'kustomization.yaml')
    .flatMap((file) =>
      parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
        return { ...(doc.toJS() as Manifest), file: path.relative(deployDir, file) };
      }),
    )
    .filter((m) => m.kind !== undefined);
}

export function podSpec(m: Manifest): { containers: Container[]; volumes?: Volume[] } & Record<string, unknown> {
  return m.spec.template.spec;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts?: { name: string; mountPath: string; mountPropagation?: string }[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
}
export interface Volume {
  name: string;
  hostPath?: { path: string };
  secret?: { secretName: string };
  emptyDir?: object;
}

export function envOf(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

/** Resolves $(VAR) references in a container argument the way the kubelet does. */
export function expandArg(c: Container, arg: string): string {
  return arg.replace(/\$\(([A-Z0-9_]+)\)/g, (_, v: string) => envOf(c, v) ?? `$(${v})`);
}

export function flagValue(c: Container, flag: string): string | undefined {
  const arg = c.args?.find((a) => a.startsWith(`${flag}=`));
  return arg === undefined ? undefined : expandArg(c, arg.slice(flag.length + 1));
}
