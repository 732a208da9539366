import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { deployDir, envOf, flagValue, loadManifests, podSpec, type Container, type Manifest } from './manifests.js';

const DRIVER = 'csi.vsphere.vmware.com';
const manifests = loadManifests();
const find = (kind: string, name: string): Manifest => {
  const m = manifests.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`no ${kind} ${name} in deploy/`);
  return m;
};
const container = (m: Manifest, name: string): Container => {
  const c = podSpec(m).containers.find((x) => x.name === name);
  if (!c) throw new Error(`${m.file}: no container ${name}`);
  return c;
};
const unixPath = (endpoint: string | undefined): string => {
  if (!endpoint?.startsWith('unix://')) throw new Error(`not a unix endpoint: ${endpoint}`);
  return endpoint.slice('unix://'.length);
};

/** kubernetes-models module path for an apiVersion/kind, e.g. apps/v1 Deployment → kubernetes-models/apps/v1/Deployment. */
function modelPath(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

describe('deploy/ manifests', () => {
  test('every document validates against the Kubernetes OpenAPI schema', async () => {
    expect(manifests.length).toBeGreaterThan(15);
    for (const m of manifests) {
      // kubernetes-models 4.5 predates storage.k8s.io/v1 VolumeAttributesClass (Kubernetes 1.34), and has no
      // snapshot.storage.k8s.io CRDs: both are checked below instead.
      if (m.kind === 'VolumeAttributesClass' || m.apiVersion.startsWith('snapshot.storage.k8s.io/')) continue;
      const { file, ...object } = m;
      const mod = (await import(modelPath(m.apiVersion, m.kind))) as Record<string, new (o: unknown) => { validate(): void }>;
      const Model = mod[m.kind];
      expect(Model).toBeDefined();
      expect(() => new Model!(object).validate()).not.toThrow();
      void file;
    }
  });

  test('the schema check rejects a broken document (the validator is live)', async () => {
    const mod = (await import(modelPath('apps/v1', 'DaemonSet'))) as Record<string, new (o: unknown) => { validate(): void }>;
    const broken = JSON.parse(JSON.stringify(find('DaemonSet', 'vsphere-csi-node')));
    delete broken.file;
    broken.spec.template.spec.containers[0].ports = [{ containerPort: 'not-a-number' }];
    expect(() => new mod.DaemonSet!(broken).validate()).toThrow(/containerPort/);
  });

  test('kustomization lists every component manifest', () => {
    const k = parse(readFileSync(path.join(deployDir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    const components = [...new Set(manifests.map((m) => m.file))].filter(
      (f) => !f.startsWith('examples/') && f !== 'secret-example.yaml',
    );
    expect(k.resources.sort()).toEqual(components.sort());
  });

  test('CSIDriver is ours and requires attach', () => {
    const d = find('CSIDriver', DRIVER);
    expect(d.spec.attachRequired).toBe(true);
    expect(d.spec.podInfoOnMount).toBe(false);
    for (const sc of manifests.filter((m) => m.kind === 'StorageClass')) expect(sc.provisioner).toBe(DRIVER);
  });

  test('node plugin, registrar and kubelet agree on the socket path', () => {
    const ds = find('DaemonSet', 'vsphere-csi-node');
    const driver = container(ds, 'vsphere-csi-node');
    const registrar = container(ds, 'node-driver-registrar');
    const probe = container(ds, 'liveness-probe');
    const socket = unixPath(envOf(driver, 'CSI_ENDPOINT'));
    expect(flagValue(registrar, '--csi-address')).toBe(socket);
    expect(flagValue(probe, '--csi-address')).toBe(socket);
    const regPath = flagValue(registrar, '--kubelet-registration-path')!;
    expect(regPath).toBe(`/var/lib/kubelet/plugins/${DRIVER}/csi.sock`);
    // The plugin dir on the host is where our container's socket dir is mounted from.
    const pluginMount = driver.volumeMounts!.find((v) => socket.startsWith(`${v.mountPath}/`))!;
    const hostDir = podSpec(ds).volumes!.find((v) => v.name === pluginMount.name)!.hostPath!.path;
    expect(path.posix.join(hostDir, path.posix.relative(pluginMount.mountPath, socket))).toBe(regPath);
    const kubeletMount = driver.volumeMounts!.find((v) => v.mountPath === '/var/lib/kubelet')!;
    expect(kubeletMount.mountPropagation).toBe('Bidirectional');
    expect(envOf(driver, 'NODE_NAME')).toBeUndefined(); // comes from the downward API
    expect(driver.env!.find((e) => e.name === 'NODE_NAME')!.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
  });

  test('the CPI is ready only while it can reach its Lease: readiness on /healthz of its metrics port', () => {
    const cpi = container(find('DaemonSet', 'vsphere-cpi'), 'vsphere-cpi');
    const port = Number(envOf(cpi, 'X_CSI_METRICS_PORT'));
    const probe = cpi.readinessProbe?.httpGet;
    expect(probe?.path).toBe('/healthz');
    expect(cpi.ports?.find((p) => p.name === probe?.port)?.containerPort).toBe(port);
    // hostNetwork on control-plane nodes: not the node plugin's port.
    const node = container(find('DaemonSet', 'vsphere-csi-node'), 'vsphere-csi-node');
    expect(Number(envOf(node, 'X_CSI_METRICS_PORT'))).not.toBe(port);
  });

  test('controller sidecars use the driver socket and the provisioner flags the contract needs', () => {
    const dep = find('Deployment', 'vsphere-csi-controller');
    const socket = unixPath(envOf(container(dep, 'vsphere-csi-controller'), 'CSI_ENDPOINT'));
    for (const name of ['csi-provisioner', 'csi-attacher', 'csi-resizer', 'csi-snapshotter', 'liveness-probe']) {
      expect(flagValue(container(dep, name), '--csi-address')).toBe(socket);
    }
    const args = container(dep, 'csi-provisioner').args!;
    for (const flag of ['--feature-gates=Topology=true', '--default-fstype=ext4', '--extra-create-metadata', '--enable-capacity', '--timeout=300s', '--leader-election']) {
      expect(args).toContain(flag);
    }
    // ControllerModifyVolume (VolumeAttributesClass) is behind this resizer release's feature gate.
    expect(container(dep, 'csi-resizer').args).toContain('--feature-gates=VolumeAttributesClass=true');
    expect(dep.spec.replicas).toBe(3);
    expect(dep.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  test('sidecar images are pinned by version', () => {
    for (const m of manifests.filter((x) => x.spec?.template?.spec)) {
      for (const c of podSpec(m).containers) expect(c.image).toMatch(/:v?\d+\.\d+\.\d+$/);
    }
  });
});

describe('deploy/ manifests agree with the program', () => {
  test('example StorageClasses and VolumeAttributesClasses carry only parameters the driver accepts', async () => {
    const { parseMutableParameters, parseVolumeParameters } = await import('../../src/controller/parameters.js');
    for (const m of manifests.filter((x) => x.kind === 'StorageClass')) expect(() => parseVolumeParameters(m.parameters)).not.toThrow();
    const classes = manifests.filter((x) => x.kind === 'VolumeAttributesClass');
    expect(classes.map((c) => c.metadata.name).sort()).toEqual(['encrypted', 'gold', 'retire-datastore']);
    for (const c of classes) {
      expect(c.apiVersion).toBe('storage.k8s.io/v1');
      expect(c.driverName).toBe('csi.vsphere.vmware.com');
      expect(Object.keys(c.parameters).length).toBeGreaterThan(0);
      expect(() => parseMutableParameters(c.parameters)).not.toThrow();
    }
  });

  const ours = manifests
    .filter((m) => m.spec?.template?.spec)
    .flatMap((m) => podSpec(m).containers.filter((c) => c.image.startsWith('vsphere-csi:')).map((c) => ({ m, c })));

  test('our containers run a real mode with flags the CLI accepts', async () => {
    const { parseCli } = await import('../../src/cli/args.js');
    expect(ours.map(({ c }) => c.args?.[0]).sort()).toEqual(['controller', 'cpi', 'node']);
    for (const { c } of ours) {
      const env = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
      const parsed = parseCli(c.args ?? [], { ...env, NODE_NAME: 'n1' });
      expect(parsed).not.toBe('help');
      if (parsed !== 'help') expect(parsed.mode).toBe(c.args![0]);
    }
  });

  test('every environment variable set on our containers is read by the program', () => {
    const sources = readSources(path.resolve(process.cwd(), 'src'));
    for (const { m, c } of ours) {
      for (const e of c.env ?? []) {
        const read = sources.some((text) => new RegExp(`['"\`.]${e.name}\\b`).test(text));
        if (!read) throw new Error(`${m.file}: container ${c.name} sets ${e.name}, which nothing under src/ reads`);
      }
    }
  });
});

function readSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    if (d.isDirectory()) return ['demo', 'bench', 'harness', 'generated'].includes(d.name) ? [] : readSources(full);
    return d.name.endsWith('.ts') ? [readFileSync(full, 'utf8')] : [];
  });
}
