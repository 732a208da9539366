/**
 * CNS volume operations. Create, delete and extend carry exactly one spec per
 * CNS request, as vCenter requires. Attach, detach and metadata updates take
 * many: one CNS request for all specs, one task on the shared task waiter,
 * per-volume results mapped back to the caller's items by volume id. A
 * task-level fault fails every item of that batch; a per-volume fault, or a
 * volume CNS left out of the result, fails only that item.
 */
import type {
  BatchResult,
  CallOptions,
  Cns,
  CnsAttached,
  CnsAttachSpec,
  CnsCreated,
  CnsCreateSpec,
  CnsExtendSpec,
  CnsPolicySpec,
  CnsQueryFilter,
  CnsQueryPage,
  CnsRelocateSpec,
  CnsSnapshot,
  CnsSnapshotQueryFilter,
  CnsSnapshotQueryPage,
  CnsUpdateMetadataSpec,
  CnsVolume,
  TaskOutcome,
  XmlValue,
} from './api.js';
import {
  CNS_VOLUME_MANAGER,
  decodeBatchResult,
  decodeSnapshotQueryResult,
  decodeSnapshotResults,
  decodeVolume,
  encodeSnapshotCreateSpec,
  encodeSnapshotDeleteSpec,
  encodeSnapshotFilter,
  encodeCreateSpec,
  encodeExtendCapacity,
  encodeFilter,
  encodeUpdateSpec,
  profileSpec,
  volumeIdValue,
  type OperationResult,
} from './cns-codec.js';
import { VsphereFault } from './faults.js';
import { all, childText, one, toInt, toMoRef } from './soap/decode.js';
import { moref, obj, poly, type SoapValue } from './soap/envelope.js';
import type { VimSession } from './session.js';
import type { SharedTaskWaiter } from './task-waiter.js';

export class CnsClient implements Cns {
  /** This vCenter refused several specs in one CnsUpdateVolumeMetadata. */
  private metadataOnePerCall = false;

  constructor(
    private readonly session: VimSession,
    private readonly tasks: SharedTaskWaiter,
  ) {}

  /**
   * One CnsCreateVolume with exactly one spec: vCenter faults the whole call
   * with InvalidArgument (InputSpec) for more (docs/vsphere-client.md).
   */
  async createVolume(spec: CnsCreateSpec, options: CallOptions = {}): Promise<CnsCreated> {
    const results = await this.runBatch('CnsCreateVolume', { createSpecs: [encodeCreateSpec(spec)] }, options);
    if (!Array.isArray(results)) throw results;
    const r = results.length === 1 ? results[0] : results.find((x) => x.name === spec.name);
    if (!r) throw new VsphereFault('CnsFault', `CnsCreateVolume returned no result for volume "${spec.name}"`, { method: 'CnsCreateVolume' });
    if (r.fault) throw r.fault;
    if (!r.volumeId) throw new VsphereFault('CnsFault', `CnsCreateVolume returned no volume id for "${spec.name}"`, { method: 'CnsCreateVolume' });
    return { volumeId: r.volumeId, name: r.name ?? spec.name, datastores: r.datastores };
  }

  /** One CnsDeleteVolume for one volume (vCenter's rule). A volume CNS does not know fails with faultType "NotFound". */
  async deleteVolume(volumeId: string, options: CallOptions & { deleteDisk?: boolean } = {}): Promise<void> {
    const results = await this.runBatch('CnsDeleteVolume', { volumeIds: [volumeIdValue(volumeId)], deleteDisk: options.deleteDisk ?? true }, options);
    single(byVolumeId([volumeId], results, 'CnsDeleteVolume', () => undefined));
  }

  async attachVolumes(specs: CnsAttachSpec[], options: CallOptions = {}): Promise<BatchResult<CnsAttached>[]> {
    if (specs.length === 0) return [];
    const results = await this.runBatch('CnsAttachVolume', { attachSpecs: specs.map(attachDetachSpec) }, options);
    return byVolumeId(
      specs.map((s) => s.volumeId),
      results,
      'CnsAttachVolume',
      (r, volumeId) => {
        if (!r.diskUuid) throw new VsphereFault('CnsFault', `CnsAttachVolume returned no disk UUID for volume ${volumeId}`);
        return { volumeId, diskUuid: r.diskUuid };
      },
    );
  }

  async attachVolume(spec: CnsAttachSpec, options: CallOptions = {}): Promise<CnsAttached> {
    return single(await this.attachVolumes([spec], options));
  }

  async detachVolumes(specs: CnsAttachSpec[], options: CallOptions = {}): Promise<BatchResult<void>[]> {
    if (specs.length === 0) return [];
    const results = await this.runBatch('CnsDetachVolume', { detachSpecs: specs.map(attachDetachSpec) }, options);
    return byVolumeId(
      specs.map((s) => s.volumeId),
      results,
      'CnsDetachVolume',
      () => undefined,
    );
  }

  async detachVolume(spec: CnsAttachSpec, options: CallOptions = {}): Promise<void> {
    single(await this.detachVolumes([spec], options));
  }

  /** One CnsExtendVolume for one volume (vCenter's rule). */
  async extendVolume(spec: CnsExtendSpec, options: CallOptions = {}): Promise<void> {
    const extendSpecs = [obj('CnsVolumeExtendSpec', { volumeId: volumeIdValue(spec.volumeId), capacityInMb: encodeExtendCapacity(spec.capacityMb) })];
    const results = await this.runBatch('CnsExtendVolume', { extendSpecs }, options);
    single(byVolumeId([spec.volumeId], results, 'CnsExtendVolume', () => undefined));
  }

  /**
   * Several volumes per CnsUpdateVolumeMetadata (the API takes a list; govmomi's
   * later simulator accepts many while it refuses several create specs "same as
   * real VC"). Should a vCenter refuse a list as it refuses batch creates
   * (InvalidArgument for the whole call), the specs are sent one per call, then
   * and from then on for this vCenter.
   */
  async updateVolumeMetadata(specs: CnsUpdateMetadataSpec[], options: CallOptions = {}): Promise<BatchResult<void>[]> {
    if (specs.length === 0) return [];
    if (specs.length > 1 && this.metadataOnePerCall) return this.updateOneByOne(specs, options);
    const results = await this.runBatch('CnsUpdateVolumeMetadata', { updateSpecs: specs.map(encodeUpdateSpec) }, options);
    if (specs.length > 1 && !Array.isArray(results) && results.faultType === 'InvalidArgument') {
      this.metadataOnePerCall = true;
      return this.updateOneByOne(specs, options);
    }
    return byVolumeId(
      specs.map((s) => s.volumeId),
      results,
      'CnsUpdateVolumeMetadata',
      () => undefined,
    );
  }

  private updateOneByOne(specs: CnsUpdateMetadataSpec[], options: CallOptions): Promise<BatchResult<void>[]> {
    return Promise.all(specs.map(async (spec) => (await this.updateVolumeMetadata([spec], options))[0]!));
  }

  async updateOneVolumeMetadata(spec: CnsUpdateMetadataSpec, options: CallOptions = {}): Promise<void> {
    single(await this.updateVolumeMetadata([spec], options));
  }

  /** One CnsRelocateVolume for one volume (vCenter's rule); the profile keeps the volume's policy at the destination. */
  async relocateVolume(spec: CnsRelocateSpec, options: CallOptions = {}): Promise<void> {
    const relocateSpecs = [
      poly('CnsBlockVolumeRelocateSpec', { volumeId: volumeIdValue(spec.volumeId), datastore: moref(spec.datastore), profile: profileSpec(spec.profileId) }),
    ];
    const results = await this.runBatch('CnsRelocateVolume', { relocateSpecs }, options);
    single(byVolumeId([spec.volumeId], results, 'CnsRelocateVolume', () => undefined));
  }

  /** One CnsReconfigVolumePolicy for one volume (vCenter's rule). */
  async reconfigVolumePolicy(spec: CnsPolicySpec, options: CallOptions = {}): Promise<void> {
    const volumePolicyReconfigSpecs = [obj('CnsVolumePolicyReconfigSpec', { volumeId: volumeIdValue(spec.volumeId), profile: profileSpec(spec.profileId) })];
    const results = await this.runBatch('CnsReconfigVolumePolicy', { volumePolicyReconfigSpecs }, options);
    single(byVolumeId([spec.volumeId], results, 'CnsReconfigVolumePolicy', () => undefined));
  }

  async queryVolumes(filter: CnsQueryFilter, options: CallOptions = {}): Promise<CnsQueryPage> {
    const page = await this.queryRaw(filter, options);
    return { volumes: clientSideFilter(page.volumes, filter), cursor: page.cursor };
  }

  async queryAllPages(filter: Omit<CnsQueryFilter, 'cursor'>, options: CallOptions & { pageSize?: number } = {}): Promise<CnsVolume[]> {
    const limit = options.pageSize ?? 500;
    const seen = new Map<string, CnsVolume>();
    for (let offset = 0; ; ) {
      const page = await this.queryRaw({ ...filter, cursor: { offset, limit } }, options);
      for (const v of page.volumes) seen.set(v.volumeId, v);
      const next = page.cursor.offset;
      // Stop when CNS does not advance the cursor (the simulator always answers offset 0 with everything).
      if (page.volumes.length === 0 || next <= offset || (page.cursor.totalRecords !== undefined && next >= page.cursor.totalRecords)) break;
      offset = next;
    }
    return clientSideFilter([...seen.values()], filter);
  }

  private async queryRaw(filter: CnsQueryFilter, options: CallOptions): Promise<CnsQueryPage> {
    const body = await this.session.call('cns', 'CnsQueryVolume', { _this: moref(CNS_VOLUME_MANAGER), filter: encodeFilter(filter) }, { ...options, idempotent: true });
    const result = one(body, 'returnval');
    const cursor = one(result, 'cursor');
    return {
      volumes: all(result, 'volumes').map(decodeVolume),
      cursor: {
        offset: toInt(childText(cursor, 'offset')) ?? 0,
        limit: toInt(childText(cursor, 'limit')) ?? 0,
        totalRecords: toInt(childText(cursor, 'totalRecords')),
      },
    };
  }

  async queryAllVolumes(filter: Omit<CnsQueryFilter, 'cursor'>, options: CallOptions = {}): Promise<CnsVolume[]> {
    const body = await this.session.call(
      'cns',
      'CnsQueryAllVolume',
      { _this: moref(CNS_VOLUME_MANAGER), filter: encodeFilter(filter), selection: obj('CnsQuerySelection', {}) },
      { ...options, idempotent: true },
    );
    return clientSideFilter(all(one(body, 'returnval'), 'volumes').map(decodeVolume), filter);
  }

  /** Sends one CNS batch request and waits for its task: per-volume results, or the task's fault for all. */
  private runBatch(method: string, params: Record<string, SoapValue>, options: CallOptions): Promise<OperationResult[] | VsphereFault> {
    return this.runTask(method, params, options, (result) => decodeBatchResult(result, method));
  }

  /** Sends one CNS task request and waits for it: the decoded result, or the task's fault. */
  private async runTask<T>(
    method: string,
    params: Record<string, SoapValue>,
    options: CallOptions & { idempotent?: boolean },
    decode: (result: XmlValue | undefined) => T,
  ): Promise<T | VsphereFault> {
    const body = await this.session.call('cns', method, { _this: moref(CNS_VOLUME_MANAGER), ...params }, options);
    const task = toMoRef(one(body, 'returnval'));
    if (!task) throw new VsphereFault('InvalidResponse', `${method} returned no task`, { method });
    let outcome: TaskOutcome;
    try {
      outcome = await this.tasks.wait(task, options);
    } catch (err) {
      // A failed task is an answer for every item of the batch; anything else (deadline, network) is the caller's error.
      if (err instanceof VsphereFault) return err;
      throw err;
    }
    return decode(outcome.result);
  }

  /** One CnsCreateSnapshots with one spec (the API takes a list; one per call keeps every failure the volume's own). */
  async createSnapshot(volumeId: string, description: string, options: CallOptions = {}): Promise<CnsSnapshot> {
    const method = 'CnsCreateSnapshots';
    const results = await this.runTask(method, { snapshotSpecs: [encodeSnapshotCreateSpec(volumeId, description)] }, options, (r) => decodeSnapshotResults(r, method));
    if (!Array.isArray(results)) throw results;
    const r = results.length === 1 ? results[0] : results.find((x) => x.volumeId === volumeId);
    if (!r) throw new VsphereFault('CnsFault', `${method} returned no result for volume ${volumeId}`, { method });
    if (r.fault) throw r.fault;
    if (!r.snapshot) throw new VsphereFault('CnsFault', `${method} returned no snapshot for volume ${volumeId}`, { method });
    return r.snapshot;
  }

  async deleteSnapshot(volumeId: string, snapshotId: string, options: CallOptions = {}): Promise<void> {
    const method = 'CnsDeleteSnapshots';
    const results = await this.runTask(method, { snapshotDeleteSpecs: [encodeSnapshotDeleteSpec(volumeId, snapshotId)] }, options, (r) => decodeSnapshotResults(r, method));
    if (!Array.isArray(results)) throw results;
    const r = results.length === 1 ? results[0] : results.find((x) => x.snapshotId === snapshotId);
    if (!r) throw new VsphereFault('CnsFault', `${method} returned no result for snapshot ${snapshotId} of volume ${volumeId}`, { method });
    if (r.fault) throw r.fault;
  }

  /** A read, though a task: retried on network errors like the other CNS queries. */
  async querySnapshots(filter: CnsSnapshotQueryFilter, options: CallOptions = {}): Promise<CnsSnapshotQueryPage> {
    const method = 'CnsQuerySnapshots';
    const page = await this.runTask(method, { snapshotQueryFilter: encodeSnapshotFilter(filter) }, { ...options, idempotent: true }, (r) =>
      decodeSnapshotQueryResult(r, method),
    );
    if (page instanceof VsphereFault) throw page;
    return page;
  }
}

function attachDetachSpec(s: CnsAttachSpec): SoapValue {
  return obj('CnsVolumeAttachDetachSpec', { volumeId: volumeIdValue(s.volumeId), vm: moref(s.vm) });
}

function byVolumeId<T>(
  volumeIds: string[],
  results: OperationResult[] | VsphereFault,
  method: string,
  value: (r: OperationResult, volumeId: string) => T,
): BatchResult<T>[] {
  if (!Array.isArray(results)) return volumeIds.map(() => ({ ok: false, error: results }));
  const pending = new Map<string, OperationResult[]>();
  for (const r of results) {
    if (!r.volumeId) continue;
    const list = pending.get(r.volumeId) ?? [];
    list.push(r);
    pending.set(r.volumeId, list);
  }
  return volumeIds.map((volumeId): BatchResult<T> => {
    const r = pending.get(volumeId)?.shift();
    if (!r) return { ok: false, error: new VsphereFault('NotFound', `${method}: CNS has no volume ${volumeId}`, { method }) };
    if (r.fault) return { ok: false, error: r.fault };
    try {
      return { ok: true, value: value(r, volumeId) };
    } catch (err) {
      return { ok: false, error: err as Error };
    }
  });
}

function single<T>(results: BatchResult<T>[]): T {
  const [r] = results;
  if (!r) throw new VsphereFault('CnsFault', 'CNS returned no result');
  if (!r.ok) throw r.error;
  return r.value;
}

/** Filters the simulator ignores (names, cluster ids) are re-applied here; harmless against a real CNS. */
function clientSideFilter(volumes: CnsVolume[], filter: Omit<CnsQueryFilter, 'cursor'>): CnsVolume[] {
  let out = volumes;
  if (filter.names?.length) {
    const names = new Set(filter.names);
    out = out.filter((v) => names.has(v.name));
  }
  if (filter.volumeIds?.length) {
    const ids = new Set(filter.volumeIds);
    out = out.filter((v) => ids.has(v.volumeId));
  }
  if (filter.containerClusterIds?.length) {
    const ids = new Set(filter.containerClusterIds);
    out = out.filter((v) => v.containerCluster !== undefined && ids.has(v.containerCluster.clusterId));
  }
  return out;
}
