/** Pure logic of the Node service: parsers, identity, flag compatibility, request narrowing. */
import { describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { readNodeLabels } from '../../src/node/labels-config.js';
import { CsiError, GrpcCode } from '../../src/csi/errors.js';
import { describeMismatch, mountFlagMismatch } from '../../src/node/mount-compat.js';
import { normalizeUuid, uuidFromVmwareSerial } from '../../src/node/node-id.js';
import { CommandError } from '../../src/node/os/exec.js';
import { mkfsArgs } from '../../src/node/os/format.js';
import { findMount, isEmergencyReadOnly, parseMountInfo, unescapeMountField, type MountEntry } from '../../src/node/os/mountinfo.js';
import { classifyBlkid } from '../../src/node/os/probe.js';
import { missingTools } from '../../src/node/os/tools.js';
import { requireCapability, requireDiskUuid, requirePath, splitMountFlags } from '../../src/node/requests.js';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro',
  '42 22 7:0 / /var/lib/kubelet/plugins/kubernetes.io/csi/pv/pv\\0401/globalmount rw,noatime shared:7 master:2 - ext4 /dev/loop0 rw',
  '43 22 7:0 / /var/lib/kubelet/pods/p/volumes/kubernetes.io~csi/pv\\0401/mount ro,noatime - ext4 /dev/loop0 rw',
  '44 22 0:6 /loop1 /var/lib/kubelet/pods/p/volumeDevices/dev rw,relatime - devtmpfs devtmpfs rw,size=100k',
  '45 22 7:2 / /stacked rw - xfs /dev/loop2 rw',
  '46 22 7:3 / /stacked rw - xfs /dev/loop3 rw,emergency_ro',
].join('\n');

describe('mountinfo', () => {
  const table = parseMountInfo(MOUNTINFO);

  test('parses fields, optional fields and octal escapes', () => {
    expect(table).toHaveLength(6);
    expect(table[1]).toMatchObject({
      mountId: 42,
      parentId: 22,
      majorMinor: '7:0',
      root: '/',
      mountPoint: '/var/lib/kubelet/plugins/kubernetes.io/csi/pv/pv 1/globalmount',
      mountOptions: ['rw', 'noatime'],
      fsType: 'ext4',
      source: '/dev/loop0',
      superOptions: ['rw'],
    });
    expect(table[3]!.root).toBe('/loop1');
    expect(unescapeMountField('a\\011b\\012c\\134d')).toBe('a\tb\nc\\d');
  });

  test('findMount returns the topmost of stacked mounts', () => {
    expect(findMount(table, '/stacked')?.source).toBe('/dev/loop3');
    expect(findMount(table, '/nope')).toBeUndefined();
  });

  test('a read-write mount whose superblock went read-only is an emergency', () => {
    expect(isEmergencyReadOnly(table[5]!)).toBe(true);
    expect(isEmergencyReadOnly(table[2]!)).toBe(false); // deliberately read-only bind
    expect(isEmergencyReadOnly({ ...table[4]!, superOptions: ['ro'] })).toBe(true);
  });

  test('rejects a malformed line', () => {
    expect(() => parseMountInfo('1 2 3')).toThrow('malformed mountinfo line');
  });
});

describe('blkid classification', () => {
  test.each([
    [2, '', { kind: 'blank' }],
    [0, 'DEVNAME=/dev/sdb\nUUID=x\nTYPE=ext4\nUSAGE=filesystem\n', { kind: 'filesystem', fsType: 'ext4' }],
    [0, 'DEVNAME=/dev/sdb\nTYPE=xfs\n', { kind: 'filesystem', fsType: 'xfs' }],
    [0, 'DEVNAME=/dev/sdb\nPTUUID=abc\nPTTYPE=gpt\n', { kind: 'partition-table', ptType: 'gpt' }],
    [0, 'DEVNAME=/dev/sdb\nTYPE=swap\nUSAGE=other\n', { kind: 'other', description: 'swap (other)' }],
    [0, 'DEVNAME=/dev/sdb\nTYPE=LVM2_member\nUSAGE=raid\n', { kind: 'other', description: 'LVM2_member (raid)' }],
    [8, '', { kind: 'other', description: 'several competing signatures (blkid -p is ambivalent)' }],
  ])('exit %i %j', (code, stdout, expected) => {
    expect(classifyBlkid(code, stdout)).toEqual(expected);
  });

  test('mkfs flags follow k8s mount-utils', () => {
    expect(mkfsArgs('ext4', '/dev/sdb')).toEqual(['-F', '-m0', '/dev/sdb']);
    expect(mkfsArgs('ext3', '/dev/sdb')).toEqual(['-F', '-m0', '/dev/sdb']);
    expect(mkfsArgs('xfs', '/dev/sdb')).toEqual(['/dev/sdb']);
  });
});

describe('node id', () => {
  test('VMware serial → lowercase dashed BIOS UUID', () => {
    expect(uuidFromVmwareSerial('VMware-42 1E 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6\n')).toBe('421e8c4a-2b3c-4d5e-6f70-8192a3b4c5d6');
    expect(uuidFromVmwareSerial('VMware-42 1e')).toBeUndefined();
    expect(uuidFromVmwareSerial('Dell 1234')).toBeUndefined();
  });
  test('product_uuid is normalized', () => {
    expect(normalizeUuid('421E8C4A-2B3C-4D5E-6F70-8192A3B4C5D6\n')).toBe('421e8c4a-2b3c-4d5e-6f70-8192a3b4c5d6');
    expect(normalizeUuid('not-a-uuid')).toBeUndefined();
  });
});

describe('mount flag compatibility', () => {
  const entry = (mountOptions: string[], superOptions: string[] = ['rw']): MountEntry => ({
    mountId: 1, parentId: 0, majorMinor: '7:0', root: '/', mountPoint: '/m', mountOptions, fsType: 'ext4', source: '/dev/loop0', superOptions,
  });
  test('same VFS flags are compatible; defaults are ignored', () => {
    expect(mountFlagMismatch(entry(['rw', 'noatime']), ['noatime', 'defaults'], false)).toBeUndefined();
    expect(mountFlagMismatch(entry(['ro', 'relatime']), [], true)).toBeUndefined();
  });
  test('a missing or extra VFS flag is a mismatch', () => {
    expect(mountFlagMismatch(entry(['rw', 'relatime']), ['noatime'], false)).toEqual({ flag: 'noatime', wanted: true });
    const extra = mountFlagMismatch(entry(['rw', 'noexec']), [], false)!;
    expect(describeMismatch(extra)).toContain('"noexec"');
    expect(mountFlagMismatch(entry(['rw']), [], true)).toEqual({ flag: 'ro', wanted: true });
  });
  test('a bind inherits its source mount\'s VFS flags', () => {
    const staging = entry(['rw', 'noatime']);
    expect(mountFlagMismatch(entry(['rw', 'noatime']), [], false, staging)).toBeUndefined();
    expect(mountFlagMismatch(entry(['ro', 'noatime']), [], false, staging)).toEqual({ flag: 'ro', wanted: false });
  });
  test('filesystem flags are compared when the superblock reports them', () => {
    expect(mountFlagMismatch(entry(['rw'], ['rw', 'data=ordered']), ['data=journal'], false)).toEqual({ flag: 'data', wanted: true });
    expect(mountFlagMismatch(entry(['rw'], ['rw', 'data=journal']), ['data=journal'], false)).toBeUndefined();
    expect(mountFlagMismatch(entry(['rw'], ['rw']), ['discard'], false)).toBeUndefined(); // not reported: cannot tell
    const selinux = 'context="system_u:object_r:container_file_t:s0:c0,c1"';
    expect(mountFlagMismatch(entry(['rw'], ['rw', 'context="system_u:object_r:container_file_t:s0:c0', 'c1"']), [selinux], false)).toBeUndefined();
  });
});

test('mount options never reach an error message', () => {
  const error = new CommandError('mount', ['-t', 'ext4', '-o', 'noatime,secret=hunter2', '/dev/sdb', '/m'], 32, 'wrong fs type', false, false);
  expect(error.message).toBe('mount -t ext4 -o <options> /dev/sdb /m exited with 32: wrong fs type');
});

describe('request narrowing', () => {
  const invalid = (fn: () => unknown, field: string): void => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(CsiError);
      expect((error as CsiError).code).toBe(GrpcCode.INVALID_ARGUMENT);
      expect((error as CsiError).message).toContain(field);
      return;
    }
    throw new Error('expected INVALID_ARGUMENT');
  };

  test('paths must be absolute and clean', () => {
    expect(requirePath('/var/lib/kubelet/x', 'target_path')).toBe('/var/lib/kubelet/x');
    invalid(() => requirePath('var/x', 'target_path'), 'target_path');
    invalid(() => requirePath('/a/../b', 'target_path'), 'target_path');
    invalid(() => requirePath('/a//b', 'target_path'), 'target_path');
    invalid(() => requirePath('/', 'target_path'), 'target_path');
    invalid(() => requirePath(undefined, 'staging_target_path'), 'staging_target_path');
  });

  test('diskUUID is required and must be 32 hex digits', () => {
    expect(requireDiskUuid({ diskUUID: '6000C29ABCDEF0123456789ABCDEF012' })).toBe('6000c29abcdef0123456789abcdef012');
    invalid(() => requireDiskUuid({}), 'publish_context.diskUUID');
    invalid(() => requireDiskUuid(null), 'publish_context.diskUUID');
    invalid(() => requireDiskUuid({ diskUUID: '6000c29-not-hex' }), 'publish_context.diskUUID');
  });

  test('capabilities: mount, block, reader-only modes, multi-writer refused', () => {
    expect(requireCapability({ access_mode: { mode: 'SINGLE_NODE_WRITER' }, mount: { fs_type: 'XFS', mount_flags: ['noatime,nodev'] } })).toEqual({
      kind: 'mount', fsType: 'xfs', mountFlags: ['noatime', 'nodev'], readerOnly: false,
    });
    expect(requireCapability({ access_mode: { mode: 'MULTI_NODE_READER_ONLY' }, block: {} })).toMatchObject({ kind: 'block', readerOnly: true });
    invalid(() => requireCapability({ access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' }, block: {} }), 'access_mode.mode');
    invalid(() => requireCapability({ access_mode: { mode: 'SINGLE_NODE_WRITER' } }), 'volume_capability');
    invalid(() => requireCapability({ access_mode: { mode: 'SINGLE_NODE_WRITER' }, mount: { fs_type: 'ntfs' } }), 'fs_type');
  });

  test('mount flags are split on commas and operation-changing flags are refused', () => {
    expect(splitMountFlags(['a,b', 'c', ',d,'], 'f')).toEqual(['a', 'b', 'c', 'd']);
    expect(splitMountFlags(['noatime,context="system_u:object_r:container_file_t:s0:c0,c1"'], 'f')).toEqual([
      'noatime',
      'context="system_u:object_r:container_file_t:s0:c0,c1"',
    ]);
    invalid(() => splitMountFlags(['noatime,remount'], 'volume_capability.mount.mount_flags'), 'mount_flags[0]');
  });
});

describe('tool check', () => {
  test('names the programs missing from PATH', async () => {
    expect(await missingTools(process.env.PATH, ['mount', 'no-such-program-xyz'])).toEqual(['no-such-program-xyz']);
    expect(await missingTools('', ['mount'])).toEqual(['mount']);
  });
});

describe('readNodeLabels', () => {
  test('reads [Labels] without a vCenter, and applies the same checks as controller mode', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'node-labels-'));
    try {
      const conf = join(dir, 'csi-vsphere.conf');
      expect(await readNodeLabels(join(dir, 'missing.conf'), silentLogger, {})).toBeUndefined();
      await writeFile(conf, '[Labels]\ntopology-categories = k8s-zone, k8s-region\n');
      expect(await readNodeLabels(conf, silentLogger, {})).toEqual({ topologyCategories: ['k8s-zone', 'k8s-region'], zone: undefined, region: undefined });
      await writeFile(conf, '[Labels]\ntopology-categories = k8s-zone\nzone = z\n');
      await expect(readNodeLabels(conf, silentLogger, {})).rejects.toThrow('cannot be combined with zone/region');
      await writeFile(conf, `[Labels]\ntopology-categories = ${Array.from({ length: 6 }, (_, i) => `c${i}`).join(',')}\n`);
      await expect(readNodeLabels(conf, silentLogger, {})).rejects.toThrow('at most');
      // The controller's VSPHERE_LABEL_* overrides apply here too, with or without a file.
      const env = { VSPHERE_LABEL_ZONE: 'k8s-zone', VSPHERE_LABEL_REGION: 'k8s-region' };
      expect(await readNodeLabels(join(dir, 'missing.conf'), silentLogger, env)).toEqual({ topologyCategories: [], zone: 'k8s-zone', region: 'k8s-region' });
      await writeFile(conf, '[Labels]\nzone = file-zone\nregion = file-region\n');
      expect(await readNodeLabels(conf, silentLogger, { VSPHERE_LABEL_ZONE: 'env-zone' })).toEqual({ topologyCategories: [], zone: 'env-zone', region: 'file-region' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
