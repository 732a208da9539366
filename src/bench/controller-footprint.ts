/**
 * Controller flat under load (issue 16): a fresh controller process runs
 * 2 × N create/publish/unpublish/delete cycles (N = 1,000; concurrency 8,
 * publishes rotating over the node VMs), and its VmRSS is read after every
 * block of 250 cycles. Targets: RSS after the first N ≤ 130 MiB, growth
 * over the second N < 5 MiB (a leak keeps climbing). The same is run twice:
 * with the image's heap settings (IMAGE_NODE_OPTIONS, what ships) and with
 * Node's defaults (the heap sized for the whole machine), so the share of
 * the heap settings is measured, not assumed. V8's own heap figures come
 * from the controller's /metrics (prom-client's process metrics).
 */
import { createServer } from 'node:net';
import { IMAGE_NODE_OPTIONS } from '../demo/processes.js';
import type { Cleanups } from './cleanups.js';
import { lifecycle } from './controller-bench.js';
import { startCsiMode, type BenchEnv } from './env.js';
import { cpuMs, rssMiB } from './proc.js';
import { round2 } from './stats.js';

export const CONTROLLER_TARGETS = { rssAfterFirstMiB: 130, secondGrowthMiB: 5 } as const;
const BLOCK = 250;

export interface HeapFigures {
  heapTotalMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
}

export interface FootprintVariant {
  nodeOptions: string;
  idleMiB: number;
  /** VmRSS after each block of cycles. */
  afterBlockMiB: number[];
  afterFirstMiB: number;
  afterSecondMiB: number;
  secondGrowthMiB: number;
  cpuMsPerCycle: number;
  heapAfterSecond?: HeapFigures;
}

export interface ControllerFootprint {
  cycles: number;
  concurrency: number;
  shipped: FootprintVariant;
  nodeDefaults: FootprintVariant;
  targets: typeof CONTROLLER_TARGETS;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function heapOf(port: number): Promise<HeapFigures | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const mib = (name: string): number => round2(Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20);
    return { heapTotalMiB: mib('nodejs_heap_size_total_bytes'), heapUsedMiB: mib('nodejs_heap_size_used_bytes'), externalMiB: mib('nodejs_external_memory_bytes') };
  } catch {
    return undefined;
  }
}

export async function footprintVariant(env: BenchEnv, nodeOptions: string, nodeIds: string[], cycles: number, concurrency: number, cleanups: Cleanups, progress: (l: string) => void): Promise<FootprintVariant> {
  const port = await freePort();
  const ctl = await startCsiMode(env, 'controller', { NODE_OPTIONS: nodeOptions, X_CSI_METRICS_PORT: String(port) }, cleanups);
  try {
    const pid = ctl.proc.child.pid!;
    const idleMiB = rssMiB(pid);
    const cpuBefore = cpuMs(pid);
    const afterBlockMiB: number[] = [];
    const block = Math.min(BLOCK, cycles);
    for (let done = 0; done < 2 * cycles; done += block) {
      await lifecycle(env.world.sim, ctl, nodeIds, `fp${afterBlockMiB.length}`, block, concurrency);
      afterBlockMiB.push(rssMiB(pid));
    }
    progress(`  ${nodeOptions || 'Node defaults'}: RSS ${idleMiB} idle → ${afterBlockMiB.join(' → ')} MiB`);
    const perHalf = afterBlockMiB.length / 2;
    const afterFirstMiB = afterBlockMiB[perHalf - 1]!;
    const afterSecondMiB = afterBlockMiB[afterBlockMiB.length - 1]!;
    return {
      nodeOptions,
      idleMiB,
      afterBlockMiB,
      afterFirstMiB,
      afterSecondMiB,
      secondGrowthMiB: round2(afterSecondMiB - afterFirstMiB),
      cpuMsPerCycle: round2((cpuMs(pid) - cpuBefore) / (2 * cycles)),
      heapAfterSecond: await heapOf(port),
    };
  } finally {
    await ctl.stop();
  }
}

export async function controllerFootprint(env: BenchEnv, nodeIds: string[], cycles: number, cleanups: Cleanups, progress: (l: string) => void): Promise<ControllerFootprint> {
  const concurrency = 8;
  const shipped = await footprintVariant(env, IMAGE_NODE_OPTIONS, nodeIds, cycles, concurrency, cleanups, progress);
  const nodeDefaults = await footprintVariant(env, '', nodeIds, cycles, concurrency, cleanups, progress);
  return { cycles, concurrency, shipped, nodeDefaults, targets: CONTROLLER_TARGETS };
}

export function formatControllerFootprint(f: ControllerFootprint): string[] {
  // The targets are for 2 × 1,000 cycles: a --quick run's figures are not judged against them.
  const judged = f.cycles >= 1000;
  const met = (ok: boolean): string => (judged ? (ok ? 'met' : 'MISSED') : 'not judged at this size');
  const line = (label: string, v: FootprintVariant): string => {
    const heap = v.heapAfterSecond ? `; V8 heap ${v.heapAfterSecond.heapUsedMiB} used of ${v.heapAfterSecond.heapTotalMiB} MiB` : '';
    return (
      `  ${label}: idle ${v.idleMiB}, after ${f.cycles} cycles ${v.afterFirstMiB} (target ≤ ${f.targets.rssAfterFirstMiB}: ${met(v.afterFirstMiB <= f.targets.rssAfterFirstMiB)}), ` +
      `after ${2 * f.cycles} ${v.afterSecondMiB} (growth ${v.secondGrowthMiB}, target < ${f.targets.secondGrowthMiB}: ${met(v.secondGrowthMiB < f.targets.secondGrowthMiB)}); ` +
      `controller CPU ${v.cpuMsPerCycle} ms/cycle${heap}`
    );
  };
  return [
    `Controller footprint: VmRSS MiB over ${2 * f.cycles} create/publish/unpublish/delete cycles at concurrency ${f.concurrency} (fresh process each)`,
    line(`image heap settings (${f.shipped.nodeOptions})`, f.shipped),
    `    after each ${Math.min(BLOCK, f.cycles)}: ${f.shipped.afterBlockMiB.join(' → ')}`,
    line('Node defaults (heap sized for the machine)', f.nodeDefaults),
    `    after each ${Math.min(BLOCK, f.cycles)}: ${f.nodeDefaults.afterBlockMiB.join(' → ')}`,
  ];
}
