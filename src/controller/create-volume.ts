/**
 * CreateVolume: idempotent by name with no store of our own (the CNS volume
 * name is the request name, or for names over 80 characters its
 * deterministic mapping in volume-name.ts, so a CNS query finds what any
 * earlier process created, in any configured vCenter: name-lookup.ts), and
 * one shared CNS call for concurrent identical requests. Every create is its
 * own CnsCreateVolume with one spec: vCenter refuses more. Where the volume
 * goes (which vCenter, which datastore): create-placement.ts.
 */
import type { CallContext } from '../csi/handler.js';
import type { CreateVolumeRequest__Output } from '../csi/generated/csi/v1/CreateVolumeRequest.js';
import type { CreateVolumeResponse } from '../csi/generated/csi/v1/CreateVolumeResponse.js';
import { alreadyExists, invalidArgument, notFound } from '../csi/errors.js';
import { requireString, validateCapacityRange, validateStringMap, validateVolumeCapabilities } from '../csi/validate.js';
import type { CnsCreateSpec, CnsCreated, CnsEntityMetadata, CnsVolume } from '../vsphere/api.js';
import { placeVolume, type Placed } from './create-placement.js';
import { NameLookups } from './name-lookup.js';
import type { VcenterContext } from './vcenters.js';
import { sizeForRange, bytesToMiB, mibToBytes } from './capacity.js';
import { checkCapabilities } from './capabilities.js';
import { VOLUME_TYPE_BLOCK, type ControllerContext } from './context.js';
import { parseMutableParameters, parseVolumeParameters, withMutable, type VolumeParameters } from './parameters.js';
import { accessibleSegments, sameUrl, type Segment } from './placement.js';
import { SingleFlight } from './single-flight.js';
import { abandonOnAbort } from './abandon.js';
import { cnsVolumeName, fullNameLabels } from './volume-name.js';
import { isFault } from '../vsphere/faults.js';
import { parseSnapshotId, restoreSize } from './snapshot-id.js';
import { findSnapshot, snapshotCall } from './snapshot-reads.js';


type Volume = NonNullable<CreateVolumeResponse['volume']>;

export function toSegments(topologies: Array<{ segments?: Record<string, string> | null } | null> | null | undefined): Segment[] {
  return (topologies ?? []).map((t) => ({ ...(t?.segments ?? {}) }));
}

export class VolumeCreator {
  private readonly flights = new SingleFlight<Volume>();

  /** Concurrent creates look their names up in one CNS query per vCenter. */
  private readonly names: NameLookups;

  constructor(private readonly ctx: ControllerContext) {
    this.names = new NameLookups(ctx);
  }

  /** Name-lookup coalescing: CNS queries sent and names they carried. */
  get lookupStats(): { batches: number; items: number } {
    return this.names.stats;
  }

  async createVolume(req: CreateVolumeRequest__Output, call: CallContext): Promise<CreateVolumeResponse> {
    // Up to 128 bytes (requireString's limit), mapped to a ≤ 80-character CNS name (volume-name.ts).
    const requestName = requireString(req.name, 'name');
    const name = cnsVolumeName(requestName);
    validateVolumeCapabilities(req.volume_capabilities);
    checkCapabilities(req.volume_capabilities);
    const range = validateCapacityRange(req.capacity_range);
    // A restore's size follows its snapshot (restoreOnce); an empty volume's the range.
    const sizeBytes = req.volume_content_source ? 0n : sizeForRange(range);
    const params = withMutable(
      parseVolumeParameters(validateStringMap(req.parameters, 'parameters')),
      parseMutableParameters(validateStringMap(req.mutable_parameters, 'mutable_parameters')),
    );
    for (const warning of params.warnings) call.log.warn({ volumeName: name }, warning);
    const source = contentSource(req.volume_content_source);
    const preferred = toSegments(req.accessibility_requirements?.preferred);
    const requisite = toSegments(req.accessibility_requirements?.requisite);
    const fingerprint = JSON.stringify([String(sizeBytes), String(range?.requiredBytes ?? 0n), String(range?.limitBytes ?? 0n), params, preferred, requisite, source ?? null]);
    const volume = await abandonOnAbort(
      this.flights.run(
        name,
        fingerprint,
        () =>
          source
            ? this.restoreOnce(requestName, source, range?.requiredBytes ?? 0n, range?.limitBytes ?? 0n, params, preferred, requisite, call)
            : this.createOnce(requestName, sizeBytes, range?.limitBytes ?? 0n, params, preferred, requisite, call),
        'CreateVolume',
      ),
      call.signal,
      `CreateVolume "${name}"`,
    );
    return { volume };
  }

  private async createOnce(
    requestName: string,
    sizeBytes: bigint,
    limitBytes: bigint,
    params: VolumeParameters,
    preferred: Segment[],
    requisite: Segment[],
    call: CallContext,
  ): Promise<Volume> {
    const name = cnsVolumeName(requestName);
    const segments = [...preferred, ...requisite];
    const named = await this.names.find(name, call);
    if (named.existing) return this.reuse(named.existing.vc, named.existing.volume, sizeBytes, limitBytes, params, segments, call);

    const { vc, snapshot, placement, policy } = await placeVolume(this.ctx.vcenters, { name, preferred, requisite, params }, call);
    const late = await this.names.confirm(named, vc, name, call);
    if (late) return this.reuse(vc, late, sizeBytes, limitBytes, params, segments, call);
    const spec = this.createSpec(requestName, bytesToMiB(sizeBytes), vc, { snapshot, placement, policy }, params);
    let created: CnsCreated;
    try {
      // No caller signal: once CNS has the task, it runs to the end; a caller
      // that gives up leaves the single flight running, so its retry joins it
      // instead of creating a second volume while the first task is still on vCenter.
      created = await vc.client.cns.createVolume(spec);
    } catch (err) {
      // The chosen datastore may be gone or full: the next attempt re-reads the inventory.
      vc.inventory.invalidate();
      throw err;
    }
    this.ctx.locator.remember(created.volumeId, vc);
    call.log.info({ volumeId: created.volumeId, volumeName: name, vcenter: vc.name, datastore: placement.datastore.name }, 'CNS volume created');
    return {
      volume_id: created.volumeId,
      capacity_bytes: String(sizeBytes),
      volume_context: { type: VOLUME_TYPE_BLOCK },
      accessible_topology: placement.accessibleTopology.map((segments) => ({ segments })),
    };
  }

  /**
   * CreateVolume from volume_content_source.snapshot: CNS makes the volume
   * from the snapshot (CnsSnapshotVolumeSource), in the snapshot's vCenter, on
   * a datastore the request's topology and StorageClass allow (the normal
   * placement), with the snapshot's size; a larger request is then met with a
   * CnsExtendVolume (the reference driver refuses it). Idempotent by name as
   * any create: a retry finds the volume, and grows it if an earlier attempt
   * stopped between the restore and the extend.
   */
  private async restoreOnce(
    requestName: string,
    source: string,
    requiredBytes: bigint,
    limitBytes: bigint,
    params: VolumeParameters,
    preferred: Segment[],
    requisite: Segment[],
    call: CallContext,
  ): Promise<Volume> {
    const name = cnsVolumeName(requestName);
    const what = 'restoring a volume from a snapshot (CreateVolume)';
    const field = 'volume_content_source.snapshot.snapshot_id';
    const ref = parseSnapshotId(source);
    const missing = () => notFound(`${field}: snapshot ${source} does not exist${ref ? '' : ' (ids of this driver are "<volume id>+<snapshot id>")'}`);
    if (!ref) throw missing();
    const found = await findSnapshot(this.ctx, ref, what, call.signal);
    if (!found) throw missing();
    const sourceVolume = found.volume;
    if (!sourceVolume?.capacityMb) throw missing();
    const snapshotBytes = mibToBytes(sourceVolume.capacityMb);
    const sizeBytes = restoreSize(snapshotBytes, requiredBytes, limitBytes, source);
    const segments = [...preferred, ...requisite];
    const restored = { snapshotId: source, minBytes: snapshotBytes };

    const named = await this.names.find(name, call);
    if (named.existing) return this.reuse(named.existing.vc, named.existing.volume, sizeBytes, limitBytes, params, segments, call, restored);
    const { vc, snapshot, placement, policy } = await placeVolume(this.ctx.vcenters, { name, preferred, requisite, params, vcenter: found.vc }, call);
    const late = await this.names.confirm(named, vc, name, call);
    if (late) return this.reuse(vc, late, sizeBytes, limitBytes, params, segments, call, restored);
    // CNS gives a restored volume its snapshot's size (and refuses less); more is an extend afterwards.
    const spec = { ...this.createSpec(requestName, bytesToMiB(snapshotBytes), vc, { snapshot, placement, policy }, params), volumeSource: ref };
    let created: CnsCreated;
    try {
      // No caller signal, as in createOnce: a retry joins the flight instead of restoring twice.
      created = await snapshotCall(vc, what, () => vc.client.cns.createVolume(spec));
    } catch (err) {
      if (isFault(err, 'CnsSnapshotNotFoundFault', 'CnsVolumeNotFoundFault')) throw missing();
      vc.inventory.invalidate();
      throw err;
    }
    this.ctx.locator.remember(created.volumeId, vc);
    call.log.info({ volumeId: created.volumeId, volumeName: name, vcenter: vc.name, datastore: placement.datastore.name, snapshotId: source }, 'CNS volume restored from snapshot');
    if (sizeBytes > snapshotBytes) {
      await vc.client.cns.extendVolume({ volumeId: created.volumeId, capacityMb: bytesToMiB(sizeBytes) });
      call.log.info({ volumeId: created.volumeId, from: String(snapshotBytes), to: String(sizeBytes) }, 'restored volume extended to the requested size');
    }
    return {
      volume_id: created.volumeId,
      capacity_bytes: String(sizeBytes),
      volume_context: { type: VOLUME_TYPE_BLOCK },
      accessible_topology: placement.accessibleTopology.map((segments) => ({ segments })),
      content_source: { snapshot: { snapshot_id: source } },
    };
  }

  /** The CnsCreateSpec of a new volume on the placed datastore, for a plain create and a restore alike. */
  private createSpec(requestName: string, capacityMb: number, vc: VcenterContext, placed: Pick<Placed, 'snapshot' | 'placement' | 'policy'>, params: VolumeParameters): CnsCreateSpec {
    return {
      name: cnsVolumeName(requestName),
      capacityMb,
      // Exactly one datastore: CNS may place on any listed one (and the simulator creates one volume per entry).
      datastores: [placed.snapshot.datastoreRefs.get(placed.placement.datastore.id)!],
      profileId: placed.policy?.profileId,
      clusterId: this.ctx.clusterId,
      vSphereUser: vc.vSphereUser,
      clusterFlavor: 'VANILLA',
      clusterDistribution: this.ctx.clusterDistribution,
      entityMetadata: this.entityMetadata(params, fullNameLabels(requestName)),
    };
  }

  private async reuse(
    vc: VcenterContext,
    existing: CnsVolume,
    sizeBytes: bigint,
    limitBytes: bigint,
    params: VolumeParameters,
    segments: Segment[],
    call: CallContext,
    restored?: { snapshotId: string; minBytes: bigint },
  ): Promise<Volume> {
    let have = mibToBytes(existing.capacityMb ?? 0);
    if (restored && have < sizeBytes && have >= restored.minBytes) {
      // An earlier attempt restored the volume and stopped before growing it: finish that.
      await vc.client.cns.extendVolume({ volumeId: existing.volumeId, capacityMb: bytesToMiB(sizeBytes) });
      call.log.info({ volumeId: existing.volumeId, from: String(have), to: String(sizeBytes) }, 'restored volume extended to the requested size');
      have = sizeBytes;
    }
    const problems: string[] = [];
    if (have < sizeBytes) problems.push(`it has ${have} bytes, fewer than the ${sizeBytes} requested`);
    if (limitBytes > 0n && have > limitBytes) problems.push(`it has ${have} bytes, more than limit_bytes ${limitBytes}`);
    if (params.datastoreUrl && existing.datastoreUrl && !sameUrl(existing.datastoreUrl, params.datastoreUrl)) {
      problems.push(`it is on ${existing.datastoreUrl}, not on the requested datastoreurl`);
    }
    if (params.storagePolicyName && existing.storagePolicyId) {
      const policy = await vc.policies.resolve(params.storagePolicyName, { signal: call.signal });
      if (policy.profileId !== existing.storagePolicyId) problems.push(`it has another storage policy than "${params.storagePolicyName}"`);
    }
    if (problems.length > 0) {
      throw alreadyExists(`name: volume "${existing.name}" already exists as ${existing.volumeId} but ${problems.join(' and ')}; delete it or use another name`);
    }
    this.ctx.locator.remember(existing.volumeId, vc);
    let accessible: Segment[] = [];
    if (segments.length > 0 && existing.datastoreUrl) {
      const snapshot = await vc.inventory.get({ signal: call.signal });
      const ds = snapshot.datastores.find((d) => d.url === existing.datastoreUrl);
      if (ds) accessible = accessibleSegments(snapshot, ds, segments);
    }
    return {
      volume_id: existing.volumeId,
      capacity_bytes: String(have),
      volume_context: { type: VOLUME_TYPE_BLOCK },
      accessible_topology: accessible.map((s) => ({ segments: s })),
      ...(restored ? { content_source: { snapshot: { snapshot_id: restored.snapshotId } } } : {}),
    };
  }

  /** PV and PVC entities (the PVC referring to the PV), so vCenter shows which claim owns the volume. */
  private entityMetadata(params: VolumeParameters, labels: Record<string, string>): CnsEntityMetadata[] {
    const out: CnsEntityMetadata[] = [];
    const clusterId = this.ctx.clusterId;
    if (params.pvName) out.push({ entityType: 'PERSISTENT_VOLUME', entityName: params.pvName, clusterId, labels });
    if (params.pvcName && params.pvcNamespace) {
      out.push({
        entityType: 'PERSISTENT_VOLUME_CLAIM',
        entityName: params.pvcName,
        namespace: params.pvcNamespace,
        clusterId,
        labels,
        referredEntity: params.pvName ? [{ entityType: 'PERSISTENT_VOLUME', entityName: params.pvName, clusterId }] : undefined,
      });
    }
    return out;
  }
}

/**
 * volume_content_source → the snapshot id to restore from, or undefined for
 * an empty volume. Cloning (a volume source) is refused: CNS has no clone of
 * a block volume; a snapshot and a restore from it does the same.
 */
export function contentSource(source: CreateVolumeRequest__Output['volume_content_source']): string | undefined {
  if (!source) return undefined;
  if (source.volume || source.type === 'volume') {
    throw invalidArgument(
      'volume_content_source.volume: cloning a volume is not supported by this driver; take a VolumeSnapshot of the source PVC and create the PVC from that snapshot instead',
    );
  }
  if (!source.snapshot) throw invalidArgument('volume_content_source: set snapshot.snapshot_id (the only content source this driver supports) or leave it out');
  return requireString(source.snapshot.snapshot_id, 'volume_content_source.snapshot.snapshot_id');
}
