/**
 * Concurrent identical requests share one execution: the 32 retries of one
 * CreateVolume that a provisioner can fire cost one CNS create. A different
 * request for a key already in flight is refused (the CSI ABORTED rule).
 */
import { aborted } from '../csi/errors.js';

export class SingleFlight<R> {
  private readonly inflight = new Map<string, { fingerprint: string; promise: Promise<R> }>();

  /** Runs fn for key unless an identical call (same fingerprint) is in flight, whose result is shared. */
  run(key: string, fingerprint: string, fn: () => Promise<R>, what = 'operation'): Promise<R> {
    const current = this.inflight.get(key);
    if (current) {
      if (current.fingerprint === fingerprint) return current.promise;
      return Promise.reject(aborted(`another ${what} for "${key}" with different arguments is in progress; retry when it finishes`));
    }
    // Deferred start so the entry exists before fn can settle, even if fn throws synchronously.
    const promise: Promise<R> = Promise.resolve()
      .then(fn)
      .finally(() => {
        if (this.inflight.get(key)?.promise === promise) this.inflight.delete(key);
      });
    this.inflight.set(key, { fingerprint, promise });
    return promise;
  }
}
