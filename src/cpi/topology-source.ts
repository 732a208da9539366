/**
 * Gathers what topologyLabels() needs for a batch of hosts from one vCenter
 * in as few requests as the APIs allow: one ancestors retrieval for all
 * uncached hosts, the category list (cached by the vsphere layer), and one
 * list-attached-tags-on-objects call for every uncached object on those
 * chains. Results are cached for a TTL: zones change rarely, and a resync
 * after the TTL picks up re-tagging.
 */
import { refKey, type CallOptions, type MoRef, type VsphereClient } from '../vsphere/api.js';
import type { AncestorEntry, TagFacts } from './topology.js';

interface Cached<T> {
  value: T;
  at: number;
}

export interface HostTopologyFacts {
  /** refKey(host) → chain nearest first, starting with the host itself. */
  chains: Map<string, AncestorEntry[]>;
  facts: TagFacts;
}

export class TopologySource {
  private readonly chains = new Map<string, Cached<AncestorEntry[]>>();
  private readonly attached = new Map<string, Cached<string[]>>();
  private readonly tagInfo = new Map<string, { name: string; categoryId: string }>();
  private lastCategoryRefresh = 0;

  constructor(
    private readonly client: VsphereClient,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private fresh<T>(entry: Cached<T> | undefined): entry is Cached<T> {
    return entry !== undefined && this.now() - entry.at < this.ttlMs;
  }

  /** Drops everything cached (e.g. when a caller knows tags changed). */
  invalidate(): void {
    this.chains.clear();
    this.attached.clear();
    this.tagInfo.clear();
  }

  /**
   * @param categories the tag categories wanted (empty: tags are not read at all).
   */
  async forHosts(hosts: MoRef[], categories: readonly string[], options?: CallOptions): Promise<HostTopologyFacts> {
    const wantTags = categories.length > 0;
    const unique = [...new Map(hosts.map((h) => [refKey(h), h])).values()];
    const missing = unique.filter((h) => !this.fresh(this.chains.get(refKey(h))));
    if (missing.length) {
      const parents = await this.client.inventory.ancestorsOfMany(missing, options);
      const at = this.now();
      for (const host of missing) {
        const up = parents.get(refKey(host)) ?? [];
        const self: AncestorEntry = { ref: host };
        this.chains.set(refKey(host), { value: [self, ...up.map((o) => ({ ref: o.ref, name: o.name }))], at });
      }
    }
    const chains = new Map(unique.map((h) => [refKey(h), this.chains.get(refKey(h))!.value]));
    if (!wantTags) return { chains, facts: { categoryIds: new Map(), tags: new Map(), attached: new Map() } };

    let known = await this.client.tags.categories(options);
    // A category created after we cached the list (the operator fixing a "missing category" event)
    // should not wait for the vsphere layer's cache TTL; refreshing at most every 30 s (or our own
    // TTL, if shorter) keeps retries cheap.
    const refreshEvery = Math.min(30_000, this.ttlMs);
    if (categories.some((c) => !known.some((k) => k.name === c)) && this.now() - this.lastCategoryRefresh >= refreshEvery) {
      this.lastCategoryRefresh = this.now();
      this.client.tags.invalidate();
      known = await this.client.tags.categories(options);
    }
    const objects = new Map<string, MoRef>();
    for (const chain of chains.values()) for (const e of chain) objects.set(refKey(e.ref), e.ref);
    const stale = [...objects.entries()].filter(([k]) => !this.fresh(this.attached.get(k))).map(([, r]) => r);
    if (stale.length) {
      const found = await this.client.tags.attachedTags(stale, options);
      const at = this.now();
      for (const ref of stale) {
        const tags = found.get(refKey(ref)) ?? [];
        for (const t of tags) this.tagInfo.set(t.id, { name: t.name, categoryId: t.categoryId });
        this.attached.set(refKey(ref), { value: tags.map((t) => t.id), at });
      }
    }
    const attached = new Map<string, string[]>();
    for (const key of objects.keys()) attached.set(key, this.attached.get(key)?.value ?? []);
    return {
      chains,
      facts: { categoryIds: new Map(known.map((c) => [c.name, c.id])), tags: this.tagInfo, attached },
    };
  }
}
