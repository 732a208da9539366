/**
 * Generic request coalescing: items submitted under one key within a short
 * window (or until the batch is full) go to one batch call; each caller gets
 * its own item's result or error. Used to turn an attach storm on one VM
 * into a few CNS batch calls instead of one vCenter reconfiguration each.
 */

export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface CoalescerOptions<I, R> {
  /** How long the first item of a batch waits for company, in ms. 0 = next macrotask. */
  windowMs: number;
  /** A batch is sent as soon as it holds this many items. */
  maxBatch: number;
  /** false: every item is its own batch, sent at once (for comparisons). */
  enabled: boolean;
  /**
   * true (default): an item arriving when nothing is pending or in flight for its key
   * goes out at once, so a lone request pays no window; items arriving while a
   * call is in flight gather into the next batch.
   */
  sendWhenIdle?: boolean;
  /** Runs one batch; returns one outcome per item, in order. A throw fails every item of the batch. */
  run: (key: string, items: I[]) => Promise<Outcome<R>[]>;
}

interface Waiter<I, R> {
  item: I;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export interface CoalescerStats {
  batches: number;
  items: number;
}

export class Coalescer<I, R> {
  private readonly pending = new Map<string, { waiters: Waiter<I, R>[]; timer: NodeJS.Timeout }>();
  /** Batch calls running per key. */
  private readonly inflight = new Map<string, number>();
  readonly stats: CoalescerStats = { batches: 0, items: 0 };

  constructor(private readonly options: CoalescerOptions<I, R>) {}

  submit(key: string, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiter = { item, resolve, reject };
      if (!this.options.enabled || this.options.maxBatch <= 1) {
        void this.dispatch(key, [waiter]);
        return;
      }
      let batch = this.pending.get(key);
      if (!batch && this.options.sendWhenIdle !== false && !this.inflight.has(key)) {
        void this.dispatch(key, [waiter]);
        return;
      }
      if (!batch) {
        batch = { waiters: [], timer: setTimeout(() => this.flush(key), this.options.windowMs) };
        this.pending.set(key, batch);
      }
      batch.waiters.push(waiter);
      if (batch.waiters.length >= this.options.maxBatch) this.flush(key);
    });
  }

  private flush(key: string): void {
    const batch = this.pending.get(key);
    if (!batch) return;
    clearTimeout(batch.timer);
    this.pending.delete(key);
    void this.dispatch(key, batch.waiters);
  }

  private async dispatch(key: string, waiters: Waiter<I, R>[]): Promise<void> {
    this.stats.batches++;
    this.stats.items += waiters.length;
    this.inflight.set(key, (this.inflight.get(key) ?? 0) + 1);
    let outcomes: Outcome<R>[];
    try {
      outcomes = await this.options.run(key, waiters.map((w) => w.item));
    } catch (error) {
      for (const w of waiters) w.reject(error);
      return;
    } finally {
      const left = (this.inflight.get(key) ?? 1) - 1;
      if (left > 0) this.inflight.set(key, left);
      else this.inflight.delete(key);
    }
    waiters.forEach((w, i) => {
      const outcome = outcomes[i];
      if (!outcome) w.reject(new Error(`batch returned no result for item ${i} of ${waiters.length}`));
      else if (outcome.ok) w.resolve(outcome.value);
      else w.reject(outcome.error);
    });
  }
}
