/** Fast unit tests of the controller's pure logic (no vCenter, no gRPC). */
import { describe, expect, test } from '@jest/globals';
import { GrpcCode, CsiError } from '../../src/csi/errors.js';
import { parseVolumeParameters } from '../../src/controller/parameters.js';
import { resolveCapacity, DEFAULT_VOLUME_BYTES, MIB, GIB } from '../../src/controller/capacity.js';
import { checkCapabilities, accessTypeOf } from '../../src/controller/capabilities.js';
import { decodePageToken, encodePageToken, pageAcross } from '../../src/controller/paging.js';

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
  const one = (list: string[]) => (source: number) => Promise.resolve(source === 0 ? list : []);
  const page = async (list: string[], token: string | undefined, max: number) => {
    const p = await pageAcross(['vc'], one(list), (x) => x, token, max);
    return { items: p.items.map((i) => i.item), nextToken: p.nextToken };
  };
  test('round trip and pages', async () => {
    expect(decodePageToken(encodePageToken('vc-b', 'vol-1'), ['vc-a', 'vc-b'])).toEqual({ source: 1, after: 'vol-1' });
    const p1 = await page(ids, '', 2);
    expect(p1.items).toEqual(['a', 'b']);
    const p2 = await page(ids, p1.nextToken, 2);
    expect(p2.items).toEqual(['c', 'd']);
    const p3 = await page(ids, p2.nextToken, 2);
    expect(p3).toEqual({ items: ['e'], nextToken: '' });
    expect(await page(ids, undefined, 0)).toEqual({ items: ids, nextToken: '' });
  });
  test('pages stay correct when items change between calls', async () => {
    const p1 = await page(ids, '', 2);
    // 'a' deleted and 'bb' created after page 1: page 2 starts right after 'b'.
    const p2 = await page(['b', 'bb', 'c', 'd', 'e'], p1.nextToken, 2);
    expect(p2.items).toEqual(['bb', 'c']);
  });
  test('pages run on across sources, loading each only when reached; a v1 token continues in the first', async () => {
    const lists: Record<number, string[]> = { 0: ['a1', 'a2', 'a3'], 1: [], 2: ['c1', 'c2'] };
    const loaded: number[] = [];
    const load = (i: number) => {
      loaded.push(i);
      return Promise.resolve(lists[i]!);
    };
    const sources = ['vc-a', 'vc-b', 'vc-c'];
    const p1 = await pageAcross(sources, load, (x) => x, '', 2);
    expect(p1.items).toEqual([{ source: 0, item: 'a1' }, { source: 0, item: 'a2' }]);
    expect(loaded).toEqual([0]);
    const p2 = await pageAcross(sources, load, (x) => x, p1.nextToken, 2);
    expect(p2.items).toEqual([{ source: 0, item: 'a3' }, { source: 2, item: 'c1' }]);
    const p3 = await pageAcross(sources, load, (x) => x, p2.nextToken, 2);
    expect(p3).toEqual({ items: [{ source: 2, item: 'c2' }], nextToken: '' });
    // A page that ends exactly at a source's end points at the next source's start.
    const exact = await pageAcross(sources, load, (x) => x, '', 3);
    expect(decodePageToken(exact.nextToken, sources)).toEqual({ source: 1, after: '' });
    expect(decodePageToken(Buffer.from('v1:a2').toString('base64url'), sources)).toEqual({ source: 0, after: 'a2' });
  });
  test('invalid tokens are ABORTED', () => {
    const sources = ['vc-a'];
    expect(codeOf(() => decodePageToken('garbage!', sources))).toBe(GrpcCode.ABORTED);
    expect(codeOf(() => decodePageToken(Buffer.from('x:1').toString('base64url'), sources))).toBe(GrpcCode.ABORTED);
    expect(codeOf(() => decodePageToken(Buffer.from('v1:').toString('base64url'), sources))).toBe(GrpcCode.ABORTED);
    expect(codeOf(() => decodePageToken(Buffer.from('v2:no-newline').toString('base64url'), sources))).toBe(GrpcCode.ABORTED);
    // A vCenter removed from the config between pages.
    expect(codeOf(() => decodePageToken(encodePageToken('vc-gone', 'x'), sources))).toBe(GrpcCode.ABORTED);
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
