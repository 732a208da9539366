/** Fast unit tests of the controller's pure logic (no vCenter, no gRPC). */
import { describe, expect, test } from '@jest/globals';
import { GrpcCode, CsiError } from '../../src/csi/errors.js';
import { parseVolumeParameters } from '../../src/controller/parameters.js';
import { resolveCapacity, DEFAULT_VOLUME_BYTES, MIB, GIB } from '../../src/controller/capacity.js';
import { checkCapabilities, accessTypeOf } from '../../src/controller/capabilities.js';
import { decodePageToken, encodePageToken, pageAfter } from '../../src/controller/paging.js';

function codeOf(fn: () => unknown): GrpcCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof CsiError) return err.code;
    throw err;
  }
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('StorageClass parameters', () => {
  test('known keys in any case, metadata keys, fstype warned', () => {
    const p = parseVolumeParameters({
      StoragePolicyName: 'gold',
      DATASTOREURL: 'ds:///vmfs/volumes/x/',
      fsType: 'ext4',
      'csi.storage.k8s.io/pvc/name': 'data',
      'csi.storage.k8s.io/pvc/namespace': 'ns',
      'csi.storage.k8s.io/pv/name': 'pvc-1',
    });
    expect(p).toMatchObject({ storagePolicyName: 'gold', datastoreUrl: 'ds:///vmfs/volumes/x/', pvcName: 'data', pvcNamespace: 'ns', pvName: 'pvc-1' });
    expect(p.warnings).toHaveLength(1);
    expect(p.warnings[0]).toContain('deprecated');
  });
  test('unknown key names the key', () => {
    expect(codeOf(() => parseVolumeParameters({ storagepolicy: 'x' }))).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(messageOf(() => parseVolumeParameters({ storagepolicy: 'x' }))).toContain('"storagepolicy"');
    expect(messageOf(() => parseVolumeParameters({ 'csi.storage.k8s.io/fstype': 'x' }))).toContain('csi.storage.k8s.io/fstype');
  });
  test('empty values are rejected', () => {
    expect(codeOf(() => parseVolumeParameters({ storagepolicyname: ' ' }))).toBe(GrpcCode.INVALID_ARGUMENT);
  });
  test('no parameters is fine', () => {
    expect(parseVolumeParameters(null).warnings).toEqual([]);
  });
});

describe('capacity range', () => {
  test('default 10 GiB', () => {
    expect(resolveCapacity(null)).toBe(DEFAULT_VOLUME_BYTES);
    expect(resolveCapacity({ required_bytes: '0', limit_bytes: '0' })).toBe(10n * GIB);
  });
  test('rounds up to MiB', () => {
    expect(resolveCapacity({ required_bytes: '1' })).toBe(MIB);
    expect(resolveCapacity({ required_bytes: String(MIB + 1n) })).toBe(2n * MIB);
    expect(resolveCapacity({ required_bytes: String(5n * GIB) })).toBe(5n * GIB);
  });
  test('limit respected', () => {
    expect(resolveCapacity({ limit_bytes: String(GIB) })).toBe(GIB);
    expect(resolveCapacity({ required_bytes: '1', limit_bytes: String(MIB) })).toBe(MIB);
    expect(codeOf(() => resolveCapacity({ required_bytes: '1', limit_bytes: '1000' }))).toBe(GrpcCode.OUT_OF_RANGE);
    expect(codeOf(() => resolveCapacity({ limit_bytes: '1000' }))).toBe(GrpcCode.OUT_OF_RANGE);
  });
  test('required > limit and garbage', () => {
    expect(codeOf(() => resolveCapacity({ required_bytes: '2000', limit_bytes: '1000' }))).toBe(GrpcCode.OUT_OF_RANGE);
    expect(codeOf(() => resolveCapacity({ required_bytes: '-5' }))).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(messageOf(() => resolveCapacity({ required_bytes: 'abc' }))).toContain('capacity_range.required_bytes');
  });
  test('huge values stay exact', () => {
    expect(resolveCapacity({ required_bytes: '9223372036854775807' })).toBe(((9223372036854775807n + MIB - 1n) / MIB) * MIB);
  });
});

describe('volume capabilities', () => {
  const mount = (mode: string, fs = 'ext4') => ({ mount: { fs_type: fs }, access_type: 'mount', access_mode: { mode } });
  test('single node block and mount are fine', () => {
    expect(codeOf(() => checkCapabilities([mount('SINGLE_NODE_WRITER'), mount('SINGLE_NODE_READER_ONLY', 'xfs'), mount('SINGLE_NODE_WRITER', '')]))).toBe('ok');
    expect(codeOf(() => checkCapabilities([{ block: {}, access_type: 'block', access_mode: { mode: 'SINGLE_NODE_WRITER' } }]))).toBe('ok');
  });
  test('multi node says file volumes are not supported', () => {
    expect(messageOf(() => checkCapabilities([mount('MULTI_NODE_MULTI_WRITER')]))).toMatch(/file volumes are not supported yet/);
    expect(codeOf(() => checkCapabilities([mount('MULTI_NODE_READER_ONLY')]))).toBe(GrpcCode.INVALID_ARGUMENT);
  });
  test('bad fs, missing mode, empty list', () => {
    expect(messageOf(() => checkCapabilities([mount('SINGLE_NODE_WRITER', 'btrfs')]))).toContain('volume_capabilities[0].mount.fs_type');
    expect(codeOf(() => checkCapabilities([{ mount: {}, access_type: 'mount', access_mode: { mode: 'UNKNOWN' } }]))).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(codeOf(() => checkCapabilities([]))).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(codeOf(() => checkCapabilities([{ access_mode: { mode: 'SINGLE_NODE_WRITER' } }]))).toBe(GrpcCode.INVALID_ARGUMENT);
  });
  test('access type', () => {
    expect(accessTypeOf({ block: {}, access_type: 'block' })).toBe('block');
    expect(accessTypeOf({ mount: {} })).toBe('mount');
  });
});

describe('ListVolumes paging tokens', () => {
  const ids = ['a', 'b', 'c', 'd', 'e'];
  test('round trip and pages', () => {
    expect(decodePageToken(encodePageToken('vol-1'))).toBe('vol-1');
    const p1 = pageAfter(ids, (x) => x, '', 2);
    expect(p1.items).toEqual(['a', 'b']);
    const p2 = pageAfter(ids, (x) => x, p1.nextToken, 2);
    expect(p2.items).toEqual(['c', 'd']);
    const p3 = pageAfter(ids, (x) => x, p2.nextToken, 2);
    expect(p3).toEqual({ items: ['e'], nextToken: '' });
    expect(pageAfter(ids, (x) => x, undefined, 0)).toEqual({ items: ids, nextToken: '' });
  });
  test('pages stay correct when items change between calls', () => {
    const p1 = pageAfter(ids, (x) => x, '', 2);
    // 'a' deleted and 'bb' created after page 1: page 2 starts right after 'b'.
    const p2 = pageAfter(['b', 'bb', 'c', 'd', 'e'], (x) => x, p1.nextToken, 2);
    expect(p2.items).toEqual(['bb', 'c']);
  });
  test('invalid tokens are ABORTED', () => {
    expect(codeOf(() => decodePageToken('garbage!'))).toBe(GrpcCode.ABORTED);
    expect(codeOf(() => decodePageToken(Buffer.from('x:1').toString('base64url')))).toBe(GrpcCode.ABORTED);
    expect(codeOf(() => decodePageToken(Buffer.from('v1:').toString('base64url')))).toBe(GrpcCode.ABORTED);
  });
});

describe('publish context and volume condition', () => {
  test('diskUUID is lowercase hex without dashes', async () => {
    const { publishContext } = await import('../../src/controller/publish.js');
    expect(publishContext('6000C298-595B-F457-5739-E9105B2C0C2D')).toEqual({ type: 'vSphere CNS Block Volume', diskUUID: '6000c298595bf4575739e9105b2c0c2d' });
  });
  test('CNS health maps to a volume condition', async () => {
    const { condition } = await import('../../src/controller/volume-ops.js');
    const base = { volumeId: 'v', name: 'n', volumeType: 'BLOCK', entityMetadata: [] };
    expect(condition({ ...base, healthStatus: 'green' }).abnormal).toBe(false);
    expect(condition({ ...base, healthStatus: 'red' })).toMatchObject({ abnormal: true });
    expect(condition({ ...base, datastoreAccessibilityStatus: 'notAccessible', datastoreUrl: 'ds:///x/' }).message).toContain('ds:///x/');
  });
});

describe('CNS volume names', () => {
  test('≤ 80 characters unchanged; longer: readable prefix + hash, ≤ 80, deterministic, and a fixed point', async () => {
    const { cnsVolumeName, fullNameLabels } = await import('../../src/controller/volume-name.js');
    const pvc = 'pvc-3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8';
    expect(cnsVolumeName(pvc)).toBe(pvc);
    expect(cnsVolumeName('x'.repeat(80))).toBe('x'.repeat(80));
    expect(fullNameLabels(pvc)).toEqual({});
    const long = 'y'.repeat(128);
    const mapped = cnsVolumeName(long);
    expect(mapped).toMatch(/^y{47}-[0-9a-f]{32}$/);
    expect(cnsVolumeName(long)).toBe(mapped);
    expect(cnsVolumeName(mapped)).toBe(mapped);
    expect(cnsVolumeName(`${'y'.repeat(127)}z`)).not.toBe(mapped);
    expect(Object.values(fullNameLabels(long))).toEqual([long]);
  });
  test('the prefix never splits a surrogate pair', async () => {
    const { cnsVolumeName } = await import('../../src/controller/volume-name.js');
    const mapped = cnsVolumeName(`${'a'.repeat(46)}\u{1F600}${'b'.repeat(40)}`);
    expect(mapped.length).toBeLessThanOrEqual(80);
    expect(mapped).toMatch(/^a{46}-[0-9a-f]{32}$/);
  });
});
