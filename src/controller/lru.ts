/**
 * A Map bounded in size (least recently used out first) and optionally in
 * age (an entry older than maxAgeMs reads as absent and is dropped): the
 * controller's caches are all of this kind, so none grows with the estate
 * or with time beyond what docs/vsphere-client.md ("Caches and their
 * bounds") states. Eviction is cheap because a Map iterates in insertion
 * order: a hit re-inserts its key at the end.
 */
export interface LruOptions {
  maxEntries: number;
  /** Default: no age bound. */
  maxAgeMs?: number;
  now?: () => number;
}

export class LruMap<K, V> {
  private readonly entries = new Map<K, { value: V; at: number }>();
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(options: LruOptions) {
    this.maxEntries = options.maxEntries;
    this.maxAgeMs = options.maxAgeMs ?? Number.POSITIVE_INFINITY;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, marking it recently used; undefined when absent or too old (then dropped). */
  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (this.now() - e.at >= this.maxAgeMs) return undefined;
    this.entries.set(key, e);
    return e.value;
  }

  /** Stores (its age starts now); the least recently used entries beyond maxEntries go, and expired ones met on the way. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, at: this.now() });
    const now = this.now();
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && now - e.at < this.maxAgeMs) break;
      this.entries.delete(k);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}
