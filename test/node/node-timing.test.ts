/**
 * Timing over gRPC on one loop device: NodeStage (format + mount) and
 * NodePublish (bind) p50 over 50 fresh formats, and NodeStage of an
 * existing filesystem over 50 more cycles, each split into time inside
 * mkfs/mount/blkid and our own code (plus the gRPC round trip). Then proves
 * nothing leaked (mounts, holders, open fds, loop references). Figures are
 * printed and written as JSON, never asserted. The 200-cycle soak with the
 * process's RSS is in node-mode.test.ts (the compiled CLI as a process).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { startCsiServer, type CsiServer } from '../../src/csi/server.js';
import { silentLogger } from '../../src/log.js';
import { createNodeOs } from '../../src/node/os/index.js';
import { createNodeService } from '../../src/node/service.js';
import { LoopLab, loopUnavailableReason, type LoopDisk } from './loop-fixture.js';
import { connectNodeClient, type NodeClient } from './node-client.js';
import { mountCap, publishRequest, stageRequest } from './requests-helpers.js';

const exec = promisify(execFile);
const skipReason = loopUnavailableReason();
if (skipReason) console.warn(`Skipping the Node timing test: ${skipReason}`);
const describeDevices = skipReason ? describe.skip : describe;

const RESTAGE_CYCLES = 50;
const FRESH_STAGES = 50;

/** Time spent in external programs, by program, while a window is open. */
class ProgramClock {
  total = 0;
  byProgram = new Map<string, number>();
  observe = (command: string, _args: readonly string[], ms: number): void => {
    this.total += ms;
    this.byProgram.set(command, (this.byProgram.get(command) ?? 0) + ms);
  };
  reset(): void {
    this.total = 0;
    this.byProgram.clear();
  }
}

interface Sample {
  wallMs: number;
  programMs: number;
  byProgram: Record<string, number>;
}

const p50 = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
};
const round = (n: number): number => Math.round(n * 100) / 100;
const mib = (bytes: number): number => round(bytes / 1024 / 1024);

function summarize(samples: Sample[]): Record<string, number | Record<string, number>> {
  const programs = new Set(samples.flatMap((s) => Object.keys(s.byProgram)));
  return {
    runs: samples.length,
    p50WallMs: round(p50(samples.map((s) => s.wallMs))),
    p50ProgramsMs: round(p50(samples.map((s) => s.programMs))),
    p50OurCodeMs: round(p50(samples.map((s) => s.wallMs - s.programMs))),
    p50ByProgramMs: Object.fromEntries([...programs].map((p) => [basename(p), round(p50(samples.map((s) => s.byProgram[p] ?? 0)))])),
  };
}

describeDevices('Node service timing on a loop device', () => {
  let lab: LoopLab;
  let server: CsiServer;
  let client: NodeClient;
  let disk: LoopDisk;
  const clock = new ProgramClock();

  beforeAll(async () => {
    lab = await LoopLab.create('timing');
    const os = createNodeOs({ deviceDir: lab.byIdDir, deviceWaitMs: 0, observer: clock.observe });
    const node = createNodeService({ os, nodeName: 'timing', dmiDir: lab.dmiDir });
    server = await startCsiServer({ endpoint: `unix://${lab.path('csi.sock')}`, logger: silentLogger, services: { Identity: {}, Node: node } });
    client = connectNodeClient(server.socketPath);
    disk = await lab.addDisk(64);
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    await lab?.destroy();
  });

  const timed = async (method: string, request: Record<string, unknown>): Promise<Sample> => {
    clock.reset();
    const started = performance.now();
    await client.call(method, request);
    const wallMs = performance.now() - started;
    return { wallMs, programMs: clock.total, byProgram: Object.fromEntries(clock.byProgram) };
  };

  test(`${FRESH_STAGES} format+stage and ${RESTAGE_CYCLES} re-stage cycles: timing, and nothing leaks`, async () => {
    const staging = lab.path('staging', 'globalmount');
    const target = lab.path('pods', 'p', 'mount');
    const stageReq = stageRequest('vol-timing', disk.uuid, staging, mountCap('ext4'));
    const publishReq = publishRequest('vol-timing', disk.uuid, staging, target, mountCap('ext4'));
    const unpublishReq = { volume_id: 'vol-timing', target_path: target };
    const unstageReq = { volume_id: 'vol-timing', staging_target_path: staging };
    await client.call('NodeGetCapabilities', {}); // warm up the channel
    global.gc?.();
    const rssIdle = process.memoryUsage().rss;

    // NodeStage on a blank disk (blkid + mkfs + mount) and NodePublish (bind), 50 times each.
    const freshStages: Sample[] = [];
    const publishes: Sample[] = [];
    for (let i = 0; i < FRESH_STAGES; i++) {
      await exec('wipefs', ['-a', '-q', disk.device]);
      freshStages.push(await timed('NodeStageVolume', stageReq));
      publishes.push(await timed('NodePublishVolume', publishReq));
      await client.call('NodeUnpublishVolume', unpublishReq);
      await client.call('NodeUnstageVolume', unstageReq);
    }

    // The disk keeps its filesystem, as a volume moving between pods does.
    const cycleStarted = performance.now();
    const restages: Sample[] = [];
    for (let i = 0; i < RESTAGE_CYCLES; i++) {
      restages.push(await timed('NodeStageVolume', stageReq));
      publishes.push(await timed('NodePublishVolume', publishReq));
      await client.call('NodeUnpublishVolume', unpublishReq);
      await client.call('NodeUnstageVolume', unstageReq);
    }
    const cyclesMs = performance.now() - cycleStarted;
    global.gc?.();
    const rssAfter = process.memoryUsage().rss;

    expect(await lab.mountsUnderRoot()).toEqual([]);
    // No holder (mount, dm) keeps the loop device busy, and no fd of ours is open on it.
    const name = basename(disk.device);
    expect(await readdir(`/sys/block/${name}/holders`)).toEqual([]);
    const fds = await readdir('/proc/self/fd');
    const open = await Promise.all(fds.map((fd) => exec('readlink', [`/proc/self/fd/${fd}`]).then((r) => r.stdout.trim(), () => '')));
    expect(open.filter((target) => target === disk.device)).toEqual([]);
    await exec('losetup', ['-d', disk.device]);
    lab.devices.splice(lab.devices.indexOf(disk), 1);
    expect(await lab.loopRefs()).toEqual([]);

    const figures = {
      nodeStageFormatAndMount: summarize(freshStages),
      nodeStageExistingFs: summarize(restages),
      nodePublishBind: summarize(publishes),
      restageCycles: { cycles: RESTAGE_CYCLES, totalMs: Math.round(cyclesMs), perCycleMs: round(cyclesMs / RESTAGE_CYCLES) },
      rssMiB: { before: mib(rssIdle), after: mib(rssAfter), note: 'jest worker hosting server and client; see node-mode.test.ts for the real process' },
    };
    const out = join(tmpdir(), 'vsphere-csi-node-timing.json');
    await writeFile(out, JSON.stringify(figures, null, 2));
    console.log(`Node timing figures (also in ${out}):\n${JSON.stringify(figures, null, 2)}`);
  }, 180_000);
});
