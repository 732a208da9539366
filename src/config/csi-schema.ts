/**
 * The keys csi-vsphere.conf may contain, per section, as the reference
 * driver (kubernetes-sigs/vsphere-csi-driver pkg/common/config) defines
 * them, plus the few we add. The CPI INI reader uses the same tables so a
 * csi-vsphere.conf can be handed to the CPI without a warning per CSI key.
 */

/** [Global] keys we read. */
export const CSI_GLOBAL_KEYS = new Set([
  'cluster-id',
  'supervisor-id',
  'user',
  'password',
  'port',
  'insecure-flag',
  'ca-file',
  'thumbprint',
  'datacenters',
  // gcfg matches the reference's untagged VCenterIP field by name: a single-vCenter form.
  'vcenterip',
  // Our alias for vcenterip, as the CPI spells it.
  'server',
  'cluster-distribution',
  'vc-client-timeout',
  'cnsregistervolumes-cleanup-intervalinmin',
  'volumemigration-cr-cleanup-intervalinmin',
  'csi-auth-check-intervalinmin',
  'cnsvolumeoperationrequest-cleanup-intervalinmin',
  'csi-fetch-preferred-datastores-intervalinmin',
  'query-limit',
  'list-volume-threshold',
  // Ours: the metadata syncer built into controller mode (the reference runs it as a separate
  // container, tuned by FULL_SYNC_INTERVAL_MINUTES / VOLUME_HEALTH_INTERVAL_MINUTES, which we read too).
  'metadata-syncer',
  'full-sync-intervalinmin',
  'volume-health-intervalinmin',
]);

/** [VirtualCenter "host"] keys we read (ca-file and thumbprint per vCenter are our addition). */
export const CSI_VCENTER_KEYS = new Set(['user', 'password', 'port', 'insecure-flag', 'ca-file', 'thumbprint', 'datacenters']);

/** Reference keys for vSAN file volumes, which this driver does not provision. */
export const CSI_FILE_VOLUME_KEYS = new Set([
  'targetvsanfilesharedatastoreurls',
  'targetvsanfileshareclusters',
  'migration-datastore-url',
  'filevolumeactivated',
]);

/** Keys only the CPI reads; in a shared file the CSI side notes and skips them. */
export const CPI_ONLY_KEYS = new Set([
  'secret-name',
  'secret-namespace',
  'secrets-directory',
  'soap-roundtrip-count',
  'api-disable',
  'api-binding',
  'ip-family',
  'service-account',
  'node-deletion',
]);

export const CSI_LABEL_KEYS = new Set(['topology-categories', 'zone', 'region']);
export const CSI_NETPERMISSION_KEYS = new Set(['ips', 'permissions', 'rootsquash']);
export const CSI_SNAPSHOT_KEYS = new Set([
  'global-max-snapshots-per-block-volume',
  'granular-max-snapshots-per-block-volume-vsan',
  'granular-max-snapshots-per-block-volume-vvol',
]);
export const CSI_TOPOLOGY_CATEGORY_KEYS = new Set(['label']);

/** Sections the reference knows that this driver does not use (guest clusters, old feature flags). */
export const CSI_UNUSED_SECTIONS = new Set(['gc', 'featurestates']);

/** The reference's limits. */
export const MAX_VCENTERS = 5;
export const MAX_TOPOLOGY_CATEGORIES = 5;
export const MAX_CLUSTER_ID_LENGTH = 64;
export const DEFAULT_VCENTER_PORT = 443;
