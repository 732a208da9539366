#!/usr/bin/env node
/**
 * `npm run bench:snapshots`: the snapshot figures through the controller's
 * gRPC socket (a real process) against the vCenter simulator, all in one run:
 * CreateSnapshot latency and vCenter requests per snapshot one at a time,
 * 50 concurrent snapshots of 50 different volumes (what a backup tool does),
 * restores of equal and larger size, ListSnapshots paging, DeleteSnapshot,
 * and DeleteVolume now that it checks for snapshots first. Each phase resets
 * the simulator's request counters and reads the controller's CPU around it
 * (measure.ts). With `--slow-tasks` the CNS tasks take vCenter-like times.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { CsiClient } from '../csi/client.js';
import { runBench, type Cleanups } from './cleanups.js';
import { createVolume, deleteVolume, MOUNT_RWO } from './csi-calls.js';
import { startBenchEnv, startCsiMode } from './env.js';
import { measurePhase, withoutLatencies, type PhaseFigures } from './measure.js';
import { initClockTicks, rssMiB } from './proc.js';
import { assertClean, round2, runPool } from './stats.js';

const GiB = 1024 ** 3;
const TIMEOUT_MS = 120_000;
const TASKS = { queueMs: 2, runMs: 3 } as const;
const SLOW_TASKS = { queueMs: 20, runMs: 100 } as const;

const progress = (line: string): void => void process.stderr.write(`[bench:snapshots ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

interface Snap {
  snapshot_id: string;
  source_volume_id: string;
  size_bytes: string;
  ready_to_use: boolean;
}

const createSnapshot = async (c: CsiClient, volumeId: string, name: string): Promise<string> =>
  (await c.call<{ snapshot: Snap }>('Controller', 'CreateSnapshot', { source_volume_id: volumeId, name }, { timeoutMs: TIMEOUT_MS })).snapshot.snapshot_id;

const deleteSnapshot = (c: CsiClient, snapshotId: string): Promise<unknown> =>
  c.call('Controller', 'DeleteSnapshot', { snapshot_id: snapshotId }, { timeoutMs: TIMEOUT_MS });

const restore = async (c: CsiClient, name: string, snapshotId: string, bytes: number): Promise<string> =>
  (
    await c.call<{ volume: { volume_id: string } }>(
      'Controller',
      'CreateVolume',
      {
        name,
        capacity_range: { required_bytes: String(bytes) },
        volume_capabilities: [MOUNT_RWO],
        parameters: {},
        volume_content_source: { snapshot: { snapshot_id: snapshotId } },
      },
      { timeoutMs: TIMEOUT_MS },
    )
  ).volume.volume_id;

function row(f: PhaseFigures): string {
  return [
    f.phase.padEnd(34),
    String(f.concurrency).padStart(4),
    String(f.ops).padStart(5),
    f.wallMs.toFixed(0).padStart(8),
    f.p50Ms.toFixed(2).padStart(8),
    f.p99Ms.toFixed(2).padStart(8),
    f.requestsPerOp.toFixed(2).padStart(8),
    (f.cpuMsPerOp ?? Number.NaN).toFixed(2).padStart(8),
  ].join(' ');
}

const USAGE = 'usage: npm run bench:snapshots -- [--sequential N (30)] [--concurrent N (50)] [--restores N (10)] [--slow-tasks]';

interface Options {
  sequential: number;
  concurrent: number;
  restores: number;
  slowTasks: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      sequential: { type: 'string', default: '30' },
      concurrent: { type: 'string', default: '50' },
      restores: { type: 'string', default: '10' },
      'slow-tasks': { type: 'boolean', default: false },
    },
  });
  const count = (k: 'sequential' | 'concurrent' | 'restores'): number => {
    const v = Number(values[k]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer, got ${values[k]}`);
    return v;
  };
  const o = { sequential: count('sequential'), concurrent: count('concurrent'), restores: count('restores'), slowTasks: values['slow-tasks'] };
  if (o.restores > o.sequential) throw new Error(`--restores (${o.restores}) cannot exceed --sequential (${o.sequential}): restores use the sequential snapshots`);
  return o;
}

async function main(opts: Options, cleanups: Cleanups, keepLogs: () => boolean): Promise<void> {
  const { sequential, concurrent, restores } = opts;
  const tasks = opts.slowTasks ? SLOW_TASKS : TASKS;
  await initClockTicks();
  const loadStart = loadavg();
  const env = await startBenchEnv(2, cleanups, keepLogs);
  const sim = env.world.sim;
  await sim.setCnsTiming(tasks.queueMs, tasks.runMs);
  const ctl = await startCsiMode(env, 'controller', {}, cleanups);
  const pid = ctl.proc.child.pid!;
  const c = ctl.client;
  const volumeCount = Math.max(sequential, concurrent);
  progress(`creating ${volumeCount} source volumes; CNS tasks ${tasks.queueMs} ms queued + ${tasks.runMs} ms running`);
  const volumes: string[] = new Array<string>(volumeCount);
  assertClean('source volumes', await runPool(Array.from({ length: volumeCount }, (_, i) => i), 8, async (i) => void (volumes[i] = await createVolume(c, `snapsrc-${i}`))));
  // Warm-up: one snapshot through its whole life, so the first measured call pays no first-use cost.
  const warm = await createSnapshot(c, volumes[0]!, 'warm-up');
  await deleteSnapshot(c, warm);
  const rssBefore = rssMiB(pid);

  const phases: PhaseFigures[] = [];
  const seqIds: string[] = new Array<string>(sequential);
  progress(`CreateSnapshot one at a time × ${sequential}`);
  phases.push(withoutLatencies(await measurePhase(sim, {
    phase: 'CreateSnapshot', items: volumes.slice(0, sequential), concurrency: 1, pid,
    call: async (v, i) => void (seqIds[i] = await createSnapshot(c, v, `seq-${i}`)),
  })));
  progress(`CreateSnapshot again with the same names (idempotent retries) × ${sequential}`);
  phases.push(withoutLatencies(await measurePhase(sim, {
    phase: 'CreateSnapshot retry (exists)', items: volumes.slice(0, sequential), concurrency: 1, pid,
    call: async (v, i) => {
      const again = await createSnapshot(c, v, `seq-${i}`);
      if (again !== seqIds[i]) throw new Error(`retry of seq-${i} returned ${again}, not ${seqIds[i]}`);
    },
  })));
  const burstIds: string[] = new Array<string>(concurrent);
  progress(`${concurrent} concurrent CreateSnapshot of ${concurrent} different volumes`);
  // Not measurePhase: its assertClean would hide how many failed, which is the figure here.
  await sim.resetRequests();
  const burst = await runPool(volumes.slice(0, concurrent), concurrent, async (v, i) => void (burstIds[i] = await createSnapshot(c, v, `burst-${i}`)));
  const burstRequests = (await sim.requests()).total;
  const burstFigures = { snapshots: concurrent, errors: burst.errors, firstError: burst.firstError, wallMs: round2(burst.wallMs), vcenterRequests: burstRequests, requestsPerSnapshot: round2(burstRequests / concurrent) };
  assertClean('concurrent snapshots', burst);

  const equalIds: string[] = [];
  const largerIds: string[] = [];
  progress(`restores: ${restores} of equal size, ${restores} larger (restore + extend)`);
  phases.push(withoutLatencies(await measurePhase(sim, {
    phase: 'CreateVolume from snapshot (=)', items: seqIds.slice(0, restores), concurrency: 1, pid,
    call: async (s, i) => void equalIds.push(await restore(c, `restore-eq-${i}`, s, GiB)),
  })));
  phases.push(withoutLatencies(await measurePhase(sim, {
    phase: 'CreateVolume from snapshot (2×)', items: seqIds.slice(0, restores), concurrency: 1, pid,
    call: async (s, i) => void largerIds.push(await restore(c, `restore-2x-${i}`, s, 2 * GiB)),
  })));
  const total = sequential + concurrent;
  progress(`ListSnapshots of all ${total} in pages of 20`);
  // One page per op, each continuing from the token the previous one returned.
  const pageSize = 20;
  let token = '';
  let listed = 0;
  const pages = Math.ceil(total / pageSize);
  phases.push(withoutLatencies(await measurePhase(sim, {
    phase: `ListSnapshots, a page of ${pageSize}`, items: Array.from({ length: pages }, (_, i) => i), concurrency: 1, pid,
    call: async (i) => {
      const r = await c.call<{ entries: unknown[]; next_token: string }>('Controller', 'ListSnapshots', { max_entries: pageSize, starting_token: token }, { timeoutMs: TIMEOUT_MS });
      listed += r.entries.length;
      token = r.next_token;
      if ((i === pages - 1) !== (token === '')) throw new Error(`page ${i + 1} of ${pages} returned next_token "${token}"`);
    },
  })));
  if (listed !== total) throw new Error(`ListSnapshots listed ${listed} snapshots, expected ${total}`);

  assertClean('restored volumes deleted', await runPool([...equalIds, ...largerIds], 8, (v) => deleteVolume(c, v)));
  progress(`DeleteSnapshot one at a time × ${total}`);
  phases.push(withoutLatencies(await measurePhase(sim, {
    phase: 'DeleteSnapshot', items: [...seqIds, ...burstIds], concurrency: 1, pid, call: (s) => deleteSnapshot(c, s),
  })));
  progress(`DeleteVolume (checks for snapshots first) × ${volumeCount}`);
  phases.push(withoutLatencies(await measurePhase(sim, {
    phase: 'DeleteVolume (no snapshots left)', items: volumes, concurrency: 1, pid, call: (v) => deleteVolume(c, v),
  })));
  const rssAfter = rssMiB(pid);

  const out = [
    `snapshot benchmark — CNS tasks ${tasks.queueMs} ms queued + ${tasks.runMs} ms running; load ${loadStart.map(round2).join(' ')} → ${loadavg().map(round2).join(' ')}`,
    '',
    `${'phase'.padEnd(34)} ${'conc'.padStart(4)} ${'ops'.padStart(5)} ${'wall ms'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'req/op'.padStart(8)} ${'cpu/op'.padStart(8)}`,
    ...phases.map(row),
    '',
    `${concurrent} concurrent CreateSnapshot of different volumes: ${burstFigures.wallMs} ms wall, ${burstFigures.errors} errors, ${burstFigures.vcenterRequests} vCenter requests (${burstFigures.requestsPerSnapshot} per snapshot)`,
    `ListSnapshots: ${listed} snapshots in ${pages} pages`,
    `controller RSS: ${rssBefore} MiB before the measured phases, ${rssAfter} MiB after`,
    '',
    'requests by method per phase:',
    ...phases.map((f) => `  ${f.phase}: ${Object.entries(f.byMethod).map(([m, n]) => `${m.replace('/vsanHealth ', '').replace('/sdk ', '')} ${round2(n / f.ops)}`).join(', ')}`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

runBench('bench:snapshots', parseOptions, USAGE, main, progress);
