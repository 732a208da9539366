/**
 * ControllerModifyVolume (Kubernetes VolumeAttributesClass): a live volume
 * gets another storage policy (CnsReconfigVolumePolicy) and/or moves to
 * another datastore (CnsRelocateVolume, also while attached: vCenter moves
 * an attached disk, the reference asking Resource.HotMigrate on its VM).
 *
 * - Idempotent: a volume already on that policy and datastore costs no task.
 * - Everything vCenter would refuse is checked before any task, with the
 *   reason: the policy exists and the target datastore satisfies it, the
 *   target is not in maintenance mode and is mounted on every host the volume
 *   is reachable from now (modify-plan.ts), vCenter is new enough.
 * - A relocation can take longer than the caller's deadline. The work is a
 *   single flight per volume that holds the volume's lock until CNS is done,
 *   without the caller's signal: the caller stops waiting at its deadline, a
 *   retry with the same parameters finds the flight by volume id and waits
 *   for the same task; a different change, or any other operation on the
 *   volume, meanwhile is ABORTED.
 */
import type { CallContext } from '../csi/handler.js';
import type { ControllerModifyVolumeRequest__Output } from '../csi/generated/csi/v1/ControllerModifyVolumeRequest.js';
import type { ControllerModifyVolumeResponse } from '../csi/generated/csi/v1/ControllerModifyVolumeResponse.js';
import { aborted, CsiError, failedPrecondition, GrpcCode, invalidArgument, unimplemented } from '../csi/errors.js';
import { requireVolumeId, validateStringMap } from '../csi/validate.js';
import type { CnsVolume } from '../vsphere/api.js';
import { isFault } from '../vsphere/faults.js';
import { CNS_RECONFIG_POLICY, CNS_RELOCATE, versionAtLeast, type ApiRequirement } from '../vsphere/versions.js';
import type { Logger } from '../log.js';
import { abandonOnAbort } from './abandon.js';
import type { ControllerContext } from './context.js';
import type { Snapshot } from './inventory-snapshot.js';
import { strandedBy } from './modify-plan.js';
import { parseMutableParameters, type MutableParameters } from './parameters.js';
import { inMaintenance, sameUrl, type PlacementDatastore } from './placement.js';
import type { ResolvedPolicy } from './policies.js';
import { SingleFlight } from './single-flight.js';
import type { VcenterContext } from './vcenters.js';

const FIELD = 'mutable_parameters';

interface Target {
  vc: VcenterContext;
  snapshot: Snapshot;
  current: PlacementDatastore;
  datastore: PlacementDatastore;
  /** The policy the volume ends with (undefined: none, and none is asked for). */
  profileId?: string;
  policy?: ResolvedPolicy;
}

export class VolumeModifier {
  private readonly flights = new SingleFlight<void>();

  constructor(private readonly ctx: ControllerContext) {}

  async modifyVolume(req: ControllerModifyVolumeRequest__Output, call: CallContext): Promise<ControllerModifyVolumeResponse> {
    const volumeId = requireVolumeId(req.volume_id);
    const wanted = parseMutableParameters(validateStringMap(req.mutable_parameters, FIELD));
    if (wanted.storagePolicyName === undefined && wanted.datastoreUrl === undefined) {
      // Nothing to change, but the spec's NOT_FOUND still holds for a volume that does not exist.
      await this.ctx.locator.find(volumeId, call.signal);
      return {};
    }
    const fingerprint = JSON.stringify([wanted.storagePolicyName, wanted.datastoreUrl?.replace(/\/+$/, '')]);
    await abandonOnAbort(
      this.flights.run(volumeId, fingerprint, () => this.modifyOnce(volumeId, wanted, call.log), 'ControllerModifyVolume'),
      call.signal,
      `ControllerModifyVolume of volume ${volumeId}`,
    );
    return {};
  }

  /** The shared work: no caller's signal (each request of it is bounded by the client's request timeout). */
  private async modifyOnce(volumeId: string, wanted: MutableParameters, log: Logger): Promise<void> {
    const release = this.ctx.volumeLocks.tryAcquire(volumeId);
    if (!release) throw aborted(`an operation on volume ${volumeId} is already in progress; retry`);
    try {
      const { vc, volume } = await this.ctx.locator.find(volumeId);
      const target = await this.plan(vc, volume, wanted);
      const moves = target.datastore.id !== target.current.id;
      if (!moves && target.profileId === volume.storagePolicyId) {
        log.info({ volumeId, datastore: target.current.name }, 'volume already has the requested storage policy and datastore');
        return;
      }
      if (moves) await this.relocate(volume, target, log);
      else await this.reconfigure(volume, target, log);
    } finally {
      release();
    }
  }

  private async plan(vc: VcenterContext, volume: CnsVolume, wanted: MutableParameters): Promise<Target> {
    const policy = wanted.storagePolicyName === undefined ? undefined : await this.resolvePolicy(vc, wanted.storagePolicyName);
    let snapshot = await vc.inventory.get();
    const lookup = (s: Snapshot) => ({
      current: s.datastores.find((d) => volume.datastoreUrl !== undefined && sameUrl(d.url, volume.datastoreUrl)),
      wanted: wanted.datastoreUrl === undefined ? undefined : s.datastores.find((d) => sameUrl(d.url, wanted.datastoreUrl!)),
    });
    let found = lookup(snapshot);
    if (!found.current || (wanted.datastoreUrl !== undefined && !found.wanted)) {
      // The snapshot may predate the datastore or the move of an earlier request: read again once.
      vc.inventory.invalidate();
      snapshot = await vc.inventory.get();
      found = lookup(snapshot);
    }
    if (!found.current) {
      throw failedPrecondition(`volume ${volume.volumeId} is on ${volume.datastoreUrl ?? 'an unknown datastore'}, which vCenter ${vc.name} does not list as accessible; the volume cannot be changed until it is`);
    }
    if (wanted.datastoreUrl !== undefined && !found.wanted) {
      throw invalidArgument(`${FIELD}.datastoreurl "${wanted.datastoreUrl}" matches no accessible datastore in vCenter ${vc.name} (the volume's); give a datastore's summary.url such as ds:///vmfs/volumes/<uuid>/`);
    }
    return {
      vc,
      snapshot,
      current: found.current,
      datastore: found.wanted ?? found.current,
      profileId: policy?.profileId ?? volume.storagePolicyId,
      policy,
    };
  }

  private async resolvePolicy(vc: VcenterContext, name: string): Promise<ResolvedPolicy> {
    try {
      return await vc.policies.resolve(name);
    } catch (err) {
      if (err instanceof CsiError && err.code === GrpcCode.INVALID_ARGUMENT) {
        throw invalidArgument(`${FIELD}.storagepolicyname: vCenter ${vc.name} has no storage policy named "${name}"; create it or fix the VolumeAttributesClass`);
      }
      throw err;
    }
  }

  private async relocate(volume: CnsVolume, t: Target, log: Logger): Promise<void> {
    const ds = t.datastore;
    await this.requireApi(t.vc, CNS_RELOCATE, `moving a volume to another datastore (${FIELD}.datastoreurl)`);
    if (inMaintenance(ds)) {
      throw invalidArgument(`${FIELD}.datastoreurl: datastore ${ds.name} (${ds.url}) is ${ds.maintenanceMode} (maintenance mode) and takes no disks; choose another datastore`);
    }
    if (t.profileId && !(await this.satisfies(t, ds))) {
      throw invalidArgument(
        `${FIELD}.datastoreurl: datastore ${ds.name} (${ds.url}) does not satisfy the volume's storage policy` +
          `${t.policy ? ` "${t.policy.name}"` : ` (${t.profileId})`}; choose a datastore the policy allows, or set storagepolicyname to one it satisfies`,
      );
    }
    const stranded = strandedBy(t.snapshot, t.current, ds);
    if (stranded) throw invalidArgument(`${FIELD}.datastoreurl: ${stranded}`);
    log.info({ volumeId: volume.volumeId, vcenter: t.vc.name, from: t.current.name, to: ds.name, profileId: t.profileId }, 'relocating CNS volume');
    try {
      await t.vc.client.cns.relocateVolume({ volumeId: volume.volumeId, datastore: t.snapshot.datastoreRefs.get(ds.id)!, profileId: t.profileId });
    } catch (err) {
      // vCenter: "AlreadyExists ... volume is already migrated to the specified destination datastore".
      if (!isFault(err, 'AlreadyExists')) throw err;
    }
    log.info({ volumeId: volume.volumeId, vcenter: t.vc.name, datastore: ds.name }, 'CNS volume relocated');
  }

  private async reconfigure(volume: CnsVolume, t: Target, log: Logger): Promise<void> {
    await this.requireApi(t.vc, CNS_RECONFIG_POLICY, `changing a volume's storage policy in place (${FIELD}.storagepolicyname)`);
    const policy = t.policy!;
    if (!policy.compatible.has(t.current.id)) {
      throw invalidArgument(
        `${FIELD}.storagepolicyname: the volume's datastore ${t.current.name} (${t.current.url}) does not satisfy storage policy "${policy.name}"; ` +
          'add datastoreurl of a datastore that does to the VolumeAttributesClass to move the volume as well',
      );
    }
    await t.vc.client.cns.reconfigVolumePolicy({ volumeId: volume.volumeId, profileId: policy.profileId });
    log.info({ volumeId: volume.volumeId, vcenter: t.vc.name, policy: policy.name }, 'CNS volume storage policy changed');
  }

  /** Whether `ds` satisfies the policy the volume ends with (the new one, or the one it keeps). */
  private async satisfies(t: Target, ds: PlacementDatastore): Promise<boolean> {
    if (t.policy) return t.policy.compatible.has(ds.id);
    const ref = t.snapshot.datastoreRefs.get(ds.id)!;
    return (await t.vc.client.pbm.compatibleDatastores(t.profileId!, { candidates: [ref] })).some((r) => r.value === ds.id);
  }

  private async requireApi(vc: VcenterContext, api: ApiRequirement, what: string): Promise<void> {
    const about = await vc.client.session.about();
    if (!versionAtLeast(about.apiVersion, api.since)) {
      throw unimplemented(
        `${what} needs ${api.release} or later (${api.method}, API ${api.since.join('.')}); vCenter ${vc.name} is ${about.version || 'unknown'} (API ${about.apiVersion || 'unknown'}): upgrade vCenter or remove the key from the VolumeAttributesClass`,
      );
    }
  }
}
