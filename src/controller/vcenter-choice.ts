/**
 * Which vCenter a new volume goes to. The topology segments decide, in the
 * order placement tries them (preferred, then the rest of requisite): the
 * candidates are the vCenters whose ESXi hosts carry a segment's labels,
 * the vCenter of the first segment first. Without topology the vCenters are
 * ranked by their usable ESXi hosts (where node VMs run and datastores are
 * shared), most first, ties in config order. The choice is deterministic for
 * a given inventory, so a retried request picks the same vCenter.
 *
 * A vCenter known to be down is judged by the last inventory snapshot read
 * from it, without waiting for it: it stays a candidate (the volume's zone
 * is there), and the work in it then fails UNAVAILABLE naming it, while
 * requests for the other vCenters' zones go on.
 */
import { unavailable } from '../csi/errors.js';
import type { Snapshot } from './inventory-snapshot.js';
import { describeSegment, hostsInSegment, orderedSegments, type Segment } from './placement.js';
import type { VcenterContext, VcenterSet } from './vcenters.js';

export interface InventoryView {
  vc: VcenterContext;
  /** Fresh (within the TTL) when readable; else the last one read, if any. */
  snapshot?: Snapshot;
  /** Why the vCenter could not be read now. */
  problem?: string;
}

/** Every vCenter's snapshot, read in parallel (cached reads cost nothing); down vCenters are not waited on. */
export function inventoryViews(vcenters: VcenterSet, signal?: AbortSignal): Promise<InventoryView[]> {
  return Promise.all(
    vcenters.all.map(async (vc): Promise<InventoryView> => {
      if (vc.health.isDown) return { vc, snapshot: vc.inventory.lastKnown(), problem: `down: ${vc.health.reason}` };
      try {
        return { vc, snapshot: await vc.inventory.get({ signal }) };
      } catch (err) {
        return { vc, snapshot: vc.inventory.lastKnown(), problem: (err as Error).message };
      }
    }),
  );
}

export interface Candidate {
  vc: VcenterContext;
  /** What placement in this vCenter is asked for (with one vCenter: the request as it came). */
  preferred: Segment[];
  requisite: Segment[];
  /** " (segments ...)" for messages; '' when not narrowed. */
  scope: string;
}

/** The vCenters to try for a new volume, in order. One vCenter: that one, with no request. */
export async function candidateVcenters(vcenters: VcenterSet, preferred: Segment[], requisite: Segment[], signal?: AbortSignal): Promise<Candidate[]> {
  if (vcenters.size === 1) return [{ vc: vcenters.first, preferred, requisite, scope: '' }];
  const views = await inventoryViews(vcenters, signal);
  const segments = orderedSegments(preferred, requisite);
  if (segments.length === 0) return rankedByHosts(views);
  const served = new Map<VcenterContext, Segment[]>();
  for (const segment of segments) {
    for (const view of views) {
      if (view.snapshot && hostsInSegment(view.snapshot, segment).length > 0) served.set(view.vc, [...(served.get(view.vc) ?? []), segment]);
    }
  }
  if (served.size > 0) {
    return [...served].map(([vc, own]) => ({ vc, preferred: own, requisite: [], scope: ` (${own.map(describeSegment).join(', ')})` }));
  }
  const unread = views.filter((v) => !v.snapshot);
  if (unread.length > 0) {
    throw unavailable(
      `no vCenter that could be read has ESXi hosts in the requested topology ${segments.map(describeSegment).join(', ')}, and ` +
        `${unread.map((v) => `vCenter ${v.vc.name} (${v.problem ?? 'not read yet'})`).join(', ')} could not be read: the zone may be there; retry when it answers`,
    );
  }
  // No vCenter has the zone: placement in each says why (after refreshing its snapshot once).
  return views.map((v) => ({ vc: v.vc, preferred: segments, requisite: [], scope: '' }));
}

function rankedByHosts(views: InventoryView[]): Candidate[] {
  const hosts = (v: InventoryView) => v.snapshot?.hosts.length ?? -1;
  return views
    .map((v, order) => ({ v, order }))
    .sort((a, b) => hosts(b.v) - hosts(a.v) || a.order - b.order)
    .map(({ v }) => ({ vc: v.vc, preferred: [], requisite: [], scope: '' }));
}
