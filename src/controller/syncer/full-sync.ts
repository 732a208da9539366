/**
 * Full sync, at the start of each leadership term and every interval:
 * read every CNS volume of this cluster from every vCenter (CnsQueryVolume
 * by container cluster id, 500 per page), then
 * - refresh what the updater believes CNS holds, and check every PV of ours
 *   (stale or missing entities are fixed by the next flush, which runs
 *   before the sync ends; a PV whose volume CNS lacks goes to static
 *   registration);
 * - report CNS volumes of this cluster that no PV names for two full syncs
 *   in a row (log, Event, metric): never deleted, a person decides;
 * - write each claim's volume health annotation.
 * A health pass (between full syncs, VOLUME_HEALTH_INTERVAL_MINUTES) does
 * only the last step. A vCenter that cannot be read is skipped (logged,
 * counted); its volumes keep their orphan counts until it answers again.
 */
import type { CnsVolume } from '../../vsphere/api.js';
import type { VcenterContext } from '../vcenters.js';
import type { HealthAnnotator } from './health.js';
import type { EventSink, StaticRegistrar } from './static.js';
import type { MetadataUpdater, SyncDeps } from './updater.js';

/** Consecutive full syncs a CNS volume must lack a PV before it is reported. */
export const ORPHAN_SYNCS = 2;

export interface FullSyncResult {
  /** CNS volumes of this cluster, per vCenter that answered. */
  volumes: number;
  /** vCenters that could not be read. */
  failedVcenters: string[];
  /** Volumes without a PV for ORPHAN_SYNCS full syncs or more. */
  orphans: string[];
}

export class FullSync {
  /** Volume id → consecutive full syncs it had no PV. */
  private orphanCounts = new Map<string, { count: number; vc: string }>();

  constructor(
    private readonly deps: SyncDeps,
    private readonly updater: MetadataUpdater,
    private readonly registrar: StaticRegistrar,
    private readonly health: HealthAnnotator,
    private readonly events: EventSink,
  ) {}

  async run(kind: 'full' | 'health'): Promise<FullSyncResult> {
    const { metrics, log } = this.deps;
    const started = Date.now();
    const { found, failed } = await this.readCns();
    if (kind === 'full') {
      this.registrar.newRound();
      for (const [id, { vc, volume }] of found) this.updater.learn(id, vc, volume.entityMetadata);
      // Every PV is checked against what CNS now says; unchanged ones cost nothing.
      this.updater.mark(this.deps.view.handles());
      await this.updater.flushNow();
    }
    await this.annotateHealth(found);
    const orphans = kind === 'full' ? await this.reportOrphans(found, failed) : [...this.orphanCounts].filter(([, o]) => o.count >= ORPHAN_SYNCS).map(([id]) => id);
    if (kind === 'full') {
      metrics.lastFullSync.set(Date.now() / 1000);
      metrics.fullSyncDuration.set((Date.now() - started) / 1000);
      log.info({ volumes: found.size, pvs: this.deps.view.handles().length, orphans: orphans.length, failedVcenters: failed, ms: Date.now() - started }, 'full sync done');
    }
    return { volumes: found.size, failedVcenters: failed.map((vc) => vc.name), orphans };
  }

  private async readCns(): Promise<{ found: Map<string, { vc: VcenterContext; volume: CnsVolume }>; failed: VcenterContext[] }> {
    const { ctx, metrics, log } = this.deps;
    const found = new Map<string, { vc: VcenterContext; volume: CnsVolume }>();
    const failed: VcenterContext[] = [];
    await Promise.all(
      ctx.vcenters.all.map(async (vc) => {
        try {
          const volumes = await vc.client.cns.queryAllPages({ containerClusterIds: [ctx.clusterId] }, { pageSize: 500 });
          metrics.cnsCalls.inc({ vcenter: vc.name, method: 'CnsQueryVolume' }, Math.max(1, Math.ceil(volumes.length / 500)));
          for (const volume of volumes) {
            found.set(volume.volumeId, { vc, volume });
            ctx.locator.remember(volume.volumeId, vc);
          }
        } catch (err) {
          failed.push(vc);
          metrics.failures.inc({ operation: 'full_sync' });
          log.warn({ vcenter: vc.name, err: (err as Error).message }, `full sync: cannot read the CNS volumes of vCenter ${vc.name}; skipped until the next sync`);
        }
      }),
    );
    return { found, failed };
  }

  private async annotateHealth(found: Map<string, { vc: VcenterContext; volume: CnsVolume }>): Promise<void> {
    const { view } = this.deps;
    const work: Promise<void>[] = [];
    for (const [id, { volume }] of found) {
      const pv = view.pvOf(id);
      const pvc = pv && view.claimOf(pv);
      if (pvc) work.push(this.health.apply(pvc, volume.healthStatus, id));
    }
    await Promise.all(work);
  }

  private async reportOrphans(found: Map<string, { vc: VcenterContext; volume: CnsVolume }>, failed: VcenterContext[]): Promise<string[]> {
    const { view, metrics, log, ctx } = this.deps;
    const skipped = new Set(failed.map((vc) => vc.name));
    const next = new Map([...this.orphanCounts].filter(([, o]) => skipped.has(o.vc)));
    const reported: string[] = [];
    for (const [id, { vc, volume }] of found) {
      if (view.pvOf(id)) continue;
      const count = (this.orphanCounts.get(id)?.count ?? 0) + 1;
      next.set(id, { count, vc: vc.name });
      if (count < ORPHAN_SYNCS) continue;
      reported.push(id);
      const where = `vCenter ${vc.name}${volume.datastoreUrl ? `, datastore ${volume.datastoreUrl}` : ''}`;
      log.warn({ volumeId: id, name: volume.name, vcenter: vc.name, fullSyncs: count }, 'CNS volume of this cluster has no PersistentVolume (not deleted)');
      // No PV exists to attach the Event to; it names the PV the volume was created for (its CNS name).
      await this.events.recordEvent(
        { apiVersion: 'v1', kind: 'PersistentVolume', name: volume.name },
        'Warning',
        'OrphanCnsVolume',
        `CNS volume ${id} (${volume.name}, ${where}) belongs to cluster ${ctx.clusterId} but no PersistentVolume has had it as volumeHandle for ${count} full syncs. ` +
          'It was not deleted: delete it in vCenter (Cloud Native Storage) if it is not needed, or create a PV for it to use it again',
      );
    }
    this.orphanCounts = next;
    metrics.orphans.set(reported.length);
    return reported;
  }
}
