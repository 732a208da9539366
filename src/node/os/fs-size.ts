/**
 * How big a filesystem is, from its own geometry (block count × block
 * size), to tell whether it is smaller than its disk: a volume restored from
 * a snapshot at a larger size arrives with the snapshot's filesystem on a
 * bigger disk. The same reads as Kubernetes mount-utils' NeedResize: the ext
 * superblock via `dumpe2fs -h <device>`, xfs geometry via `xfs_io -r -c statfs
 * <mountpoint>` (one binary; xfs_info is a shell script around
 * xfs_spaceman that prints the same numbers). statfs(2) cannot answer this:
 * its block count leaves out metadata (ext4) or the log (xfs).
 */
import type { Runner } from './exec.js';

export interface FsGeometry {
  blockSize: bigint;
  blockCount: bigint;
}

const READ_TIMEOUT_MS = 30_000;

export const fsBytes = (g: FsGeometry): bigint => g.blockSize * g.blockCount;

/** "Block count:" and "Block size:" of `dumpe2fs -h` (or `tune2fs -l`, same format). */
export function parseDumpe2fs(stdout: string): FsGeometry | undefined {
  const count = /^Block count:\s*(\d+)\s*$/m.exec(stdout)?.[1];
  const size = /^Block size:\s*(\d+)\s*$/m.exec(stdout)?.[1];
  if (count === undefined || size === undefined || BigInt(size) === 0n) return undefined;
  return { blockSize: BigInt(size), blockCount: BigInt(count) };
}

/** "geom.bsize" and "geom.datablocks" of `xfs_io -c statfs` (data section only: the realtime section is separate). */
export function parseXfsStatfs(stdout: string): FsGeometry | undefined {
  const size = /^geom\.bsize = (\d+)\s*$/m.exec(stdout)?.[1];
  const count = /^geom\.datablocks = (\d+)\s*$/m.exec(stdout)?.[1];
  if (count === undefined || size === undefined || BigInt(size) === 0n) return undefined;
  return { blockSize: BigInt(size), blockCount: BigInt(count) };
}

/**
 * Grow only when the device exceeds the filesystem by more than one block,
 * as mount-utils does: a device that is not a whole number of blocks leaves
 * a partial block no filesystem can use, and that must not trigger a resize
 * on every stage.
 */
export function needsResize(deviceBytes: bigint, geometry: FsGeometry): boolean {
  return deviceBytes > fsBytes(geometry) + geometry.blockSize;
}

/** The filesystem's geometry, or undefined for a type we cannot grow (so need not measure). */
export async function filesystemGeometry(run: Runner, fsType: string, device: string, mountPoint: string): Promise<FsGeometry | undefined> {
  let parsed: FsGeometry | undefined;
  let what: string;
  if (fsType === 'ext4' || fsType === 'ext3' || fsType === 'ext2') {
    what = `dumpe2fs -h ${device}`;
    parsed = parseDumpe2fs((await run('dumpe2fs', ['-h', device], { timeoutMs: READ_TIMEOUT_MS })).stdout);
  } else if (fsType === 'xfs') {
    what = `xfs_io -r -c statfs ${mountPoint}`;
    parsed = parseXfsStatfs((await run('xfs_io', ['-r', '-c', 'statfs', mountPoint], { timeoutMs: READ_TIMEOUT_MS })).stdout);
  } else {
    return undefined;
  }
  if (!parsed) throw new Error(`${what} printed no block count and block size`);
  return parsed;
}
