import { describe, expect, test } from '@jest/globals';
import { CsiError, GrpcCode } from '../../src/csi/errors.js';
import {
  parseInt64,
  parseSafeInt64,
  requireAbsolutePath,
  requireEnum,
  requireString,
  optionalString,
  validateCapacityRange,
  validateStringMap,
  validateVolumeCapabilities,
  validateVolumeCapability,
} from '../../src/csi/validate.js';

/** Runs fn and returns the CsiError it throws (fails the test otherwise). */
function errorOf(fn: () => unknown): CsiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CsiError);
    return err as CsiError;
  }
  throw new Error('expected a CsiError');
}

const mount = (extra: object = {}) => ({ access_mode: { mode: 'SINGLE_NODE_WRITER' }, mount: { fs_type: '', mount_flags: [], ...extra } });

describe('requireString / optionalString', () => {
  test('accepts ids up to 128 bytes and returns them unchanged', () => {
    expect(requireString('a'.repeat(128), 'volume_id')).toBe('a'.repeat(128));
    expect(optionalString('', 'node_id')).toBeUndefined();
  });
  test.each([
    [undefined, 'volume_id: is required'],
    ['', 'volume_id: is required'],
    ['a'.repeat(129), 'volume_id: is 129 bytes long; the limit is 128 bytes'],
    ['é'.repeat(65), 'volume_id: is 130 bytes long'],
    ['ab\u0001c', 'volume_id: contains control characters'],
    [42, 'volume_id: must be a string, got number'],
  ])('%j → INVALID_ARGUMENT naming the field', (value, message) => {
    const err = errorOf(() => requireString(value, 'volume_id'));
    expect(err.code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(err.message).toContain(message);
  });
});

describe('parseInt64', () => {
  test.each([
    ['0', 0n],
    ['1073741824', 1073741824n],
    ['9223372036854775807', 9223372036854775807n],
    [undefined, 0n],
    [5, 5n],
  ])('%j → %s', (value, expected) => {
    expect(parseInt64(value, 'capacity_range.required_bytes')).toBe(expected);
  });
  test.each(['abc', '-1', '1e3', ' 1', '01', '1.5', '9223372036854775808', '99999999999999999999', ''])('rejects %j', (value) => {
    const err = errorOf(() => parseInt64(value, 'capacity_range.required_bytes'));
    expect(err.code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(err.message.startsWith('capacity_range.required_bytes: ')).toBe(true);
  });
  test('rejects negative and fractional numbers and zero when positive is required', () => {
    expect(errorOf(() => parseInt64(-1, 'x')).message).toContain('non-negative integer');
    expect(errorOf(() => parseInt64(1.5, 'x')).message).toContain('non-negative integer');
    expect(errorOf(() => parseInt64('0', 'x', { positive: true })).message).toBe('x: must be greater than 0');
  });
  test('parseSafeInt64 refuses values a JS number cannot hold exactly (OUT_OF_RANGE)', () => {
    expect(parseSafeInt64('9007199254740991', 'x')).toBe(9007199254740991);
    expect(errorOf(() => parseSafeInt64('9007199254740993', 'x')).code).toBe(GrpcCode.OUT_OF_RANGE);
  });
});

describe('requireEnum', () => {
  const modes = ['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY'] as const;
  test('accepts a listed value', () => {
    expect(requireEnum('SINGLE_NODE_WRITER', 'mode', modes)).toBe('SINGLE_NODE_WRITER');
  });
  test.each([
    ['UNKNOWN', 'mode: is unset (UNKNOWN); use one of SINGLE_NODE_WRITER, SINGLE_NODE_READER_ONLY'],
    [undefined, 'mode: is unset (UNKNOWN)'],
    [99, "mode: is '99'"],
    ['MULTI_NODE_MULTI_WRITER', "mode: is 'MULTI_NODE_MULTI_WRITER'; use one of"],
  ])('rejects %j', (value, message) => {
    expect(errorOf(() => requireEnum(value, 'mode', modes)).message).toContain(message);
  });
});

describe('validateVolumeCapability', () => {
  test('block and mount capabilities are narrowed', () => {
    expect(validateVolumeCapability({ access_mode: { mode: 'SINGLE_NODE_WRITER' }, block: {} }, 'c')).toEqual({
      accessMode: 'SINGLE_NODE_WRITER',
      accessType: 'block',
    });
    expect(validateVolumeCapability(mount({ fs_type: 'XFS', mount_flags: ['noatime'] }), 'c')).toEqual({
      accessMode: 'SINGLE_NODE_WRITER',
      accessType: 'mount',
      fsType: 'xfs',
      mountFlags: ['noatime'],
      volumeMountGroup: '',
    });
  });
  test.each([
    [null, 'volume_capabilities[0]: is required'],
    [{ mount: {} }, 'volume_capabilities[0].access_mode: is required'],
    [{ access_mode: { mode: 'UNKNOWN' }, mount: {} }, 'volume_capabilities[0].access_mode.mode: is unset (UNKNOWN)'],
    [{ access_mode: { mode: 'SINGLE_NODE_WRITER' } }, 'volume_capabilities[0]: must set exactly one access type: block or mount'],
    [{ access_mode: { mode: 'SINGLE_NODE_WRITER' }, block: {}, mount: {} }, 'must set exactly one access type'],
    [mount({ fs_type: 'ntfs' }), "volume_capabilities[0].mount.fs_type: 'ntfs' is not supported; use one of ext4, ext3, xfs"],
    [mount({ mount_flags: [''] }), 'volume_capabilities[0].mount.mount_flags[0]: must be a non-empty string'],
    [mount({ mount_flags: ['a b'] }), 'volume_capabilities[0].mount.mount_flags[0]: must not contain whitespace'],
    [mount({ mount_flags: Array.from({ length: 50 }, () => 'x'.repeat(100)) }), 'mount_flags: total 5000 bytes exceeds 4096 bytes'],
  ])('%j → %s', (cap, message) => {
    const err = errorOf(() => validateVolumeCapability(cap, 'volume_capabilities[0]'));
    expect(err.code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(err.message).toContain(message);
  });
  test('a restricted set of access modes is enforced', () => {
    const cap = { access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' }, block: {} };
    expect(errorOf(() => validateVolumeCapability(cap, 'volume_capability', { accessModes: ['SINGLE_NODE_WRITER'] })).message).toBe(
      "volume_capability.access_mode.mode: is 'MULTI_NODE_MULTI_WRITER'; use one of SINGLE_NODE_WRITER",
    );
  });
  test('the list must be non-empty and names the failing index', () => {
    expect(errorOf(() => validateVolumeCapabilities([])).message).toContain('volume_capabilities: is required');
    const err = errorOf(() => validateVolumeCapabilities([mount(), { access_mode: { mode: 'UNKNOWN' }, block: {} }]));
    expect(err.message.startsWith('volume_capabilities[1].access_mode.mode')).toBe(true);
  });
  test('a sensitive mount flag is never echoed in the message', () => {
    const err = errorOf(() => validateVolumeCapability(mount({ mount_flags: ['password=hunter2 x'] }), 'c'));
    expect(err.message).not.toContain('hunter2');
  });
});

describe('validateStringMap', () => {
  test('unset → {} and string maps pass through', () => {
    expect(validateStringMap(undefined, 'parameters')).toEqual({});
    expect(validateStringMap({ a: 'b' }, 'parameters')).toEqual({ a: 'b' });
  });
  test('bounded at 4 KiB and never echoes values', () => {
    const err = errorOf(() => validateStringMap({ password: 's3cret'.repeat(1000) }, 'secrets'));
    expect(err.message).toBe('secrets: holds 6008 bytes of keys and values; the limit is 4096 bytes');
    expect(errorOf(() => validateStringMap({ k: 1 }, 'parameters')).message).toBe('parameters["k"]: must be a string value');
    expect(errorOf(() => validateStringMap({}, 'publish_context', { required: true })).message).toContain('is required');
  });
});

describe('requireAbsolutePath', () => {
  test('accepts clean absolute paths and strips a trailing slash', () => {
    expect(requireAbsolutePath('/var/lib/kubelet/pods/x/mount', 'target_path')).toBe('/var/lib/kubelet/pods/x/mount');
    expect(requireAbsolutePath('/var/lib/kubelet/', 'target_path', { under: '/var/lib/kubelet' })).toBe('/var/lib/kubelet');
    expect(requireAbsolutePath('/' + 'a'.repeat(200) + '/' + 'b'.repeat(100), 'target_path')).toHaveLength(302);
  });
  test.each([
    ['relative/path', "target_path: 'relative/path' must be an absolute path"],
    ['/a/../etc', "must not contain '.' or '..' segments"],
    ['/a/./b', "must not contain '.' or '..' segments"],
    ['/a//b', 'is not a clean path'],
    ['/a/' + 'n'.repeat(256), 'has a path component longer than 255 bytes'],
    ['/a/\0b', 'control characters'],
    ['/etc/passwd', 'must lie under /var/lib/kubelet'],
    ['/var/lib/kubeletX/a', 'must lie under /var/lib/kubelet'],
  ])('%j is rejected', (path, message) => {
    const err = errorOf(() => requireAbsolutePath(path, 'target_path', { under: '/var/lib/kubelet' }));
    expect(err.code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(err.message).toContain(message);
  });
});

describe('validateCapacityRange', () => {
  test('unset → undefined; values parsed as bigint', () => {
    expect(validateCapacityRange(null)).toBeUndefined();
    expect(validateCapacityRange({ required_bytes: '1048576', limit_bytes: '0' })).toEqual({ requiredBytes: 1048576n, limitBytes: 0n });
  });
  test('limit below required → OUT_OF_RANGE; garbage → INVALID_ARGUMENT naming the sub-field', () => {
    expect(errorOf(() => validateCapacityRange({ required_bytes: '10', limit_bytes: '5' })).code).toBe(GrpcCode.OUT_OF_RANGE);
    expect(errorOf(() => validateCapacityRange({ required_bytes: '-1' })).message).toContain('capacity_range.required_bytes:');
  });
});
