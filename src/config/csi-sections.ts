/**
 * csi-vsphere.conf sections → raw settings, then the reference driver's
 * environment overrides on top. Nothing is converted or validated here;
 * csi-config.ts does that, so every message can name where a value came from.
 */
import type { Diagnostics, Setting } from './errors.js';
import type { IniSection } from './ini-reader.js';
import {
  CPI_ONLY_KEYS,
  CSI_FILE_VOLUME_KEYS,
  CSI_GLOBAL_KEYS,
  CSI_LABEL_KEYS,
  CSI_NETPERMISSION_KEYS,
  CSI_SNAPSHOT_KEYS,
  CSI_TOPOLOGY_CATEGORY_KEYS,
  CSI_UNUSED_SECTIONS,
  CSI_VCENTER_KEYS,
} from './csi-schema.js';

export type Settings = Map<string, Setting>;

export interface RawVCenter {
  /** `[VirtualCenter "host"]` or `environment VSPHERE_VCENTER_1`, for messages. */
  label: string;
  values: Settings;
}

export interface RawCsi {
  global: Settings;
  vcenters: Map<string, RawVCenter>;
  labels: Settings;
  snapshot: Settings;
  netPermissions: Map<string, Settings>;
  topologyCategories: Map<string, Settings>;
}

/** Copy known keys; warn about the rest, saying why each is ignored. */
function takeKnown(section: IniSection, known: Set<string>, diag: Diagnostics, into: Settings): void {
  for (const [key, setting] of section.values) {
    if (known.has(key)) into.set(key, setting);
    else if (CSI_FILE_VOLUME_KEYS.has(key)) diag.warn(setting.where, 'file-volume setting, not used by this driver (block volumes only)');
    else if (CPI_ONLY_KEYS.has(key)) diag.warn(setting.where, 'read by the CPI only; ignored by the CSI driver');
    else diag.warn(setting.where, 'unknown key, ignored (check the spelling)');
  }
}

/** The subsection name of `[Name "sub"]` as written; throws when it has none (or only blanks). */
export function needsSubsection(section: IniSection, diag: Diagnostics, example: string): string {
  if (section.subsection === undefined || section.subsection.trim() === '') {
    throw diag.error(section.label, `this section needs a name, e.g. ${example}`);
  }
  return section.subsection;
}

export function collectCsiSections(sections: IniSection[], diag: Diagnostics): RawCsi {
  const raw: RawCsi = {
    global: new Map(),
    vcenters: new Map(),
    labels: new Map(),
    snapshot: new Map(),
    netPermissions: new Map(),
    topologyCategories: new Map(),
  };
  for (const section of sections) {
    switch (section.name) {
      case 'global':
        takeKnown(section, CSI_GLOBAL_KEYS, diag, raw.global);
        break;
      case 'virtualcenter': {
        const host = needsSubsection(section, diag, '[VirtualCenter "vcenter.example.com"]').trim();
        const vc = raw.vcenters.get(host) ?? { label: section.label, values: new Map() };
        takeKnown(section, CSI_VCENTER_KEYS, diag, vc.values);
        raw.vcenters.set(host, vc);
        break;
      }
      case 'labels':
        takeKnown(section, CSI_LABEL_KEYS, diag, raw.labels);
        break;
      case 'snapshot':
        takeKnown(section, CSI_SNAPSHOT_KEYS, diag, raw.snapshot);
        break;
      case 'netpermissions': {
        const name = needsSubsection(section, diag, '[NetPermissions "A"]');
        const values = raw.netPermissions.get(name) ?? new Map<string, Setting>();
        takeKnown(section, CSI_NETPERMISSION_KEYS, diag, values);
        raw.netPermissions.set(name, values);
        break;
      }
      case 'topologycategory': {
        const name = needsSubsection(section, diag, '[TopologyCategory "k8s-zone"]');
        const values = raw.topologyCategories.get(name) ?? new Map<string, Setting>();
        takeKnown(section, CSI_TOPOLOGY_CATEGORY_KEYS, diag, values);
        raw.topologyCategories.set(name, values);
        break;
      }
      case 'nodes':
        diag.warn(section.label, 'read by the CPI only; ignored by the CSI driver');
        break;
      default:
        if (CSI_UNUSED_SECTIONS.has(section.name)) diag.warn(section.label, 'section not used by this driver, ignored');
        else diag.warn(section.label, 'unknown section, ignored (check the spelling)');
    }
  }
  return raw;
}

const envWhere = (name: string): string => `environment ${name}`;

/** Environment variable → raw key; a set, non-empty variable overrides the key, named as its source. */
export type EnvTable = ReadonlyArray<readonly [string, string]>;

export function applyEnvTable(env: NodeJS.ProcessEnv, table: EnvTable, into: Settings): void {
  for (const [name, key] of table) {
    const v = env[name];
    if (v !== undefined && v !== '') into.set(key, { value: v, where: envWhere(name) });
  }
}

const GLOBAL_ENV: EnvTable = [
  ['VSPHERE_VCENTER', 'vcenterip'],
  ['VSPHERE_VCENTER_PORT', 'port'],
  ['VSPHERE_USER', 'user'],
  ['VSPHERE_PASSWORD', 'password'],
  ['VSPHERE_DATACENTER', 'datacenters'],
  ['VSPHERE_INSECURE', 'insecure-flag'],
  // Our additions (the CPI reads these names too).
  ['VSPHERE_CAFILE', 'ca-file'],
  ['VSPHERE_THUMBPRINT', 'thumbprint'],
];
export const LABEL_ENV: EnvTable = [
  ['VSPHERE_LABEL_REGION', 'region'],
  ['VSPHERE_LABEL_ZONE', 'zone'],
];
const SNAPSHOT_ENV: EnvTable = [
  ['GLOBAL_MAX_SNAPSHOTS_PER_BLOCK_VOLUME', 'global-max-snapshots-per-block-volume'],
  ['GRANULAR_MAX_SNAPSHOTS_PER_BLOCK_VOLUME_VSAN', 'granular-max-snapshots-per-block-volume-vsan'],
  ['GRANULAR_MAX_SNAPSHOTS_PER_BLOCK_VOLUME_VVOL', 'granular-max-snapshots-per-block-volume-vvol'],
];

/**
 * The reference's FromEnv: VSPHERE_* values override [Global] (and [Labels],
 * [Snapshot]); VSPHERE_VCENTER_<ID>=host with VCENTER_<ID>_USERNAME/_PASSWORD/
 * _PORT/_INSECURE/_DATACENTERS defines (replaces) a vCenter. A vCenter
 * section that sets its own user keeps it: only inherited values change.
 */
export function applyCsiEnv(raw: RawCsi, env: NodeJS.ProcessEnv): void {
  applyEnvTable(env, GLOBAL_ENV, raw.global);
  applyEnvTable(env, LABEL_ENV, raw.labels);
  applyEnvTable(env, SNAPSHOT_ENV, raw.snapshot);
  for (const [vc, host] of envVCenters(env)) {
    raw.vcenters.set(host, vc);
  }
}

/** VSPHERE_VCENTER_<ID> entries (sorted by variable name, so the order is stable). */
export function envVCenters(env: NodeJS.ProcessEnv, extraSuffixes: Record<string, string> = {}): Array<[RawVCenter, string]> {
  const out: Array<[RawVCenter, string]> = [];
  const names = Object.keys(env)
    .filter((k) => k.startsWith('VSPHERE_VCENTER_') && k !== 'VSPHERE_VCENTER_PORT')
    .sort();
  const suffixes: Record<string, string> = {
    USERNAME: 'user',
    PASSWORD: 'password',
    PORT: 'port',
    INSECURE: 'insecure-flag',
    DATACENTERS: 'datacenters',
    ...extraSuffixes,
  };
  for (const name of names) {
    const host = env[name]?.trim();
    if (!host) continue;
    const id = name.slice('VSPHERE_VCENTER_'.length);
    const values: Settings = new Map();
    applyEnvTable(env, Object.entries(suffixes).map(([suffix, key]) => [`VCENTER_${id}_${suffix}`, key] as const), values);
    out.push([{ label: envWhere(name), values }, host]);
  }
  return out;
}
