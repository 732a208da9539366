/**
 * published_node_ids for ListVolumes / ControllerGetVolume. This process's
 * own attachments answer first (no request); any volume it has no record
 * of (every volume after a restart, and every unattached one) is looked up
 * in the VMs' disk devices of its vCenter, with one all-VM read per vCenter
 * for the whole page (or a kept snapshot no older than `maxAgeMs`: the
 * later pages of a ListVolumes pass), so a restarted controller reports
 * what vCenter shows instead of "nowhere".
 */
import type { ControllerContext } from './context.js';
import type { HoldersOptions } from './volume-disks.js';
import type { VcenterContext } from './vcenters.js';

export interface VolumeAt {
  volumeId: string;
  vc: VcenterContext;
}

export async function publishedNodes(ctx: ControllerContext, volumes: VolumeAt[], options: HoldersOptions = {}): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const unknown = new Map<VcenterContext, string[]>();
  for (const { volumeId, vc } of volumes) {
    const nodes = ctx.attachments.nodesOf(volumeId);
    if (nodes.length > 0) out.set(volumeId, nodes);
    else {
      const ids = unknown.get(vc);
      if (ids) ids.push(volumeId);
      else unknown.set(vc, [volumeId]);
    }
  }
  await Promise.all(
    [...unknown].map(async ([vc, ids]) => {
      const holders = await vc.volumeDisks.holders(options);
      for (const id of ids) {
        const nodes = (holders.get(id) ?? []).flatMap((h) => (h.nodeId ? [h.nodeId] : []));
        out.set(id, [...new Set(nodes)].sort());
      }
    }),
  );
  return out;
}
