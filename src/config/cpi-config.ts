/**
 * The CPI's config (kubernetes/cloud-provider-vsphere): YAML, or its legacy
 * INI form, or a csi-vsphere.conf → CpiConfig. Same inheritance as the
 * reference (a vCenter falls back to `global`), its environment overrides,
 * and validation that names the key. Credentials are not resolved here:
 * see credentials.ts (they may live in a Secret).
 *
 * parseCpiConfig is synchronous; loadCpiConfig is async (reads the file and
 * checks whether the default secrets directory exists).
 */
import { access, readFile } from 'node:fs/promises';
import { ConfigError, Diagnostics, type Setting } from './errors.js';
import { applyCpiEnv } from './cpi-env.js';
import { readCpiSource, type RawCpi } from './cpi-source.js';
import type { Settings } from './csi-sections.js';
import { DEFAULT_VCENTER_PORT, MAX_TOPOLOGY_CATEGORIES } from './csi-schema.js';
import type { ConfigLoadOptions } from './csi-config.js';
import {
  ifSet,
  isDomainQualifiedUser,
  parseBool,
  parseCidrList,
  parseIpFamilies,
  parseList,
  parsePort,
  parseThumbprint,
} from './values.js';
import type { CpiConfig, CpiGlobalConfig, CpiNodesConfig, CpiVCenterConfig, IpFamily, LabelsConfig } from './types.js';

export interface CpiConfigOptions extends ConfigLoadOptions {
  /**
   * Secrets directory used when the config names none (the reference uses
   * /etc/cloud/secrets when it exists; loadCpiConfig checks that).
   */
  defaultSecretsDirectory?: string;
}

export const DEFAULT_SECRETS_DIRECTORY = '/etc/cloud/secrets';

export function parseCpiConfig(text: string, source: string, opts: CpiConfigOptions = {}): CpiConfig {
  const diag = new Diagnostics(source, opts.logger);
  if (text.trim() === '') throw diag.error('', 'the file is empty');
  const raw = readCpiSource(text, diag);
  applyCpiEnv(raw, opts.env ?? process.env);
  return buildCpiConfig(raw, diag, opts.defaultSecretsDirectory);
}

export async function loadCpiConfig(path: string, opts: CpiConfigOptions = {}): Promise<CpiConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, '', `cannot read the CPI config file: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let defaultSecretsDirectory = opts.defaultSecretsDirectory;
  if (defaultSecretsDirectory === undefined) {
    defaultSecretsDirectory = await access(DEFAULT_SECRETS_DIRECTORY).then(
      () => DEFAULT_SECRETS_DIRECTORY,
      () => undefined,
    );
  }
  return parseCpiConfig(text, path, { ...opts, defaultSecretsDirectory });
}

const nonEmpty = (s: Setting | undefined): string | undefined => {
  const v = s?.value.trim();
  return v ? v : undefined;
};

function buildCpiConfig(raw: RawCpi, diag: Diagnostics, defaultSecretsDirectory?: string): CpiConfig {
  const src = diag.source;
  const g = raw.global;
  const ipFamily = families(diag, g.get('ip-family')) ?? ['ipv4'];
  const thumb = g.get('thumbprint');
  const global: CpiGlobalConfig = {
    user: nonEmpty(g.get('user')),
    password: g.get('password')?.value || undefined,
    port: ifSet(src, g.get('port'), parsePort) ?? DEFAULT_VCENTER_PORT,
    insecure: ifSet(src, g.get('insecure-flag'), parseBool) ?? false,
    caFile: nonEmpty(g.get('ca-file')),
    thumbprint: ifSet(src, thumb, parseThumbprint),
    datacenters: parseList(g.get('datacenters')?.value ?? ''),
    secretName: nonEmpty(g.get('secret-name')),
    secretNamespace: nonEmpty(g.get('secret-namespace')),
    secretsDirectory: nonEmpty(g.get('secrets-directory')) ?? (defaultSecretsDirectory || undefined),
    clusterId: nonEmpty(g.get('cluster-id')),
  };
  checkSecretPair(diag, g, global.secretName, global.secretNamespace);

  // The deprecated single-vCenter form: global.server becomes a vCenter of that name.
  const server = nonEmpty(g.get('server'));
  if (server && !raw.vcenters.has(server)) {
    raw.vcenters.set(server, { label: g.get('server')?.where ?? 'global.server', values: new Map() });
  }
  if (raw.vcenters.size === 0) {
    throw diag.error('', 'no vCenter configured: add vcenter: <name>: {server: ...} (YAML) or a [VirtualCenter "<host>"] section, or set VSPHERE_VCENTER');
  }

  const vcenter: Record<string, CpiVCenterConfig> = {};
  for (const [name, vc] of raw.vcenters) {
    vcenter[name] = buildVCenter(diag, name, vc.label, vc.values, global, ipFamily);
  }

  const nodeDeletion = g.get('node-deletion');
  return {
    source: src,
    format: raw.format,
    global,
    vcenter,
    labels: buildLabels(diag, raw.labels),
    nodes: buildNodes(src, raw.nodes),
    ipFamily,
    nodeDeletion: ifSet(src, nodeDeletion, parseBool) ?? true,
    warnings: diag.warnings,
  };
}

function families(diag: Diagnostics, s: Setting | undefined): IpFamily[] | undefined {
  if (!s || s.value.trim() === '') return undefined;
  return parseIpFamilies(diag.source, s.where, parseList(s.value));
}

function checkSecretPair(diag: Diagnostics, v: Settings, name?: string, namespace?: string): void {
  if (name && !namespace) throw diag.error(v.get('secret-name')?.where ?? '', 'set secretNamespace (secret-namespace) too');
  if (namespace && !name) throw diag.error(v.get('secret-namespace')?.where ?? '', 'set secretName (secret-name) too');
}

function buildVCenter(
  diag: Diagnostics,
  name: string,
  label: string,
  v: Settings,
  global: CpiGlobalConfig,
  globalFamilies: IpFamily[],
): CpiVCenterConfig {
  const src = diag.source;
  const own = (key: string): string | undefined => nonEmpty(v.get(key));
  const secretName = own('secret-name');
  const secretNamespace = own('secret-namespace');
  checkSecretPair(diag, v, secretName, secretNamespace);
  const port = ifSet(src, v.get('port'), parsePort) ?? global.port;
  const thumb = v.get('thumbprint');
  const insecureOwn = ifSet(src, v.get('insecure-flag'), parseBool) ?? false;
  const user = own('user') ?? global.user;
  const password = v.get('password')?.value || global.password;

  const cfg: CpiVCenterConfig = {
    name,
    server: own('server') ?? name,
    port,
    datacenters: own('datacenters') ? parseList(own('datacenters') as string) : global.datacenters,
    user,
    password,
    // Reference semantics: insecure when either the vCenter or global says so.
    insecure: insecureOwn || global.insecure,
    caFile: own('ca-file') ?? global.caFile,
    thumbprint: ifSet(src, thumb, parseThumbprint) ?? global.thumbprint,
    secretName: secretName ?? global.secretName,
    secretNamespace: secretNamespace ?? global.secretNamespace,
    ipFamily: families(diag, v.get('ip-family')) ?? globalFamilies,
  };

  const inline = Boolean(cfg.user && cfg.password);
  if (!inline && !cfg.secretName && !global.secretsDirectory) {
    throw diag.error(
      label,
      'no credentials: set user and password, or secretName and secretNamespace (a Secret with <server>.username and <server>.password), or secretsDirectory',
    );
  }
  if (cfg.user && !isDomainQualifiedUser(cfg.user)) {
    diag.warn(label, `user '${cfg.user}' is not domain-qualified (user@domain or DOMAIN\\user): vCenter may reject the login`);
  }
  return cfg;
}

function buildLabels(diag: Diagnostics, l: Settings): LabelsConfig {
  const categories = l.get('topology-categories');
  const topologyCategories = categories ? parseList(categories.value) : [];
  if (topologyCategories.length > MAX_TOPOLOGY_CATEGORIES) {
    throw diag.error(categories?.where ?? '', `${topologyCategories.length} categories listed; at most ${MAX_TOPOLOGY_CATEGORIES} are allowed`);
  }
  const zone = nonEmpty(l.get('zone'));
  const region = nonEmpty(l.get('region'));
  if (zone && !region) diag.warn(l.get('zone')?.where ?? '', 'zone is set without region: only the zone label will be applied');
  if (region && !zone) diag.warn(l.get('region')?.where ?? '', 'region is set without zone: only the region label will be applied');
  return { topologyCategories, zone, region };
}

function buildNodes(src: string, n: Settings): CpiNodesConfig {
  const cidrs = (key: string): string[] => {
    const s = n.get(key);
    return s ? parseCidrList(src, s) : [];
  };
  return {
    internalNetworkSubnetCidr: cidrs('internal-network-subnet-cidr'),
    externalNetworkSubnetCidr: cidrs('external-network-subnet-cidr'),
    internalVmNetworkName: nonEmpty(n.get('internal-vm-network-name')),
    externalVmNetworkName: nonEmpty(n.get('external-vm-network-name')),
    excludeInternalNetworkSubnetCidr: cidrs('exclude-internal-network-subnet-cidr'),
    excludeExternalNetworkSubnetCidr: cidrs('exclude-external-network-subnet-cidr'),
  };
}
