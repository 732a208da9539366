/**
 * Per-node exponential backoff for failed initializations, so a node whose
 * VM lacks Tools data or tags is retried promptly at first and then ever
 * more gently, without a timer per attempt piling up.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export class RetryBackoff {
  private readonly entries = new Map<string, { attempts: number; timer?: NodeJS.Timeout }>();

  constructor(
    private readonly options: BackoffOptions,
    private readonly onRetry: (key: string) => void,
  ) {}

  /** Schedules a retry of `key`; returns the delay chosen. Re-scheduling replaces the pending timer. */
  schedule(key: string): number {
    const prev = this.entries.get(key);
    if (prev?.timer) clearTimeout(prev.timer);
    const attempts = (prev?.attempts ?? 0) + 1;
    const delay = Math.min(this.options.maxMs, this.options.initialMs * 2 ** (attempts - 1));
    const timer = setTimeout(() => {
      const e = this.entries.get(key);
      if (e) e.timer = undefined;
      this.onRetry(key);
    }, delay);
    timer.unref();
    this.entries.set(key, { attempts, timer });
    return delay;
  }

  /** True while a retry is scheduled and has not fired yet. */
  waiting(key: string): boolean {
    const e = this.entries.get(key);
    return !!e && !!e.timer;
  }

  attempts(key: string): number {
    return this.entries.get(key)?.attempts ?? 0;
  }

  /** Success or node gone: forget the history. */
  reset(key: string): void {
    const e = this.entries.get(key);
    if (e?.timer) clearTimeout(e.timer);
    this.entries.delete(key);
  }

  clear(): void {
    for (const e of this.entries.values()) if (e.timer) clearTimeout(e.timer);
    this.entries.clear();
  }
}
