/**
 * Node figures on real loop devices: NodeStageVolume (blkid, mkfs, mount)
 * and NodePublishVolume (bind mount) through the node process's socket,
 * against the same external programs run directly with execFile on an
 * identical, freshly made loop device in the same iteration (order flipped
 * every iteration). "Our time" is the driver's p50 minus the direct p50.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { LoopLab } from '../harness/loop-lab.js';
import type { Cleanups } from './cleanups.js';
import type { BenchEnv, Running } from './env.js';
import { median, round2 } from './stats.js';

const exec = promisify(execFile);
const DISK_MIB = 128;
const FS = 'ext4';
const CAP = { access_mode: { mode: 'SINGLE_NODE_WRITER' }, mount: { fs_type: FS, mount_flags: [] } };
const TIMEOUT_MS = 60_000;

export interface NodeFigures {
  iterations: number;
  diskMiB: number;
  fsType: string;
  stageP50Ms: number;
  /** blkid -p + mkfs + mount run directly on an identical device. */
  directStageP50Ms: number;
  stageOurMs: number;
  publishP50Ms: number;
  /** mount --bind run directly. */
  directPublishP50Ms: number;
  publishOurMs: number;
  directByProgramP50Ms: Record<string, number>;
}

const since = (t0: number): number => performance.now() - t0;

async function timed(cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  await exec(cmd, args, { timeout: TIMEOUT_MS });
  return since(t0);
}

export async function nodeTimings(env: BenchEnv, node: Running, iterations: number, cleanups: Cleanups): Promise<NodeFigures> {
  const lab = await LoopLab.create('bench');
  cleanups.push('loop devices and mounts', () => lab.destroy());
  const samples = { stage: [] as number[], publish: [] as number[], dStage: [] as number[], dPublish: [] as number[], blkid: [] as number[], mkfs: [] as number[], mount: [] as number[], bind: [] as number[] };

  const viaDriver = async (i: number): Promise<void> => {
    const uuid = randomBytes(16).toString('hex');
    await lab.addDiskWithUuid(uuid, DISK_MIB, env.deviceDir);
    const volumeId = randomUUID();
    const staging = lab.path(`d${i}`, 'staging');
    const target = lab.path(`d${i}`, 'pod', 'mount');
    mkdirSync(staging, { recursive: true });
    mkdirSync(lab.path(`d${i}`, 'pod'), { recursive: true });
    const publishContext = { type: 'vSphere CNS Block Volume', diskUUID: uuid };
    let t0 = performance.now();
    await node.client.call('Node', 'NodeStageVolume', { volume_id: volumeId, publish_context: publishContext, staging_target_path: staging, volume_capability: CAP }, { timeoutMs: TIMEOUT_MS });
    samples.stage.push(since(t0));
    t0 = performance.now();
    await node.client.call('Node', 'NodePublishVolume', { volume_id: volumeId, publish_context: publishContext, staging_target_path: staging, target_path: target, volume_capability: CAP, readonly: false }, { timeoutMs: TIMEOUT_MS });
    samples.publish.push(since(t0));
    await node.client.call('Node', 'NodeUnpublishVolume', { volume_id: volumeId, target_path: target }, { timeoutMs: TIMEOUT_MS });
    await node.client.call('Node', 'NodeUnstageVolume', { volume_id: volumeId, staging_target_path: staging }, { timeoutMs: TIMEOUT_MS });
  };

  const direct = async (i: number): Promise<void> => {
    const disk = await lab.addDiskWithUuid(randomBytes(16).toString('hex'), DISK_MIB, lab.byIdDir);
    const staging = lab.path(`b${i}`, 'staging');
    const target = lab.path(`b${i}`, 'pod');
    mkdirSync(staging, { recursive: true });
    mkdirSync(target, { recursive: true });
    // blkid exits 2 on an empty device: that is the answer the driver gets before formatting.
    const t0 = performance.now();
    await exec('blkid', ['-p', '-o', 'export', disk.device], { timeout: TIMEOUT_MS }).catch(() => undefined);
    const blkid = since(t0);
    const mkfs = await timed(`mkfs.${FS}`, ['-F', '-m0', disk.device]);
    const mount = await timed('mount', ['-t', FS, disk.device, staging]);
    const bind = await timed('mount', ['--bind', staging, target]);
    samples.blkid.push(blkid);
    samples.mkfs.push(mkfs);
    samples.mount.push(mount);
    samples.bind.push(bind);
    samples.dStage.push(blkid + mkfs + mount);
    samples.dPublish.push(bind);
    await exec('umount', [target], { timeout: TIMEOUT_MS });
    await exec('umount', [staging], { timeout: TIMEOUT_MS });
  };

  try {
    // One untimed warm-up of each path (first exec of each program, page cache).
    await viaDriver(-1);
    await direct(-1);
    for (const k of Object.keys(samples) as (keyof typeof samples)[]) samples[k].length = 0;
    for (let i = 0; i < iterations; i++) {
      if (i % 2 === 0) {
        await viaDriver(i);
        await direct(i);
      } else {
        await direct(i);
        await viaDriver(i);
      }
      // Loops of finished iterations go now, so the count stays small.
      await lab.detachDisks();
    }
  } finally {
    await lab.destroy();
  }
  const stage = median(samples.stage);
  const dStage = median(samples.dStage);
  const publish = median(samples.publish);
  const dPublish = median(samples.dPublish);
  return {
    iterations,
    diskMiB: DISK_MIB,
    fsType: FS,
    stageP50Ms: round2(stage),
    directStageP50Ms: round2(dStage),
    stageOurMs: round2(stage - dStage),
    publishP50Ms: round2(publish),
    directPublishP50Ms: round2(dPublish),
    publishOurMs: round2(publish - dPublish),
    directByProgramP50Ms: { blkid: round2(median(samples.blkid)), [`mkfs.${FS}`]: round2(median(samples.mkfs)), mount: round2(median(samples.mount)), 'mount --bind': round2(median(samples.bind)) },
  };
}
