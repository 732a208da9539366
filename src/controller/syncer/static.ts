/**
 * Static provisioning: a PV of this driver whose volumeHandle CNS does not
 * know names a first-class disk an administrator made (govc disk.create,
 * or a disk kept from another cluster). CNS adopts it with CnsCreateVolume
 * from the backing disk id (no size, no datastore: the disk has both), with
 * this cluster's container cluster and the PV's entities, so the volume
 * then syncs like any other. Each vCenter is asked in turn (healthy ones
 * first) until one has the disk. A handle no vCenter has gets a Warning
 * Event on the PV, once per PV version and full sync, never a retry loop.
 */
import type { V1PersistentVolume } from '@kubernetes/client-node';
import type { EventType, InvolvedObject } from '../../kube/events.js';
import type { CnsEntityMetadata } from '../../vsphere/api.js';
import { isFault } from '../../vsphere/faults.js';
import type { VcenterContext } from '../vcenters.js';
import { cnsVolumeName } from '../volume-name.js';
import type { SyncDeps } from './updater.js';

export interface EventSink {
  recordEvent(object: InvolvedObject, type: EventType, reason: string, message: string): Promise<void>;
}

export type Registration = { vc: VcenterContext; entities: CnsEntityMetadata[] } | 'retry' | undefined;

/** Phases in which a PV may still name a disk worth adopting (a Released PV's volume was usually just deleted). */
const ADOPTABLE_PHASES = new Set([undefined, '', 'Pending', 'Available', 'Bound']);

export function pvObject(pv: V1PersistentVolume): InvolvedObject {
  return { apiVersion: 'v1', kind: 'PersistentVolume', name: pv.metadata?.name ?? '', uid: pv.metadata?.uid };
}

export class StaticRegistrar {
  /** Handle → the PV resourceVersion whose registration found no disk (not tried again until it changes or a full sync). */
  private readonly noDisk = new Map<string, string>();

  constructor(
    private readonly deps: Pick<SyncDeps, 'ctx' | 'metrics' | 'settings' | 'log'>,
    private readonly events: EventSink,
  ) {}

  /** A full sync starts: handles that had no disk are tried again. */
  newRound(): void {
    this.noDisk.clear();
  }

  /** The registered volume and what CNS now holds; 'retry' after a transient failure; undefined when there is nothing to do. */
  async register(handle: string, pv: V1PersistentVolume, entities: CnsEntityMetadata[]): Promise<Registration> {
    const { ctx, metrics, settings, log } = this.deps;
    const version = pv.metadata?.resourceVersion ?? '';
    if (pv.metadata?.deletionTimestamp || !ADOPTABLE_PHASES.has(pv.status?.phase) || this.noDisk.get(handle) === version) return undefined;
    const pvName = pv.metadata?.name ?? '';
    const order = [...ctx.vcenters.all].sort((a, b) => Number(a.health.isDown) - Number(b.health.isDown));
    const unreachable: string[] = [];
    for (const vc of order) {
      metrics.cnsCalls.inc({ vcenter: vc.name, method: 'CnsCreateVolume' });
      try {
        await vc.client.cns.createVolume({
          name: cnsVolumeName(pvName),
          capacityMb: 0,
          datastores: [],
          clusterId: ctx.clusterId,
          vSphereUser: vc.vSphereUser,
          clusterFlavor: 'VANILLA',
          clusterDistribution: settings.clusterDistribution,
          entityMetadata: entities,
          backingDiskId: handle,
        });
      } catch (err) {
        if (isFault(err, 'NotFound')) continue;
        if (isFault(err, 'CnsAlreadyRegisteredFault')) {
          // Registered meanwhile (another cluster, an administrator): the next flush finds it and syncs it.
          ctx.locator.forget(handle);
          return 'retry';
        }
        if (isFault(err)) {
          metrics.failures.inc({ operation: 'register' });
          this.event(pv, 'Warning', 'VolumeRegistrationFailed', `vCenter ${vc.name} refused to register disk ${handle} of PV ${pvName} as a CNS volume: ${(err as Error).message}`);
          return undefined;
        }
        unreachable.push(`${vc.name} (${(err as Error).message})`);
        continue;
      }
      ctx.locator.remember(handle, vc);
      metrics.registered.inc();
      log.info({ volumeId: handle, pv: pvName, vcenter: vc.name }, 'statically provisioned disk registered as a CNS volume');
      this.event(pv, 'Normal', 'VolumeRegistered', `first-class disk ${handle} registered as a CNS volume in vCenter ${vc.name}; its metadata is kept in sync`);
      return { vc, entities };
    }
    if (unreachable.length > 0) {
      metrics.failures.inc({ operation: 'register' });
      log.warn({ volumeId: handle, pv: pvName, unreachable }, 'cannot register the static volume now: some vCenters could not be asked; retried');
      return 'retry';
    }
    this.noDisk.set(handle, version);
    const where = ctx.vcenters.size > 1 ? `any configured vCenter (${ctx.vcenters.names()})` : `vCenter ${ctx.vcenters.first.name}`;
    log.warn({ volumeId: handle, pv: pvName }, 'the PV names a disk that does not exist');
    this.event(
      pv,
      'Warning',
      'VolumeHandleNotFound',
      `spec.csi.volumeHandle ${handle} is neither a CNS volume nor a first-class disk in ${where}: ` +
        'set it to the id of an existing disk (govc disk.ls -l shows ids) or delete this PV',
    );
    return undefined;
  }

  /** Not awaited: a slow API server must not hold up CNS syncing (the recorder logs its own failures). */
  private event(pv: V1PersistentVolume, type: EventType, reason: string, message: string): void {
    void this.events.recordEvent(pvObject(pv), type, reason, message);
  }
}
