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

  async forHosts(hosts: MoRef[], hostNames: ReadonlyMap<string, string>, wantTags: boolean, options?: CallOptions): Promise<HostTopologyFacts> {
    const unique = [...new Map(hosts.map((h) => [refKey(h), h])).values()];
    const missing = unique.filter((h) => !this.fresh(this.chains.get(refKey(h))));
    if (missing.length) {
      const parents = await this.client.inventory.ancestorsOfMany(missing, options);
      const at = this.now();
      for (const host of missing) {
        const up = parents.get(refKey(host)) ?? [];
        const self: AncestorEntry = { ref: host, name: hostNames.get(refKey(host)) };
        this.chains.set(refKey(host), { value: [self, ...up.map((o) => ({ ref: o.ref, name: o.name }))], at });
      }
    }
    const chains = new Map(unique.map((h) => [refKey(h), this.chains.get(refKey(h))!.value]));
    if (!wantTags) return { chains, facts: { categoryIds: new Map(), tags: new Map(), attached: new Map() } };

    const categories = await this.client.tags.categories(options);
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
      facts: { categoryIds: new Map(categories.map((c) => [c.name, c.id])), tags: this.tagInfo, attached },
    };
  }
}
