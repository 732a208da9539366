/**
 * CreateVolume/ControllerExpandVolume capacity_range → a size in whole MiB
 * (CNS sizes are MiB), following the CSI rules for required/limit.
 */
import { invalidArgument, outOfRange } from '../csi/errors.js';

export const MIB = 1024n * 1024n;
export const GIB = 1024n * MIB;
/** Size of a volume created without a capacity range, as the reference driver. */
export const DEFAULT_VOLUME_BYTES = 10n * GIB;

export interface CapacityRangeInput {
  required_bytes?: string | number | null;
  limit_bytes?: string | number | null;
}

function parseBytes(field: string, raw: string | number | null | undefined): bigint {
  if (raw === null || raw === undefined || raw === '') return 0n;
  const text = String(raw);
  if (!/^-?\d+$/.test(text)) throw invalidArgument(`${field}: "${text}" is not an integer number of bytes`);
  const value = BigInt(text);
  if (value < 0n) throw invalidArgument(`${field}: ${text} is negative; give a size in bytes >= 0`);
  return value;
}

export function roundUpToMiB(bytes: bigint): bigint {
  return ((bytes + MIB - 1n) / MIB) * MIB;
}

/**
 * Bytes to allocate (a MiB multiple). `fieldPrefix` names the request field
 * in messages ("capacity_range").
 */
export function resolveCapacity(range: CapacityRangeInput | null | undefined, fieldPrefix = 'capacity_range'): bigint {
  const required = parseBytes(`${fieldPrefix}.required_bytes`, range?.required_bytes);
  const limit = parseBytes(`${fieldPrefix}.limit_bytes`, range?.limit_bytes);
  if (limit > 0n && required > limit) {
    // OUT_OF_RANGE, as src/csi/validate.ts answers the same case.
    throw outOfRange(
      `${fieldPrefix}: required_bytes ${required} is larger than limit_bytes ${limit}; make required_bytes <= limit_bytes`,
    );
  }
  let size: bigint;
  if (required > 0n) size = roundUpToMiB(required);
  else if (limit > 0n) size = DEFAULT_VOLUME_BYTES < limit ? DEFAULT_VOLUME_BYTES : (limit / MIB) * MIB;
  else size = DEFAULT_VOLUME_BYTES;
  if (size === 0n || (limit > 0n && size > limit)) {
    throw outOfRange(
      `${fieldPrefix}: volumes are allocated in whole MiB; no MiB multiple fits between required_bytes ${required} and limit_bytes ${limit}`,
    );
  }
  return size;
}

export function bytesToMiB(bytes: bigint): number {
  return Number(bytes / MIB);
}

export function mibToBytes(mib: number | bigint): bigint {
  return BigInt(mib) * MIB;
}
