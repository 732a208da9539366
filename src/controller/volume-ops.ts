/**
 * The single-volume RPCs besides create/publish: DeleteVolume,
 * ControllerExpandVolume, ValidateVolumeCapabilities, ControllerGetVolume,
 * each in the vCenter that holds the volume (volume-locator.ts), and the
 * listing/capacity RPCs ListVolumes and GetCapacity across all vCenters
 * (list-volumes.ts, get-capacity.ts).
 */
import type { CallContext } from '../csi/handler.js';
import type { DeleteVolumeRequest__Output } from '../csi/generated/csi/v1/DeleteVolumeRequest.js';
import type { ControllerExpandVolumeRequest__Output } from '../csi/generated/csi/v1/ControllerExpandVolumeRequest.js';
import type { ControllerExpandVolumeResponse } from '../csi/generated/csi/v1/ControllerExpandVolumeResponse.js';
import type { ValidateVolumeCapabilitiesRequest__Output } from '../csi/generated/csi/v1/ValidateVolumeCapabilitiesRequest.js';
import type { ValidateVolumeCapabilitiesResponse } from '../csi/generated/csi/v1/ValidateVolumeCapabilitiesResponse.js';
import type { ControllerGetVolumeRequest__Output } from '../csi/generated/csi/v1/ControllerGetVolumeRequest.js';
import type { ControllerGetVolumeResponse } from '../csi/generated/csi/v1/ControllerGetVolumeResponse.js';
import type { ListVolumesRequest__Output } from '../csi/generated/csi/v1/ListVolumesRequest.js';
import type { ListVolumesResponse } from '../csi/generated/csi/v1/ListVolumesResponse.js';
import type { GetCapacityRequest__Output } from '../csi/generated/csi/v1/GetCapacityRequest.js';
import type { GetCapacityResponse } from '../csi/generated/csi/v1/GetCapacityResponse.js';
import type { VolumeCondition } from '../csi/generated/csi/v1/VolumeCondition.js';
import { failedPrecondition, invalidArgument, outOfRange } from '../csi/errors.js';
import { requireVolumeId, validateCapacityRange, validateStringMap, validateVolumeCapabilities, validateVolumeCapability } from '../csi/validate.js';
import type { CnsVolume } from '../vsphere/api.js';
import { isFault } from '../vsphere/faults.js';
import { accessTypeOf, capabilityProblem } from './capabilities.js';
import { mibToBytes, sizeForRange, bytesToMiB } from './capacity.js';
import { VOLUME_TYPE_BLOCK, type ControllerContext } from './context.js';
import { getCapacity } from './get-capacity.js';
import { listVolumes } from './list-volumes.js';
import { publishedNodes } from './published-nodes.js';
import { parseVolumeParameters } from './parameters.js';
import { blockingSnapshots, hasSnapshotsError } from './snapshot-reads.js';

export class VolumeOps {
  constructor(private readonly ctx: ControllerContext) {}

  async deleteVolume(req: DeleteVolumeRequest__Output, call: CallContext): Promise<Record<string, never>> {
    const volumeId = requireVolumeId(req.volume_id);
    return this.ctx.volumeLocks.run(volumeId, async () => {
      const attached = this.ctx.attachments.get(volumeId);
      if (attached) {
        throw failedPrecondition(`volume ${volumeId} is attached to node ${attached.nodeId}; unpublish it (delete the pod using it) before deleting`);
      }
      try {
        await this.ctx.locator.withVolume(
          volumeId,
          call.signal,
          async ({ vc }) => {
            // vSphere keeps a disk's snapshots with it: refuse with their ids rather than let CNS fail the task.
            const snapshots = await blockingSnapshots(vc, volumeId, call.signal);
            if (snapshots.length > 0) throw hasSnapshotsError(volumeId, snapshots, 'deleted');
            await vc.client.cns.deleteVolume(volumeId, { signal: call.signal });
            this.ctx.locator.forget(volumeId);
            call.log.info({ volumeId, vcenter: vc.name }, 'CNS volume deleted');
          },
          // No vCenter has it: already deleted.
          () => undefined,
        );
      } catch (err) {
        if (isFault(err, 'NotFound')) return {};
        if (isFault(err, 'ResourceInUse')) throw failedPrecondition(`volume ${volumeId} is attached to a VM; unpublish it before deleting`);
        throw err;
      }
      return {};
    });
  }

  async expandVolume(req: ControllerExpandVolumeRequest__Output, call: CallContext): Promise<ControllerExpandVolumeResponse> {
    const volumeId = requireVolumeId(req.volume_id);
    const range = validateCapacityRange(req.capacity_range);
    if (!range || (range.requiredBytes === 0n && range.limitBytes === 0n)) {
      throw invalidArgument('capacity_range: is required for ControllerExpandVolume; give the new size in required_bytes');
    }
    const sizeBytes = sizeForRange(range);
    let block = false;
    if (req.volume_capability) {
      validateVolumeCapability(req.volume_capability, 'volume_capability');
      block = accessTypeOf(req.volume_capability) === 'block';
    }
    return this.ctx.volumeLocks.run(volumeId, async () => {
      const { vc, volume } = await this.ctx.locator.find(volumeId, call.signal);
      const have = mibToBytes(volume.capacityMb ?? 0);
      if (sizeBytes < have) {
        throw outOfRange(`capacity_range: volume ${volumeId} has ${have} bytes; shrinking to ${sizeBytes} is not supported`);
      }
      if (sizeBytes > have) {
        // vSphere cannot grow a disk that has snapshots.
        const snapshots = await blockingSnapshots(vc, volumeId, call.signal);
        if (snapshots.length > 0) throw hasSnapshotsError(volumeId, snapshots, 'expanded');
        await vc.client.cns.extendVolume({ volumeId, capacityMb: bytesToMiB(sizeBytes) }, { signal: call.signal });
        call.log.info({ volumeId, from: String(have), to: String(sizeBytes) }, 'CNS volume extended');
      }
      return { capacity_bytes: String(sizeBytes), node_expansion_required: !block };
    });
  }

  async validateVolumeCapabilities(req: ValidateVolumeCapabilitiesRequest__Output, call: CallContext): Promise<ValidateVolumeCapabilitiesResponse> {
    const volumeId = requireVolumeId(req.volume_id);
    validateVolumeCapabilities(req.volume_capabilities);
    const parameters = validateStringMap(req.parameters, 'parameters');
    const volumeContext = validateStringMap(req.volume_context, 'volume_context');
    await this.ctx.locator.find(volumeId, call.signal);
    try {
      parseVolumeParameters(parameters);
    } catch (err) {
      return { message: (err as Error).message };
    }
    const problems = req.volume_capabilities.map((cap, i) => capabilityProblem(cap, `volume_capabilities[${i}]`)).filter((p) => p !== undefined);
    if (problems.length > 0) return { message: problems.join('; ') };
    return { confirmed: { volume_context: volumeContext, volume_capabilities: req.volume_capabilities, parameters } };
  }

  async getVolume(req: ControllerGetVolumeRequest__Output, call: CallContext): Promise<ControllerGetVolumeResponse> {
    const volumeId = requireVolumeId(req.volume_id);
    const { vc, volume } = await this.ctx.locator.find(volumeId, call.signal);
    const nodes = await publishedNodes(this.ctx, [{ volumeId, vc }]);
    return {
      volume: this.toCsiVolume(volume),
      status: { published_node_ids: nodes.get(volumeId) ?? [], volume_condition: condition(volume) },
    };
  }

  async listVolumes(req: ListVolumesRequest__Output, call: CallContext): Promise<ListVolumesResponse> {
    const page = await listVolumes(this.ctx, req, call);
    return {
      entries: page.entries.map((e) => ({
        volume: this.toCsiVolume(e.volume),
        status: { published_node_ids: e.nodeIds, volume_condition: condition(e.volume) },
      })),
      next_token: page.nextToken,
    };
  }

  getCapacity(req: GetCapacityRequest__Output, call: CallContext): Promise<GetCapacityResponse> {
    return getCapacity(this.ctx.vcenters, req, call);
  }

  private toCsiVolume(v: CnsVolume) {
    return {
      volume_id: v.volumeId,
      capacity_bytes: String(mibToBytes(v.capacityMb ?? 0)),
      volume_context: { type: VOLUME_TYPE_BLOCK },
    };
  }
}

/** CNS health → CSI volume condition (abnormal for red/yellow health or an inaccessible datastore). */
export function condition(v: CnsVolume): VolumeCondition {
  const health = (v.healthStatus ?? '').toLowerCase();
  if (health === 'red' || health === 'yellow') {
    return { abnormal: true, message: `CNS reports health ${v.healthStatus} for volume ${v.volumeId}; see the volume in vCenter (Monitor > Cloud Native Storage)` };
  }
  if ((v.datastoreAccessibilityStatus ?? '').toLowerCase() === 'notaccessible') {
    return { abnormal: true, message: `the datastore of volume ${v.volumeId} (${v.datastoreUrl ?? 'unknown'}) is not accessible` };
  }
  return { abnormal: false, message: 'volume is healthy' };
}
