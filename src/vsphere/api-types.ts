/**
 * Data types of the vCenter client layer (values passed to and returned by
 * the interfaces in ./api.ts, which re-exports everything here). Additive
 * changes only: other modes compile against these.
 */

/** A managed object reference, e.g. { type: 'VirtualMachine', value: 'vm-42' }. */
export interface MoRef {
  readonly type: string;
  readonly value: string;
}

/** Which vCenter endpoint a request went to. */
export type Endpoint = 'vim25' | 'cns' | 'pbm' | 'vapi';

/** One finished request, for metrics (prom-client histograms by method). */
export interface RequestEvent {
  endpoint: Endpoint;
  /** Same key format as the simulator's request log: "/sdk RetrievePropertiesEx", "POST /rest/com/vmware/cis/session". */
  key: string;
  /** SOAP method or "<HTTP method> <vAPI path>". */
  method: string;
  durationMs: number;
  outcome: 'ok' | 'fault' | 'error';
  /** Set when outcome is 'fault'. */
  faultType?: string;
  /**
   * Set when outcome is 'error': 'connection' (refused, reset, TLS, HTTP 502-504), 'timeout' (the
   * client's request timeout), 'cancelled' (the caller's signal), 'closed' (the client was closed).
   */
  errorKind?: 'connection' | 'timeout' | 'cancelled' | 'closed';
}

export interface VsphereStats {
  /** All requests sent to this vCenter by this client (including logins and keep-alives). */
  total: number;
  /** Requests by key, e.g. { "/sdk Login": 1, "/vsanHealth CnsCreateVolume": 10 }. */
  byMethod: Record<string, number>;
  /** vim25 sessions created (successful Login calls). */
  sessionsCreated: number;
  /** vAPI sessions created. */
  vapiSessionsCreated: number;
  /** Re-logins after NotAuthenticated / an expired session. */
  relogins: number;
}

export interface AboutInfo {
  fullName: string;
  version: string;
  apiVersion: string;
  instanceUuid: string;
  apiType: string;
}

export interface InventoryObject {
  ref: MoRef;
  name: string;
  /** Parent in the inventory tree (undefined for the root folder). */
  parent?: MoRef;
}

export interface Datacenter {
  ref: MoRef;
  name: string;
  /** Inventory path, e.g. "/DC0". */
  path: string;
}

export interface GuestNic {
  network?: string;
  macAddress?: string;
  connected: boolean;
  ipAddresses: string[];
}

/** The properties every consumer needs of a VM, read in bulk. */
export interface VmInfo {
  ref: MoRef;
  name: string;
  /** BIOS UUID (config.uuid), lowercase: the CSI node id. */
  biosUuid?: string;
  instanceUuid?: string;
  guestHostName?: string;
  guestIpAddress?: string;
  guestNics: GuestNic[];
  powerState?: 'poweredOn' | 'poweredOff' | 'suspended';
  host?: MoRef;
  resourcePool?: MoRef;
  parent?: MoRef;
  numCpu?: number;
  memoryMb?: number;
  guestId?: string;
  guestFullName?: string;
  /** extraConfig "disk.EnableUUID" (case-insensitive TRUE). undefined when not set. */
  diskEnableUuid?: boolean;
}

export interface DatastoreHostMount {
  host: MoRef;
  mounted: boolean;
  accessible: boolean;
}

export interface DatastoreInfo {
  ref: MoRef;
  name: string;
  /** summary.url, e.g. "ds:///vmfs/volumes/..." — the StorageClass `datastoreurl`. */
  url: string;
  type?: string;
  accessible: boolean;
  capacity: bigint;
  freeSpace: bigint;
  hostMounts: DatastoreHostMount[];
  /** summary.maintenanceMode: 'normal', 'enteringMaintenance' or 'inMaintenance' (unset on vCenters that do not report it). */
  maintenanceMode?: string;
}

/** A datastore cluster (StoragePod) and its member datastores. */
export interface DatastoreClusterInfo {
  ref: MoRef;
  name: string;
  /** Inventory path, e.g. "/DC0/datastore/gold-cluster". */
  path: string;
  datastores: MoRef[];
}

export interface HostInfo {
  ref: MoRef;
  name: string;
  /** ClusterComputeResource or ComputeResource owning the host. */
  parent?: MoRef;
  datastores: MoRef[];
  connectionState?: string;
  inMaintenanceMode?: boolean;
}

export interface ClusterInfo {
  ref: MoRef;
  name: string;
  parent?: MoRef;
  hosts: MoRef[];
  datastores: MoRef[];
}

export type TaskState = 'queued' | 'running' | 'success' | 'error';

/** A decoded XML value as returned in task results (anyType): strings, objects of children, arrays of repeated children. */
export type XmlValue = string | XmlObject | XmlValue[];

export interface XmlObject {
  readonly [name: string]: XmlValue | undefined;
}

export interface TaskOutcome {
  task: MoRef;
  state: 'success';
  /** info.result decoded (xsi:type under "@xsiType", a MoRef's type under "@type", text under "#text"); undefined when the task has no result. */
  result?: XmlValue;
}

export type CnsEntityType = 'PERSISTENT_VOLUME' | 'PERSISTENT_VOLUME_CLAIM' | 'POD';

export interface CnsEntityReference {
  entityType: CnsEntityType;
  entityName: string;
  namespace?: string;
  clusterId?: string;
}

/** CnsKubernetesEntityMetadata. */
export interface CnsEntityMetadata {
  entityType: CnsEntityType;
  entityName: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** true removes this entity's metadata in an update. */
  delete?: boolean;
  clusterId?: string;
  referredEntity?: CnsEntityReference[];
}

export interface CnsContainerCluster {
  clusterType: 'KUBERNETES';
  clusterId: string;
  vSphereUser: string;
  clusterFlavor: 'VANILLA' | 'WORKLOAD' | 'GUEST_CLUSTER';
  /** `[Global] cluster-distribution` (e.g. "OpenShift"), shown in vCenter's Cloud Native Storage view. */
  clusterDistribution?: string;
}

export interface CnsCreateSpec {
  /** Volume name, ≤ 80 characters (the CSI request name, or its mapping in src/controller/volume-name.ts). */
  name: string;
  capacityMb: number;
  /** Datastores to place on. Pass exactly one with the simulator (it creates one volume per datastore listed). */
  datastores: MoRef[];
  /** SPBM profile id (VirtualMachineDefinedProfileSpec). */
  profileId?: string;
  clusterId: string;
  vSphereUser: string;
  clusterFlavor?: CnsContainerCluster['clusterFlavor'];
  clusterDistribution?: string;
  entityMetadata?: CnsEntityMetadata[];
  /** Static provisioning: register an existing FCD (capacityMb may then be 0: CNS takes the disk's size). */
  backingDiskId?: string;
  /**
   * Restore: the new volume is a copy of this CNS snapshot (CnsSnapshotVolumeSource; vSphere >= 7.0 U3).
   * CNS gives it the snapshot's size; a capacityMb below that is refused.
   */
  volumeSource?: { volumeId: string; snapshotId: string };
}

/** A CNS snapshot of a block volume (CnsSnapshot). */
export interface CnsSnapshot {
  snapshotId: string;
  /** The volume it was taken of. */
  volumeId: string;
  /** Free text; the driver stores the CSI CreateSnapshot request name here. */
  description: string;
  /** createTime (xsd:dateTime); undefined when CNS sent none or an unreadable one. */
  createTime?: Date;
}

/** One CnsSnapshotQuerySpec: a volume's snapshots, or one snapshot of it. */
export interface CnsSnapshotQuerySpec {
  volumeId: string;
  snapshotId?: string;
}

export interface CnsSnapshotQueryFilter {
  /** Empty or absent: every snapshot of every volume in the vCenter. */
  specs?: CnsSnapshotQuerySpec[];
  /** Page request; vCenter's default limit is 128. */
  cursor?: { offset: number; limit: number };
}

/** One CnsSnapshotQueryResultEntry: a snapshot, or the fault for a spec that matched none (CnsSnapshotNotFoundFault, NotFound). */
export interface CnsSnapshotQueryEntry {
  snapshot?: CnsSnapshot;
  error?: import('./faults.js').VsphereFault;
}

export interface CnsSnapshotQueryPage {
  entries: CnsSnapshotQueryEntry[];
  /** Next offset and total as reported by CNS. */
  cursor: { offset: number; limit: number; totalRecords?: number };
}

export interface CnsCreated {
  volumeId: string;
  name?: string;
  /** Datastores the volume was placed on. */
  datastores: MoRef[];
}

export interface CnsAttached {
  volumeId: string;
  /** Lowercase hex, no dashes (the publish context `diskUUID`). */
  diskUuid: string;
}

export interface CnsAttachSpec {
  volumeId: string;
  vm: MoRef;
}

export interface CnsExtendSpec {
  volumeId: string;
  capacityMb: number;
}

/** CnsBlockVolumeRelocateSpec: move a volume to another datastore (attached or not). */
export interface CnsRelocateSpec {
  volumeId: string;
  datastore: MoRef;
  /** The policy the volume keeps (or gets) at the destination; without one vCenter applies the destination's default policy. */
  profileId?: string;
}

/** CnsVolumePolicyReconfigSpec: apply another storage policy to a volume in place. */
export interface CnsPolicySpec {
  volumeId: string;
  profileId: string;
}

export interface CnsUpdateMetadataSpec {
  volumeId: string;
  clusterId: string;
  vSphereUser: string;
  clusterFlavor?: CnsContainerCluster['clusterFlavor'];
  clusterDistribution?: string;
  entityMetadata: CnsEntityMetadata[];
}

/** One item's outcome in a batch call, at the same index as its spec. */
export type BatchResult<T> = { ok: true; value: T } | { ok: false; error: Error };

export interface CnsVolume {
  volumeId: string;
  name: string;
  volumeType: string;
  datastoreUrl?: string;
  storagePolicyId?: string;
  capacityMb?: number;
  backingDiskId?: string;
  containerCluster?: CnsContainerCluster;
  entityMetadata: CnsEntityMetadata[];
  healthStatus?: string;
  complianceStatus?: string;
  datastoreAccessibilityStatus?: string;
}

export interface CnsQueryFilter {
  volumeIds?: string[];
  names?: string[];
  containerClusterIds?: string[];
  datastores?: MoRef[];
  storagePolicyId?: string;
  /** Page request; default offset 0, server-chosen limit. */
  cursor?: { offset: number; limit: number };
}

export interface CnsQueryPage {
  volumes: CnsVolume[];
  /** Next offset and total as reported by CNS. */
  cursor: { offset: number; limit: number; totalRecords?: number };
}

export interface StoragePolicy {
  id: string;
  name: string;
  description?: string;
}

export interface TagCategory {
  id: string;
  name: string;
  description?: string;
  cardinality?: 'SINGLE' | 'MULTIPLE';
  associableTypes: string[];
}

export interface Tag {
  id: string;
  name: string;
  categoryId: string;
  /** Filled from the category list. */
  categoryName?: string;
  description?: string;
}

/**
 * A VirtualDisk device of a VM (`config.hardware.device`). This is how
 * vCenter itself records which volume is attached where: CNS attaches a
 * volume by adding such a device.
 */
export interface VmDisk {
  /** Device key on the VM. */
  key: number;
  /** `vDiskId.id` (vSphere >= 6.7): the FCD id, which is the CNS volume id. Unset for plain VM disks. */
  volumeId?: string;
  /** `backing.uuid`, lowercase hex without dashes (the publish context's diskUUID form). */
  diskUuid?: string;
  /** `backing.fileName`, e.g. "[ds1] fcd/abc.vmdk". */
  fileName?: string;
  /** `capacityInBytes`, else `capacityInKB` × 1024. */
  capacityBytes?: bigint;
  controllerKey?: number;
  unitNumber?: number;
}

/** One VM's identity and its disks (the all-VM disk read). */
export interface VmDisks {
  ref: MoRef;
  name: string;
  /** BIOS UUID (config.uuid), lowercase: the CSI node id. */
  biosUuid?: string;
  disks: VmDisk[];
}

/** One HasPrivilegeOnEntities question: these privileges on these entities. */
export interface PrivilegeQuery {
  entities: MoRef[];
  privIds: string[];
}

export interface EntityPrivileges {
  entity: MoRef;
  /** privilege id → granted */
  granted: Map<string, boolean>;
}
