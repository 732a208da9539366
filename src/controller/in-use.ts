/**
 * CNS answers an attach with ResourceInUse whenever the volume is attached
 * anywhere, also to the very VM asked for. After a controller restart the
 * external-attacher re-publishes every attached volume, and CSI wants those
 * repeats to succeed with the same publish context. So a ResourceInUse is
 * settled by asking the VMs: the target VM has the volume's disk → success
 * with that disk's UUID; another VM has it → FAILED_PRECONDITION naming it.
 *
 * Round trips: nothing extra on the normal path (no device read before the
 * attach; the batch's one CnsQueryVolume only checks the volumes exist); a
 * conflict costs one read of the target VMs' devices for the
 * whole batch, plus one all-VM read only when the target VM does not have
 * the disk (to name the VM that does).
 */
import { failedPrecondition } from '../csi/errors.js';
import type { CnsAttached, VmDisk } from '../vsphere/api.js';
import { refKey } from '../vsphere/api.js';
import type { Outcome } from './coalescer.js';
import type { ControllerContext } from './context.js';
import type { NodeVm } from './node-vms.js';
import type { VcenterContext } from './vcenters.js';
import { describeHolder, pairKey, type DiskHolder } from './volume-disks.js';

export interface InUseItem {
  volumeId: string;
  node: NodeVm;
}

/** Settles in-use attaches in `vc` (the vCenter of the volumes and of the target VMs). */
export async function settleInUse(ctx: ControllerContext, vc: VcenterContext, items: InUseItem[]): Promise<Outcome<CnsAttached>[]> {
  let onTarget = new Map<string, VmDisk>();
  try {
    onTarget = await vc.volumeDisks.onVms(items.map((i) => ({ volumeId: i.volumeId, vm: i.node.ref })));
  } catch (err) {
    // The conflict stays a conflict: without the devices we cannot prove it is ours.
    ctx.log.warn({ err: (err as Error).message }, 'could not read the node VMs\' disks to settle an in-use attach');
  }
  const out: Outcome<CnsAttached>[] = new Array(items.length);
  const unsettled: number[] = [];
  items.forEach((item, i) => {
    const disk = onTarget.get(pairKey(item.volumeId, item.node.ref));
    if (disk?.diskUuid) {
      ctx.attachments.set({ volumeId: item.volumeId, nodeId: item.node.nodeId, vm: item.node.ref.value, diskUuid: disk.diskUuid });
      ctx.log.info({ volumeId: item.volumeId, vm: item.node.name }, 'volume already attached to this node VM (found its disk); publish is a repeat');
      out[i] = { ok: true, value: { volumeId: item.volumeId, diskUuid: disk.diskUuid } };
    } else {
      unsettled.push(i);
    }
  });
  if (unsettled.length === 0) return out;
  let holders: Map<string, DiskHolder[]> | undefined;
  try {
    holders = await vc.volumeDisks.holders();
  } catch (err) {
    ctx.log.warn({ err: (err as Error).message }, 'could not read the VMs\' disks to name the VM holding a volume');
  }
  for (const i of unsettled) {
    const item = items[i]!;
    const elsewhere = (holders?.get(item.volumeId) ?? []).filter((h) => refKey(h.vm) !== refKey(item.node.ref));
    out[i] = { ok: false, error: inUseError(item, elsewhere, onTarget.has(pairKey(item.volumeId, item.node.ref))) };
  }
  return out;
}

function inUseError(item: InUseItem, elsewhere: DiskHolder[], onTargetWithoutUuid: boolean): Error {
  if (elsewhere.length > 0) {
    return failedPrecondition(
      `volume ${item.volumeId} is attached to ${elsewhere.map(describeHolder).join(', ')}; CNS block volumes attach to one node at a time: unpublish it there first`,
    );
  }
  if (onTargetWithoutUuid) {
    return failedPrecondition(
      `volume ${item.volumeId} is attached to VM "${item.node.name}" but vCenter reports no disk UUID for it, so the node could not find it; detach it in vCenter and retry`,
    );
  }
  return failedPrecondition(
    `volume ${item.volumeId} is in use (CNS reports it attached to a VM other than ${item.node.name}, and no VM in the configured datacenters shows its disk); detach it there first`,
  );
}
