/**
 * The --scale suite: the controller with 10,000 volumes on one simulator
 * (scale-bench.ts), then the CPI with 5,000 Nodes on a second one whose
 * model has 5,000 VMs (vcsim -vm, two resource pools); each simulator is
 * stopped before the next starts, so the two do not compete for the machine.
 */
import { cpus, loadavg, release, totalmem } from 'node:os';
import { createVsphereClient } from '../vsphere/client.js';
import { Cleanups } from './cleanups.js';
import { cpiInitialize, type CpiFigures } from './cpi-bench.js';
import { startBenchEnv } from './env.js';
import type { ScaleSizes } from './options.js';
import { controllerScale, formatControllerScale, type ControllerScale } from './scale-bench.js';
import { round2 } from './stats.js';

export interface ScaleResults {
  date: string;
  scale: true;
  quick: boolean;
  machine: { cpus: number; cpuModel: string; memoryMiB: number; kernel: string; node: string };
  loadAverage: { start: number[]; end: number[] };
  wallSeconds: number;
  controller: ControllerScale;
  cpi: (CpiFigures & { simulatorVms: number })[];
}

const load = (): number[] => loadavg().map(round2);

/** Runs with its own cleanups (undone when done, or by the outer ones on a signal). */
async function within<T>(outer: Cleanups, fn: (c: Cleanups) => Promise<T>): Promise<T> {
  const inner = new Cleanups();
  outer.push('scale phase', () => inner.runAll());
  try {
    return await fn(inner);
  } finally {
    await inner.runAll();
  }
}

export async function runScale(sizes: ScaleSizes, quick: boolean, cleanups: Cleanups, keepLogs: () => boolean, progress: (l: string) => void): Promise<ScaleResults> {
  const started = performance.now();
  const loadStart = load();
  const controller = await within(cleanups, async (c) => {
    progress(`scale: simulator with 16 node VMs (load ${loadStart.join(' ')})`);
    const env = await startBenchEnv(8, c, keepLogs);
    const { sim, thumbprint } = env.world;
    const floor = createVsphereClient({ host: sim.hostname, port: sim.port, user: sim.username, password: sim.password, insecure: false, thumbprint });
    c.push('floor client', () => floor.close());
    return controllerScale(env, floor, sizes, c, progress);
  });
  const biggest = Math.max(...sizes.cpiNodes);
  const cpi = await within(cleanups, async (c) => {
    progress(`scale: simulator with ${biggest} VMs for the CPI`);
    const t0 = performance.now();
    const env = await startBenchEnv(Math.ceil(biggest / 2), c, keepLogs);
    progress(`scale: simulator ready in ${Math.round((performance.now() - t0) / 1000)} s`);
    const out: ScaleResults['cpi'] = [];
    for (const n of sizes.cpiNodes) {
      progress(`scale: cpi initializing ${n} nodes`);
      out.push({ ...(await cpiInitialize(env, n, c)), simulatorVms: env.world.vms.length });
    }
    return out;
  });
  const m = cpus();
  return {
    date: new Date().toISOString(),
    scale: true,
    quick,
    machine: { cpus: m.length, cpuModel: m[0]?.model.trim() ?? 'unknown', memoryMiB: Math.round(totalmem() / 1024 / 1024), kernel: release(), node: process.version },
    loadAverage: { start: loadStart, end: load() },
    wallSeconds: round2((performance.now() - started) / 1000),
    controller,
    cpi,
  };
}

export function formatScale(r: ScaleResults): string {
  const out = [
    `vsphere-csi scale benchmarks ${r.date}${r.quick ? ' (--quick)' : ''} — ${r.machine.cpus}× ${r.machine.cpuModel}, load ${r.loadAverage.start.map((l) => l.toFixed(1)).join('/')} → ${r.loadAverage.end.map((l) => l.toFixed(1)).join('/')}`,
    '',
    ...formatControllerScale(r.controller),
    '',
    'CPI at scale (cold cpi process, Nodes appear at once; requests should not grow with the node count)',
  ];
  for (const c of r.cpi) {
    out.push(`  ${String(c.nodes).padStart(5)} nodes (simulator with ${c.simulatorVms} VMs): ${c.vcenterRequests} vCenter requests (${c.responseMiB} MiB of answers), ${c.wallMs} ms (cpi CPU ${c.cpuMs} ms), cpi RSS ${c.rssIdleMiB} idle → ${c.rssAfterMiB} MiB after`);
  }
  out.push('', `total ${r.wallSeconds.toFixed(0)} s`);
  return out.join('\n');
}
