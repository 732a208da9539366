/**
 * One measured phase: the simulator's request counters are reset before it
 * and read after it, and the controller process's CPU time is read around
 * it, so every figure of a phase comes from the same window.
 */
import type { Vcsim } from '../harness/vcsim.js';
import { cpuMs } from './proc.js';
import { assertClean, percentile, round2, runPool, type LoadResult } from './stats.js';

export interface PhaseFigures {
  phase: string;
  concurrency: number;
  ops: number;
  wallMs: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  vcenterRequests: number;
  requestsPerOp: number;
  /** Requests in the phase by "<path> <SOAP method>" (divide by ops for per-operation figures). */
  byMethod: Record<string, number>;
  /** CPU of the process under test per operation (undefined when there is none, e.g. the floor). */
  cpuMsPerOp?: number;
}

export interface Phase<T> {
  phase: string;
  items: readonly T[];
  concurrency: number;
  call: (item: T, index: number) => Promise<unknown>;
  /** Process whose CPU is charged to this phase. */
  pid?: number;
}

export async function measurePhase<T>(sim: Vcsim, p: Phase<T>): Promise<PhaseFigures & { latencies: number[] }> {
  await sim.resetRequests();
  const cpuBefore = p.pid === undefined ? 0 : cpuMs(p.pid);
  const r: LoadResult = await runPool(p.items, p.concurrency, p.call);
  const cpu = p.pid === undefined ? undefined : cpuMs(p.pid) - cpuBefore;
  const counts = await sim.requests();
  assertClean(`${p.phase} at concurrency ${p.concurrency}`, r);
  const n = r.ops;
  return {
    phase: p.phase,
    concurrency: p.concurrency,
    ops: n,
    wallMs: round2(r.wallMs),
    opsPerSec: round2((n / r.wallMs) * 1000),
    p50Ms: round2(percentile(r.latencies, 50)),
    p99Ms: round2(percentile(r.latencies, 99)),
    vcenterRequests: counts.total,
    requestsPerOp: round2(counts.total / n),
    byMethod: counts.byMethod,
    cpuMsPerOp: cpu === undefined ? undefined : round2(cpu / n),
    latencies: r.latencies,
  };
}

/** Drops the raw latencies for the JSON report. */
export function withoutLatencies(f: PhaseFigures & { latencies?: number[] }): PhaseFigures {
  const { latencies: _latencies, ...rest } = f;
  void _latencies;
  return rest;
}
