/**
 * Typed configuration shared by every mode. Parsed from csi-vsphere.conf
 * (INI) for the CSI modes and from the CPI's YAML (or INI) for cpi mode.
 */

export interface VCenterConfig {
  /** Server host name or IP, the `[VirtualCenter "host"]` section name (or `server` in CPI YAML). */
  host: string;
  port: number;
  /** Domain-qualified: user@domain or DOMAIN\user. */
  user: string;
  password: string;
  /** true disables TLS verification (explicit, logged opt-out). */
  insecure: boolean;
  /** PEM CA bundle path to verify the server certificate. */
  caFile?: string;
  /** Pinned certificate fingerprint (SHA-1 or SHA-256, colon-separated hex). */
  thumbprint?: string;
  /** Datacenter names (or inventory paths) to search; empty = all. */
  datacenters: string[];
}

export interface LabelsConfig {
  /** `[Labels] topology-categories`: vSphere tag categories → topology.csi.vmware.com/<category>. */
  topologyCategories: string[];
  /** Legacy `[Labels] zone` / `region` tag category names. */
  zone?: string;
  region?: string;
}

export interface CsiConfig {
  /** File the config was read from (for messages). */
  source: string;
  clusterId: string;
  vcenters: VCenterConfig[];
  labels: LabelsConfig;
  /** Non-fatal findings (unknown keys/sections, deprecated keys) already logged once. */
  warnings: string[];
  /** Optional extras (config helper): the reference's other [Global] keys, with defaults. */
  global?: CsiGlobalSettings;
  /** `[NetPermissions "name"]` sections. */
  netPermissions?: Record<string, NetPermissionConfig>;
  /** `[Snapshot]` section, with defaults. */
  snapshot?: SnapshotConfig;
  /** `[TopologyCategory "category"] label = ...`: category → label. */
  topologyCategoryLabels?: Record<string, string>;
}

/*
 * Additive extensions (config helper). Everything below is optional on
 * CsiConfig so existing literals stay valid.
 */

/** `[Global]` tuning keys of the reference driver, parsed with its defaults. */
export interface CsiGlobalSettings {
  supervisorId?: string;
  clusterDistribution?: string;
  /** vc-client-timeout (minutes, default 5). */
  vcClientTimeoutMinutes: number;
  /** cnsregistervolumes-cleanup-intervalinmin (default 720). */
  cnsRegisterVolumesCleanupIntervalMinutes: number;
  /** volumemigration-cr-cleanup-intervalinmin (default 120). */
  volumeMigrationCrCleanupIntervalMinutes: number;
  /** csi-auth-check-intervalinmin (default 5). */
  csiAuthCheckIntervalMinutes: number;
  /** cnsvolumeoperationrequest-cleanup-intervalinmin (default 1440). */
  cnsVolumeOperationRequestCleanupIntervalMinutes: number;
  /** csi-fetch-preferred-datastores-intervalinmin; unset = the consumer's default. */
  csiFetchPreferredDatastoresIntervalMinutes?: number;
  /** query-limit: volumes per CNS QueryAll page; unset = the consumer's default. */
  queryLimit?: number;
  /** list-volume-threshold; unset = the consumer's default. */
  listVolumeThreshold?: number;
  /** metadata-syncer (ours): false turns controller mode's metadata syncer off; unset = on. */
  metadataSyncer?: boolean;
  /** full-sync-intervalinmin (ours; 0 = unset): the syncer's full-sync period. */
  fullSyncIntervalMinutes?: number;
  /** volume-health-intervalinmin (ours; 0 = unset): how often the syncer reads volume health between full syncs. */
  volumeHealthIntervalMinutes?: number;
}

export type NetPermission = 'READ_ONLY' | 'READ_WRITE' | 'NO_ACCESS';

/** `[NetPermissions "name"]` (file volumes; parsed for compatibility). */
export interface NetPermissionConfig {
  ips: string;
  permissions: NetPermission;
  rootSquash: boolean;
}

/** `[Snapshot]` limits. */
export interface SnapshotConfig {
  /** global-max-snapshots-per-block-volume (default 3). */
  globalMaxSnapshotsPerBlockVolume: number;
  granularMaxSnapshotsPerBlockVolumeVsan?: number;
  granularMaxSnapshotsPerBlockVolumeVvol?: number;
}

export type IpFamily = 'ipv4' | 'ipv6';

/** One vCenter of the CPI config, before credentials are resolved (see credentials.ts). */
export interface CpiVCenterConfig {
  /** The map key (YAML `vcenter: <name>:`, INI `[VirtualCenter "<name>"]`). */
  name: string;
  /** Host name or IP (`server`, default: the name). */
  server: string;
  port: number;
  datacenters: string[];
  /** Inline credentials, if the file (or env) gives them; Global's are inherited. */
  user?: string;
  password?: string;
  insecure: boolean;
  caFile?: string;
  thumbprint?: string;
  /** Kubernetes Secret with `<server>.username` / `<server>.password` (Global's inherited). */
  secretName?: string;
  secretNamespace?: string;
  ipFamily: IpFamily[];
}

export interface CpiGlobalConfig {
  user?: string;
  password?: string;
  port: number;
  insecure: boolean;
  caFile?: string;
  thumbprint?: string;
  datacenters: string[];
  secretName?: string;
  secretNamespace?: string;
  /** Directory of `<server>.username` / `<server>.password` files. */
  secretsDirectory?: string;
  /** cluster-id when the file is a csi-vsphere.conf (or YAML clusterID). */
  clusterId?: string;
}

export interface CpiNodesConfig {
  internalNetworkSubnetCidr: string[];
  externalNetworkSubnetCidr: string[];
  internalVmNetworkName?: string;
  externalVmNetworkName?: string;
  excludeInternalNetworkSubnetCidr: string[];
  excludeExternalNetworkSubnetCidr: string[];
}

export interface CpiConfig {
  source: string;
  /** Which syntax the file was read as. */
  format: 'yaml' | 'ini';
  global: CpiGlobalConfig;
  /** name → vCenter, in file order. */
  vcenter: Record<string, CpiVCenterConfig>;
  /** zone/region tag categories, and our topology-categories (mirrors the CSI side). */
  labels: LabelsConfig;
  nodes: CpiNodesConfig;
  /** Global IP family priority (default ['ipv4']). */
  ipFamily: IpFamily[];
  /**
   * Our extension: delete the Node object when its VM is gone (default true,
   * as upstream). YAML `global.nodeDeletion`, INI `[Global] node-deletion`,
   * env `VSPHERE_CPI_NODE_DELETION`.
   */
  nodeDeletion: boolean;
  warnings: string[];
}
