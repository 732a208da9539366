/**
 * NodeStageVolume grows an existing filesystem that is smaller than its disk
 * (a snapshot restored at a larger size: Kubernetes sends no
 * NodeExpandVolume for it). Pure rules (parsing dumpe2fs / xfs_io output, the
 * one-block tolerance), the stage logic against a scripted NodeOs (what is
 * read, when it grows, failures that only warn), then real loop devices over
 * the gRPC socket: ext4 and xfs grown from 1 GiB to 2 GiB with the data
 * intact, a re-stage that runs no resize, and read-only stages that never
 * touch the disk.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startCsiServer, type CsiServer } from '../../src/csi/server.js';
import { createLogger, type Logger } from '../../src/log.js';
import { CommandError } from '../../src/node/os/exec.js';
import { fsBytes, needsResize, parseDumpe2fs, parseXfsStatfs, type FsGeometry } from '../../src/node/os/fs-size.js';
import { createNodeOs, type NodeOs } from '../../src/node/os/index.js';
import { createNodeService } from '../../src/node/service.js';
import { stageVolume } from '../../src/node/stage.js';
import type { VolumeCapability } from '../../src/node/requests.js';
import { hasCapSysResource, LoopLab, loopUnavailableReason, type LoopDisk } from './loop-fixture.js';
import { connectNodeClient, type NodeClient } from './node-client.js';
import { mountCap, stageRequest } from './requests-helpers.js';

const exec = promisify(execFile);
const GiB = 1024n * 1024n * 1024n;

interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

/** A real pino logger (the production factory) whose JSON lines land in an array. */
function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) } });
  return { logger, lines };
}

const DUMPE2FS_SAMPLE = `Filesystem volume name:   <none>
Filesystem magic number:  0xEF53
Inode count:              16384
Block count:              65536
Reserved block count:     0
Overhead clusters:        9499
Free blocks:              56023
First block:              1
Block size:               1024
Fragment size:            1024
Blocks per group:         8192
`;

const XFS_STATFS_SAMPLE = `fd.path = "/var/lib/kubelet/plugins/kubernetes.io/csi/csi.vsphere.vmware.com/abc/globalmount"
statfs.f_bsize = 4096
statfs.f_blocks = 245760
statfs.f_bavail = 235783
geom.bsize = 4096
geom.agcount = 4
geom.agblocks = 65536
geom.datablocks = 262144
geom.rtblocks = 0
counts.freedata = 236242
`;

describe('filesystem geometry and the needs-resize rule', () => {
  test('dumpe2fs -h: Block count × Block size, not the reserved count', () => {
    const g = parseDumpe2fs(DUMPE2FS_SAMPLE);
    expect(g).toEqual({ blockSize: 1024n, blockCount: 65536n });
    expect(fsBytes(g!)).toBe(64n * 1024n * 1024n);
  });

  test('xfs_io statfs: the data section geometry, not statfs f_blocks (which leaves out the log)', () => {
    expect(parseXfsStatfs(XFS_STATFS_SAMPLE)).toEqual({ blockSize: 4096n, blockCount: 262144n });
  });

  test('output without the fields (or a zero block size) is not a geometry', () => {
    expect(parseDumpe2fs('dumpe2fs 1.47.0 (5-Feb-2023)\n')).toBeUndefined();
    expect(parseDumpe2fs('Block count: 10\nBlock size: 0\n')).toBeUndefined();
    expect(parseDumpe2fs('Reserved block count: 10\nBlock size: 4096\n')).toBeUndefined();
    expect(parseXfsStatfs('statfs.f_bsize = 4096\nstatfs.f_blocks = 100\n')).toBeUndefined();
  });

  test('grows only when the device exceeds the filesystem by more than one block', () => {
    const g: FsGeometry = { blockSize: 4096n, blockCount: 262144n }; // 1 GiB
    expect(needsResize(GiB, g)).toBe(false);
    expect(needsResize(GiB - 4096n, g)).toBe(false); // a smaller device is never "grown"
    expect(needsResize(GiB + 4095n, g)).toBe(false); // a partial block no filesystem can use
    expect(needsResize(GiB + 4096n, g)).toBe(false); // tolerance: one block, as mount-utils
    expect(needsResize(GiB + 4097n, g)).toBe(true);
    expect(needsResize(2n * GiB, g)).toBe(true);
  });
});

/** A NodeOs that answers the stage path from a script and records what was asked. */
function scriptedOs(options: {
  content?: 'blank' | 'filesystem';
  fsType?: string;
  deviceBytes?: bigint | Error;
  geometry?: FsGeometry | undefined | Error;
  grow?: Error;
}): { os: NodeOs; calls: string[] } {
  const calls: string[] = [];
  const fail = (): never => {
    throw new Error('not used by NodeStageVolume');
  };
  const os: NodeOs = {
    deviceLink: (uuid) => `/dev/disk/by-id/wwn-0x${uuid}`,
    findDevice: async () => '/dev/sdb',
    probe: async () => (options.content === 'blank' ? { kind: 'blank' } : { kind: 'filesystem', fsType: options.fsType ?? 'ext4' }),
    format: async () => void calls.push('format'),
    mounter: {
      mount: async (_device, _target, _fsType, mountOptions) => void calls.push(`mount ${mountOptions.join(',')}`),
      bindMount: fail,
      unmount: fail,
    },
    mountTable: async () => [],
    deviceOfMajorMinor: fail,
    majorMinorOf: async () => '8:16',
    rescanDeviceSize: fail,
    deviceSize: async () => {
      calls.push('deviceSize');
      if (options.deviceBytes instanceof Error) throw options.deviceBytes;
      return options.deviceBytes ?? 2n * GiB;
    },
    filesystemGeometry: async () => {
      calls.push('geometry');
      if (options.geometry instanceof Error) throw options.geometry;
      return 'geometry' in options ? options.geometry : { blockSize: 4096n, blockCount: 262144n };
    },
    growFilesystem: async () => {
      calls.push('grow');
      if (options.grow) throw options.grow;
    },
    usage: fail,
  };
  return { os, calls };
}

describe('stageVolume grow logic (scripted os)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'csi-stage-grow-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cap = (over: Partial<VolumeCapability> = {}): VolumeCapability => ({ kind: 'mount', fsType: '', mountFlags: [], readerOnly: false, ...over });
  const stage = async (os: NodeOs, capability: VolumeCapability, log: Logger): Promise<void> =>
    stageVolume(os, { volumeId: 'vol-1', diskUUID: '6000c29', stagingPath: join(dir, 'g'), capability }, log, () => new Error('missing'));

  test('an existing filesystem smaller than its disk is grown, with an info line naming device, from and to', async () => {
    const { os, calls } = scriptedOs({});
    const { logger, lines } = capturingLogger();
    await stage(os, cap(), logger);
    expect(calls).toEqual(['mount ', 'deviceSize', 'geometry', 'grow']);
    expect(lines.find((l) => l.msg === 'filesystem grown to its disk')).toMatchObject({
      level: 'info',
      device: '/dev/sdb',
      fromBytes: String(GiB),
      toBytes: String(2n * GiB),
    });
  });

  test('a filesystem that fills its disk is measured, not grown', async () => {
    const { os, calls } = scriptedOs({ deviceBytes: GiB });
    const { logger, lines } = capturingLogger();
    await stage(os, cap(), logger);
    expect(calls).toEqual(['mount ', 'deviceSize', 'geometry']);
    expect(lines.filter((l) => l.level !== 'info')).toEqual([]);
  });

  test('a disk it just formatted, a read-only access mode, an ro mount flag or a block volume is not even measured', async () => {
    const { logger } = capturingLogger();
    const formatted = scriptedOs({ content: 'blank' });
    await stage(formatted.os, cap(), logger);
    expect(formatted.calls).toEqual(['format', 'mount ']);
    const readerOnly = scriptedOs({});
    await stage(readerOnly.os, cap({ readerOnly: true }), logger);
    expect(readerOnly.calls).toEqual(['mount ro']);
    const roFlag = scriptedOs({});
    await stage(roFlag.os, cap({ mountFlags: ['ro', 'noatime'] }), logger);
    expect(roFlag.calls).toEqual(['mount ro,noatime']);
    const block = scriptedOs({});
    await stage(block.os, { kind: 'block', fsType: '', mountFlags: [], readerOnly: false }, logger);
    expect(block.calls).toEqual([]);
  });

  test('a failed grow only warns, naming the fix; the stage succeeds', async () => {
    const denied = new CommandError('resize2fs', ['/dev/sdb'], 1, 'resize2fs: Permission denied to resize filesystem', false, false);
    const { os, calls } = scriptedOs({ grow: denied });
    const { logger, lines } = capturingLogger();
    await expect(stage(os, cap(), logger)).resolves.toBeUndefined();
    expect(calls).toEqual(['mount ', 'deviceSize', 'geometry', 'grow']);
    const warn = lines.find((l) => l.level === 'warn')!;
    expect(warn.msg).toContain('CAP_SYS_RESOURCE');
    expect(warn.msg).toContain('old size');
    expect(warn).toMatchObject({ device: '/dev/sdb', fromBytes: String(GiB), deviceBytes: String(2n * GiB) });
    expect(String(warn.error)).toContain('Permission denied');
    expect(lines.some((l) => l.msg === 'volume staged')).toBe(true);

    const xfs = scriptedOs({ fsType: 'xfs', grow: new Error('xfs_growfs exited with 1') });
    const xfsLog = capturingLogger();
    await stage(xfs.os, cap(), xfsLog.logger);
    expect(xfsLog.lines.find((l) => l.level === 'warn')!.msg).toContain('xfs_growfs');
  });

  test('failing to read either size only warns and never grows', async () => {
    for (const failing of [{ deviceBytes: new Error('blockdev: no such device') }, { geometry: new Error('dumpe2fs printed no block count and block size') }]) {
      const { os, calls } = scriptedOs(failing);
      const { logger, lines } = capturingLogger();
      await expect(stage(os, cap(), logger)).resolves.toBeUndefined();
      expect(calls).not.toContain('grow');
      expect(lines.find((l) => l.level === 'warn')).toMatchObject({ msg: expect.stringContaining('not growing it') });
    }
  });

  test('a filesystem type with no geometry reader (undefined) is left alone quietly', async () => {
    const { os, calls } = scriptedOs({ fsType: 'btrfs', geometry: undefined });
    const { logger, lines } = capturingLogger();
    await stage(os, cap(), logger);
    expect(calls).toEqual(['mount ', 'deviceSize', 'geometry']);
    expect(lines.filter((l) => l.level !== 'info')).toEqual([]);
  });
});

const skipReason = loopUnavailableReason();
if (skipReason) console.warn(`Skipping the stage-grow device tests: ${skipReason}`);
const describeDevices = skipReason ? describe.skip : describe;
const canGrowExt4 = !skipReason && hasCapSysResource();
if (!skipReason && !canGrowExt4) {
  console.warn(
    'Skipping the ext4 "grown to 2 GiB" assertion: this process lacks CAP_SYS_RESOURCE, which online ext4 resize (resize2fs on a mounted fs) needs; ' +
      'asserting instead that the stage succeeds at the old size with a warning naming CAP_SYS_RESOURCE',
  );
}

describeDevices('NodeStageVolume grows a restored filesystem on loop devices', () => {
  let lab: LoopLab;
  let server: CsiServer;
  let client: NodeClient;
  let lines: LogLine[];
  /** Every external program the node ran, in order (the NodeOs runner's observer). */
  const programs: Array<{ command: string; ms: number }> = [];
  const ran = (): string[] => programs.map((p) => p.command);

  beforeAll(async () => {
    lab = await LoopLab.create('grow');
    const captured = capturingLogger();
    lines = captured.lines;
    const os = createNodeOs({ deviceDir: lab.byIdDir, deviceWaitMs: 300, observer: (command, _args, ms) => void programs.push({ command, ms }) });
    const node = createNodeService({ os, nodeName: 'node-1', dmiDir: lab.dmiDir });
    server = await startCsiServer({ endpoint: `unix://${lab.path('csi.sock')}`, logger: captured.logger, services: { Identity: {}, Node: node } });
    client = connectNodeClient(server.socketPath);
  });

  afterEach(async () => {
    await lab.cleanMounts();
    await lab.detachDisks();
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    await lab?.destroy();
  });

  /** What a restore leaves: a snapshot-sized filesystem with data on a disk extended afterwards. */
  async function restoredDisk(fsType: 'ext4' | 'xfs', fromMiB: number, toMiB: number): Promise<LoopDisk> {
    const disk = await lab.addDisk(fromMiB);
    await exec(`mkfs.${fsType}`, fsType === 'xfs' ? ['-q', disk.device] : ['-q', '-F', '-m0', disk.device]);
    const scratch = lab.path('scratch', disk.uuid);
    await mkdir(scratch, { recursive: true });
    await exec('mount', [disk.device, scratch]);
    await writeFile(join(scratch, 'snapshot.txt'), 'from the snapshot');
    await exec('umount', [scratch]);
    if (toMiB !== fromMiB) {
      await lab.growDisk(disk, toMiB);
      // In vSphere the disk is extended before it is attached, so the node's kernel sees the full
      // size from the start; a loop device learns it on `losetup -c`.
      await exec('losetup', ['-c', disk.device]);
    }
    return disk;
  }

  const stage = (volumeId: string, disk: LoopDisk, staging: string, cap: Record<string, unknown>): Promise<unknown> => {
    programs.length = 0;
    lines.length = 0;
    return client.call('NodeStageVolume', stageRequest(volumeId, disk.uuid, staging, cap));
  };
  const unstage = (volumeId: string, staging: string): Promise<unknown> => client.call('NodeUnstageVolume', { volume_id: volumeId, staging_target_path: staging });
  const totalBytes = async (path: string): Promise<bigint> => {
    const s = await statfs(path, { bigint: true });
    return s.blocks * s.bsize;
  };
  const grownLine = (): LogLine | undefined => lines.find((l) => l.msg === 'filesystem grown to its disk');
  const GROWERS = ['resize2fs', 'xfs_growfs'];

  test.each(['ext4', 'xfs'] as const)('a 1 GiB %s filesystem on a disk extended to 2 GiB is grown on stage, data intact; a re-stage does not resize', async (fsType) => {
    const disk = await restoredDisk(fsType, 1024, 2048);
    const staging = lab.path(`restore-${fsType}`, 'globalmount');
    const volumeId = `vol-restore-${fsType}`;
    await stage(volumeId, disk, staging, mountCap(fsType));
    expect(await readFile(join(staging, 'snapshot.txt'), 'utf8')).toBe('from the snapshot');
    const total = await totalBytes(staging);

    if (fsType === 'ext4' && !canGrowExt4) {
      // resize2fs was tried and refused (EPERM); the stage still succeeded, at the old size, with the fix named.
      expect(ran()).toContain('resize2fs');
      expect(total).toBeLessThan(GiB + 1n);
      const warn = lines.find((l) => l.level === 'warn' && String(l.msg).includes('could not be grown'));
      expect(warn?.msg).toContain('CAP_SYS_RESOURCE');
      expect(grownLine()).toBeUndefined();
      await unstage(volumeId, staging);
      return;
    }

    // statfs leaves out metadata (ext4) or the log (xfs): ~2 GiB is "more than 1.85 GiB".
    expect(total).toBeGreaterThan((2n * GiB * 185n) / 200n);
    expect(total).toBeLessThanOrEqual(2n * GiB);
    expect(grownLine()).toMatchObject({ level: 'info', device: disk.device, fsType, fromBytes: String(GiB), toBytes: String(2n * GiB) });
    expect(ran()).toContain(fsType === 'xfs' ? 'xfs_growfs' : 'resize2fs');

    // Every later stage (each pod move) finds it full-size: a size read, no resize, no log line.
    await unstage(volumeId, staging);
    await stage(volumeId, disk, staging, mountCap(fsType));
    expect(ran()).toContain(fsType === 'xfs' ? 'xfs_io' : 'dumpe2fs');
    expect(ran().filter((c) => GROWERS.includes(c))).toEqual([]);
    expect(grownLine()).toBeUndefined();
    expect(await readFile(join(staging, 'snapshot.txt'), 'utf8')).toBe('from the snapshot');
    await unstage(volumeId, staging);
  });

  test.each(['ext4', 'xfs'] as const)('a %s filesystem that already fills its disk: re-stages read its size and never resize', async (fsType) => {
    const disk = await restoredDisk(fsType, 320, 320);
    const staging = lab.path(`full-${fsType}`, 'globalmount');
    const volumeId = `vol-full-${fsType}`;
    const reader = fsType === 'xfs' ? 'xfs_io' : 'dumpe2fs';
    const costs: string[] = [];
    for (let i = 0; i < 3; i++) {
      await stage(volumeId, disk, staging, mountCap(''));
      expect(ran()).toEqual(expect.arrayContaining(['blockdev', reader]));
      expect(ran().filter((c) => GROWERS.includes(c))).toEqual([]);
      expect(grownLine()).toBeUndefined();
      expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
      costs.push(
        programs
          .filter((p) => p.command === 'blockdev' || p.command === reader)
          .map((p) => `${p.command} ${p.ms.toFixed(1)}`)
          .join(' + '),
      );
      await unstage(volumeId, staging);
    }
    // Reported, never asserted: the extra cost of the check on an ordinary re-stage.
    console.log(`re-stage size check (${fsType}), ms per stage: ${costs.join('; ')}`);
  });

  test('a freshly formatted disk is not measured', async () => {
    const disk = await lab.addDisk(64);
    const staging = lab.path('fresh', 'globalmount');
    await stage('vol-fresh', disk, staging, mountCap('ext4'));
    expect(ran()).toContain('mkfs.ext4');
    expect(ran().filter((c) => ['dumpe2fs', 'blockdev', ...GROWERS].includes(c))).toEqual([]);
    await unstage('vol-fresh', staging);
  });

  test.each(['ext4', 'xfs'] as const)('a read-only stage of a smaller %s filesystem does not grow it', async (fsType) => {
    const disk = await restoredDisk(fsType, 1024, 2048);
    const staging = lab.path(`ro-${fsType}`, 'globalmount');
    const volumeId = `vol-ro-${fsType}`;
    await stage(volumeId, disk, staging, mountCap(fsType, [], 'MULTI_NODE_READER_ONLY'));
    expect(ran().filter((c) => ['dumpe2fs', 'xfs_io', 'blockdev', ...GROWERS].includes(c))).toEqual([]);
    expect(await totalBytes(staging)).toBeLessThanOrEqual(GiB);
    expect(await readFile(join(staging, 'snapshot.txt'), 'utf8')).toBe('from the snapshot');
    expect(grownLine()).toBeUndefined();
    await unstage(volumeId, staging);
    // The disk itself was not changed: the filesystem is still the snapshot's size.
    const { stdout } = await exec(fsType === 'xfs' ? 'xfs_db' : 'dumpe2fs', fsType === 'xfs' ? ['-r', '-c', 'sb 0', '-c', 'p dblocks', disk.device] : ['-h', disk.device]);
    expect(fsType === 'xfs' ? stdout.trim() : fsBytes(parseDumpe2fs(stdout)!).toString()).toBe(fsType === 'xfs' ? 'dblocks = 262144' : String(GiB));
  });

  test('no mount under the test root survives', async () => {
    expect((await lab.mountsUnderRoot()).filter((m) => m.includes('/scratch/'))).toEqual([]);
    expect(await lab.mountsUnderRoot()).toEqual([]);
  });
});
