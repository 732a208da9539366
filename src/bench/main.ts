#!/usr/bin/env node
/**
 * `npm run bench`: the driver's figures against the vCenter simulator on
 * loopback, all from one run so the ratios compare like with like. The
 * machine may be shared, so the design leans on same-run pairs (driver vs.
 * floor, driver vs. direct mkfs/mount, batching on vs. off, alternating
 * order), a warm-up before anything is measured, and medians; the load
 * average is recorded beside the figures. Method: docs/benchmarks.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { loopUnavailableReason } from '../harness/loop-lab.js';
import { createVsphereClient } from '../vsphere/client.js';
import { runBench, type Cleanups } from './cleanups.js';
import { attachStorm, lifecycle, type StormFigures } from './controller-bench.js';
import { controllerFootprint } from './controller-footprint.js';
import { cpiInitialize, type CpiFigures } from './cpi-bench.js';
import { startBenchEnv, startCsiMode, type BenchEnv, type Running } from './env.js';
import { nodeTimings } from './node-bench.js';
import { nodeFootprint } from './node-footprint.js';
import { BENCH_USAGE, parseBenchArgs, type BenchOptions } from './options.js';
import { driverOverhead, type OverheadFigures } from './overhead-bench.js';
import { initClockTicks, rssMiB } from './proc.js';
import { formatTable, type BenchResults } from './report.js';
import { formatScale, runScale } from './scale-run.js';
import { median, round2 } from './stats.js';

/** The simulator's default CNS task timing (test/vcsim: -cns-queue-delay, -cns-run-time), and vCenter-like times. */
const DEFAULT_TASKS = { queueMs: 2, runMs: 3 } as const;
const SLOW_TASKS = { queueMs: 20, runMs: 100 } as const;

const progress = (line: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const load = (): number[] => loadavg().map(round2);

/** Extra short-lived starts so the start-up figure is a median, not one sample. */
async function startupSamples(env: BenchEnv, mode: 'controller' | 'node', runs: number, cleanups: Cleanups): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await startCsiMode(env, mode, {}, cleanups);
    out.push(round2(r.startupMs));
    await r.stop();
  }
  return out;
}

async function run(opts: BenchOptions, cleanups: Cleanups, failed: () => boolean): Promise<BenchResults> {
  const started = performance.now();
  const loadStart = load();
  await initClockTicks();
  progress(`starting the simulator with ${opts.vmsPerPool * 2} VMs (load ${loadStart.join(' ')})`);
  const env = await startBenchEnv(opts.vmsPerPool, cleanups, failed);
  const { world } = env;
  const floor = createVsphereClient({ host: world.sim.hostname, port: world.sim.port, user: world.sim.username, password: world.sim.password, insecure: false, thumbprint: world.thumbprint });
  cleanups.push('floor client', () => floor.close());
  await floor.session.ensure();

  progress('start-up: controller and node to first ready Probe');
  const ctl: Running = await startCsiMode(env, 'controller', {}, cleanups);
  const node: Running = await startCsiMode(env, 'node', {}, cleanups);
  const controllerStarts = [round2(ctl.startupMs), ...(await startupSamples(env, 'controller', opts.startupRuns - 1, cleanups))];
  const nodeStarts = [round2(node.startupMs), ...(await startupSamples(env, 'node', opts.startupRuns - 1, cleanups))];
  const ctlPid = ctl.proc.child.pid!;
  const ctlIdle = rssMiB(ctlPid);
  const nodeIdle = rssMiB(node.proc.child.pid!);
  progress(`node footprint: ${opts.nodeFootprintRuns} starts with and without Kubernetes access`);
  const footprint = await nodeFootprint(env, opts.nodeFootprintRuns, cleanups);

  const nodeIds = world.vms.slice(0, opts.publishNodes).map((vm) => vm.biosUuid!);
  progress(`controller footprint: 2 × ${opts.footprintCycles} cycles in fresh controllers, with the image's heap settings and with Node's defaults`);
  const ctlFootprint = await controllerFootprint(env, nodeIds, opts.footprintCycles, cleanups, progress);
  progress(`warm-up: ${opts.warmupVolumes} volumes through create/publish/unpublish/delete at concurrency 8`);
  await lifecycle(world.sim, ctl, nodeIds, 'warm', opts.warmupVolumes, 8);
  const ctlWarm = rssMiB(ctlPid);

  progress(`driver overhead: ${opts.overhead.rounds} paired rounds`);
  const overhead = await driverOverhead(world, floor, ctl, opts.overhead);
  // The same comparison with CNS tasks that take as long as vCenter's (tens of ms queued, ~100 ms running):
  // with the simulator's few-ms tasks both sides are bound by their own CPU, with these by vCenter.
  progress(`driver overhead with vCenter-like task times (${SLOW_TASKS.queueMs} ms queued, ${SLOW_TASKS.runMs} ms running): ${opts.overhead.rounds} paired rounds`);
  await world.sim.setCnsTiming(SLOW_TASKS.queueMs, SLOW_TASKS.runMs);
  let overheadSlowTasks: OverheadFigures;
  try {
    overheadSlowTasks = await driverOverhead(world, floor, ctl, opts.overhead);
  } finally {
    await world.sim.setCnsTiming(DEFAULT_TASKS.queueMs, DEFAULT_TASKS.runMs);
  }

  const throughput = [];
  // RSS after each block: a leak climbs block after block, a heap that found its size levels off.
  const ctlRssByBlock: number[] = [];
  for (const c of opts.concurrencies) {
    progress(`throughput: ${opts.volumes} volumes at concurrency ${c}`);
    throughput.push(...(await lifecycle(world.sim, ctl, nodeIds, 'tput', opts.volumes, c)));
    ctlRssByBlock.push(rssMiB(ctlPid));
  }
  const ctlAfter = rssMiB(ctlPid);

  progress(`attach storm: ${opts.stormVolumes} volumes, ${opts.stormRounds} round(s) each with batching on and off`);
  const plain = await startCsiMode(env, 'controller', { VSPHERE_CSI_BATCHING: 'false' }, cleanups);
  const storm: StormFigures[] = [];
  let overheadUnbatched: OverheadFigures | undefined;
  const stormNode = world.vms[opts.publishNodes % world.vms.length]!.biosUuid!;
  try {
    for (let round = 0; round < opts.stormRounds; round++) {
      // Flip the order each round so neither side always runs on the warmer simulator.
      const order: [Running, boolean][] = round % 2 === 0 ? [[ctl, true], [plain, false]] : [[plain, false], [ctl, true]];
      for (const [on, batching] of order) storm.push(await attachStorm(world.sim, on, stormNode, batching, opts.stormVolumes, round));
    }
    // The same paired overhead rounds against the unbatched controller: what the batch window costs a lone call.
    progress(`driver overhead with batching off: ${opts.overhead.rounds} paired rounds`);
    overheadUnbatched = await driverOverhead(world, floor, plain, opts.overhead);
  } finally {
    await plain.stop();
  }

  let nodeFigures: BenchResults['node'];
  let nodeAfter: number | undefined;
  const skip = loopUnavailableReason();
  if (skip) {
    nodeFigures = { skipped: skip };
    progress(`node: skipped (${skip})`);
  } else {
    progress(`node: ${opts.nodeIterations} NodeStage/NodePublish cycles on loop devices`);
    nodeFigures = await nodeTimings(env, node, opts.nodeIterations, cleanups);
    nodeAfter = rssMiB(node.proc.child.pid!);
  }

  const cpi: CpiFigures[] = [];
  for (const n of opts.cpiSizes) {
    progress(`cpi: initializing ${n} node(s)`);
    cpi.push(await cpiInitialize(env, n, cleanups));
  }

  const c = cpus();
  return {
    date: new Date().toISOString(),
    quick: opts.quick,
    machine: { cpus: c.length, cpuModel: c[0]?.model.trim() ?? 'unknown', memoryMiB: Math.round(totalmem() / 1024 / 1024), kernel: release(), node: process.version },
    loadAverage: { start: loadStart, end: load() },
    wallSeconds: round2((performance.now() - started) / 1000),
    volumes: opts.volumes,
    throughput,
    overhead,
    overheadUnbatched: overheadUnbatched!,
    overheadSlowTasks: { ...SLOW_TASKS, figures: overheadSlowTasks },
    storm,
    cpi,
    memory: {
      controller: { idleMiB: ctlIdle, afterWarmupMiB: ctlWarm, afterRunMiB: ctlAfter, growthAfterWarmupMiB: round2(ctlAfter - ctlWarm), afterEachConcurrencyMiB: ctlRssByBlock },
      node: { idleMiB: nodeIdle, afterMiB: nodeAfter },
      cpi: cpi.map((x) => ({ nodes: x.nodes, idleMiB: x.rssIdleMiB, afterMiB: x.rssAfterMiB })),
    },
    startup: { controllerMs: controllerStarts, nodeMs: nodeStarts, controllerP50Ms: round2(median(controllerStarts)), nodeP50Ms: round2(median(nodeStarts)) },
    node: nodeFigures,
    nodeFootprint: footprint,
    controllerFootprint: ctlFootprint,
  };
}

async function main(opts: BenchOptions, cleanups: Cleanups, keepLogs: () => boolean): Promise<void> {
  const [results, table] = opts.scale
    ? await runScale(opts.scale, opts.quick, cleanups, keepLogs, progress).then((r) => [r, formatScale(r)] as const)
    : await run(opts, cleanups, keepLogs).then((r) => [r, formatTable(r)] as const);
  const out = resolve(opts.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${table}\nresults written to ${out}\n`);
}

runBench('bench', parseBenchArgs, BENCH_USAGE, main, progress);
