/**
 * published_node_ids for ListVolumes / ControllerGetVolume. This process's
 * own attachments answer first (no request); any volume it has no record
 * of (every volume after a restart, and every unattached one) is looked up
 * in the VMs' disk devices with one all-VM read for the whole page, so a
 * restarted controller reports what vCenter shows instead of "nowhere".
 */
import type { ControllerContext } from './context.js';

export async function publishedNodes(ctx: ControllerContext, volumeIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const unknown: string[] = [];
  for (const id of volumeIds) {
    const nodes = ctx.attachments.nodesOf(id);
    if (nodes.length > 0) out.set(id, nodes);
    else unknown.push(id);
  }
  if (unknown.length === 0) return out;
  const holders = await ctx.volumeDisks.holders();
  for (const id of unknown) {
    const nodes = (holders.get(id) ?? []).flatMap((h) => (h.nodeId ? [h.nodeId] : []));
    out.set(id, [...new Set(nodes)].sort());
  }
  return out;
}
