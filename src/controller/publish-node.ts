/**
 * The node VM a volume attaches to. CNS attaches a volume only to a VM of
 * the vCenter that holds the volume, so the VM is looked up there first
 * (the only lookup on the normal path); only when it is not there are the
 * other vCenters searched, to say where the node is: FAILED_PRECONDITION
 * naming both vCenters, since the volume cannot follow the node.
 */
import { failedPrecondition, notFound } from '../csi/errors.js';
import type { ControllerContext } from './context.js';
import type { NodeVm } from './node-vms.js';
import type { VcenterContext } from './vcenters.js';
import { askEach } from './volume-locator.js';

export async function attachableNode(ctx: ControllerContext, vc: VcenterContext, nodeId: string, volumeId: string): Promise<NodeVm> {
  const node = await vc.nodeVms.findAttachable(nodeId);
  if (node) return node;
  if (ctx.vcenters.size === 1) {
    throw notFound(`node_id ${nodeId}: no VM with this BIOS UUID in the configured datacenters; check that the node VM exists and NodeGetInfo reports its BIOS UUID`);
  }
  const others = ctx.vcenters.all.filter((o) => o !== vc);
  const asked = await askEach(others, (o) => o.nodeVms.find(nodeId), (ref) => ref !== undefined);
  if (asked.found) {
    const other = asked.found.vc;
    const ref = asked.found.value!;
    const name = await other.client.inventory.vm(ref).then(
      (info) => `VM "${info.name}"`,
      () => `VM ${ref.value}`,
    );
    throw failedPrecondition(
      `volume ${volumeId} is in vCenter ${vc.name} but node ${nodeId} (${name}) is in vCenter ${other.name}; CNS attaches a volume only to VMs of its own vCenter: ` +
        `run the pod on a node in a zone of vCenter ${vc.name} (the PV's node affinity names those zones), or create the volume in the node's zone`,
    );
  }
  const unsearched = asked.failed.map((f) => `vCenter ${f.vc.name} could not be searched (${(f.error as Error).message})`);
  throw notFound(
    `node_id ${nodeId}: no VM with this BIOS UUID in vCenter ${vc.name}, which holds volume ${volumeId}` +
      (unsearched.length ? `; ${unsearched.join('; ')}` : `, nor in ${ctx.vcenters.names(others)}`) +
      '; check that the node VM exists and NodeGetInfo reports its BIOS UUID',
  );
}
