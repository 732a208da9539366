/**
 * Pure checks of ControllerModifyVolume over an inventory snapshot: where a
 * volume is reachable from now, and whether a target datastore keeps it so.
 * A move must never make a volume unreachable from its zone: the Kubernetes
 * PV's node affinity (the accessible topology CreateVolume returned) does
 * not change when the volume moves.
 */
import { describeSegment, segmentKey, type PlacementDatastore, type PlacementHost, type PlacementInventory, type Segment } from './placement.js';

export interface Reach {
  /** The hosts the volume must stay reachable from. */
  hosts: PlacementHost[];
  /** What they are, for messages: "topology {zone=a}" or "the hosts that mount it now". */
  scope: string;
}

/**
 * The hosts of every topology segment (hosts with the same topology labels)
 * whose hosts all mount `ds`: the segments CreateVolume could have reported
 * as the volume's accessible topology. We cannot see which of them the PV
 * names, so all of them count. Without topology (or when no segment
 * qualifies): every host that mounts `ds`.
 */
export function reachOf(inv: PlacementInventory, ds: PlacementDatastore): Reach {
  const segments = new Map<string, { segment: Segment; hosts: PlacementHost[] }>();
  for (const host of inv.hosts) {
    if (Object.keys(host.labels).length === 0) continue;
    const key = segmentKey(host.labels);
    const entry = segments.get(key) ?? { segment: host.labels, hosts: [] };
    entry.hosts.push(host);
    segments.set(key, entry);
  }
  const accessible = [...segments.values()].filter((s) => s.hosts.every((h) => ds.hosts.has(h.id)));
  if (accessible.length > 0) {
    return { hosts: accessible.flatMap((s) => s.hosts), scope: `topology ${accessible.map((s) => describeSegment(s.segment)).join(', ')}` };
  }
  return { hosts: inv.hosts.filter((h) => ds.hosts.has(h.id)), scope: 'the hosts that mount it now' };
}

/** Why moving a volume from `current` to `target` would strand it, or undefined when every host that reaches it now reaches the target. */
export function strandedBy(inv: PlacementInventory, current: PlacementDatastore, target: PlacementDatastore): string | undefined {
  const reach = reachOf(inv, current);
  const missing = reach.hosts.filter((h) => !target.hosts.has(h.id));
  if (missing.length === 0) return undefined;
  return (
    `datastore ${target.name} (${target.url}) is not mounted on ${missing.length} of the ${reach.hosts.length} hosts of the volume's ` +
    `${reach.scope} (${missing.map((h) => h.name).join(', ')}); moved there, the volume would be unreachable from them: choose a datastore mounted on all of them`
  );
}
