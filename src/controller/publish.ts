/**
 * ControllerPublishVolume / ControllerUnpublishVolume. vCenter serializes
 * reconfigurations of one VM, so concurrent attaches (and detaches) to one
 * VM are coalesced into one CNS batch call per window; each caller gets its
 * own volume's result. Items that would make the whole batch fail (unknown
 * volume, attached elsewhere) are answered before the batch is sent.
 */
import type { CallContext } from '../csi/handler.js';
import type { ControllerPublishVolumeRequest__Output } from '../csi/generated/csi/v1/ControllerPublishVolumeRequest.js';
import type { ControllerPublishVolumeResponse } from '../csi/generated/csi/v1/ControllerPublishVolumeResponse.js';
import type { ControllerUnpublishVolumeRequest__Output } from '../csi/generated/csi/v1/ControllerUnpublishVolumeRequest.js';
import type { ControllerUnpublishVolumeResponse } from '../csi/generated/csi/v1/ControllerUnpublishVolumeResponse.js';
import { failedPrecondition, invalidArgument, notFound } from '../csi/errors.js';
import { requireString, requireVolumeId, validateVolumeCapability } from '../csi/validate.js';
import type { CnsAttached, MoRef } from '../vsphere/api.js';
import { isFault } from '../vsphere/faults.js';
import { capabilityProblem } from './capabilities.js';
import { Coalescer, type Outcome } from './coalescer.js';
import { VOLUME_TYPE_BLOCK, type ControllerContext } from './context.js';
import { settleInUse } from './in-use.js';
import { normalizeNodeId, type NodeVm } from './node-vms.js';

interface AttachItem {
  volumeId: string;
  node: NodeVm;
}

interface DetachItem {
  volumeId: string;
  vm: MoRef;
}

export function publishContext(diskUuid: string): Record<string, string> {
  return { type: VOLUME_TYPE_BLOCK, diskUUID: diskUuid.replace(/-/g, '').toLowerCase() };
}

export class Publisher {
  private readonly attachBatcher: Coalescer<AttachItem, CnsAttached>;
  private readonly detachBatcher: Coalescer<DetachItem, void>;

  constructor(private readonly ctx: ControllerContext) {
    this.attachBatcher = new Coalescer({ ...ctx.batching, run: (_vm, items) => this.attachBatch(items) });
    this.detachBatcher = new Coalescer({ ...ctx.batching, run: (_vm, items) => this.detachBatch(items) });
  }

  get batchStats(): { attach: { batches: number; items: number }; detach: { batches: number; items: number } } {
    return { attach: this.attachBatcher.stats, detach: this.detachBatcher.stats };
  }

  async publish(req: ControllerPublishVolumeRequest__Output, call: CallContext): Promise<ControllerPublishVolumeResponse> {
    const volumeId = requireVolumeId(req.volume_id);
    const nodeId = normalizeNodeId(requireString(req.node_id, 'node_id'));
    validateVolumeCapability(req.volume_capability, 'volume_capability');
    const problem = capabilityProblem(req.volume_capability ?? {}, 'volume_capability');
    if (problem) throw invalidArgument(problem);
    return this.ctx.volumeLocks.run(volumeId, async () => {
      const known = this.ctx.attachments.get(volumeId);
      if (known && known.nodeId === nodeId) return { publish_context: publishContext(known.diskUuid) };
      if (known) throw attachedElsewhere(volumeId, known.nodeId);
      const node = await this.ctx.nodeVms.findAttachable(nodeId);
      if (!node) throw notFound(`node_id ${nodeId}: no VM with this BIOS UUID in the configured datacenters; check that the node VM exists and NodeGetInfo reports its BIOS UUID`);
      const attached = await this.attachBatcher.submit(`${node.ref.type}:${node.ref.value}`, { volumeId, node });
      call.log.info({ volumeId, nodeId, vm: node.name }, 'volume attached');
      return { publish_context: publishContext(attached.diskUuid) };
    });
  }

  async unpublish(req: ControllerUnpublishVolumeRequest__Output, call: CallContext): Promise<ControllerUnpublishVolumeResponse> {
    const volumeId = requireVolumeId(req.volume_id);
    // node_id is optional: empty means "from every node"; CNS volumes attach to one VM at most.
    const nodeId = req.node_id ? normalizeNodeId(req.node_id) : this.ctx.attachments.get(volumeId)?.nodeId;
    return this.ctx.volumeLocks.run(volumeId, async () => {
      const known = this.ctx.attachments.get(volumeId);
      if (known && nodeId && known.nodeId !== nodeId) {
        // Attached to another node: nothing to undo on this one.
        return {};
      }
      if (!nodeId) return this.unpublishEverywhere(volumeId, call);
      const vm = await this.ctx.nodeVms.find(nodeId, { signal: call.signal });
      if (!vm) {
        // The node VM is gone, and with it the attachment: volumes must not stay stuck on deleted nodes.
        this.ctx.attachments.delete(volumeId);
        this.ctx.nodeVms.forget(nodeId);
        call.log.info({ volumeId, nodeId }, 'node VM not found; treating the volume as detached');
        return {};
      }
      await this.detachBatcher.submit(`${vm.type}:${vm.value}`, { volumeId, vm });
      this.ctx.attachments.delete(volumeId);
      call.log.info({ volumeId, nodeId }, 'volume detached');
      return {};
    });
  }

  /**
   * No node_id and no memory of this volume (e.g. after a restart): CSI says
   * unpublish it from every node, so detach it from each VM whose disks show it.
   */
  private async unpublishEverywhere(volumeId: string, call: CallContext): Promise<ControllerUnpublishVolumeResponse> {
    const holders = (await this.ctx.volumeDisks.holders()).get(volumeId) ?? [];
    for (const h of holders) {
      await this.detachBatcher.submit(`${h.vm.type}:${h.vm.value}`, { volumeId, vm: h.vm });
      call.log.info({ volumeId, vm: h.vmName }, 'volume detached (found on the VM by its disk)');
    }
    return {};
  }

  private async attachBatch(items: AttachItem[]): Promise<Outcome<CnsAttached>[]> {
    const outcomes: (Outcome<CnsAttached> | undefined)[] = new Array(items.length);
    // One query for the whole batch: unknown volumes fail alone instead of failing the CNS task.
    const ids = [...new Set(items.map((i) => i.volumeId))];
    // No caller's AbortSignal here: the batch serves several callers, and one caller
    // giving up must not cancel the others' attaches (the layer's request timeout applies).
    const found = await this.ctx.client.cns.queryVolumes({ volumeIds: ids });
    const existing = new Set(found.volumes.map((v) => v.volumeId));
    const toAttach: number[] = [];
    items.forEach((item, i) => {
      if (!existing.has(item.volumeId)) {
        outcomes[i] = { ok: false, error: notFound(`volume_id ${item.volumeId}: CNS has no such volume; it may have been deleted`) };
      } else {
        toAttach.push(i);
      }
    });
    if (toAttach.length > 0) {
      const specs = toAttach.map((i) => ({ volumeId: items[i]!.volumeId, vm: items[i]!.node.ref }));
      let results: Outcome<CnsAttached>[];
      try {
        results = (await this.ctx.client.cns.attachVolumes(specs)) as Outcome<CnsAttached>[];
        // A fault of the whole task comes back as the same error for every item (the simulator
        // faults the batch on one in-use volume, e.g. a repeat after a restart): attach one by one.
        if (specs.length > 1 && results.every((r) => !r.ok && r.error === (results[0] as { error?: unknown }).error)) {
          results = await this.attachOneByOne(specs);
        }
      } catch (err) {
        results = specs.length === 1 ? [{ ok: false, error: err }] : await this.attachOneByOne(specs);
      }
      const inUse: number[] = [];
      toAttach.forEach((itemIndex, k) => {
        const item = items[itemIndex]!;
        const r = results[k];
        if (r && r.ok) {
          this.ctx.attachments.set({ volumeId: item.volumeId, nodeId: item.node.nodeId, vm: item.node.ref.value, diskUuid: r.value.diskUuid });
          outcomes[itemIndex] = r;
        } else if (isFault(r?.error, 'ResourceInUse')) {
          inUse.push(itemIndex);
        } else {
          if (isFault(r?.error, 'ManagedObjectNotFound')) this.ctx.nodeVms.forget(item.node.nodeId);
          outcomes[itemIndex] = { ok: false, error: mapAttachError(r?.error, item) };
        }
      });
      if (inUse.length > 0) {
        // Maybe attached to this very VM already (a repeat after a restart): the VMs' disks tell.
        const settled = await settleInUse(this.ctx, inUse.map((i) => items[i]!));
        inUse.forEach((itemIndex, k) => {
          outcomes[itemIndex] = settled[k]!;
        });
      }
    }
    return outcomes as Outcome<CnsAttached>[];
  }

  private attachOneByOne(specs: { volumeId: string; vm: MoRef }[]): Promise<Outcome<CnsAttached>[]> {
    return Promise.all(
      specs.map(async (spec): Promise<Outcome<CnsAttached>> => {
        try {
          return { ok: true, value: await this.ctx.client.cns.attachVolume(spec) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
  }

  private async detachBatch(items: DetachItem[]): Promise<Outcome<void>[]> {
    const specs = items.map((i) => ({ volumeId: i.volumeId, vm: i.vm }));
    let results: Outcome<void>[];
    try {
      results = (await this.ctx.client.cns.detachVolumes(specs)) as Outcome<void>[];
    } catch (err) {
      if (specs.length === 1) results = [{ ok: false, error: err }];
      else {
        results = await Promise.all(
          specs.map(async (spec): Promise<Outcome<void>> => {
            try {
              await this.ctx.client.cns.detachVolume(spec);
              return { ok: true, value: undefined };
            } catch (error) {
              return { ok: false, error };
            }
          }),
        );
      }
    }
    return results.map((r) => (r.ok || alreadyDetached(r.error) ? { ok: true, value: undefined } : r));
  }
}

function attachedElsewhere(volumeId: string, nodeId: string): Error {
  return failedPrecondition(`volume ${volumeId} is attached to node ${nodeId}; CNS block volumes attach to one node at a time: unpublish it there first`);
}

function mapAttachError(err: unknown, item: AttachItem): unknown {
  if (isFault(err, 'ManagedObjectNotFound')) {
    return notFound(`node_id ${item.node.nodeId}: VM ${item.node.name} disappeared during the attach`);
  }
  if (isFault(err, 'NotFound')) return notFound(`volume_id ${item.volumeId}: CNS has no such volume`);
  return err;
}

/** Detaching what is not attached (or no longer exists) is success for Unpublish. */
function alreadyDetached(err: unknown): boolean {
  return isFault(err, 'NotFound', 'ManagedObjectNotFound');
}
