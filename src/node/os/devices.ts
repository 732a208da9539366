/**
 * Finding the attached disk: vSphere exposes a disk's UUID as its SCSI WWN
 * when the VM has disk.EnableUUID=TRUE, and udev links it as
 * <deviceDir>/wwn-0x<diskUUID>. Right after an attach the link may not
 * exist yet, so on a miss we ask the kernel to rescan SCSI hosts and udev
 * to replay block events (each only where present), then wait a bounded
 * time for the link to show up.
 */
import { readdir, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Runner } from './exec.js';
import { CommandError } from './exec.js';

export interface DeviceLookupOptions {
  deviceDir: string;
  /** How long to wait for the link after a rescan; 0 = look once. */
  waitMs: number;
  /** Root of sysfs, for the SCSI rescan ("/sys"). */
  sysDir?: string;
  /** Aborts the wait (client cancelled). */
  signal?: AbortSignal;
}

const POLL_INTERVAL_MS = 100;

export function deviceLinkPath(deviceDir: string, diskUUID: string): string {
  return join(deviceDir, `wwn-0x${diskUUID.toLowerCase()}`);
}

/** The block device node the link points at, or undefined when absent or dangling. */
export async function resolveDeviceLink(link: string): Promise<string | undefined> {
  try {
    const target = await realpath(link);
    return (await stat(target)).isBlockDevice() ? target : undefined;
  } catch {
    return undefined;
  }
}

/** A SCSI host scan is synchronous in the kernel and can take long on a busy bus: we stop waiting after this. */
const SCSI_SCAN_WAIT_MS = 5_000;

/** Ask the kernel and udev to notice newly attached disks. Best effort: every step is optional. */
export async function rescanDevices(run: Runner, sysDir = '/sys'): Promise<void> {
  const hostsDir = join(sysDir, 'class', 'scsi_host');
  const hosts = await readdir(hostsDir).catch(() => [] as string[]);
  const scans = Promise.all(hosts.map((host) => writeFile(join(hostsDir, host, 'scan'), '- - -').catch(() => undefined)));
  await Promise.race([scans, sleep(SCSI_SCAN_WAIT_MS, undefined, { ref: false })]);
  try {
    await run('udevadm', ['trigger', '--subsystem-match=block', '--action=add'], { timeoutMs: 10_000 });
    await run('udevadm', ['settle', '--timeout=5'], { timeoutMs: 10_000 });
  } catch (error) {
    // No udevadm in this image or udev not running: the wait below still covers a slow link.
    if (!(error instanceof CommandError)) throw error;
  }
}

export async function findDevice(run: Runner, diskUUID: string, options: DeviceLookupOptions): Promise<string | undefined> {
  const link = deviceLinkPath(options.deviceDir, diskUUID);
  const found = await resolveDeviceLink(link);
  if (found || options.waitMs <= 0) return found;
  await rescanDevices(run, options.sysDir);
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const device = await resolveDeviceLink(link);
    if (device) return device;
    if (Date.now() >= deadline || options.signal?.aborted) return undefined;
    await sleep(POLL_INTERVAL_MS);
  }
}

/** "/dev/loop3" → "loop3": the name under /sys/class/block. */
export function kernelDeviceName(device: string): string {
  return basename(device);
}
