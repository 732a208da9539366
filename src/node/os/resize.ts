/**
 * Growing a filesystem after the disk grew. The kernel learns a SCSI disk's
 * new size on a per-device rescan; a loop device (tests) on `losetup -c`.
 * Both filesystems grow online: resize2fs takes the device, xfs_growfs a
 * mount point.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandError, type Runner } from './exec.js';
import { kernelDeviceName } from './devices.js';

const RESIZE_TIMEOUT_MS = 10 * 60_000;

export async function deviceSizeBytes(run: Runner, device: string): Promise<bigint> {
  const { stdout } = await run('blockdev', ['--getsize64', device], { timeoutMs: 10_000 });
  return BigInt(stdout.trim());
}

/** Make the kernel re-read the device's capacity. */
export async function rescanDeviceSize(run: Runner, device: string, sysDir = '/sys'): Promise<void> {
  const name = kernelDeviceName(device);
  if (name.startsWith('loop')) {
    await run('losetup', ['-c', device], { timeoutMs: 10_000 });
    return;
  }
  // Only SCSI disks have this file; for anything else the size is already current.
  await writeFile(join(sysDir, 'class', 'block', name, 'device', 'rescan'), '1').catch(() => undefined);
}

export async function growFilesystem(run: Runner, fsType: string, device: string, mountPoint: string): Promise<void> {
  if (fsType === 'xfs') {
    await run('xfs_growfs', ['-d', mountPoint], { timeoutMs: RESIZE_TIMEOUT_MS });
  } else if (fsType === 'ext4' || fsType === 'ext3' || fsType === 'ext2') {
    await run('resize2fs', [device], { timeoutMs: RESIZE_TIMEOUT_MS }).catch((error: unknown) => {
      // The online-resize ioctl needs CAP_SYS_RESOURCE: say so instead of a bare EPERM.
      if (error instanceof CommandError && /Permission denied/.test(error.stderr)) {
        throw new Error(`${error.message} (online ext4 resize needs CAP_SYS_RESOURCE: run the node plugin container privileged)`);
      }
      throw error;
    });
  } else {
    throw new Error(`cannot grow a ${fsType} filesystem: only ext2/3/4 and xfs are supported`);
  }
}
