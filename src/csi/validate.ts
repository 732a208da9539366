/**
 * Request validation shared by every CSI handler. proto-loader validates
 * nothing (an int64 "abc" decodes as "0", an unknown enum number arrives as a
 * bare number, unset messages are null), so handlers run every field they
 * read through these helpers. Each failure is an INVALID_ARGUMENT CsiError
 * whose message starts with the field path ("volume_capabilities[0].access_mode.mode")
 * and says what a valid value looks like.
 *
 * Limits (documented in the README):
 * - ids and names: 128 bytes, the spec's general string limit;
 * - paths: 4096 bytes (PATH_MAX), 255 bytes per component (NAME_MAX); kubelet staging paths exceed 128 bytes;
 * - map<string,string>: 4 KiB of keys+values, the spec's map limit;
 * - mount_flags: 4 KiB in total, as the spec says.
 */
import { posix } from 'node:path';
import { CsiError, GrpcCode } from './errors.js';

export const LIMITS = {
  idBytes: 128,
  pathBytes: 4096,
  /** One path component (NAME_MAX). */
  pathComponentBytes: 255,
  mapBytes: 4096,
  mountFlagsBytes: 4096,
  /** int64 maximum: CSI sizes are signed 64-bit. */
  int64Max: (1n << 63n) - 1n,
} as const;

export const ACCESS_MODES = [
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];

/** Filesystems the node plugin can format (mkfs is in the image for these). */
export const DEFAULT_FS_TYPES = ['ext4', 'ext3', 'xfs'] as const;

/** Control characters the spec bans from names (U+0000-8, B, C, E-1F, 7F-9F). */
// eslint-disable-next-line no-control-regex
const BANNED_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

export function fieldError(field: string, problem: string): CsiError {
  return new CsiError(GrpcCode.INVALID_ARGUMENT, `${field}: ${problem}`);
}

export const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

export interface StringRule {
  /** Maximum UTF-8 length; default LIMITS.idBytes. */
  maxBytes?: number;
}

/** A REQUIRED string field (ids, names, node ids). */
export function requireString(value: unknown, field: string, rule: StringRule = {}): string {
  if (value === undefined || value === null || value === '') {
    throw fieldError(field, 'is required and was empty; the CO must set it');
  }
  return checkString(value, field, rule);
}

/** An OPTIONAL string field: empty/unset → undefined, otherwise checked like requireString. */
export function optionalString(value: unknown, field: string, rule: StringRule = {}): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return checkString(value, field, rule);
}

function checkString(value: unknown, field: string, rule: StringRule): string {
  if (typeof value !== 'string') throw fieldError(field, `must be a string, got ${typeof value}`);
  const max = rule.maxBytes ?? LIMITS.idBytes;
  const len = byteLength(value);
  if (len > max) throw fieldError(field, `is ${len} bytes long; the limit is ${max} bytes`);
  if (BANNED_CHARS.test(value)) throw fieldError(field, 'contains control characters, which CSI does not allow');
  return value;
}

/** Shorthand for the ubiquitous REQUIRED `volume_id`. */
export function requireVolumeId(value: unknown, field = 'volume_id'): string {
  return requireString(value, field);
}

export interface Int64Rule {
  /** Reject 0 (the proto3 default, i.e. "unset"). Default false. */
  positive?: boolean;
}

/**
 * An int64 field decoded with longs=String: must be a plain decimal
 * non-negative integer within int64. Rejects "abc", "-1", "1e3", " 1", "01".
 */
export function parseInt64(value: unknown, field: string, rule: Int64Rule = {}): bigint {
  let n: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw fieldError(field, `must be a non-negative integer, got ${value}`);
    n = BigInt(value);
  } else if (typeof value === 'string') {
    if (!/^(0|[1-9][0-9]{0,18})$/.test(value)) {
      throw fieldError(field, `must be a non-negative decimal integer of at most 19 digits, got '${value.slice(0, 40)}'`);
    }
    n = BigInt(value);
    if (n > LIMITS.int64Max) throw fieldError(field, `${value} exceeds the int64 maximum ${LIMITS.int64Max}`);
  } else if (value === undefined || value === null) {
    n = 0n;
  } else {
    throw fieldError(field, `must be an integer, got ${typeof value}`);
  }
  if (rule.positive && n === 0n) throw fieldError(field, 'must be greater than 0');
  return n;
}

/** parseInt64 narrowed to a JS number; values above 2^53-1 are rejected (OUT_OF_RANGE) rather than rounded. */
export function parseSafeInt64(value: unknown, field: string, rule: Int64Rule = {}): number {
  const n = parseInt64(value, field, rule);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CsiError(GrpcCode.OUT_OF_RANGE, `${field}: ${n} is larger than this driver supports (${Number.MAX_SAFE_INTEGER})`);
  }
  return Number(n);
}

/**
 * An enum decoded with enums=String. An unknown number arrives as a bare
 * number, and 'UNKNOWN' (0) means unset: both are rejected.
 */
export function requireEnum<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  const got = value === undefined || value === null || value === 'UNKNOWN' ? 'unset (UNKNOWN)' : `'${String(value)}'`;
  throw fieldError(field, `is ${got}; use one of ${allowed.join(', ')}`);
}

export interface MapRule {
  /** Total bytes of keys and values; default LIMITS.mapBytes. */
  maxBytes?: number;
  /** REQUIRED maps must have at least one entry. */
  required?: boolean;
}

/** A map<string,string> field: size-bounded, string values only. Unset → {}. */
export function validateStringMap(value: unknown, field: string, rule: MapRule = {}): Record<string, string> {
  if (value === undefined || value === null) {
    if (rule.required) throw fieldError(field, 'is required and was empty');
    return {};
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw fieldError(field, 'must be a map of strings');
  const entries = Object.entries(value as Record<string, unknown>);
  if (rule.required && entries.length === 0) throw fieldError(field, 'is required and was empty');
  const max = rule.maxBytes ?? LIMITS.mapBytes;
  let total = 0;
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    // Values are not echoed: maps such as `secrets` must never reach a message.
    if (typeof v !== 'string') throw fieldError(`${field}[${JSON.stringify(k)}]`, 'must be a string value');
    total += byteLength(k) + byteLength(v);
    out[k] = v;
  }
  if (total > max) throw fieldError(field, `holds ${total} bytes of keys and values; the limit is ${max} bytes`);
  return out;
}

export interface PathRule {
  /** When set, the path must equal or lie below this absolute root. */
  under?: string;
}

/** A REQUIRED absolute, clean path (no `..`, `.`, `//`; NUL is a control character requireString refuses), e.g. target_path. */
export function requireAbsolutePath(value: unknown, field: string, rule: PathRule = {}): string {
  const path = requireString(value, field, { maxBytes: LIMITS.pathBytes });
  if (!path.startsWith('/')) throw fieldError(field, `'${path}' must be an absolute path`);
  const segments = path.split('/').slice(1);
  if (segments.some((s) => s === '..' || s === '.')) throw fieldError(field, `'${path}' must not contain '.' or '..' segments`);
  // No filesystem accepts a longer component (NAME_MAX): such a path can never exist or be created.
  if (segments.some((s) => byteLength(s) > LIMITS.pathComponentBytes)) {
    throw fieldError(field, `has a path component longer than ${LIMITS.pathComponentBytes} bytes`);
  }
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (posix.normalize(trimmed) !== trimmed) throw fieldError(field, `'${path}' is not a clean path (repeated '/')`);
  if (rule.under !== undefined) {
    const root = rule.under.endsWith('/') ? rule.under.slice(0, -1) : rule.under;
    if (trimmed !== root && !trimmed.startsWith(`${root}/`)) {
      throw fieldError(field, `'${path}' must lie under ${root}`);
    }
  }
  return trimmed;
}

export interface CapacityRangeValue {
  /** 0n = unspecified. */
  requiredBytes: bigint;
  /** 0n = unspecified (no limit). */
  limitBytes: bigint;
}

/** An OPTIONAL CapacityRange: undefined when unset; limit < required → OUT_OF_RANGE. */
export function validateCapacityRange(value: unknown, field = 'capacity_range'): CapacityRangeValue | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') throw fieldError(field, 'must be a CapacityRange message');
  const v = value as { required_bytes?: unknown; limit_bytes?: unknown };
  const requiredBytes = parseInt64(v.required_bytes, `${field}.required_bytes`);
  const limitBytes = parseInt64(v.limit_bytes, `${field}.limit_bytes`);
  if (limitBytes !== 0n && limitBytes < requiredBytes) {
    throw new CsiError(
      GrpcCode.OUT_OF_RANGE,
      `${field}: limit_bytes ${limitBytes} is smaller than required_bytes ${requiredBytes}; raise the limit or lower the request`,
    );
  }
  return { requiredBytes, limitBytes };
}

export type VolumeCapabilityValue =
  | { accessMode: AccessMode; accessType: 'block' }
  | {
      accessMode: AccessMode;
      accessType: 'mount';
      /** '' when the CO left it to the driver's default. */
      fsType: string;
      mountFlags: string[];
      /** '' when unset. */
      volumeMountGroup: string;
    };

export interface CapabilityRule {
  /** Access modes the handler supports; default all known modes. */
  accessModes?: readonly AccessMode[];
  /** Filesystems accepted for mount access; default DEFAULT_FS_TYPES ('' always allowed). */
  fsTypes?: readonly string[];
}

/** One VolumeCapability: access mode + exactly one of block / mount. */
export function validateVolumeCapability(value: unknown, field: string, rule: CapabilityRule = {}): VolumeCapabilityValue {
  if (value === undefined || value === null || typeof value !== 'object') {
    throw fieldError(field, 'is required: give an access_mode and a block or mount access type');
  }
  const cap = value as { access_mode?: { mode?: unknown } | null; block?: unknown; mount?: unknown; access_type?: unknown };
  if (!cap.access_mode) throw fieldError(`${field}.access_mode`, 'is required');
  const accessMode = requireEnum(cap.access_mode.mode, `${field}.access_mode.mode`, rule.accessModes ?? ACCESS_MODES);
  const hasBlock = cap.block !== undefined && cap.block !== null;
  const hasMount = cap.mount !== undefined && cap.mount !== null;
  if (hasBlock === hasMount) {
    throw fieldError(field, 'must set exactly one access type: block or mount');
  }
  if (hasBlock) return { accessMode, accessType: 'block' };
  const mount = cap.mount as { fs_type?: unknown; mount_flags?: unknown; volume_mount_group?: unknown };
  const fsType = optionalString(mount.fs_type, `${field}.mount.fs_type`, { maxBytes: 32 }) ?? '';
  const fsTypes = rule.fsTypes ?? DEFAULT_FS_TYPES;
  if (fsType !== '' && !fsTypes.includes(fsType.toLowerCase())) {
    throw fieldError(`${field}.mount.fs_type`, `'${fsType}' is not supported; use one of ${fsTypes.join(', ')} (or leave it empty)`);
  }
  const mountFlags = validateMountFlags(mount.mount_flags, `${field}.mount.mount_flags`);
  const volumeMountGroup = optionalString(mount.volume_mount_group, `${field}.mount.volume_mount_group`) ?? '';
  return { accessMode, accessType: 'mount', fsType: fsType.toLowerCase(), mountFlags, volumeMountGroup };
}

function validateMountFlags(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw fieldError(field, 'must be a list of strings');
  let total = 0;
  const flags: string[] = [];
  value.forEach((flag: unknown, i) => {
    // Flags MAY be sensitive (spec), so the value is never echoed.
    if (typeof flag !== 'string' || flag === '') throw fieldError(`${field}[${i}]`, 'must be a non-empty string');
    if (/\s/.test(flag) || BANNED_CHARS.test(flag)) {
      throw fieldError(`${field}[${i}]`, 'must not contain whitespace or control characters');
    }
    total += byteLength(flag);
    flags.push(flag);
  });
  if (total > LIMITS.mountFlagsBytes) throw fieldError(field, `total ${total} bytes exceeds ${LIMITS.mountFlagsBytes} bytes`);
  return flags;
}

/** A REQUIRED repeated VolumeCapability (CreateVolume, ValidateVolumeCapabilities). */
export function validateVolumeCapabilities(
  value: unknown,
  field = 'volume_capabilities',
  rule: CapabilityRule = {},
): VolumeCapabilityValue[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw fieldError(field, 'is required: give at least one volume capability');
  }
  return value.map((cap, i) => validateVolumeCapability(cap, `${field}[${i}]`, rule));
}
