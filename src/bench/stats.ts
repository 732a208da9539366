/**
 * Small statistics and a load generator for the benchmarks. Latencies are
 * per call (performance.now around each call); a pool of `concurrency`
 * workers pulls items in order, so at most that many calls are in flight.
 */

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** Rounds for printing and JSON (2 decimals keep sub-millisecond figures readable). */
export const round2 = (n: number): number => (Number.isFinite(n) ? Math.round(n * 100) / 100 : n);

export interface LoadResult {
  ops: number;
  errors: number;
  firstError?: string;
  wallMs: number;
  /** Latency of every successful call, in completion order. */
  latencies: number[];
}

/** Runs fn over items with `concurrency` workers; never rejects (errors are counted, the first is kept). */
export async function runPool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<unknown>): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      const t0 = performance.now();
      try {
        await fn(items[i]!, i);
        latencies.push(performance.now() - t0);
      } catch (err) {
        errors += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return { ops: items.length, errors, firstError, wallMs: performance.now() - started, latencies };
}

/** Fails loudly when a phase had errors: figures from a half-failed run would mislead. */
export function assertClean(what: string, r: LoadResult): void {
  if (r.errors > 0) throw new Error(`${what}: ${r.errors} of ${r.ops} calls failed; first: ${r.firstError}`);
}
