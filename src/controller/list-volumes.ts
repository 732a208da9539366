/**
 * ListVolumes across every configured vCenter: the vCenters in config
 * order, each one's volumes of this cluster sorted by id, paged with tokens
 * that name the vCenter and the position in it (paging.ts). A page reads
 * only the vCenters it reaches; a vCenter that is down fails the pages that
 * need it (UNAVAILABLE naming it) and no other, because a listing that
 * silently left a vCenter out would tell the external-attacher its volumes
 * are detached.
 */
import type { CallContext } from '../csi/handler.js';
import type { ListVolumesRequest__Output } from '../csi/generated/csi/v1/ListVolumesRequest.js';
import { invalidArgument } from '../csi/errors.js';
import type { CnsVolume } from '../vsphere/api.js';
import type { ControllerContext } from './context.js';
import { pageAcross } from './paging.js';
import { publishedNodes } from './published-nodes.js';

export interface ListedVolume {
  volume: CnsVolume;
  nodeIds: string[];
}

export async function listVolumes(ctx: ControllerContext, req: ListVolumesRequest__Output, call: CallContext): Promise<{ entries: ListedVolume[]; nextToken: string }> {
  const maxEntries = Number(req.max_entries ?? 0);
  if (!Number.isInteger(maxEntries) || maxEntries < 0) throw invalidArgument(`max_entries: ${req.max_entries} must be >= 0`);
  const vcs = ctx.vcenters.all;
  const load = async (i: number): Promise<CnsVolume[]> => {
    const vc = vcs[i]!;
    const all = await vc.client.cns.queryAllPages({ containerClusterIds: [ctx.clusterId] }, { signal: call.signal });
    const mine = all.filter((v) => !v.containerCluster || v.containerCluster.clusterId === ctx.clusterId);
    for (const v of mine) ctx.locator.remember(v.volumeId, vc);
    return mine.sort((a, b) => (a.volumeId < b.volumeId ? -1 : a.volumeId > b.volumeId ? 1 : 0));
  };
  const page = await pageAcross(vcs.map((v) => v.name), load, (v) => v.volumeId, req.starting_token, maxEntries);
  const nodes = await publishedNodes(ctx, page.items.map(({ source, item }) => ({ volumeId: item.volumeId, vc: vcs[source]! })));
  return {
    entries: page.items.map(({ item }) => ({ volume: item, nodeIds: nodes.get(item.volumeId) ?? [] })),
    nextToken: page.nextToken,
  };
}
