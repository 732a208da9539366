/**
 * ControllerPublishVolume / ControllerUnpublishVolume. vCenter serializes
 * reconfigurations of one VM, so concurrent attaches (and detaches) to one
 * VM are coalesced into one CNS batch call per window; each caller gets its
 * own volume's result. Items that would make the whole batch fail (unknown
 * volume, attached elsewhere) are answered before the batch is sent. Every
 * call goes to the vCenter that holds the volume (volume-locator.ts); the
 * node VM must be in that vCenter too (publish-node.ts).
 */
import type { CallContext } from '../csi/handler.js';
import type { ControllerPublishVolumeRequest__Output } from '../csi/generated/csi/v1/ControllerPublishVolumeRequest.js';
import type { ControllerPublishVolumeResponse } from '../csi/generated/csi/v1/ControllerPublishVolumeResponse.js';
import type { ControllerUnpublishVolumeRequest__Output } from '../csi/generated/csi/v1/ControllerUnpublishVolumeRequest.js';
import type { ControllerUnpublishVolumeResponse } from '../csi/generated/csi/v1/ControllerUnpublishVolumeResponse.js';
import { normalizeUuid } from '../contract/uuid.js';
import { failedPrecondition, invalidArgument, notFound } from '../csi/errors.js';
import { requireString, requireVolumeId, validateVolumeCapability } from '../csi/validate.js';
import type { CnsAttached, MoRef } from '../vsphere/api.js';
import { isFault } from '../vsphere/faults.js';
import { capabilityProblem } from './capabilities.js';
import { Coalescer, type Outcome } from './coalescer.js';
import { VOLUME_TYPE_BLOCK, type ControllerContext } from './context.js';
import { settleInUse } from './in-use.js';
import { noSuchNode, type NodeVm } from './node-vms.js';
import { VolumeMissing } from './volume-locator.js';
import { attachableNode } from './publish-node.js';
import type { VcenterContext } from './vcenters.js';

interface AttachItem {
  volumeId: string;
  node: NodeVm;
  vc: VcenterContext;
}

interface DetachItem {
  volumeId: string;
  vm: MoRef;
  vc: VcenterContext;
}

/** Batches are per vCenter and VM (moref values repeat across vCenters). */
const batchKey = (vc: VcenterContext, vm: MoRef): string => `${vc.name}/${vm.type}:${vm.value}`;

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
    const rawNodeId = requireString(req.node_id, 'node_id');
    validateVolumeCapability(req.volume_capability, 'volume_capability');
    const problem = capabilityProblem(req.volume_capability ?? {}, 'volume_capability');
    if (problem) throw invalidArgument(problem);
    // PUBLISH_READONLY is not advertised (README, "CSI capabilities"): CNS attaches disks read-write only,
    // so a read-only publish cannot be honoured here; the node makes the mount read-only instead.
    if (req.readonly) {
      throw invalidArgument('readonly: this plugin does not advertise PUBLISH_READONLY (CNS attaches disks read-write); leave it false and request a read-only mount in NodePublishVolume');
    }
    const nodeId = normalizeUuid(rawNodeId);
    if (!nodeId) throw noSuchNode(rawNodeId);
    return this.ctx.volumeLocks.run(volumeId, async () => {
      const known = this.ctx.attachments.get(volumeId);
      if (known && known.nodeId === nodeId) return { publish_context: publishContext(known.diskUuid) };
      if (known) throw attachedElsewhere(volumeId, known.nodeId);
      const attached = await this.ctx.locator.withVolume(
        volumeId,
        call.signal,
        async ({ vc }) => {
          const node = await attachableNode(this.ctx, vc, nodeId, volumeId);
          const done = await this.attachBatcher.submit(batchKey(vc, node.ref), { volumeId, node, vc });
          call.log.info({ volumeId, nodeId, vm: node.name, vcenter: vc.name }, 'volume attached');
          this.ctx.onVolumePublished?.(volumeId, vc);
          return done;
        },
        () => {
          throw this.ctx.locator.missing(volumeId);
        },
      );
      return { publish_context: publishContext(attached.diskUuid) };
    });
  }

  async unpublish(req: ControllerUnpublishVolumeRequest__Output, call: CallContext): Promise<ControllerUnpublishVolumeResponse> {
    const volumeId = requireVolumeId(req.volume_id);
    // node_id is optional: empty means "from every node"; CNS volumes attach to one VM at most.
    // A node id that is not a BIOS UUID names no VM, so nothing is published there: already done.
    if (req.node_id && !normalizeUuid(req.node_id)) return {};
    const nodeId = req.node_id ? normalizeUuid(req.node_id) : this.ctx.attachments.get(volumeId)?.nodeId;
    return this.ctx.volumeLocks.run(volumeId, async () => {
      const known = this.ctx.attachments.get(volumeId);
      if (known && nodeId && known.nodeId !== nodeId) {
        // Attached to another node: nothing to undo on this one.
        return {};
      }
      const at = await this.ctx.locator.locate(volumeId, call.signal);
      if (!at) {
        // No vCenter has the volume (several vCenters only): nothing can hold it.
        this.ctx.attachments.delete(volumeId);
        return {};
      }
      const { vc } = at;
      if (!nodeId) return this.unpublishEverywhere(vc, volumeId, call);
      const vm = await vc.nodeVms.find(nodeId, { signal: call.signal });
      if (!vm) {
        // The node VM is gone (or in another vCenter, which cannot hold this volume): volumes must not stay stuck on deleted nodes.
        this.ctx.attachments.delete(volumeId);
        vc.nodeVms.forget(nodeId);
        call.log.info({ volumeId, nodeId, vcenter: vc.name }, 'node VM not found in the volume\'s vCenter; treating the volume as detached');
        return {};
      }
      await this.detachBatcher.submit(batchKey(vc, vm), { volumeId, vm, vc });
      this.ctx.attachments.delete(volumeId);
      call.log.info({ volumeId, nodeId, vcenter: vc.name }, 'volume detached');
      return {};
    });
  }

  /**
   * No node_id and no memory of this volume (e.g. after a restart): CSI says
   * unpublish it from every node, so detach it from each VM whose disks show it.
   */
  private async unpublishEverywhere(vc: VcenterContext, volumeId: string, call: CallContext): Promise<ControllerUnpublishVolumeResponse> {
    const holders = (await vc.volumeDisks.holders()).get(volumeId) ?? [];
    for (const h of holders) {
      await this.detachBatcher.submit(batchKey(vc, h.vm), { volumeId, vm: h.vm, vc });
      call.log.info({ volumeId, vm: h.vmName }, 'volume detached (found on the VM by its disk)');
    }
    return {};
  }

  private async attachBatch(items: AttachItem[]): Promise<Outcome<CnsAttached>[]> {
    const vc = items[0]!.vc;
    const outcomes: (Outcome<CnsAttached> | undefined)[] = new Array(items.length);
    // One query for the whole batch: unknown volumes fail alone instead of failing the CNS task.
    const ids = [...new Set(items.map((i) => i.volumeId))];
    // No caller's AbortSignal here: the batch serves several callers, and one caller
    // giving up must not cancel the others' attaches (the layer's request timeout applies).
    const found = await vc.client.cns.queryVolumes({ volumeIds: ids });
    const existing = new Set(found.volumes.map((v) => v.volumeId));
    const toAttach: number[] = [];
    items.forEach((item, i) => {
      if (!existing.has(item.volumeId)) {
        outcomes[i] = { ok: false, error: new VolumeMissing(`volume_id ${item.volumeId}: CNS has no such volume; it may have been deleted`) };
      } else {
        toAttach.push(i);
      }
    });
    if (toAttach.length > 0) {
      const specs = toAttach.map((i) => ({ volumeId: items[i]!.volumeId, vm: items[i]!.node.ref }));
      let results: Outcome<CnsAttached>[];
      try {
        results = (await vc.client.cns.attachVolumes(specs)) as Outcome<CnsAttached>[];
        // A fault of the whole task comes back as the same error for every item (the simulator
        // faults the batch on one in-use volume, e.g. a repeat after a restart): attach one by one.
        if (specs.length > 1 && results.every((r) => !r.ok && r.error === (results[0] as { error?: unknown }).error)) {
          results = await this.attachOneByOne(vc, specs);
        }
      } catch (err) {
        results = specs.length === 1 ? [{ ok: false, error: err }] : await this.attachOneByOne(vc, specs);
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
          if (isFault(r?.error, 'ManagedObjectNotFound')) vc.nodeVms.forget(item.node.nodeId);
          outcomes[itemIndex] = { ok: false, error: mapAttachError(r?.error, item) };
        }
      });
      if (inUse.length > 0) {
        // Maybe attached to this very VM already (a repeat after a restart): the VMs' disks tell.
        const settled = await settleInUse(this.ctx, vc, inUse.map((i) => items[i]!));
        inUse.forEach((itemIndex, k) => {
          outcomes[itemIndex] = settled[k]!;
        });
      }
    }
    return outcomes as Outcome<CnsAttached>[];
  }

  private attachOneByOne(vc: VcenterContext, specs: { volumeId: string; vm: MoRef }[]): Promise<Outcome<CnsAttached>[]> {
    return Promise.all(
      specs.map(async (spec): Promise<Outcome<CnsAttached>> => {
        try {
          return { ok: true, value: await vc.client.cns.attachVolume(spec) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
  }

  private async detachBatch(items: DetachItem[]): Promise<Outcome<void>[]> {
    const vc = items[0]!.vc;
    const specs = items.map((i) => ({ volumeId: i.volumeId, vm: i.vm }));
    let results: Outcome<void>[];
    try {
      results = (await vc.client.cns.detachVolumes(specs)) as Outcome<void>[];
    } catch (err) {
      if (specs.length === 1) results = [{ ok: false, error: err }];
      else {
        results = await Promise.all(
          specs.map(async (spec): Promise<Outcome<void>> => {
            try {
              await vc.client.cns.detachVolume(spec);
              return { ok: true, value: undefined };
            } catch (error) {
              return { ok: false, error };
            }
          }),
        );
      }
    }
    const outcomes = results.map((r): Outcome<void> => (r.ok || alreadyDetached(r.error) ? { ok: true, value: undefined } : r));
    outcomes.forEach((r, i) => r.ok && vc.volumeDisks.detached(specs[i]!.volumeId));
    return outcomes;
  }
}

function attachedElsewhere(volumeId: string, nodeId: string): Error {
  return failedPrecondition(`volume ${volumeId} is attached to node ${nodeId}; CNS block volumes attach to one node at a time: unpublish it there first`);
}

function mapAttachError(err: unknown, item: AttachItem): unknown {
  if (isFault(err, 'ManagedObjectNotFound')) {
    return notFound(`node_id ${item.node.nodeId}: VM ${item.node.name} disappeared during the attach`);
  }
  if (isFault(err, 'NotFound')) return new VolumeMissing(`volume_id ${item.volumeId}: CNS has no such volume`);
  return err;
}

/** Detaching what is not attached (or no longer exists) is success for Unpublish. */
function alreadyDetached(err: unknown): boolean {
  return isFault(err, 'NotFound', 'ManagedObjectNotFound');
}
