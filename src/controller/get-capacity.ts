/**
 * GetCapacity: the free space of the best datastore that a volume of this
 * StorageClass could be placed on in the given topology segment (policy,
 * datastoreurl and datastorecluster applied: with a cluster, its best
 * member), across every vCenter with hosts in the segment. A vCenter is
 * judged by its inventory snapshot; one that is down while its last snapshot
 * has hosts in the segment fails the call (UNAVAILABLE naming
 * it) rather than under-report the segment, and vCenters with no hosts
 * there are not waited on. A vCenter lacking the storage policy offers no
 * capacity; lacking it everywhere is INVALID_ARGUMENT, as with one vCenter.
 */
import type { CallContext } from '../csi/handler.js';
import type { GetCapacityRequest__Output } from '../csi/generated/csi/v1/GetCapacityRequest.js';
import type { GetCapacityResponse } from '../csi/generated/csi/v1/GetCapacityResponse.js';
import { CsiError, GrpcCode, invalidArgument, unavailable } from '../csi/errors.js';
import { validateStringMap, validateVolumeCapabilities } from '../csi/validate.js';
import { capabilityProblem } from './capabilities.js';
import type { Snapshot } from './inventory-snapshot.js';
import { parseVolumeParameters, type VolumeParameters } from './parameters.js';
import { candidatesFor, describeSegment, hostsInSegment, mostFreeSpace, type Segment } from './placement.js';
import { inventoryViews } from './vcenter-choice.js';
import type { VcenterContext, VcenterSet } from './vcenters.js';

export async function getCapacity(vcenters: VcenterSet, req: GetCapacityRequest__Output, call: CallContext): Promise<GetCapacityResponse> {
  if (req.volume_capabilities && req.volume_capabilities.length > 0) {
    validateVolumeCapabilities(req.volume_capabilities);
    // An unsupported capability has no capacity (spec: return 0), not an error.
    if (req.volume_capabilities.some((cap, i) => capabilityProblem(cap, `volume_capabilities[${i}]`))) return zeroCapacity();
  }
  const params = parseVolumeParameters(validateStringMap(req.parameters, 'parameters'));
  const raw = req.accessible_topology?.segments;
  const segment = raw && Object.keys(raw).length > 0 ? raw : undefined;
  const signal = call.signal;
  if (vcenters.size === 1) {
    const vc = vcenters.first;
    return capacityOf(await bestFreeSpace(vc, await vc.inventory.get({ signal }), segment, params, signal));
  }
  const views = await inventoryViews(vcenters, signal);
  const relevant = views.filter((v) => v.snapshot && (!segment || hostsInSegment(v.snapshot, segment).length > 0));
  const unreadable = relevant.filter((v) => v.problem);
  if (unreadable.length > 0) {
    throw unavailable(
      `capacity of ${segment ? `segment ${describeSegment(segment)}` : 'the cluster'}: ` +
        `${unreadable.map((v) => `vCenter ${v.vc.name} (${v.problem})`).join(', ')} has hosts there but cannot be read; retry when it answers`,
    );
  }
  const noPolicy: string[] = [];
  const best = await Promise.all(
    relevant.map((v) =>
      bestFreeSpace(v.vc, v.snapshot!, segment, params, signal).catch((err: unknown) => {
        if (!(err instanceof CsiError) || err.code !== GrpcCode.INVALID_ARGUMENT) throw err;
        noPolicy.push(`vCenter ${v.vc.name}: ${err.message}`);
        return undefined;
      }),
    ),
  );
  if (relevant.length > 0 && noPolicy.length === relevant.length) throw invalidArgument(noPolicy.join(' | '));
  const found = best.filter((b): b is bigint => b !== undefined);
  return capacityOf(found.length > 0 ? found.reduce((a, b) => (b > a ? b : a)) : undefined);
}

/** Free bytes of the best datastore for the request in one vCenter; undefined when none fits. */
async function bestFreeSpace(vc: VcenterContext, snapshot: Snapshot, segment: Segment | undefined, params: VolumeParameters, signal: AbortSignal): Promise<bigint | undefined> {
  const policy = params.storagePolicyName ? await vc.policies.resolve(params.storagePolicyName, { signal }) : undefined;
  const cluster = params.datastoreCluster ? await vc.datastoreClusters.resolve(params.datastoreCluster, { signal }) : undefined;
  const hosts = segment ? hostsInSegment(snapshot, segment).map((h) => h.id) : snapshot.hosts.map((h) => h.id);
  const scope = segment ? `segment ${describeSegment(segment)}` : 'all hosts';
  const report = candidatesFor(snapshot, hosts, scope, {
    compatible: policy?.compatible,
    policyName: policy?.name,
    datastoreUrl: params.datastoreUrl,
    members: cluster?.members,
    clusterName: cluster?.name,
  });
  return report.candidates.length > 0 ? mostFreeSpace(report.candidates).freeSpace : undefined;
}

function capacityOf(free: bigint | undefined): GetCapacityResponse {
  if (free === undefined) return zeroCapacity();
  return {
    available_capacity: String(free),
    maximum_volume_size: { value: String(free) },
    minimum_volume_size: { value: String(1024 * 1024) },
  };
}

function zeroCapacity(): GetCapacityResponse {
  return { available_capacity: '0', maximum_volume_size: { value: '0' } };
}
