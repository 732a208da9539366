/**
 * CSI snapshot ids and the pure rules around snapshots: the id format, the
 * per-volume limit that applies to a volume's datastore, and the restored
 * volume's size.
 *
 * A CSI snapshot id is `<CNS volume id>+<CNS snapshot id>`, the format the
 * reference driver writes into VolumeSnapshotContents, so snapshots taken by
 * it keep working after a switch (both parts are UUIDs; the id is split on
 * its first '+').
 */
import { outOfRange } from '../csi/errors.js';
import type { SnapshotConfig } from '../config/types.js';
import { MIB, roundUpToMiB } from './capacity.js';

export interface SnapshotRef {
  volumeId: string;
  snapshotId: string;
}

export function formatSnapshotId(volumeId: string, snapshotId: string): string {
  return `${volumeId}+${snapshotId}`;
}

/** The two parts, or undefined when the id is not of that form (empty parts, no '+'). */
export function parseSnapshotId(id: string | null | undefined): SnapshotRef | undefined {
  if (!id) return undefined;
  const plus = id.indexOf('+');
  if (plus <= 0 || plus === id.length - 1) return undefined;
  const volumeId = id.slice(0, plus);
  const snapshotId = id.slice(plus + 1);
  if (/\s/.test(volumeId) || /\s/.test(snapshotId)) return undefined;
  return { volumeId, snapshotId };
}

/** vSphere keeps at most 32 snapshots per first-class disk; a configured limit above that cannot be reached. */
export const VSPHERE_MAX_SNAPSHOTS = 32;

export type DatastoreKind = 'vsan' | 'vvol';

/**
 * vSAN or vVol, from the datastore's summary.type ("vsan", "VVOL") when the
 * inventory has it, else from the volume's datastore URL
 * (ds:///vmfs/volumes/vsan:<uuid>/, ds:///vmfs/volumes/vvol:<uuid>/);
 * undefined for anything else (VMFS, NFS...).
 */
export function datastoreKind(url: string | undefined, type?: string): DatastoreKind | undefined {
  const t = (type ?? '').toLowerCase();
  if (t === 'vsan') return 'vsan';
  if (t === 'vvol') return 'vvol';
  const u = (url ?? '').toLowerCase();
  if (/^ds:\/\/\/vmfs\/volumes\/vsan:/.test(u)) return 'vsan';
  if (/^ds:\/\/\/vmfs\/volumes\/vvol:/.test(u)) return 'vvol';
  return undefined;
}

export interface SnapshotLimit {
  /** Snapshots a volume may have. */
  max: number;
  /** The csi-vsphere.conf key it comes from, for messages. */
  key: string;
  /** The configured value, when vSphere's own maximum lowered it. */
  configured?: number;
}

export const DEFAULT_SNAPSHOT_CONFIG: SnapshotConfig = { globalMaxSnapshotsPerBlockVolume: 3 };

/** The `[Snapshot]` limit for a volume on a datastore of this kind: the granular key of its kind when set, else the global one. */
export function snapshotLimit(config: SnapshotConfig | undefined, kind: DatastoreKind | undefined): SnapshotLimit {
  const c = config ?? DEFAULT_SNAPSHOT_CONFIG;
  let max = c.globalMaxSnapshotsPerBlockVolume || DEFAULT_SNAPSHOT_CONFIG.globalMaxSnapshotsPerBlockVolume;
  let key = 'global-max-snapshots-per-block-volume';
  if (kind === 'vsan' && c.granularMaxSnapshotsPerBlockVolumeVsan) {
    max = c.granularMaxSnapshotsPerBlockVolumeVsan;
    key = 'granular-max-snapshots-per-block-volume-vsan';
  } else if (kind === 'vvol' && c.granularMaxSnapshotsPerBlockVolumeVvol) {
    max = c.granularMaxSnapshotsPerBlockVolumeVvol;
    key = 'granular-max-snapshots-per-block-volume-vvol';
  }
  if (max > VSPHERE_MAX_SNAPSHOTS) return { max: VSPHERE_MAX_SNAPSHOTS, key, configured: max };
  return { max, key };
}

/** FAILED_PRECONDITION text when a volume that has `count` snapshots may not get another; undefined when it may. */
export function limitProblem(volumeId: string, count: number, limit: SnapshotLimit, kind: DatastoreKind | undefined): string | undefined {
  if (count < limit.max) return undefined;
  const on = kind ? ` (a ${kind === 'vsan' ? 'vSAN' : 'vVol'} datastore)` : '';
  const source = limit.configured
    ? `vSphere's maximum of ${VSPHERE_MAX_SNAPSHOTS} snapshots per disk (the [Snapshot] ${limit.key} = ${limit.configured} cannot be reached)`
    : `the limit of ${limit.max} set by [Snapshot] ${limit.key} in csi-vsphere.conf`;
  return `volume ${volumeId}${on} has ${count} snapshots, ${source}; delete a VolumeSnapshot of it first${limit.configured ? '' : ', or raise the limit'}`;
}

/**
 * Size of a volume restored from a snapshot of `snapshotBytes`: the
 * snapshot's size without a capacity range, else required_bytes rounded up to
 * MiB; less than the snapshot, or a limit_bytes below the result, is
 * OUT_OF_RANGE.
 */
export function restoreSize(snapshotBytes: bigint, requiredBytes: bigint, limitBytes: bigint, snapshotName: string): bigint {
  const size = requiredBytes > 0n ? roundUpToMiB(requiredBytes) : snapshotBytes;
  if (size < snapshotBytes) {
    throw outOfRange(
      `capacity_range.required_bytes: ${requiredBytes} is smaller than snapshot ${snapshotName} (${snapshotBytes} bytes); a restored volume is at least the size of its snapshot`,
    );
  }
  if (limitBytes > 0n && size > limitBytes) {
    throw outOfRange(
      `capacity_range.limit_bytes: ${limitBytes} is smaller than ${size === snapshotBytes ? `snapshot ${snapshotName} (${snapshotBytes} bytes)` : `${size} bytes (required_bytes in whole MiB)`}; raise limit_bytes`,
    );
  }
  if (size % MIB !== 0n) return roundUpToMiB(size);
  return size;
}
