/**
 * Real disks for Node service tests: sparse files behind loop devices,
 * linked as wwn-0x<uuid> under a temporary by-id folder, and a cleanup
 * that removes every mount under the test root and every loop device it
 * made, even after a failed test.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const exec = promisify(execFile);

/** Why the real-device tests cannot run here, or undefined when they can. */
export function loopUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (mount, losetup)';
  if (!existsSync('/dev/loop-control')) return 'needs loop devices (/dev/loop-control is missing)';
  for (const tool of ['/usr/sbin/mkfs.ext4', '/usr/sbin/mkfs.xfs', '/usr/sbin/losetup']) {
    if (!existsSync(tool) && !existsSync(tool.replace('/usr/sbin', '/sbin'))) return `needs ${tool} (e2fsprogs, xfsprogs, util-linux)`;
  }
  return undefined;
}

/** CAP_SYS_RESOURCE (bit 24) in the effective set: online ext4 resize needs it. */
export function hasCapSysResource(): boolean {
  const status = readFileSync('/proc/self/status', 'utf8');
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  return ((BigInt(`0x${hex}`) >> 24n) & 1n) === 1n;
}

export interface LoopDisk {
  uuid: string;
  device: string;
  backingFile: string;
  link: string;
}

export class LoopLab {
  readonly devices: LoopDisk[] = [];
  private constructor(
    readonly root: string,
    readonly byIdDir: string,
    readonly dmiDir: string,
  ) {}

  static async create(name: string, parentDir: string = tmpdir()): Promise<LoopLab> {
    const root = await mkdtemp(join(parentDir, `csi-node-${name}-`));
    const lab = new LoopLab(root, join(root, 'by-id'), join(root, 'dmi'));
    await mkdir(lab.byIdDir);
    await mkdir(lab.dmiDir);
    await mkdir(join(root, 'disks'));
    return lab;
  }

  /** A new sparse disk on a loop device, linked like an attached vSphere disk. */
  async addDisk(sizeMiB = 64): Promise<LoopDisk> {
    return this.addDiskWithUuid(randomBytes(16).toString('hex'), sizeMiB);
  }

  /** Like addDisk, for a given disk UUID (e.g. a publish context's diskUUID), linked under linkDir. */
  async addDiskWithUuid(uuid: string, sizeMiB: number, linkDir: string = this.byIdDir): Promise<LoopDisk> {
    const backingFile = join(this.root, 'disks', `${uuid}.img`);
    await exec('truncate', ['-s', `${sizeMiB}M`, backingFile]);
    const { stdout } = await exec('losetup', ['--find', '--show', backingFile]);
    const disk = { uuid, device: stdout.trim(), backingFile, link: join(linkDir, `wwn-0x${uuid}`) };
    this.devices.push(disk);
    await symlink(disk.device, disk.link);
    return disk;
  }

  /** Grow the backing file; the kernel learns the size on `losetup -c` (NodeExpandVolume does that). */
  async growDisk(disk: LoopDisk, sizeMiB: number): Promise<void> {
    await truncate(disk.backingFile, sizeMiB * 1024 * 1024);
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  async mountsUnderRoot(): Promise<string[]> {
    const text = await readFile('/proc/self/mountinfo', 'utf8');
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
      .filter((mountPoint) => mountPoint === this.root || mountPoint.startsWith(`${this.root}/`));
  }

  /** Loop devices still backed by a file of this lab. */
  async loopRefs(): Promise<string[]> {
    const { stdout } = await exec('losetup', ['-a']);
    return stdout.split('\n').filter((l) => l.includes(this.root));
  }

  /** Unmount everything under the root (deepest first, repeatedly for stacks), detach loops. */
  async cleanMounts(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const mounts = await this.mountsUnderRoot();
      if (mounts.length === 0) break;
      for (const m of mounts.sort((a, b) => b.length - a.length)) {
        await exec('umount', ['-l', m]).catch(() => undefined);
      }
    }
  }

  async detachDisks(): Promise<void> {
    for (const disk of this.devices.splice(0)) {
      await exec('losetup', ['-d', disk.device]).catch(() => undefined);
    }
    // Any loop still pointing into our root (e.g. made by a failed test mid-way).
    for (const line of await this.loopRefs()) {
      await exec('losetup', ['-d', line.split(':')[0]!]).catch(() => undefined);
    }
  }

  async destroy(): Promise<void> {
    await this.cleanMounts();
    await this.detachDisks();
    const left = await this.mountsUnderRoot();
    // Never recurse into a live mount (it could be a bind of /dev).
    if (left.length > 0) throw new Error(`mounts survived cleanup: ${left.join(', ')}`);
    await rm(this.root, { recursive: true, force: true });
  }
}
