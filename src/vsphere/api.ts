/**
 * The public, typed surface of the vCenter client layer. The CSI controller,
 * the CPI, preflight, the demo and the benchmarks code against these
 * interfaces only; nothing outside src/vsphere/ sees SOAP, XML or vAPI REST.
 *
 * Conventions:
 * - Every operation takes `CallOptions` (an AbortSignal from the gRPC deadline).
 * - Failures are the typed errors of ./faults.ts: VsphereFault (branch on
 *   `faultType`), VsphereConnectionError, VsphereTimeoutError.
 * - xsd:long byte counts are `bigint` (never lossy); MiB counts are `number`.
 * - Changes to this file are additive only: other modes compile against it.
 */
import type {
  MoRef,
  RequestEvent,
  VsphereStats,
  AboutInfo,
  InventoryObject,
  Datacenter,
  VmInfo,
  DatastoreInfo,
  DatastoreClusterInfo,
  HostInfo,
  ClusterInfo,
  TaskOutcome,
  CnsCreateSpec,
  CnsCreated,
  CnsAttached,
  CnsAttachSpec,
  CnsExtendSpec,
  CnsUpdateMetadataSpec,
  CnsRelocateSpec,
  CnsPolicySpec,
  BatchResult,
  CnsVolume,
  CnsQueryFilter,
  CnsQueryPage,
  CnsSnapshot,
  CnsSnapshotQueryFilter,
  CnsSnapshotQueryPage,
  StoragePolicy,
  TagCategory,
  Tag,
  VmDisk,
  VmDisks,
  PrivilegeQuery,
  EntityPrivileges,
} from './api-types.js';

export type * from './api-types.js';

/** Stable map key for a MoRef: "VirtualMachine:vm-42". */
export function refKey(ref: MoRef): string {
  return `${ref.type}:${ref.value}`;
}

export interface CallOptions {
  /** Aborts the call (the caller's deadline). Rejects with VsphereTimeoutError. */
  signal?: AbortSignal;
}

// ---------------------------------------------------------------- client

export type RequestObserver = (event: RequestEvent) => void;

/**
 * One vCenter connection. Logs in lazily on first use; all callers share one
 * session. Create it once per vCenter per process.
 */
export interface VsphereClient {
  /** vCenter host (as configured). */
  readonly host: string;
  readonly session: SessionControl;
  readonly inventory: Inventory;
  readonly tasks: TaskWaiter;
  readonly cns: Cns;
  readonly pbm: Pbm;
  readonly tags: Tags;
  /** Request counters since creation (or the last resetStats()). */
  stats(): VsphereStats;
  resetStats(): void;
  /** Observe every request (latency by method). Returns an unsubscribe function. */
  onRequest(observer: RequestObserver): () => void;
  /** Stops keep-alives and the task waiter, logs out of vim25 and vAPI, closes connections. Idempotent. */
  close(): Promise<void>;
}

export interface SessionControl {
  /** Logs in if there is no session yet (or it expired). Concurrent callers share one login. */
  ensure(options?: CallOptions): Promise<void>;
  /** ServiceContent.about (no login needed). */
  about(options?: CallOptions): Promise<AboutInfo>;
  /** The key of this client's current vim25 session (SessionManager.currentSession.key). */
  currentSessionKey(options?: CallOptions): Promise<string>;
  /** SessionManager.TerminateSession: ends other sessions (needs Sessions.TerminateSession). */
  terminateSessions(sessionKeys: string[], options?: CallOptions): Promise<void>;
  /** SessionManager.SessionIsActive for a session key and user name. */
  isSessionActive(sessionKey: string, userName: string, options?: CallOptions): Promise<boolean>;
  /** ServiceInstance.CurrentTime: the cheap call used for keep-alive and health probes. */
  currentTime(options?: CallOptions): Promise<Date>;
  /**
   * AuthorizationManager.HasPrivilegeOnEntities for this session's own user, one request per query
   * (answers at the query's index; a query vCenter refuses, e.g. an unknown privilege id, fails alone).
   */
  hasPrivilegesOnEntities(queries: PrivilegeQuery[], options?: CallOptions): Promise<BatchResult<EntityPrivileges[]>[]>;
}

// ---------------------------------------------------------------- inventory

export interface VmScope extends CallOptions {
  /** Container to search (Folder, Datacenter, ClusterComputeResource, ResourcePool); default: configured datacenters or the root folder. */
  container?: MoRef;
}

export interface Inventory {
  /** Configured datacenters (by name or path), or all when none are configured. Cached per session. */
  datacenters(options?: CallOptions): Promise<Datacenter[]>;
  /** SearchIndex.FindByUuid with vmSearch=true, instanceUuid=false (BIOS UUID), in each datacenter. */
  findVmByUuid(biosUuid: string, options?: CallOptions): Promise<MoRef | undefined>;
  findVmByDnsName(dnsName: string, options?: CallOptions): Promise<MoRef | undefined>;
  findVmByIp(ip: string, options?: CallOptions): Promise<MoRef | undefined>;
  /** One VM's properties; VsphereFault ManagedObjectNotFound when it is gone. */
  vm(ref: MoRef, options?: CallOptions): Promise<VmInfo>;
  /** Many VMs by ref in one RetrievePropertiesEx; missing VMs are left out. */
  vmsByRef(refs: MoRef[], options?: CallOptions): Promise<VmInfo[]>;
  /** All VMs under a container in one RetrievePropertiesEx over a (cached) ContainerView. */
  vms(options?: VmScope): Promise<VmInfo[]>;
  hosts(options?: VmScope): Promise<HostInfo[]>;
  clusters(options?: VmScope): Promise<ClusterInfo[]>;
  datastores(options?: VmScope): Promise<DatastoreInfo[]>;
  /** Datastore clusters (StoragePods) with their member datastores and inventory paths: two requests (members, then the parent chains). */
  datastoreClusters(options?: VmScope): Promise<DatastoreClusterInfo[]>;
  /** Hosts of one cluster. */
  hostsOfCluster(cluster: MoRef, options?: CallOptions): Promise<HostInfo[]>;
  /** Parent chain of an object, nearest first, ending at the root folder; the object itself is not included. */
  ancestors(ref: MoRef, options?: CallOptions): Promise<InventoryObject[]>;
  /** Parent chains of many objects in one request; keyed by refKey(). */
  ancestorsOfMany(refs: MoRef[], options?: CallOptions): Promise<Map<string, InventoryObject[]>>;
  /**
   * The VirtualDisk devices of many VMs (`config.hardware.device`, other
   * device types ignored) in one RetrievePropertiesEx, keyed by refKey().
   * VMs that no longer exist are left out of the map.
   */
  vmDisks(refs: MoRef[], options?: CallOptions): Promise<Map<string, VmDisk[]>>;
  /** Name, BIOS UUID and disks of every VM under a container: one RetrievePropertiesEx over the cached VM ContainerView. */
  allVmDisks(options?: VmScope): Promise<VmDisks[]>;
  /** ReconfigVM_Task with extraConfig entries (e.g. disk.EnableUUID, or the simulator's SET.guest.hostName). Waits for the task. */
  setExtraConfig(vm: MoRef, entries: Record<string, string>, options?: CallOptions): Promise<void>;
  powerOnVm(vm: MoRef, options?: CallOptions): Promise<void>;
  powerOffVm(vm: MoRef, options?: CallOptions): Promise<void>;
  /** Destroy_Task (the VM must be powered off). */
  destroyVm(vm: MoRef, options?: CallOptions): Promise<void>;
}

// ---------------------------------------------------------------- tasks

export interface TaskWaiter {
  /**
   * Resolves when the task succeeds; rejects with a VsphereFault carrying the
   * task's fault type when it fails. Shares one property-collector wait with
   * every other in-flight task of this vCenter.
   */
  wait(task: MoRef, options?: CallOptions): Promise<TaskOutcome>;
  /** Tasks currently awaited. */
  pending(): number;
  /** Task infos held (awaited, or finished with no caller yet: bounded in count and age). */
  remembered(): number;
}

// ---------------------------------------------------------------- CNS

export interface Cns {
  /** One CnsCreateVolume task with one spec (vCenter refuses several: InvalidArgument "InputSpec"). */
  createVolume(spec: CnsCreateSpec, options?: CallOptions): Promise<CnsCreated>;
  /** One CnsDeleteVolume per volume. deleteDisk=true (default) removes the backing disk too. A volume CNS does not know fails with faultType "NotFound". */
  deleteVolume(volumeId: string, options?: CallOptions & { deleteDisk?: boolean }): Promise<void>;
  attachVolumes(specs: CnsAttachSpec[], options?: CallOptions): Promise<BatchResult<CnsAttached>[]>;
  attachVolume(spec: CnsAttachSpec, options?: CallOptions): Promise<CnsAttached>;
  detachVolumes(specs: CnsAttachSpec[], options?: CallOptions): Promise<BatchResult<void>[]>;
  detachVolume(spec: CnsAttachSpec, options?: CallOptions): Promise<void>;
  /** One CnsExtendVolume per volume. */
  extendVolume(spec: CnsExtendSpec, options?: CallOptions): Promise<void>;
  updateVolumeMetadata(specs: CnsUpdateMetadataSpec[], options?: CallOptions): Promise<BatchResult<void>[]>;
  updateOneVolumeMetadata(spec: CnsUpdateMetadataSpec, options?: CallOptions): Promise<void>;
  /**
   * One CnsRelocateVolume with one CnsBlockVolumeRelocateSpec (vCenter refuses more), attached or not;
   * resolves when CNS has moved the volume. vCenter >= 7.0 U3; older ones fault MethodNotFound.
   */
  relocateVolume(spec: CnsRelocateSpec, options?: CallOptions): Promise<void>;
  /** One CnsReconfigVolumePolicy with one spec. vCenter >= 8.0 U2; older ones fault MethodNotFound. */
  reconfigVolumePolicy(spec: CnsPolicySpec, options?: CallOptions): Promise<void>;
  /** One CnsQueryVolume page (vCenter's default limit is 100, its maximum 1000). Filters are re-applied client-side: a CNS that ignores one must not make us act on the wrong volume. */
  queryVolumes(filter: CnsQueryFilter, options?: CallOptions): Promise<CnsQueryPage>;
  /** Follows the cursor until all pages are read. */
  queryAllPages(filter: Omit<CnsQueryFilter, 'cursor'>, options?: CallOptions & { pageSize?: number }): Promise<CnsVolume[]>;
  /** CnsQueryAllVolume (no paging). */
  queryAllVolumes(filter: Omit<CnsQueryFilter, 'cursor'>, options?: CallOptions): Promise<CnsVolume[]>;
  /**
   * One CnsCreateSnapshots with one CnsSnapshotCreateSpec; resolves with the snapshot when the task
   * is done. vCenter >= 7.0 U3 (older ones fault MethodNotFound). The volume's own faults
   * (NotFound, CnsFault for vSphere's 32-snapshot limit) reject.
   */
  createSnapshot(volumeId: string, description: string, options?: CallOptions): Promise<CnsSnapshot>;
  /** One CnsDeleteSnapshots with one spec. A snapshot CNS does not know rejects with faultType "CnsSnapshotNotFoundFault" (or "NotFound" for the volume). */
  deleteSnapshot(volumeId: string, snapshotId: string, options?: CallOptions): Promise<void>;
  /**
   * One CnsQuerySnapshots page (a task). Specs that match nothing come back as entries with
   * `error` (CnsSnapshotNotFoundFault for a snapshot; NotFound/CnsFault for a volume).
   */
  querySnapshots(filter: CnsSnapshotQueryFilter, options?: CallOptions): Promise<CnsSnapshotQueryPage>;
}

// ---------------------------------------------------------------- PBM

export interface Pbm {
  /** All storage (REQUIREMENT) profiles. */
  policies(options?: CallOptions): Promise<StoragePolicy[]>;
  /** Profile id for a policy name (exact match, then case-insensitive); undefined when none. */
  policyIdByName(name: string, options?: CallOptions): Promise<string | undefined>;
  /** Datastores compatible with a profile (PbmCheckRequirements), optionally restricted to candidates. */
  compatibleDatastores(profileId: string, options?: CallOptions & { candidates?: MoRef[] }): Promise<MoRef[]>;
}

// ---------------------------------------------------------------- tags

export interface Tags {
  /** All categories (cached with the TTL). */
  categories(options?: CallOptions): Promise<TagCategory[]>;
  /** All tags with their category names (cached with the TTL). */
  tags(options?: CallOptions): Promise<Tag[]>;
  /** Tags attached to each object, keyed by refKey() (list-attached-tags-on-objects: one request for all). */
  attachedTags(objects: MoRef[], options?: CallOptions): Promise<Map<string, Tag[]>>;
  createCategory(name: string, options?: CallOptions & { cardinality?: 'SINGLE' | 'MULTIPLE'; associableTypes?: string[]; description?: string }): Promise<string>;
  createTag(name: string, categoryId: string, options?: CallOptions & { description?: string }): Promise<string>;
  attachTag(tagId: string, object: MoRef, options?: CallOptions): Promise<void>;
  detachTag(tagId: string, object: MoRef, options?: CallOptions): Promise<void>;
  /** Drops cached categories/tags (e.g. after creating some). */
  invalidate(): void;
}

// ---------------------------------------------------------------- construction
// createVsphereClient(options) and clientOptionsFromConfig(vcenterConfig) live in ./client.js.

export interface VsphereClientOptions {
  host: string;
  /** Default 443. */
  port?: number;
  user: string;
  password: string;
  /** Disables TLS verification (logged once as a warning). */
  insecure?: boolean;
  /** PEM CA bundle path; default: the system CAs. */
  caFile?: string;
  /** SHA-1 or SHA-256 fingerprint of the leaf certificate (hex, colons optional). Pins instead of CA verification. */
  thumbprint?: string;
  /** Datacenter names or paths to work in; empty = all. */
  datacenters?: string[];
  /** Keep-alive interval for idle sessions; default 5 min. 0 disables. */
  keepAliveMs?: number;
  /** First backoff after InvalidLogin; doubles up to 5 min. Default 10 s. */
  loginBackoffMs?: number;
  /** TTL of the tag category/tag cache; default 5 min. */
  tagCacheTtlMs?: number;
  /** Per-request timeout when the caller gives no signal; default 60 s. */
  requestTimeoutMs?: number;
  /** pino logger; default silent. */
  logger?: import('pino').Logger;
}
