/**
 * CreateVolume: idempotent by name with no store of our own (the CNS volume
 * name is the request name, so a CNS query finds what any earlier process
 * created), one shared CNS call for concurrent identical requests, and the
 * name lookups of concurrent creates coalesced into one CNS query. Every
 * create is its own CnsCreateVolume with one spec: vCenter refuses more.
 */
import type { CallContext } from '../csi/handler.js';
import type { CreateVolumeRequest__Output } from '../csi/generated/csi/v1/CreateVolumeRequest.js';
import type { CreateVolumeResponse } from '../csi/generated/csi/v1/CreateVolumeResponse.js';
import { alreadyExists, invalidArgument } from '../csi/errors.js';
import { requireString, validateCapacityRange, validateStringMap, validateVolumeCapabilities } from '../csi/validate.js';
import type { CnsCreateSpec, CnsCreated, CnsEntityMetadata, CnsVolume } from '../vsphere/api.js';
import { sizeForRange, bytesToMiB, mibToBytes } from './capacity.js';
import { checkCapabilities } from './capabilities.js';
import { Coalescer } from './coalescer.js';
import { VOLUME_TYPE_BLOCK, type ControllerContext } from './context.js';
import { parseVolumeParameters, type VolumeParameters } from './parameters.js';
import { accessibleSegments, chooseDatastore, sameUrl, type Placement, type Segment } from './placement.js';
import { SingleFlight } from './single-flight.js';
import { abandonOnAbort } from './abandon.js';

/** CNS limits volume names to 80 characters (the drop-in contract). */
export const MAX_VOLUME_NAME = 80;

type Volume = NonNullable<CreateVolumeResponse['volume']>;

export function toSegments(topologies: Array<{ segments?: Record<string, string> | null } | null> | null | undefined): Segment[] {
  return (topologies ?? []).map((t) => ({ ...(t?.segments ?? {}) }));
}

export class VolumeCreator {
  private readonly flights = new SingleFlight<Volume>();

  /** Concurrent creates look their names up in one CNS query. */
  private readonly nameLookups: Coalescer<string, CnsVolume[]>;

  constructor(private readonly ctx: ControllerContext) {
    this.nameLookups = new Coalescer<string, CnsVolume[]>({
      ...ctx.batching,
      run: async (_key, names) => {
        const found = await ctx.client.cns.queryAllPages({ names: [...new Set(names)], containerClusterIds: [ctx.clusterId] });
        return names.map((name) => ({ ok: true, value: found.filter((v) => v.name === name) }));
      },
    });
  }

  /** Name-lookup coalescing: CNS queries sent and names they carried. */
  get lookupStats(): { batches: number; items: number } {
    return this.nameLookups.stats;
  }

  async createVolume(req: CreateVolumeRequest__Output, call: CallContext): Promise<CreateVolumeResponse> {
    const name = requireString(req.name, 'name');
    if (name.length > MAX_VOLUME_NAME) {
      throw invalidArgument(`name: "${name.slice(0, 40)}..." is ${name.length} characters; CNS volume names are limited to ${MAX_VOLUME_NAME}`);
    }
    validateVolumeCapabilities(req.volume_capabilities);
    checkCapabilities(req.volume_capabilities);
    const range = validateCapacityRange(req.capacity_range);
    const sizeBytes = sizeForRange(range);
    const params = parseVolumeParameters(validateStringMap(req.parameters, 'parameters'));
    for (const warning of params.warnings) call.log.warn({ volumeName: name }, warning);
    if (req.volume_content_source) {
      throw invalidArgument('volume_content_source: creating a volume from a snapshot or another volume is not supported yet; create an empty volume');
    }
    const preferred = toSegments(req.accessibility_requirements?.preferred);
    const requisite = toSegments(req.accessibility_requirements?.requisite);
    const fingerprint = JSON.stringify([String(sizeBytes), String(range?.limitBytes ?? 0n), params, preferred, requisite]);
    const volume = await abandonOnAbort(
      this.flights.run(
        name,
        fingerprint,
        () => this.createOnce(name, sizeBytes, range?.limitBytes ?? 0n, params, preferred, requisite, call),
        'CreateVolume',
      ),
      call.signal,
      `CreateVolume "${name}"`,
    );
    return { volume };
  }

  private async createOnce(
    name: string,
    sizeBytes: bigint,
    limitBytes: bigint,
    params: VolumeParameters,
    preferred: Segment[],
    requisite: Segment[],
    call: CallContext,
  ): Promise<Volume> {
    const options = { signal: call.signal };
    const existing = await this.findByName(name, call);
    if (existing) return this.reuse(existing, sizeBytes, limitBytes, params, [...preferred, ...requisite], call);

    const policy = params.storagePolicyName ? await this.ctx.policies.resolve(params.storagePolicyName, options) : undefined;
    const request = { preferred, requisite, compatible: policy?.compatible, policyName: policy?.name, datastoreUrl: params.datastoreUrl };
    let snapshot = await this.ctx.inventory.get(options);
    let placement: Placement;
    try {
      placement = chooseDatastore(snapshot, request);
    } catch (err) {
      // The snapshot may predate a new datastore, mount or zone tag: decide again on fresh data once.
      this.ctx.inventory.invalidate();
      snapshot = await this.ctx.inventory.get(options);
      placement = chooseDatastore(snapshot, request);
      call.log.info({ volumeName: name, firstError: (err as Error).message }, 'placement succeeded after refreshing the inventory');
    }
    const spec: CnsCreateSpec = {
      name,
      capacityMb: bytesToMiB(sizeBytes),
      // Exactly one datastore: CNS may place on any listed one (and the simulator creates one volume per entry).
      datastores: [snapshot.datastoreRefs.get(placement.datastore.id)!],
      profileId: policy?.profileId,
      clusterId: this.ctx.clusterId,
      vSphereUser: this.ctx.vSphereUser,
      clusterFlavor: 'VANILLA',
      entityMetadata: this.entityMetadata(params),
    };
    let created: CnsCreated;
    try {
      // No caller signal: once CNS has the task, it runs to the end; a caller
      // that gives up leaves the single flight running, so its retry joins it
      // instead of creating a second volume while the first task is still on vCenter.
      created = await this.ctx.client.cns.createVolume(spec);
    } catch (err) {
      // The chosen datastore may be gone or full: the next attempt re-reads the inventory.
      this.ctx.inventory.invalidate();
      throw err;
    }
    call.log.info({ volumeId: created.volumeId, volumeName: name, datastore: placement.datastore.name }, 'CNS volume created');
    return {
      volume_id: created.volumeId,
      capacity_bytes: String(sizeBytes),
      volume_context: { type: VOLUME_TYPE_BLOCK },
      accessible_topology: placement.accessibleTopology.map((segments) => ({ segments })),
    };
  }

  /** The CNS volume of this cluster with this exact name, if any. */
  private async findByName(name: string, call: CallContext): Promise<CnsVolume | undefined> {
    const named = await this.nameLookups.submit('names', name);
    const mine = named
      .filter((v) => v.name === name)
      .filter((v) => !v.containerCluster || v.containerCluster.clusterId === this.ctx.clusterId)
      .sort((a, b) => (a.volumeId < b.volumeId ? -1 : 1));
    if (mine.length > 1) call.log.warn({ volumeName: name, volumeIds: mine.map((v) => v.volumeId) }, 'several CNS volumes carry this name; using the first');
    return mine[0];
  }

  private async reuse(existing: CnsVolume, sizeBytes: bigint, limitBytes: bigint, params: VolumeParameters, segments: Segment[], call: CallContext): Promise<Volume> {
    const have = mibToBytes(existing.capacityMb ?? 0);
    const problems: string[] = [];
    if (have < sizeBytes) problems.push(`it has ${have} bytes, fewer than the ${sizeBytes} requested`);
    if (limitBytes > 0n && have > limitBytes) problems.push(`it has ${have} bytes, more than limit_bytes ${limitBytes}`);
    if (params.datastoreUrl && existing.datastoreUrl && !sameUrl(existing.datastoreUrl, params.datastoreUrl)) {
      problems.push(`it is on ${existing.datastoreUrl}, not on the requested datastoreurl`);
    }
    if (params.storagePolicyName && existing.storagePolicyId) {
      const policy = await this.ctx.policies.resolve(params.storagePolicyName, { signal: call.signal });
      if (policy.profileId !== existing.storagePolicyId) problems.push(`it has another storage policy than "${params.storagePolicyName}"`);
    }
    if (problems.length > 0) {
      throw alreadyExists(`name: volume "${existing.name}" already exists as ${existing.volumeId} but ${problems.join(' and ')}; delete it or use another name`);
    }
    let accessible: Segment[] = [];
    if (segments.length > 0 && existing.datastoreUrl) {
      const snapshot = await this.ctx.inventory.get({ signal: call.signal });
      const ds = snapshot.datastores.find((d) => d.url === existing.datastoreUrl);
      if (ds) accessible = accessibleSegments(snapshot, ds, segments);
    }
    return {
      volume_id: existing.volumeId,
      capacity_bytes: String(have),
      volume_context: { type: VOLUME_TYPE_BLOCK },
      accessible_topology: accessible.map((s) => ({ segments: s })),
    };
  }

  /** PV and PVC entities (the PVC referring to the PV), so vCenter shows which claim owns the volume. */
  private entityMetadata(params: VolumeParameters): CnsEntityMetadata[] {
    const out: CnsEntityMetadata[] = [];
    const clusterId = this.ctx.clusterId;
    if (params.pvName) out.push({ entityType: 'PERSISTENT_VOLUME', entityName: params.pvName, clusterId, labels: {} });
    if (params.pvcName && params.pvcNamespace) {
      out.push({
        entityType: 'PERSISTENT_VOLUME_CLAIM',
        entityName: params.pvcName,
        namespace: params.pvcNamespace,
        clusterId,
        labels: {},
        referredEntity: params.pvName ? [{ entityType: 'PERSISTENT_VOLUME', entityName: params.pvName, clusterId }] : undefined,
      });
    }
    return out;
  }
}
