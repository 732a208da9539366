/**
 * Sends Kubernetes changes to CNS, coalesced: a change marks its volume
 * dirty, and once per window every dirty volume gets at most one entry in a
 * CnsUpdateVolumeMetadata call (several volumes of one vCenter share a call,
 * up to the batch size), listing only the entities that differ from what CNS
 * holds. A Deployment rollout that reschedules 100 pods therefore costs a
 * few calls per window, not one per pod event.
 *
 * What CNS holds is remembered per volume (`known`): read once (one query
 * for all unknown volumes of a vCenter), updated with each successful
 * update, refreshed by every full sync. A volume lives in the vCenter the
 * locator finds (volume-locator.ts, shared with the CSI RPCs). A volume no
 * vCenter has is handed to the static registrar when a PV of ours names it.
 * Failures are retried after a pause; the next full sync retries too.
 */
import type { Logger } from '../../log.js';
import type { CnsEntityMetadata } from '../../vsphere/api.js';
import { isFault } from '../../vsphere/faults.js';
import type { ControllerContext } from '../context.js';
import type { VcenterContext } from '../vcenters.js';
import type { ClusterView } from './cluster-view.js';
import { applyChanges, entityChanges, ownEntities } from './entities.js';
import type { SyncerMetrics } from './metrics.js';
import type { SyncerSettings } from './settings.js';
import type { StaticRegistrar } from './static.js';

export interface SyncDeps {
  ctx: ControllerContext;
  view: ClusterView;
  metrics: SyncerMetrics;
  settings: SyncerSettings;
  log: Logger;
}

interface Known {
  vc: VcenterContext;
  /** This cluster's entities on the volume, as CNS has them. */
  entities: CnsEntityMetadata[];
}

/** CnsQueryVolume pages of queryAllPages. */
const QUERY_PAGE = 500;

export class MetadataUpdater {
  /** Volume handle → when the Kubernetes change was seen (undefined: a full sync's check, no lag to report). */
  private readonly dirty = new Map<string, number | undefined>();
  private readonly known = new Map<string, Known>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Held until the informers have listed everything: a partial view would delete entities it has not seen yet. */
  private held = true;
  private stopped = false;

  constructor(
    private readonly deps: SyncDeps,
    private readonly registrar: StaticRegistrar,
  ) {}

  mark(handles: Iterable<string>, observedAt?: number): void {
    if (this.stopped) return;
    for (const h of handles) {
      if (!this.dirty.has(h) || (observedAt !== undefined && this.dirty.get(h) === undefined)) this.dirty.set(h, observedAt);
    }
    if (this.dirty.size > 0) this.schedule(this.deps.settings.windowMs);
  }

  /** The informers have synced: changes may flow. */
  release(): void {
    this.held = false;
    if (this.dirty.size > 0) this.schedule(0);
  }

  /** CNS's current entities of a volume (all clusters'; ours are kept), e.g. from a full sync. */
  learn(volumeId: string, vc: VcenterContext, entities: readonly CnsEntityMetadata[]): void {
    this.known.set(volumeId, { vc, entities: ownEntities(entities, this.deps.ctx.clusterId) });
  }

  forget(volumeId: string): void {
    this.known.delete(volumeId);
  }

  /** Sends everything marked so far, now (full sync, tests). */
  async flushNow(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const t of this.retries) clearTimeout(t);
    this.retries.clear();
    await this.flushing;
  }

  private schedule(delayMs: number): void {
    if (this.held || this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delayMs);
  }

  /** One flush at a time; changes marked meanwhile go into the next. */
  private async run(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.stopped || this.held || this.dirty.size === 0) return;
    const batch = new Map(this.dirty);
    this.dirty.clear();
    this.flushing = this.flush(batch)
      .catch((err: unknown) => this.deps.log.error({ err: (err as Error).message }, 'metadata sync flush failed'))
      .finally(() => {
        this.flushing = undefined;
      });
    await this.flushing;
  }

  private async flush(batch: Map<string, number | undefined>): Promise<void> {
    const byVc = new Map<VcenterContext, string[]>();
    const missing: string[] = [];
    const failed: string[] = [];
    await Promise.all(
      [...batch.keys()].map(async (handle) => {
        try {
          const vc = this.known.get(handle)?.vc ?? (await this.deps.ctx.locator.locate(handle))?.vc;
          if (!vc) return void missing.push(handle);
          byVc.set(vc, [...(byVc.get(vc) ?? []), handle]);
        } catch (err) {
          failed.push(handle);
          this.deps.log.warn({ volumeId: handle, err: (err as Error).message }, 'cannot tell which vCenter holds the volume; retried');
        }
      }),
    );
    await Promise.all([...byVc].map(([vc, ids]) => this.updateIn(vc, ids, batch, missing, failed)));
    for (const handle of missing) await this.registerOrDrop(handle, batch.get(handle), failed);
    if (failed.length > 0) this.retryLater(failed, batch);
  }

  private async updateIn(vc: VcenterContext, ids: string[], batch: Map<string, number | undefined>, missing: string[], failed: string[]): Promise<void> {
    const { ctx, metrics, view, log } = this.deps;
    const unknown = ids.filter((id) => !this.known.has(id));
    if (unknown.length > 0) {
      try {
        metrics.cnsCalls.inc({ vcenter: vc.name, method: 'CnsQueryVolume' }, Math.ceil(unknown.length / QUERY_PAGE));
        const found = await vc.client.cns.queryAllPages({ volumeIds: unknown }, { pageSize: QUERY_PAGE });
        for (const v of found) this.learn(v.volumeId, vc, v.entityMetadata);
        for (const id of unknown.filter((u) => !this.known.has(u))) {
          ctx.locator.forget(id);
          missing.push(id);
        }
      } catch (err) {
        metrics.failures.inc({ operation: 'query' });
        log.warn({ vcenter: vc.name, volumes: unknown.length, err: (err as Error).message }, 'cannot read CNS metadata; retried');
        failed.push(...unknown);
      }
    }
    const pending = ids
      .filter((id) => this.known.get(id)?.vc === vc)
      .map((id) => ({ id, changes: entityChanges(view.desired(id), this.known.get(id)!.entities) }))
      .filter((p) => p.changes.length > 0);
    const size = ctx.batching.enabled ? Math.max(1, ctx.batching.maxBatch) : 1;
    for (let i = 0; i < pending.length; i += size) {
      const chunk = pending.slice(i, i + size);
      await this.send(vc, chunk, batch, missing, failed);
    }
  }

  private async send(vc: VcenterContext, chunk: { id: string; changes: CnsEntityMetadata[] }[], batch: Map<string, number | undefined>, missing: string[], failed: string[]): Promise<void> {
    const { ctx, metrics, settings, log, view } = this.deps;
    metrics.cnsCalls.inc({ vcenter: vc.name, method: 'CnsUpdateVolumeMetadata' });
    let results;
    try {
      results = await vc.client.cns.updateVolumeMetadata(
        chunk.map((c) => ({
          volumeId: c.id,
          clusterId: ctx.clusterId,
          vSphereUser: vc.vSphereUser,
          clusterFlavor: 'VANILLA' as const,
          clusterDistribution: settings.clusterDistribution,
          entityMetadata: c.changes,
        })),
      );
    } catch (err) {
      metrics.failures.inc({ operation: 'update' }, chunk.length);
      log.warn({ vcenter: vc.name, volumes: chunk.length, err: (err as Error).message }, 'CnsUpdateVolumeMetadata failed; retried');
      failed.push(...chunk.map((c) => c.id));
      return;
    }
    const now = Date.now();
    results.forEach((r, i) => {
      const { id, changes } = chunk[i]!;
      if (r.ok) {
        const entities = applyChanges(this.known.get(id)?.entities ?? [], changes);
        if (view.pvOf(id)) this.known.set(id, { vc, entities });
        else this.known.delete(id); // the PV is gone and its entities with it: nothing left to track
        metrics.updates.inc({ vcenter: vc.name });
        const seen = batch.get(id);
        if (seen !== undefined) metrics.lag.observe((now - seen) / 1000);
        log.debug({ volumeId: id, vcenter: vc.name, entities: changes.map((c) => `${c.delete ? '-' : '+'}${c.entityType}:${c.entityName}`) }, 'CNS metadata updated');
      } else if (isFault(r.error, 'NotFound')) {
        this.known.delete(id);
        ctx.locator.forget(id);
        missing.push(id);
      } else {
        metrics.failures.inc({ operation: 'update' });
        log.warn({ volumeId: id, vcenter: vc.name, err: r.error.message }, 'CNS refused the metadata update; retried');
        failed.push(id);
      }
    });
  }

  /** No vCenter has the volume: a static PV gets its disk registered; otherwise the volume is gone and so is our interest. */
  private async registerOrDrop(handle: string, seen: number | undefined, failed: string[]): Promise<void> {
    const pv = this.deps.view.pvOf(handle);
    if (!pv) return void this.known.delete(handle);
    const outcome = await this.registrar.register(handle, pv, this.deps.view.desired(handle));
    if (outcome === 'retry') failed.push(handle);
    else if (outcome) {
      this.known.set(handle, { vc: outcome.vc, entities: outcome.entities });
      if (seen !== undefined) this.deps.metrics.lag.observe((Date.now() - seen) / 1000);
    }
  }

  private retryLater(handles: string[], batch: Map<string, number | undefined>): void {
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      for (const h of handles) this.mark([h], batch.get(h));
    }, this.deps.settings.retryMs);
    this.retries.add(timer);
  }
}
