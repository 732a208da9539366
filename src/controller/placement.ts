/**
 * Topology-aware datastore choice, as pure logic over an inventory snapshot:
 * a segment's candidates are the datastores mounted and accessible on every
 * host carrying the segment's labels; the policy and `datastoreurl` narrow
 * them; the one with most free space wins. Every rejection is recorded so
 * RESOURCE_EXHAUSTED can say what was considered and why.
 */
import { invalidArgument, resourceExhausted } from '../csi/errors.js';

export type Segment = Record<string, string>;

export interface PlacementHost {
  id: string;
  name: string;
  /** Topology labels of the host (from tags on it or its ancestors). */
  labels: Segment;
}

export interface PlacementDatastore {
  id: string;
  name: string;
  url: string;
  freeSpace: bigint;
  /** Hosts (ids) that have it mounted and accessible. */
  hosts: ReadonlySet<string>;
  /** summary.maintenanceMode; anything but 'normal' (or unset) takes no new disks. */
  maintenanceMode?: string;
  /** summary.type ("VMFS", "NFS", "vsan", "VVOL", ...): which snapshot limit applies to its volumes. */
  type?: string;
}

export interface PlacementInventory {
  hosts: PlacementHost[];
  datastores: PlacementDatastore[];
}

export interface PlacementRequest {
  /** CSI accessibility_requirements.preferred, then .requisite; both may be empty. */
  preferred: Segment[];
  requisite: Segment[];
  /** Datastore ids compatible with the storage policy; undefined = no policy. */
  compatible?: ReadonlySet<string>;
  policyName?: string;
  datastoreUrl?: string;
  /** Members (datastore ids) of the requested datastore cluster, named `clusterName`. */
  members?: ReadonlySet<string>;
  clusterName?: string;
  /** Without topology: the hosts that must all reach the datastore (hosts of the node VMs). */
  nodeHosts?: string[];
}

export interface Placement {
  datastore: PlacementDatastore;
  /** Requested segments whose hosts all mount the datastore (empty without topology). */
  accessibleTopology: Segment[];
}

export function segmentKey(segment: Segment): string {
  return JSON.stringify(Object.entries(segment).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function describeSegment(segment: Segment): string {
  const parts = Object.entries(segment).map(([k, v]) => `${k}=${v}`);
  return parts.length ? `{${parts.join(', ')}}` : '{}';
}

/** Segments to try in order: preferred first, then the rest of requisite, without repeats. */
export function orderedSegments(preferred: Segment[], requisite: Segment[]): Segment[] {
  const seen = new Set<string>();
  const out: Segment[] = [];
  for (const s of [...preferred, ...requisite]) {
    const key = segmentKey(s);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(s);
    }
  }
  return out;
}

export function hostsInSegment(inv: PlacementInventory, segment: Segment): PlacementHost[] {
  return inv.hosts.filter((h) => Object.entries(segment).every(([k, v]) => h.labels[k] === v));
}

export interface CandidateReport {
  /** What the candidates were drawn from, e.g. 'segment {zone=a}' or 'all node hosts'. */
  scope: string;
  candidates: PlacementDatastore[];
  /** Datastore name (or the scope itself) → reason it was rejected. */
  rejected: string[];
}

/** Datastores that every host in `hostIds` reaches, after the policy/url filters. */
export function candidatesFor(
  inv: PlacementInventory,
  hostIds: string[],
  scope: string,
  req: Pick<PlacementRequest, 'compatible' | 'policyName' | 'datastoreUrl' | 'members' | 'clusterName'>,
): CandidateReport {
  const report: CandidateReport = { scope, candidates: [], rejected: [] };
  if (hostIds.length === 0) {
    report.rejected.push(`${scope}: no ESXi host matches`);
    return report;
  }
  for (const ds of inv.datastores) {
    // With a datastore cluster only its members are candidates at all.
    if (req.members && !req.members.has(ds.id)) continue;
    const missing = hostIds.filter((h) => !ds.hosts.has(h));
    if (inMaintenance(ds)) {
      report.rejected.push(`${ds.name} (${ds.url}): ${ds.maintenanceMode} (datastore maintenance mode)`);
    } else if (missing.length > 0) {
      report.rejected.push(`${ds.name} (${ds.url}): not mounted on ${missing.length} of ${hostIds.length} hosts of ${scope}`);
    } else if (req.compatible && !req.compatible.has(ds.id)) {
      report.rejected.push(`${ds.name} (${ds.url}): not compatible with storage policy "${req.policyName ?? ''}"`);
    } else if (req.datastoreUrl !== undefined && !sameUrl(ds.url, req.datastoreUrl)) {
      report.rejected.push(`${ds.name} (${ds.url}): not the requested datastoreurl`);
    } else {
      report.candidates.push(ds);
    }
  }
  return report;
}

/** A datastore entering or in maintenance mode takes no new disks (vSphere's Storage vMotion rule for a destination). */
export function inMaintenance(ds: Pick<PlacementDatastore, 'maintenanceMode'>): boolean {
  return ds.maintenanceMode !== undefined && ds.maintenanceMode !== 'normal';
}

/** Datastore URLs compare without trailing slashes (ds:///vmfs/volumes/x/ = ds:///vmfs/volumes/x). */
export function sameUrl(a: string, b: string): boolean {
  const norm = (u: string) => u.replace(/\/+$/, '');
  return norm(a) === norm(b);
}

export function mostFreeSpace(candidates: PlacementDatastore[]): PlacementDatastore {
  // Ties go to the lower id so the choice is deterministic.
  return candidates.reduce((best, ds) =>
    ds.freeSpace > best.freeSpace || (ds.freeSpace === best.freeSpace && ds.id < best.id) ? ds : best,
  );
}

/** Picks the datastore for a new volume or throws INVALID_ARGUMENT / RESOURCE_EXHAUSTED with the reasons. */
export function chooseDatastore(inv: PlacementInventory, req: PlacementRequest): Placement {
  if (req.datastoreUrl !== undefined && !inv.datastores.some((ds) => sameUrl(ds.url, req.datastoreUrl!))) {
    throw invalidArgument(`parameters.datastoreurl "${req.datastoreUrl}" does not match any datastore in the configured datacenters`);
  }
  if (req.members && req.datastoreUrl !== undefined && !inv.datastores.some((ds) => req.members!.has(ds.id) && sameUrl(ds.url, req.datastoreUrl!))) {
    throw invalidArgument(`parameters.datastoreurl "${req.datastoreUrl}" is not a member of datastore cluster "${req.clusterName ?? ''}"; name a member or remove one of the two keys`);
  }
  const segments = orderedSegments(req.preferred, req.requisite);
  const reports: CandidateReport[] = [];
  if (segments.length === 0) {
    const hostIds = req.nodeHosts ?? inv.hosts.map((h) => h.id);
    const report = candidatesFor(inv, hostIds, 'all node hosts', req);
    reports.push(report);
    if (report.candidates.length > 0) return { datastore: mostFreeSpace(report.candidates), accessibleTopology: [] };
  } else {
    for (const segment of segments) {
      const hostIds = hostsInSegment(inv, segment).map((h) => h.id);
      const report = candidatesFor(inv, hostIds, `segment ${describeSegment(segment)}`, req);
      reports.push(report);
      if (report.candidates.length > 0) {
        const datastore = mostFreeSpace(report.candidates);
        return { datastore, accessibleTopology: accessibleSegments(inv, datastore, segments) };
      }
    }
  }
  const why = reports.map((r) => r.rejected.join('; ')).join(' | ');
  if (req.datastoreUrl !== undefined) {
    throw invalidArgument(`parameters.datastoreurl "${req.datastoreUrl}" cannot be used: ${why}`);
  }
  throw resourceExhausted(`no datastore satisfies the request: ${why || 'no datastores found'}`);
}

/** Segments (among `segments`) whose matching hosts all mount the datastore. */
export function accessibleSegments(inv: PlacementInventory, ds: PlacementDatastore, segments: Segment[]): Segment[] {
  return segments.filter((segment) => {
    const hosts = hostsInSegment(inv, segment);
    return hosts.length > 0 && hosts.every((h) => ds.hosts.has(h.id));
  });
}
