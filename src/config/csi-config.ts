/**
 * csi-vsphere.conf → CsiConfig, with the reference driver's inheritance
 * ([VirtualCenter] falls back to [Global]), environment overrides and
 * validation. Errors name file, section and key; passwords never appear in
 * a message or a log line.
 *
 * parseCsiConfig is synchronous (no IO); loadCsiConfig is async (reads the
 * file; when it does not exist it builds the config from the environment
 * alone, as the reference does).
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { ConfigError, Diagnostics, type Setting } from './errors.js';
import { readIni } from './ini-reader.js';
import { applyCsiEnv, collectCsiSections, type RawCsi, type Settings } from './csi-sections.js';
import {
  DEFAULT_VCENTER_PORT,
  MAX_CLUSTER_ID_LENGTH,
  MAX_TOPOLOGY_CATEGORIES,
  MAX_VCENTERS,
} from './csi-schema.js';
import { checkDomainQualifiedUser, ifSet, parseBool, parseCount, parseList, parsePort, parseThumbprint } from './values.js';
import type {
  CsiConfig,
  CsiGlobalSettings,
  LabelsConfig,
  NetPermission,
  NetPermissionConfig,
  SnapshotConfig,
  VCenterConfig,
} from './types.js';

export interface ConfigLoadOptions {
  /** Environment for overrides; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Warnings are logged here once each; default: not logged (still returned in `warnings`). */
  logger?: Logger;
}

/** Parse csi-vsphere.conf text. `source` names the file in messages. */
export function parseCsiConfig(text: string, source: string, opts: ConfigLoadOptions = {}): CsiConfig {
  const diag = new Diagnostics(source, opts.logger);
  const raw = collectCsiSections(readIni(text, source), diag);
  applyCsiEnv(raw, opts.env ?? process.env);
  return buildCsiConfig(raw, diag);
}

/** Read and parse the file; a missing file means "environment only" (reference behaviour). */
export async function loadCsiConfig(path: string, opts: ConfigLoadOptions = {}): Promise<CsiConfig> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(path, '', `cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    opts.logger?.info({ config: path }, `${path} does not exist: reading the vCenter settings from VSPHERE_* environment variables`);
  }
  return parseCsiConfig(text, path, opts);
}

function buildCsiConfig(raw: RawCsi, diag: Diagnostics): CsiConfig {
  const src = diag.source;
  const g = raw.global;

  // [Global] vcenterip/server (or VSPHERE_VCENTER): one vCenter that takes all Global values.
  const single = g.get('vcenterip') ?? g.get('server');
  if (single && single.value.trim() !== '' && !raw.vcenters.has(single.value.trim())) {
    // Named after where the host came from: [Global], or the VSPHERE_VCENTER variable.
    const label = single.where.startsWith('environment') ? single.where : '[Global]';
    raw.vcenters.set(single.value.trim(), { label, values: new Map() });
  }
  if (raw.vcenters.size === 0) {
    throw diag.error(
      '',
      'no vCenter configured: add a [VirtualCenter "<host>"] section with user and password (or set VSPHERE_VCENTER, VSPHERE_USER, VSPHERE_PASSWORD)',
    );
  }
  if (raw.vcenters.size > MAX_VCENTERS) {
    throw diag.error('', `${raw.vcenters.size} vCenters configured; at most ${MAX_VCENTERS} are supported`);
  }

  const clusterId = g.get('cluster-id')?.value.trim() ?? '';
  if (clusterId.length > MAX_CLUSTER_ID_LENGTH) {
    throw diag.error(g.get('cluster-id')?.where ?? '', `${clusterId.length} characters long; at most ${MAX_CLUSTER_ID_LENGTH} are allowed`);
  }

  const vcenters: VCenterConfig[] = [];
  for (const [host, vc] of raw.vcenters) vcenters.push(buildVCenter(host, vc.label, vc.values, g, diag));

  const labels = buildLabels(raw.labels, diag);
  if (vcenters.length > 1 && labels.topologyCategories.length === 0) {
    // As the reference: the zone of a volume request is what picks its vCenter.
    throw diag.error(
      '[Labels] topology-categories',
      `missing: ${vcenters.length} vCenters are configured (${vcenters.map((v) => v.host).join(', ')}), and with more than one the ` +
        'topology decides which vCenter a volume goes to: tag each vCenter\'s clusters or hosts with zone tags and set ' +
        'topology-categories = "<region category>,<zone category>" in [Labels]' +
        (labels.zone || labels.region ? ' (instead of the legacy zone/region keys)' : ''),
    );
  }

  const config: CsiConfig = {
    source: src,
    clusterId,
    vcenters,
    labels,
    warnings: diag.warnings,
    global: buildGlobalSettings(g, src),
    netPermissions: buildNetPermissions(raw.netPermissions, diag),
    snapshot: buildSnapshot(raw.snapshot, src),
    topologyCategoryLabels: Object.fromEntries(
      [...raw.topologyCategories].map(([name, v]) => [name, v.get('label')?.value ?? '']),
    ),
  };
  return config;
}

function missing(where: string, key: string, envName: string): string {
  return `${where} ${key}: missing: set ${key} for this vCenter or in [Global] (or ${envName})`;
}

function buildVCenter(host: string, label: string, v: Settings, g: Settings, diag: Diagnostics): VCenterConfig {
  const src = diag.source;
  // As in the reference, an empty value in the vCenter section means "inherit from [Global]".
  const pick = (key: string): Setting | undefined => {
    const own = v.get(key);
    return own && own.value.trim() !== '' ? own : g.get(key);
  };

  const user = pick('user');
  if (!user || user.value.trim() === '') throw diag.error('', missing(label, 'user', 'VSPHERE_USER'));
  const password = pick('password');
  if (!password || password.value === '') throw diag.error('', missing(label, 'password', 'VSPHERE_PASSWORD'));

  const port = ifSet(src, pick('port'), parsePort) ?? DEFAULT_VCENTER_PORT;

  // Reference semantics: the vCenter is insecure when either it or [Global] says so.
  const own = v.get('insecure-flag');
  const ownInsecure = ifSet(src, own, parseBool) ?? false;
  const globalFlag = g.get('insecure-flag');
  const globalInsecure = ifSet(src, globalFlag, parseBool) ?? false;
  if (own && own.value.trim() !== '' && !ownInsecure && globalInsecure) {
    diag.warn(own.where, `false is overridden by ${globalFlag?.where} = true (as in the reference driver): TLS is not verified`);
  }
  const insecure = ownInsecure || globalInsecure;

  const caFile = pick('ca-file')?.value.trim() || undefined;
  const thumbprint = ifSet(src, pick('thumbprint'), parseThumbprint);
  if (insecure && (caFile || thumbprint)) {
    diag.warn(label, 'insecure-flag is true, so ca-file and thumbprint are ignored');
  }

  return {
    host,
    port,
    user: checkDomainQualifiedUser(src, user),
    password: password.value,
    insecure,
    caFile,
    thumbprint,
    datacenters: parseList(pick('datacenters')?.value ?? ''),
  };
}

/** `[Labels]` → LabelsConfig with the checks both modes share (node mode reads only this section). */
export function buildLabels(l: Settings, diag: Diagnostics): LabelsConfig {
  const categories = l.get('topology-categories');
  const topologyCategories = categories ? parseList(categories.value) : [];
  const zone = l.get('zone')?.value.trim() || undefined;
  const region = l.get('region')?.value.trim() || undefined;
  if (topologyCategories.length > 0 && (zone || region)) {
    throw diag.error(
      categories?.where ?? '[Labels]',
      'cannot be combined with zone/region: keep topology-categories and remove zone and region (deprecated), or the reverse',
    );
  }
  if (topologyCategories.length > MAX_TOPOLOGY_CATEGORIES) {
    throw diag.error(categories?.where ?? '[Labels]', `${topologyCategories.length} categories listed; at most ${MAX_TOPOLOGY_CATEGORIES} are allowed`);
  }
  if (zone || region) diag.warn('[Labels]', 'zone/region are deprecated: prefer topology-categories');
  return { topologyCategories, zone, region };
}

function optionalCount(src: string, s: Setting | undefined): number | undefined {
  return ifSet(src, s, parseCount);
}

function buildGlobalSettings(g: Settings, src: string): CsiGlobalSettings {
  const count = (key: string, dflt: number): number => optionalCount(src, g.get(key)) || dflt;
  return {
    supervisorId: g.get('supervisor-id')?.value.trim() || undefined,
    clusterDistribution: g.get('cluster-distribution')?.value.trim() || undefined,
    // The reference treats 0 as "unset" for these, hence `||`.
    vcClientTimeoutMinutes: count('vc-client-timeout', 5),
    cnsRegisterVolumesCleanupIntervalMinutes: count('cnsregistervolumes-cleanup-intervalinmin', 720),
    volumeMigrationCrCleanupIntervalMinutes: count('volumemigration-cr-cleanup-intervalinmin', 120),
    csiAuthCheckIntervalMinutes: count('csi-auth-check-intervalinmin', 5),
    cnsVolumeOperationRequestCleanupIntervalMinutes: count('cnsvolumeoperationrequest-cleanup-intervalinmin', 1440),
    csiFetchPreferredDatastoresIntervalMinutes: optionalCount(src, g.get('csi-fetch-preferred-datastores-intervalinmin')),
    queryLimit: optionalCount(src, g.get('query-limit')),
    listVolumeThreshold: optionalCount(src, g.get('list-volume-threshold')),
    metadataSyncer: ifSet(src, g.get('metadata-syncer'), parseBool),
    fullSyncIntervalMinutes: optionalCount(src, g.get('full-sync-intervalinmin')) || undefined,
    volumeHealthIntervalMinutes: optionalCount(src, g.get('volume-health-intervalinmin')) || undefined,
  };
}

const PERMISSIONS: NetPermission[] = ['READ_ONLY', 'READ_WRITE', 'NO_ACCESS'];

function buildNetPermissions(sections: Map<string, Settings>, diag: Diagnostics): Record<string, NetPermissionConfig> {
  const out: Record<string, NetPermissionConfig> = {};
  for (const [name, v] of sections) {
    const perm = v.get('permissions');
    const value = perm?.value.trim() || 'READ_WRITE';
    if (!PERMISSIONS.includes(value as NetPermission)) {
      throw diag.error(perm?.where ?? '', `'${value}' is not a permission: use ${PERMISSIONS.join(', ')}`);
    }
    const squash = v.get('rootsquash');
    out[name] = {
      ips: v.get('ips')?.value.trim() || '*',
      permissions: value as NetPermission,
      rootSquash: ifSet(diag.source, squash, parseBool) ?? false,
    };
  }
  return out;
}

function buildSnapshot(s: Settings, src: string): SnapshotConfig {
  return {
    globalMaxSnapshotsPerBlockVolume: optionalCount(src, s.get('global-max-snapshots-per-block-volume')) || 3,
    granularMaxSnapshotsPerBlockVolumeVsan: optionalCount(src, s.get('granular-max-snapshots-per-block-volume-vsan')),
    granularMaxSnapshotsPerBlockVolumeVvol: optionalCount(src, s.get('granular-max-snapshots-per-block-volume-vvol')),
  };
}
