/**
 * Where a CPI vCenter's credentials come from, in this order:
 *   1. inline in the config (the vCenter's user/password, else global's);
 *   2. the secrets directory: files named `<server>.username` and
 *      `<server>.password` (a mounted Secret volume has exactly this layout);
 *   3. the Kubernetes Secret named by secretName/secretNamespace (the
 *      vCenter's own, else global's), keys `<server>.username` /
 *      `<server>.password`, read through a callback so this module does not
 *      depend on the Kubernetes client.
 * Both secret forms also accept the reference's alternative keys for
 * servers whose address cannot be part of a key (IPv6):
 * `server_<id>`, `username_<id>`, `password_<id>`.
 *
 * Messages name every place looked at and never a value.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { CpiConfig, CpiGlobalConfig, CpiVCenterConfig, VCenterConfig } from './types.js';

/** Reads a Secret's data (values already base64-decoded); undefined when it does not exist. */
export type ReadSecret = (namespace: string, name: string) => Promise<Record<string, string> | undefined>;

export interface CredentialOptions {
  readSecret?: ReadSecret;
  logger?: Logger;
}

export interface VCenterCredentials {
  user: string;
  password: string;
  source: 'config' | 'secretsDirectory' | 'secret';
  /** The file, directory or namespace/name they came from (for logs). */
  from: string;
}

interface Partial {
  user?: string;
  password?: string;
}

// Kubernetes and editors add a final newline to mounted or pasted values.
const trimNewline = (v: string): string => v.replace(/\r?\n$/, '');

/** Secret data (or directory files) → server → user/password, both key forms. */
export function credentialsByServer(data: Record<string, string>): Map<string, Partial> {
  const out = new Map<string, Partial>();
  const entry = (server: string): Partial => {
    let e = out.get(server);
    if (!e) out.set(server, (e = {}));
    return e;
  };
  for (const [key, raw] of Object.entries(data)) {
    const value = trimNewline(raw);
    if (key.endsWith('.username')) entry(key.slice(0, -'.username'.length)).user = value;
    else if (key.endsWith('.password')) entry(key.slice(0, -'.password'.length)).password = value;
    else if (key.startsWith('server_') && key.length > 'server_'.length) {
      const id = key.slice('server_'.length);
      const e = entry(value.trim());
      const user = data[`username_${id}`];
      const password = data[`password_${id}`];
      if (user !== undefined) e.user = trimNewline(user);
      if (password !== undefined) e.password = trimNewline(password);
    }
  }
  return out;
}

async function readSecretsDirectory(dir: string): Promise<Record<string, string> | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  const data: Record<string, string> = {};
  for (const name of names) {
    // A mounted Secret volume holds `..data` and timestamped `..2024_...` directories next to the key links.
    if (name.startsWith('..')) continue;
    const path = join(dir, name);
    try {
      if (!(await stat(path)).isFile()) continue;
      data[name] = await readFile(path, 'utf8');
    } catch {
      continue;
    }
  }
  return data;
}

function lookup(data: Map<string, Partial>, vc: CpiVCenterConfig): Partial | undefined {
  return data.get(vc.server) ?? data.get(vc.name);
}

function complete(p: Partial | undefined): p is { user: string; password: string } {
  return Boolean(p?.user && p.password);
}

function describeGap(p: Partial | undefined, server: string): string {
  if (!p) return `no ${server}.username / ${server}.password`;
  return p.user ? `${server}.password is missing` : `${server}.username is missing`;
}

/** The credentials for one vCenter, or an error naming every place looked at. */
export async function resolveCredentials(
  vc: CpiVCenterConfig,
  global: CpiGlobalConfig,
  opts: CredentialOptions = {},
): Promise<VCenterCredentials> {
  if (vc.user && vc.password) return { user: vc.user, password: vc.password, source: 'config', from: 'config file' };
  const looked: string[] = ['the config file (user/password): not set'];

  if (global.secretsDirectory) {
    const data = await readSecretsDirectory(global.secretsDirectory);
    const found = data && lookup(credentialsByServer(data), vc);
    if (complete(found)) {
      return { user: found.user, password: found.password, source: 'secretsDirectory', from: global.secretsDirectory };
    }
    looked.push(`secrets directory ${global.secretsDirectory}: ${data ? describeGap(found, vc.server) : 'cannot be read'}`);
  }

  if (vc.secretName && vc.secretNamespace) {
    const ref = `${vc.secretNamespace}/${vc.secretName}`;
    if (!opts.readSecret) {
      looked.push(`Secret ${ref}: not read (no Kubernetes client)`);
    } else {
      const data = await opts.readSecret(vc.secretNamespace, vc.secretName);
      const found = data && lookup(credentialsByServer(data), vc);
      if (complete(found)) return { user: found.user, password: found.password, source: 'secret', from: ref };
      looked.push(`Secret ${ref}: ${data ? describeGap(found, vc.server) : 'not found'}`);
    }
  }

  throw new Error(`vCenter '${vc.name}' (server ${vc.server}): no credentials found; looked in ${looked.join('; ')}`);
}

/** Every vCenter of a CPI config, credentials resolved, in the shape the vSphere client takes. */
export async function resolveCpiVCenters(cfg: CpiConfig, opts: CredentialOptions = {}): Promise<VCenterConfig[]> {
  const out: VCenterConfig[] = [];
  for (const vc of Object.values(cfg.vcenter)) {
    const cred = await resolveCredentials(vc, cfg.global, opts);
    opts.logger?.debug({ vcenter: vc.name, server: vc.server, credentialSource: cred.source, from: cred.from }, 'vCenter credentials resolved');
    out.push({
      host: vc.server,
      port: vc.port,
      user: cred.user,
      password: cred.password,
      insecure: vc.insecure,
      caFile: vc.caFile,
      thumbprint: vc.thumbprint,
      datacenters: vc.datacenters,
    });
  }
  return out;
}
