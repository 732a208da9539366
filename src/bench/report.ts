/** The benchmark's results: the JSON written to bench/results.json and the table printed to stdout. */
import { formatControllerFootprint, type ControllerFootprint } from './controller-footprint.js';
import type { CpiFigures } from './cpi-bench.js';
import type { StormFigures } from './controller-bench.js';
import type { PhaseFigures } from './measure.js';
import type { NodeFigures } from './node-bench.js';
import { formatNodeFootprint, type NodeFootprint } from './node-footprint.js';
import type { OverheadFigures } from './overhead-bench.js';

export interface BenchResults {
  date: string;
  quick: boolean;
  machine: { cpus: number; cpuModel: string; memoryMiB: number; kernel: string; node: string };
  /** os.loadavg() (1, 5, 15 min) at start and end: the machine is shared, read figures with it. */
  loadAverage: { start: number[]; end: number[] };
  wallSeconds: number;
  volumes: number;
  throughput: PhaseFigures[];
  overhead: OverheadFigures;
  /** The same rounds against a controller with VSPHERE_CSI_BATCHING=false. */
  overheadUnbatched: OverheadFigures;
  /** The same rounds with CNS tasks as slow as vCenter's (queued/running ms). */
  overheadSlowTasks: { queueMs: number; runMs: number; figures: OverheadFigures };
  storm: StormFigures[];
  cpi: CpiFigures[];
  memory: {
    controller: { idleMiB: number; afterWarmupMiB: number; afterRunMiB: number; growthAfterWarmupMiB: number; afterEachConcurrencyMiB: number[] };
    node: { idleMiB: number; afterMiB?: number };
    cpi: { nodes: number; idleMiB: number; afterMiB: number }[];
  };
  startup: { controllerMs: number[]; nodeMs: number[]; controllerP50Ms: number; nodeP50Ms: number };
  node: NodeFigures | { skipped: string };
  nodeFootprint: NodeFootprint;
  controllerFootprint: ControllerFootprint;
}

const pad = (s: string | number, n: number): string => String(s).padStart(n);
const f1 = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(n < 10 ? 2 : 1));

export function formatTable(r: BenchResults): string {
  const out: string[] = [];
  out.push(`vsphere-csi benchmarks ${r.date}${r.quick ? ' (--quick)' : ''} — ${r.machine.cpus}× ${r.machine.cpuModel}, load ${r.loadAverage.start.map((l) => l.toFixed(1)).join('/')} → ${r.loadAverage.end.map((l) => l.toFixed(1)).join('/')}`);
  out.push('');
  out.push(`Controller throughput (${r.volumes} volumes per concurrency, gRPC → controller process → simulator)`);
  out.push(`${'op'.padEnd(10)} ${pad('conc', 4)} ${pad('ops/s', 8)} ${pad('p50 ms', 8)} ${pad('p99 ms', 8)} ${pad('vC req/op', 9)} ${pad('CPU ms/op', 9)}`);
  for (const p of r.throughput) {
    out.push(`${p.phase.padEnd(10)} ${pad(p.concurrency, 4)} ${pad(f1(p.opsPerSec), 8)} ${pad(f1(p.p50Ms), 8)} ${pad(f1(p.p99Ms), 8)} ${pad(f1(p.requestsPerOp), 9)} ${pad(f1(p.cpuMsPerOp), 9)}`);
  }
  const o = r.overhead;
  out.push('');
  const met = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  out.push(`Driver overhead vs. the floor: CnsCreateVolume + its task wait made directly through src/vsphere (${o.rounds} paired rounds, asynchronous tasks)`);
  out.push(`  concurrency 1: floor p50 ${f1(o.c1.floorP50Ms)} ms, driver p50 ${f1(o.c1.driverP50Ms)} ms → added ${f1(o.c1.addedMsPerOp)} ms/op (target ≤ 2: ${met(o.c1.addedMsPerOp <= 2)}); requests/op floor ${f1(o.c1.floorRequestsPerOp)}, driver ${f1(o.c1.driverRequestsPerOp)} ${JSON.stringify(o.c1.driverByMethod)}`);
  out.push(`  controller CPU per CreateVolume: ${f1(o.c1.controllerCpuMsPerOp)} ms at concurrency 1 (target ≤ 2: ${met(o.c1.controllerCpuMsPerOp <= 2)}), ${f1(o.c32.controllerCpuMsPerOp)} ms at 32 (${met(o.c32.controllerCpuMsPerOp <= 2)}); the floor client's own CPU: ${f1(o.c1.floorClientCpuMsPerOp)} ms per create`);
  out.push(`  concurrency 32: floor ${f1(o.c32.floorOpsPerSec)} ops/s, driver ${f1(o.c32.driverOpsPerSec)} ops/s → ratio ${f1(o.c32.ratio)} (target ≥ 0.8: ${met(o.c32.ratio >= 0.8)}; rounds ${o.c32.roundRatios.join(' ')}; ${o.c32.driverCnsCreateCalls} CnsCreateVolume calls for ${o.c32.creates} creates)`);
  out.push(`  failed calls: 0 (any failed call stops the benchmark)`);
  const w = r.overheadSlowTasks;
  out.push(`  tasks as slow as vCenter's (${w.queueMs} ms queued, ${w.runMs} ms running): concurrency 1 floor p50 ${f1(w.figures.c1.floorP50Ms)} ms, driver ${f1(w.figures.c1.driverP50Ms)} ms (added ${f1(w.figures.c1.addedMsPerOp)}); concurrency 32 ratio ${f1(w.figures.c32.ratio)} (${met(w.figures.c32.ratio >= 0.8)}; floor ${f1(w.figures.c32.floorOpsPerSec)}, driver ${f1(w.figures.c32.driverOpsPerSec)} ops/s), CPU ${f1(w.figures.c32.controllerCpuMsPerOp)} ms/create at 32`);
  const u = r.overheadUnbatched;
  out.push(`  batching off, same rounds: concurrency 1 added ${f1(u.c1.addedMsPerOp)} ms/op (floor ${f1(u.c1.floorP50Ms)}, driver ${f1(u.c1.driverP50Ms)}), CPU ${f1(u.c1.controllerCpuMsPerOp)} ms/create; concurrency 32 ratio ${f1(u.c32.ratio)} (rounds ${u.c32.roundRatios.join(' ')}), CPU ${f1(u.c32.controllerCpuMsPerOp)} ms/create`);
  out.push('');
  out.push(`Attach storm (${r.storm[0]?.volumes ?? 40} volumes → one node VM at once)`);
  for (const s of r.storm) {
    out.push(`  batching ${s.batching ? 'on ' : 'off'}: ${pad(s.attachTasks, 3)} CnsAttachVolume tasks, ${pad(s.attachRequests, 4)} requests, ${pad(f1(s.attachWallMs), 7)} ms; detach ${pad(s.detachTasks, 3)} tasks, ${pad(f1(s.detachWallMs), 7)} ms`);
  }
  out.push('');
  out.push('CPI node initialization (cold cpi process, nodes appear at once)');
  for (const c of r.cpi) out.push(`  ${pad(c.nodes, 4)} nodes: ${pad(c.vcenterRequests, 4)} vCenter requests, ${pad(f1(c.wallMs), 8)} ms`);
  out.push('');
  const m = r.memory;
  out.push('Memory (VmRSS MiB) and start-up');
  out.push(`  controller: idle ${m.controller.idleMiB}, after warm-up ${m.controller.afterWarmupMiB}, after the run ${m.controller.afterRunMiB} (growth after warm-up ${f1(m.controller.growthAfterWarmupMiB)}; after each concurrency block ${m.controller.afterEachConcurrencyMiB.join(' → ')})`);
  out.push(`  node: idle ${m.node.idleMiB}${m.node.afterMiB === undefined ? '' : `, after the node run ${m.node.afterMiB}`}`);
  for (const c of m.cpi) out.push(`  cpi: idle ${c.idleMiB}, after ${c.nodes} nodes ${c.afterMiB}`);
  out.push(`  start → first ready Probe: controller p50 ${f1(r.startup.controllerP50Ms)} ms, node p50 ${f1(r.startup.nodeP50Ms)} ms (${r.startup.controllerMs.length} starts each)`);
  out.push('');
  out.push(...formatNodeFootprint(r.nodeFootprint));
  out.push('');
  out.push(...formatControllerFootprint(r.controllerFootprint));
  out.push('');
  if ('skipped' in r.node) {
    out.push(`Node: skipped (${r.node.skipped})`);
  } else {
    const n = r.node;
    out.push(`Node on loop devices (${n.iterations} × ${n.diskMiB} MiB, ${n.fsType})`);
    out.push(`  NodeStage   p50 ${f1(n.stageP50Ms)} ms = direct blkid+mkfs+mount ${f1(n.directStageP50Ms)} ms + ours ${f1(n.stageOurMs)} ms`);
    out.push(`  NodePublish p50 ${f1(n.publishP50Ms)} ms = direct mount --bind ${f1(n.directPublishP50Ms)} ms + ours ${f1(n.publishOurMs)} ms`);
    out.push(`  direct programs p50: ${Object.entries(n.directByProgramP50Ms).map(([k, v]) => `${k} ${f1(v)} ms`).join(', ')}`);
  }
  out.push('');
  out.push(`total ${r.wallSeconds.toFixed(0)} s`);
  return out.join('\n');
}
