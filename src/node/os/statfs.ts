/** Filesystem usage in bytes and inodes (statfs(2) through Node's fs.statfs, no df parsing). */
import { statfs } from 'node:fs/promises';

export interface FsUsage {
  totalBytes: bigint;
  availableBytes: bigint;
  usedBytes: bigint;
  totalInodes: bigint;
  freeInodes: bigint;
  usedInodes: bigint;
}

export async function filesystemUsage(path: string): Promise<FsUsage> {
  const s = await statfs(path, { bigint: true });
  return {
    totalBytes: s.blocks * s.bsize,
    availableBytes: s.bavail * s.bsize,
    // bfree (not bavail) so root-reserved blocks count as neither used nor available, like df.
    usedBytes: (s.blocks - s.bfree) * s.bsize,
    totalInodes: s.files,
    freeInodes: s.ffree,
    usedInodes: s.files - s.ffree,
  };
}
