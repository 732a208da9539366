/**
 * Where a new volume goes: the vCenter (vcenter-choice.ts), then in it the
 * storage policy and the datastore (placement.ts over its inventory
 * snapshot). `storagepolicyname` and `datastoreurl` are resolved in the
 * candidate vCenter; when it lacks the policy or the datastore, or has no
 * datastore that fits, the next candidate is tried, and when none fits the
 * error says what each one lacked. A vCenter that does not answer is not
 * skipped: its error (UNAVAILABLE, naming it) ends the request, because the
 * requested topology put the volume there.
 */
import type { CallContext } from '../csi/handler.js';
import { CsiError, GrpcCode, invalidArgument, resourceExhausted } from '../csi/errors.js';
import type { Snapshot } from './inventory-snapshot.js';
import type { VolumeParameters } from './parameters.js';
import type { ResolvedPolicy } from './policies.js';
import { chooseDatastore, type Placement, type Segment } from './placement.js';
import { candidateVcenters, type Candidate } from './vcenter-choice.js';
import type { VcenterContext, VcenterSet } from './vcenters.js';

export interface PlacementAsk {
  /** The volume name, for logs. */
  name: string;
  preferred: Segment[];
  requisite: Segment[];
  params: VolumeParameters;
  /** Only this vCenter (a restore: the snapshot's); placement in it says why nothing fits. */
  vcenter?: VcenterContext;
}

export interface Placed {
  vc: VcenterContext;
  snapshot: Snapshot;
  placement: Placement;
  policy?: ResolvedPolicy;
}

export async function placeVolume(vcenters: VcenterSet, ask: PlacementAsk, call: CallContext): Promise<Placed> {
  const candidates = await candidateVcenters(vcenters, ask.preferred, ask.requisite, call.signal);
  if (vcenters.size === 1) return placeIn(candidates[0]!, ask, call);
  if (ask.vcenter) {
    const own = candidates.find((c) => c.vc === ask.vcenter) ?? { vc: ask.vcenter, preferred: ask.preferred, requisite: ask.requisite, scope: '' };
    return placeIn(own, ask, call);
  }
  const failures: string[] = [];
  let allInvalid = true;
  for (const candidate of candidates) {
    try {
      return await placeIn(candidate, ask, call);
    } catch (err) {
      if (!(err instanceof CsiError) || (err.code !== GrpcCode.INVALID_ARGUMENT && err.code !== GrpcCode.RESOURCE_EXHAUSTED)) throw err;
      if (err.code !== GrpcCode.INVALID_ARGUMENT) allInvalid = false;
      failures.push(`vCenter ${candidate.vc.name}${candidate.scope}: ${err.message}`);
      call.log.info({ volumeName: ask.name, vcenter: candidate.vc.name, reason: err.message }, 'vCenter cannot take the volume; trying the next candidate');
    }
  }
  const message = `no configured vCenter can take the volume: ${failures.join(' | ')}`;
  throw allInvalid ? invalidArgument(message) : resourceExhausted(message);
}

async function placeIn(candidate: Candidate, ask: PlacementAsk, call: CallContext): Promise<Placed> {
  const { vc } = candidate;
  const options = { signal: call.signal };
  const policy = ask.params.storagePolicyName ? await vc.policies.resolve(ask.params.storagePolicyName, options) : undefined;
  const cluster = ask.params.datastoreCluster ? await vc.datastoreClusters.resolve(ask.params.datastoreCluster, options) : undefined;
  const request = {
    preferred: candidate.preferred,
    requisite: candidate.requisite,
    compatible: policy?.compatible,
    policyName: policy?.name,
    datastoreUrl: ask.params.datastoreUrl,
    members: cluster?.members,
    clusterName: cluster?.name,
  };
  let snapshot = await vc.inventory.get(options);
  let placement: Placement;
  try {
    placement = chooseDatastore(snapshot, request);
  } catch (err) {
    // The snapshot may predate a new datastore, mount or zone tag: decide again on fresh data once.
    vc.inventory.invalidate();
    snapshot = await vc.inventory.get(options);
    placement = chooseDatastore(snapshot, request);
    call.log.info({ volumeName: ask.name, vcenter: vc.name, firstError: (err as Error).message }, 'placement succeeded after refreshing the inventory');
  }
  return { vc, snapshot, placement, policy };
}
