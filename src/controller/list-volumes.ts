/**
 * ListVolumes across every configured vCenter: the vCenters in config
 * order, each one's volumes of this cluster in CNS's order, read page by
 * page with the CnsQueryVolume cursor (cursor-paging.ts), so a page costs
 * one CNS request, not a read of every volume. Tokens name the vCenter and
 * the position in it (paging.ts); v1/v2 tokens of earlier releases finish
 * their pass the way it began (every volume read per page, sorted by id).
 * A page reads only the vCenters it reaches; a vCenter that is down fails
 * the pages that need it (UNAVAILABLE naming it) and no other, because a
 * listing that silently left a vCenter out would tell the external-attacher
 * its volumes are detached.
 *
 * Published nodes: a pass reads the VMs' disk devices once per vCenter (at
 * its first page) and reuses that snapshot for its later pages, at most
 * LIST_SNAPSHOT_MAX_AGE_MS old (volume-disks.ts); this process's own
 * attachments and detaches since then override it.
 */
import type { CallContext } from '../csi/handler.js';
import type { ListVolumesRequest__Output } from '../csi/generated/csi/v1/ListVolumesRequest.js';
import { invalidArgument } from '../csi/errors.js';
import type { CnsVolume } from '../vsphere/api.js';
import type { ControllerContext } from './context.js';
import { CursorPager, type CursorChunk } from './cursor-paging.js';
import { decodeListToken, pageAcross, type Page } from './paging.js';
import { publishedNodes } from './published-nodes.js';

/** How old a pass's VM-disk snapshot may get before a later page reads the VMs again. */
export const LIST_SNAPSHOT_MAX_AGE_MS = 60_000;

export interface ListedVolume {
  volume: CnsVolume;
  nodeIds: string[];
}

export interface ListedPage {
  entries: ListedVolume[];
  nextToken: string;
}

export async function listVolumes(ctx: ControllerContext, req: ListVolumesRequest__Output, call: CallContext): Promise<ListedPage> {
  const maxEntries = Number(req.max_entries ?? 0);
  if (!Number.isInteger(maxEntries) || maxEntries < 0) throw invalidArgument(`max_entries: ${req.max_entries} must be >= 0`);
  const vcs = ctx.vcenters.all;
  const names = vcs.map((v) => v.name);
  const mine = (v: CnsVolume): boolean => !v.containerCluster || v.containerCluster.clusterId === ctx.clusterId;
  const start = decodeListToken(req.starting_token, names);
  let page: Page<CnsVolume>;
  if (start.kind === 'cursor') {
    const read = async (i: number, offset: number, limit: number): Promise<CursorChunk<CnsVolume>> => {
      const vc = vcs[i]!;
      const got = await vc.client.cns.queryVolumes({ containerClusterIds: [ctx.clusterId], cursor: { offset, limit } }, { signal: call.signal });
      for (const v of got.volumes) if (mine(v)) ctx.locator.remember(v.volumeId, vc);
      return { items: got.volumes, nextOffset: got.cursor.offset, total: got.cursor.totalRecords };
    };
    page = await new CursorPager(names, read, (v) => v.volumeId).page(start.at, maxEntries);
  } else {
    const load = async (i: number): Promise<CnsVolume[]> => {
      const vc = vcs[i]!;
      const all = (await vc.client.cns.queryAllPages({ containerClusterIds: [ctx.clusterId] }, { signal: call.signal })).filter(mine);
      for (const v of all) ctx.locator.remember(v.volumeId, vc);
      return all.sort((a, b) => (a.volumeId < b.volumeId ? -1 : a.volumeId > b.volumeId ? 1 : 0));
    };
    page = await pageAcross(names, load, (v) => v.volumeId, req.starting_token, maxEntries);
  }
  const listed = page.items.filter(({ item }) => mine(item));
  // A pass's first page takes a fresh look at the VMs; its later pages may reuse that look.
  const maxAgeMs = req.starting_token ? LIST_SNAPSHOT_MAX_AGE_MS : 0;
  const nodes = await publishedNodes(ctx, listed.map(({ source, item }) => ({ volumeId: item.volumeId, vc: vcs[source]! })), { maxAgeMs });
  // The pass is over: its snapshots are not needed any more.
  if (!page.nextToken) for (const vc of vcs) vc.volumeDisks.release();
  return {
    entries: listed.map(({ item }) => ({ volume: item, nodeIds: nodes.get(item.volumeId) ?? [] })),
    nextToken: page.nextToken,
  };
}
