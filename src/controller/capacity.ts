/**
 * CreateVolume/ControllerExpandVolume capacity_range → a size in whole MiB
 * (CNS sizes are MiB), following the CSI rules for required/limit.
 */
import { outOfRange } from '../csi/errors.js';
import { validateCapacityRange, type CapacityRangeValue } from '../csi/validate.js';

export const MIB = 1024n * 1024n;
export const GIB = 1024n * MIB;
/** Size of a volume created without a capacity range, as the reference driver. */
export const DEFAULT_VOLUME_BYTES = 10n * GIB;

export function roundUpToMiB(bytes: bigint): bigint {
  return ((bytes + MIB - 1n) / MIB) * MIB;
}

/**
 * Bytes to allocate (a MiB multiple) for a range validateCapacityRange
 * already checked (integers >= 0, required <= limit). `fieldPrefix` names
 * the request field in messages ("capacity_range").
 */
export function sizeForRange(range: CapacityRangeValue | undefined, fieldPrefix = 'capacity_range'): bigint {
  const required = range?.requiredBytes ?? 0n;
  const limit = range?.limitBytes ?? 0n;
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

/** A raw capacity_range, validated, → bytes to allocate. */
export function resolveCapacity(range: unknown, fieldPrefix = 'capacity_range'): bigint {
  return sizeForRange(validateCapacityRange(range, fieldPrefix), fieldPrefix);
}

export function bytesToMiB(bytes: bigint): number {
  return Number(bytes / MIB);
}

export function mibToBytes(mib: number | bigint): bigint {
  return BigInt(mib) * MIB;
}
