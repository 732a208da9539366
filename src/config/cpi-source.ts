/**
 * Reads the CPI config text, YAML or INI, into raw settings keyed by the INI
 * spelling (`insecure-flag`), each remembering where it was written
 * (`global.insecureFlag`, `[Global] insecure-flag`) for messages.
 *
 * YAML keys are matched ignoring case, `-` and `_`, so both the current
 * camelCase (`insecureFlag`, `secretName`) and the older dashed spellings
 * (`insecure-flag`, `secret-name`) of kubernetes/cloud-provider-vsphere
 * work. An INI file may be the CPI's legacy form or a csi-vsphere.conf: keys
 * and sections that only the CSI driver reads are accepted silently, so one
 * Secret can serve both.
 */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { type Diagnostics, type Setting } from './errors.js';
import { readIni } from './ini-reader.js';
import { needsSubsection, type RawVCenter, type Settings } from './csi-sections.js';
import {
  CSI_FILE_VOLUME_KEYS,
  CSI_GLOBAL_KEYS,
  CSI_LABEL_KEYS,
  CSI_UNUSED_SECTIONS,
} from './csi-schema.js';

export interface RawCpi {
  format: 'yaml' | 'ini';
  global: Settings;
  vcenters: Map<string, RawVCenter>;
  labels: Settings;
  nodes: Settings;
}

const VCENTER_KEYS = [
  'user', 'password', 'server', 'port', 'insecure-flag', 'datacenters', 'soap-roundtrip-count',
  'ca-file', 'thumbprint', 'secret-name', 'secret-namespace', 'ip-family',
];
const GLOBAL_KEYS = [
  ...VCENTER_KEYS, 'secrets-directory', 'api-disable', 'api-binding', 'cluster-id', 'service-account', 'node-deletion',
];
const LABEL_KEYS = [...CSI_LABEL_KEYS];
const NODE_KEYS = [
  'internal-network-subnet-cidr', 'external-network-subnet-cidr', 'internal-vm-network-name',
  'external-vm-network-name', 'exclude-internal-network-subnet-cidr', 'exclude-external-network-subnet-cidr',
];
/** Sections a csi-vsphere.conf may carry that the CPI has no use for. */
const CSI_ONLY_SECTIONS = new Set(['netpermissions', 'snapshot', 'topologycategory', ...CSI_UNUSED_SECTIONS]);

const fold = (k: string): string => k.toLowerCase().replace(/[-_]/g, '');
function canonicalizer(keys: string[]): (k: string) => string | undefined {
  const byFold = new Map(keys.map((k) => [fold(k), k]));
  return (k) => byFold.get(fold(k));
}
const globalKey = canonicalizer(GLOBAL_KEYS);
const vcenterKey = canonicalizer(VCENTER_KEYS);
const labelKey = canonicalizer(LABEL_KEYS);
const nodeKey = canonicalizer(NODE_KEYS);

/** INI when the first meaningful line is a section header; YAML otherwise. */
export function looksLikeIni(text: string): boolean {
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) continue;
    return /^\[\s*[A-Za-z][A-Za-z0-9.-]*\s*("[^"]*")?\s*\]/.test(t);
  }
  return false;
}

export function readCpiSource(text: string, diag: Diagnostics): RawCpi {
  return looksLikeIni(text) ? readCpiIni(text, diag) : readCpiYaml(text, diag);
}

function emptyRaw(format: 'yaml' | 'ini'): RawCpi {
  return { format, global: new Map(), vcenters: new Map(), labels: new Map(), nodes: new Map() };
}

function readCpiIni(text: string, diag: Diagnostics): RawCpi {
  const raw = emptyRaw('ini');
  const take = (values: Map<string, Setting>, canon: (k: string) => string | undefined, into: Settings, csiKeys?: Set<string>): void => {
    for (const [key, setting] of values) {
      // csi-vsphere.conf spells the single-vCenter form vcenterip.
      const k = key === 'vcenterip' ? 'server' : canon(key);
      if (k) into.set(k, setting);
      else if (!csiKeys?.has(key)) diag.warn(setting.where, 'unknown key, ignored (check the spelling)');
    }
  };
  for (const section of readIni(text, diag.source)) {
    if (section.name === 'global') take(section.values, globalKey, raw.global, CSI_GLOBAL_KEYS);
    else if (section.name === 'virtualcenter') {
      const name = needsSubsection(section, diag, '[VirtualCenter "vcenter.example.com"]').trim();
      const vc = raw.vcenters.get(name) ?? { label: section.label, values: new Map() };
      take(section.values, vcenterKey, vc.values, CSI_FILE_VOLUME_KEYS);
      raw.vcenters.set(name, vc);
    } else if (section.name === 'labels') take(section.values, labelKey, raw.labels);
    else if (section.name === 'nodes') take(section.values, nodeKey, raw.nodes);
    else if (!CSI_ONLY_SECTIONS.has(section.name)) diag.warn(section.label, 'unknown section, ignored (check the spelling)');
  }
  return raw;
}

type YamlMap = Record<string, unknown>;
const isMap = (v: unknown): v is YamlMap => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A YAML scalar or list of scalars as the string the INI form would hold. */
function yamlValue(diag: Diagnostics, where: string, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.join(',');
  throw diag.error(where, 'must be a value or a list of values, not a mapping');
}

function takeYaml(diag: Diagnostics, path: string, node: unknown, canon: (k: string) => string | undefined, into: Settings): void {
  if (node === null || node === undefined) return;
  if (!isMap(node)) throw diag.error(path, 'must be a mapping of keys to values');
  for (const [key, v] of Object.entries(node)) {
    const where = `${path}.${key}`;
    const k = canon(key);
    if (k) into.set(k, { value: yamlValue(diag, where, v), where });
    else diag.warn(where, 'unknown key, ignored (check the spelling)');
  }
}

function readCpiYaml(text: string, diag: Diagnostics): RawCpi {
  let doc: unknown;
  try {
    // The failsafe schema keeps every scalar as the text written (`port: 0443`, `password: 0123`),
    // as the reference's Go YAML decoder does for string fields; values are typed later. Plain
    // `~`/`null`/empty still mean "unset" and `<<` merge keys work, as in Go's YAML.
    doc = parseYaml(text, { schema: 'failsafe', customTags: ['null'], merge: true });
  } catch (err) {
    // The library's message quotes the offending line, which may hold a password: keep only code and position.
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw diag.error('', `YAML syntax error ${err.code}${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}`);
    }
    throw diag.error('', 'YAML syntax error');
  }
  if (doc === null || doc === undefined) throw diag.error('', 'the file is empty');
  if (!isMap(doc)) throw diag.error('', 'not a YAML mapping (global:, vcenter:, labels:, nodes:) nor an INI file with a [Global] section');
  const raw = emptyRaw('yaml');
  for (const [top, node] of Object.entries(doc)) {
    switch (fold(top)) {
      case 'global':
        takeYaml(diag, top, node, globalKey, raw.global);
        break;
      case 'vcenter':
        if (node === null || node === undefined) break;
        if (!isMap(node)) throw diag.error(top, 'must map vCenter names to their settings');
        for (const [name, vcNode] of Object.entries(node)) {
          const values: Settings = new Map();
          takeYaml(diag, `${top}.${name}`, vcNode, vcenterKey, values);
          raw.vcenters.set(name, { label: `${top}.${name}`, values });
        }
        break;
      case 'labels':
        takeYaml(diag, top, node, labelKey, raw.labels);
        break;
      case 'nodes':
        takeYaml(diag, top, node, nodeKey, raw.nodes);
        break;
      default:
        diag.warn(top, 'unknown key, ignored (check the spelling)');
    }
  }
  return raw;
}
