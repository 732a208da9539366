/**
 * Everything the Node service needs from the machine, as one collaborator.
 * The real one runs programs and reads /proc and /sys; the service never
 * touches them directly, so its logic reads as CSI semantics.
 */
import { readlink, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createRunner, type CommandObserver, type Runner } from './exec.js';
import { deviceLinkPath, findDevice } from './devices.js';
import { formatDevice, type SupportedFsType } from './format.js';
import { filesystemGeometry, type FsGeometry } from './fs-size.js';
import { createMounter, type Mounter } from './mount.js';
import { MOUNTINFO_PATH, readMountTable, type MountEntry } from './mountinfo.js';
import { probeDevice, type DeviceContent } from './probe.js';
import { deviceSizeBytes, growFilesystem, rescanDeviceSize } from './resize.js';
import { filesystemUsage, type FsUsage } from './statfs.js';

export interface NodeOs {
  /** Where the disk's link is expected (<deviceDir>/wwn-0x<uuid>), for messages. */
  deviceLink(diskUUID: string): string;
  /** The device node for a vSphere disk UUID, after a bounded rescan/wait; undefined when it never showed up. */
  findDevice(diskUUID: string, signal?: AbortSignal): Promise<string | undefined>;
  probe(device: string): Promise<DeviceContent>;
  format(device: string, fsType: SupportedFsType): Promise<void>;
  mounter: Mounter;
  mountTable(): Promise<MountEntry[]>;
  /** "/dev/loop0" for "7:0", or undefined when the kernel no longer has that device. */
  deviceOfMajorMinor(majorMinor: string): Promise<string | undefined>;
  /** "7:0" for a block device node. */
  majorMinorOf(device: string): Promise<string>;
  rescanDeviceSize(device: string): Promise<void>;
  deviceSize(device: string): Promise<bigint>;
  growFilesystem(fsType: string, device: string, mountPoint: string): Promise<void>;
  /** Block size and count of a mounted filesystem (ext: its device's superblock; xfs: via the mount point); undefined for a type we cannot grow. */
  filesystemGeometry(fsType: string, device: string, mountPoint: string): Promise<FsGeometry | undefined>;
  usage(path: string): Promise<FsUsage>;
}

export interface NodeOsOptions {
  /** Where udev links disks by WWN; default /dev/disk/by-id. */
  deviceDir?: string;
  /** How long to wait for a just-attached disk's link; default 10 s. */
  deviceWaitMs?: number;
  sysDir?: string;
  devDir?: string;
  mountInfoPath?: string;
  /** Sees every external program run (for timing). */
  observer?: CommandObserver;
  /** Replace the program runner entirely. */
  runner?: Runner;
}

export const DEFAULT_DEVICE_DIR = '/dev/disk/by-id';

export function createNodeOs(options: NodeOsOptions = {}): NodeOs {
  const run = options.runner ?? createRunner(options.observer);
  const sysDir = options.sysDir ?? '/sys';
  const devDir = options.devDir ?? '/dev';
  const deviceDir = options.deviceDir ?? DEFAULT_DEVICE_DIR;
  const deviceWaitMs = options.deviceWaitMs ?? 10_000;
  return {
    deviceLink: (diskUUID) => deviceLinkPath(deviceDir, diskUUID),
    findDevice: (diskUUID, signal) => findDevice(run, diskUUID, { deviceDir, waitMs: deviceWaitMs, sysDir, ...(signal ? { signal } : {}) }),
    probe: (device) => probeDevice(run, device),
    format: (device, fsType) => formatDevice(run, device, fsType),
    mounter: createMounter(run),
    mountTable: () => readMountTable(options.mountInfoPath ?? MOUNTINFO_PATH),
    async deviceOfMajorMinor(majorMinor) {
      try {
        const name = basename(await readlink(join(sysDir, 'dev', 'block', majorMinor)));
        const device = join(devDir, name);
        return (await stat(device)).isBlockDevice() ? device : undefined;
      } catch {
        return undefined;
      }
    },
    async majorMinorOf(device) {
      const { rdev } = await stat(device, { bigint: true });
      // Linux dev_t encoding (glibc gnu_dev_major/minor).
      const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
      const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
      return `${major}:${minor}`;
    },
    rescanDeviceSize: (device) => rescanDeviceSize(run, device, sysDir),
    deviceSize: (device) => deviceSizeBytes(run, device),
    growFilesystem: (fsType, device, mountPoint) => growFilesystem(run, fsType, device, mountPoint),
    filesystemGeometry: (fsType, device, mountPoint) => filesystemGeometry(run, fsType, device, mountPoint),
    usage: filesystemUsage,
  };
}

export type { DeviceContent, FsGeometry, FsUsage, MountEntry, Mounter, Runner, CommandObserver, SupportedFsType };
