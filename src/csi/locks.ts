/**
 * Per-key in-flight locks. CSI COs may retry an RPC while the first attempt
 * still runs (sidecar restart, timeout shorter than a vCenter task); the
 * spec's answer is ABORTED for the second caller, which then retries with
 * backoff. Nothing waits on a lock: contention fails fast, so a hung
 * vCenter call can never pile up queued work behind it.
 */
import { aborted } from './errors.js';

export class InFlightLocks {
  private readonly held = new Set<string>();

  /** @param label what a key names in messages, e.g. "volume" or "volume name". */
  constructor(private readonly label = 'volume') {}

  /** Takes every key or none; returns the release function, or undefined when any key is busy. */
  tryAcquire(keys: string | readonly string[]): (() => void) | undefined {
    const list = typeof keys === 'string' ? [keys] : [...new Set(keys)];
    if (list.some((k) => this.held.has(k))) return undefined;
    for (const k of list) this.held.add(k);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of list) this.held.delete(k);
    };
  }

  /**
   * Runs fn while holding the key(s). A concurrent call on a held key throws
   * ABORTED ("an operation on volume X is already in progress; retry") without
   * running fn. The lock is released when fn settles, whether it resolves or throws.
   */
  async run<T>(keys: string | readonly string[], fn: () => Promise<T>): Promise<T> {
    const release = this.tryAcquire(keys);
    if (!release) {
      const list = typeof keys === 'string' ? [keys] : keys;
      const busy = list.find((k) => this.held.has(k)) ?? list[0];
      throw aborted(`an operation on ${this.label} ${busy} is already in progress; retry`);
    }
    try {
      return await fn();
    } finally {
      release();
    }
  }

  isHeld(key: string): boolean {
    return this.held.has(key);
  }

  get size(): number {
    return this.held.size;
  }
}
