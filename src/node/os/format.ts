/**
 * mkfs for the filesystems the driver supports. Flags follow k8s
 * mount-utils (what the reference driver uses): ext3/ext4 `-F -m0` (no
 * root-reserved blocks on a data volume; mke2fs initializes inode tables
 * lazily by default, so formatting a large disk is fast). xfs gets no -f:
 * we only format after blkid found nothing, and without -f mkfs.xfs itself
 * refuses to overwrite a signature blkid might have missed.
 */
import type { Runner } from './exec.js';

export const SUPPORTED_FS_TYPES = ['ext4', 'ext3', 'xfs'] as const;
export type SupportedFsType = (typeof SUPPORTED_FS_TYPES)[number];

const FORMAT_TIMEOUT_MS = 10 * 60_000;

export function mkfsArgs(fsType: SupportedFsType, device: string): string[] {
  return fsType === 'xfs' ? [device] : ['-F', '-m0', device];
}

export async function formatDevice(run: Runner, device: string, fsType: SupportedFsType): Promise<void> {
  await run(`mkfs.${fsType}`, mkfsArgs(fsType, device), { timeoutMs: FORMAT_TIMEOUT_MS });
}
