/**
 * Volume id → the vCenter that holds it, stateless as the rest of the
 * driver: no CRD, no ConfigMap. The answer comes from asking the vCenters
 * (CnsQueryVolume by id, all at once; concurrent asks of one vCenter share
 * one query) and is kept in a bounded in-memory cache; a volume created or
 * listed here is remembered without asking. After a restart the first call
 * per volume finds it again. A cached answer that meets NotFound is
 * forgotten and resolved afresh.
 *
 * With one vCenter there is nothing to resolve: the answer is that vCenter,
 * without a request.
 *
 * `find` (the volume itself: CreateSnapshot, expand, modify, ...) reads the
 * volume through the same per-vCenter coalescer, so concurrent finds share
 * one CnsQueryVolume per vCenter (up to `maxBatch` ids, gathered for
 * `windowMs` while an earlier query of that vCenter is in flight; a find
 * when none is in flight is sent at once, so a lone one waits for nothing).
 * A batch only gathers requests that arrived before it is sent, so every
 * answer is read after its request arrived.
 */
import { CsiError, GrpcCode, unavailable } from '../csi/errors.js';
import type { CnsVolume } from '../vsphere/api.js';
import { isFault } from '../vsphere/faults.js';
import { awaitShared } from './abandon.js';
import { Coalescer } from './coalescer.js';
import { LruMap } from './lru.js';
import type { BatchingOptions } from './context.js';
import type { VcenterContext, VcenterSet } from './vcenters.js';
import { CNS_QUERY_MAX_LIMIT } from '../vsphere/cns-codec.js';

/** Volumes remembered at most (LRU); ~100 bytes each. */
export const DEFAULT_LOCATOR_CACHE = 50_000;
/**
 * How long an answer is kept: an entry goes stale only when its volume is
 * deleted (and a NotFound then resolves it afresh), so the age bound is for
 * memory, not correctness; a ListVolumes pass renews every listed volume.
 */
export const LOCATOR_MAX_AGE_MS = 3_600_000;

/** "CNS has no such volume": the NotFound that makes a cached location suspect. */
export class VolumeMissing extends CsiError {
  constructor(message: string) {
    super(GrpcCode.NOT_FOUND, message);
    this.name = 'VolumeMissing';
  }
}

export interface Located {
  vc: VcenterContext;
  /** The volume as the resolving query returned it (absent for cached and single-vCenter answers). */
  volume?: CnsVolume;
  /** The answer came from the cache (so a NotFound may mean it is stale). */
  cached: boolean;
}

export interface Asked<T> {
  found?: { vc: VcenterContext; value: T };
  failed: { vc: VcenterContext; error: unknown }[];
}

/**
 * Asks each vCenter; settles as soon as one has an answer (`has`), else
 * when all have answered or failed. A hung vCenter does not delay an
 * answer another one already gave.
 */
export function askEach<T>(vcs: readonly VcenterContext[], ask: (vc: VcenterContext) => Promise<T>, has: (value: T) => boolean): Promise<Asked<T>> {
  return new Promise((resolve) => {
    const failed: Asked<T>['failed'] = [];
    let pending = vcs.length;
    if (pending === 0) return resolve({ failed });
    for (const vc of vcs) {
      ask(vc).then(
        (value) => {
          // The first resolve wins; copies, so later failures do not change an answer already given.
          if (has(value)) resolve({ found: { vc, value }, failed: [...failed] });
          if (--pending === 0) resolve({ failed: [...failed] });
        },
        (error: unknown) => {
          failed.push({ vc, error });
          if (--pending === 0) resolve({ failed: [...failed] });
        },
      );
    }
  });
}

export class VolumeLocator {
  private readonly known: LruMap<string, VcenterContext>;
  private readonly queries: Coalescer<string, CnsVolume | undefined>;

  constructor(
    private readonly vcenters: VcenterSet,
    batching: BatchingOptions,
    maxEntries = DEFAULT_LOCATOR_CACHE,
  ) {
    this.known = new LruMap({ maxEntries, maxAgeMs: LOCATOR_MAX_AGE_MS });
    this.queries = new Coalescer<string, CnsVolume | undefined>({
      ...batching,
      // CNS answers at most 1,000 volumes per CnsQueryVolume (its cursor limit cap), whatever VSPHERE_CSI_BATCH_MAX says.
      maxBatch: Math.min(batching.maxBatch, CNS_QUERY_MAX_LIMIT),
      run: async (vcName, ids) => {
        // Shared by several callers, so no one caller's signal: the layer's request timeout bounds it.
        const unique = [...new Set(ids)];
        const page = await this.vcenters.get(vcName)!.client.cns.queryVolumes({ volumeIds: unique, cursor: { offset: 0, limit: unique.length } });
        return ids.map((id) => ({ ok: true, value: page.volumes.find((v) => v.volumeId === id) }));
      },
    });
  }

  /** CnsQueryVolume requests sent by id lookups and the ids they carried (tests and figures). */
  get stats(): { batches: number; items: number } {
    return this.queries.stats;
  }

  remember(volumeId: string, vc: VcenterContext): void {
    if (this.vcenters.size === 1) return;
    this.known.set(volumeId, vc);
  }

  forget(volumeId: string): void {
    this.known.delete(volumeId);
  }

  /**
   * The vCenter holding the volume; undefined when every vCenter answered
   * and none has it. UNAVAILABLE (naming them) when it is nowhere among the
   * vCenters that answered and some could not be asked. vCenters known to be
   * down are asked last, so they only cost time when no other has it.
   */
  async locate(volumeId: string, signal?: AbortSignal): Promise<Located | undefined> {
    if (this.vcenters.size === 1) return { vc: this.vcenters.first, cached: false };
    const hit = this.known.get(volumeId);
    if (hit) return { vc: hit, cached: true };
    const ask = (vc: VcenterContext) => this.query(vc, volumeId, signal);
    const has = (v: CnsVolume | undefined) => v !== undefined;
    const live = this.vcenters.all.filter((vc) => !vc.health.isDown);
    let asked = await askEach(live, ask, has);
    if (!asked.found) {
      const rest = await askEach(this.vcenters.all.filter((vc) => vc.health.isDown), ask, has);
      asked = { found: rest.found, failed: [...asked.failed, ...rest.failed] };
    }
    if (asked.found) {
      this.remember(volumeId, asked.found.vc);
      return { vc: asked.found.vc, volume: asked.found.value, cached: false };
    }
    if (asked.failed.length > 0) throw this.unreachable(volumeId, asked.failed);
    return undefined;
  }

  /**
   * Runs `work` in the volume's vCenter; `missing()` answers when no vCenter
   * has it. A cached location whose work meets NotFound is resolved again
   * (once) before the NotFound is believed.
   */
  async withVolume<T>(volumeId: string, signal: AbortSignal | undefined, work: (at: Located) => Promise<T>, missing: () => T | Promise<T>): Promise<T> {
    const at = await this.locate(volumeId, signal);
    if (!at) return missing();
    try {
      return await work(at);
    } catch (err) {
      if (!at.cached || !(err instanceof VolumeMissing || isFault(err, 'NotFound'))) throw err;
      this.forget(volumeId);
      const again = await this.locate(volumeId, signal);
      if (!again) return missing();
      if (again.vc === at.vc) throw err;
      return work(again);
    }
  }

  /** The volume and its vCenter, or NOT_FOUND. */
  find(volumeId: string, signal?: AbortSignal): Promise<{ vc: VcenterContext; volume: CnsVolume }> {
    return this.withVolume(
      volumeId,
      signal,
      async (at) => {
        if (at.volume) return { vc: at.vc, volume: at.volume };
        const volume = await this.query(at.vc, volumeId, signal);
        if (!volume) throw this.missing(volumeId);
        return { vc: at.vc, volume };
      },
      () => {
        throw this.missing(volumeId);
      },
    );
  }

  /** One volume from one vCenter, its CnsQueryVolume shared with the concurrent lookups there; `signal` ends only this caller's wait. */
  private query(vc: VcenterContext, volumeId: string, signal?: AbortSignal): Promise<CnsVolume | undefined> {
    return awaitShared(this.queries.submit(vc.name, volumeId), signal, `volume ${volumeId} lookup in vCenter ${vc.name}`);
  }

  /** NOT_FOUND for a volume id, naming where it was looked for when there are several vCenters. */
  missing(volumeId: string): VolumeMissing {
    const where = this.vcenters.size > 1 ? ` in any configured vCenter (${this.vcenters.names()})` : '';
    return new VolumeMissing(`volume_id ${volumeId}: CNS has no such volume${where}`);
  }

  private unreachable(volumeId: string, failed: Asked<unknown>['failed']): CsiError {
    const asked = this.vcenters.all.filter((vc) => !failed.some((f) => f.vc === vc));
    const why = failed.map((f) => `vCenter ${f.vc.name} (${(f.error as Error).message})`).join(', ');
    return unavailable(
      `volume_id ${volumeId}: not found in ${asked.length ? `vCenter ${this.vcenters.names(asked)}` : 'any vCenter that answered'}, ` +
        `and ${why} could not be asked; it may be there: retry when it answers`,
    );
  }
}
