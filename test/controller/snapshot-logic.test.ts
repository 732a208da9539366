/** Pure snapshot rules: CSI ids (incl. the reference driver's), the limit that applies per datastore kind, restore sizes, the CSI snapshot shape (the name index: snapshot-names.test.ts). */
import { describe, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { CsiError } from '../../src/csi/errors.js';
import {
  VSPHERE_MAX_SNAPSHOTS,
  datastoreKind,
  formatSnapshotId,
  limitProblem,
  parseSnapshotId,
  restoreSize,
  snapshotLimit,
} from '../../src/controller/snapshot-id.js';
import { toCsiSnapshot } from '../../src/controller/snapshot-reads.js';

const MiB = 1024n * 1024n;
const GiB = 1024n * MiB;

describe('snapshot ids', () => {
  test('round trip; the reference driver format "<fcd id>+<snapshot id>" parses on the first +', () => {
    const vol = '6bf1b1e0-5c1a-4c2b-9d5e-1f0e2d3c4b5a';
    const snap = '0ac55a1f-9a2b-4c77-8d2e-3b4c5d6e7f80';
    expect(formatSnapshotId(vol, snap)).toBe(`${vol}+${snap}`);
    expect(parseSnapshotId(`${vol}+${snap}`)).toEqual({ volumeId: vol, snapshotId: snap });
    expect(parseSnapshotId('a+b+c')).toEqual({ volumeId: 'a', snapshotId: 'b+c' });
  });

  test('malformed ids are undefined', () => {
    for (const id of ['', 'no-plus', '+snap', 'vol+', 'vol +snap', undefined, null]) expect(parseSnapshotId(id)).toBeUndefined();
  });
});

describe('per-volume snapshot limit', () => {
  test('datastore kind from summary.type first, then the URL prefix', () => {
    expect(datastoreKind('ds:///vmfs/volumes/vsan:52a1b2c3d4e5f6a7-0011223344556677/')).toBe('vsan');
    expect(datastoreKind('ds:///vmfs/volumes/vvol:1234abcd-5678/')).toBe('vvol');
    expect(datastoreKind('ds:///vmfs/volumes/5f6e7d8c-1234/')).toBeUndefined();
    expect(datastoreKind('ds:///vmfs/volumes/5f6e7d8c-1234/', 'vsan')).toBe('vsan');
    expect(datastoreKind(undefined, 'VVOL')).toBe('vvol');
    expect(datastoreKind('ds:///vmfs/volumes/vsan:x/', 'NFS')).toBe('vsan');
    expect(datastoreKind(undefined, 'VMFS')).toBeUndefined();
  });

  test('global default 3; granular keys apply to their kind only', () => {
    expect(snapshotLimit(undefined, undefined)).toEqual({ max: 3, key: 'global-max-snapshots-per-block-volume' });
    const config = { globalMaxSnapshotsPerBlockVolume: 5, granularMaxSnapshotsPerBlockVolumeVsan: 7, granularMaxSnapshotsPerBlockVolumeVvol: 2 };
    expect(snapshotLimit(config, undefined)).toEqual({ max: 5, key: 'global-max-snapshots-per-block-volume' });
    expect(snapshotLimit(config, 'vsan')).toEqual({ max: 7, key: 'granular-max-snapshots-per-block-volume-vsan' });
    expect(snapshotLimit(config, 'vvol')).toEqual({ max: 2, key: 'granular-max-snapshots-per-block-volume-vvol' });
    expect(snapshotLimit({ globalMaxSnapshotsPerBlockVolume: 4 }, 'vsan')).toEqual({ max: 4, key: 'global-max-snapshots-per-block-volume' });
  });

  test("a configured limit above vSphere's 32 is capped, and the message says why", () => {
    const limit = snapshotLimit({ globalMaxSnapshotsPerBlockVolume: 50 }, undefined);
    expect(limit).toEqual({ max: VSPHERE_MAX_SNAPSHOTS, key: 'global-max-snapshots-per-block-volume', configured: 50 });
    expect(limitProblem('v1', 32, limit, undefined)).toContain("vSphere's maximum of 32");
  });

  test('the problem names the count, the limit and the key; none below the limit', () => {
    const limit = snapshotLimit({ globalMaxSnapshotsPerBlockVolume: 3, granularMaxSnapshotsPerBlockVolumeVsan: 2 }, 'vsan');
    expect(limitProblem('v1', 1, limit, 'vsan')).toBeUndefined();
    const text = limitProblem('v1', 2, limit, 'vsan')!;
    expect(text).toContain('volume v1 (a vSAN datastore) has 2 snapshots');
    expect(text).toContain('limit of 2 set by [Snapshot] granular-max-snapshots-per-block-volume-vsan');
  });
});

describe('restore size', () => {
  const code = (fn: () => unknown): number | 'ok' => {
    try {
      fn();
      return 'ok';
    } catch (err) {
      return (err as CsiError).code;
    }
  };

  test('the snapshot size without a range; required_bytes (whole MiB) when larger', () => {
    expect(restoreSize(GiB, 0n, 0n, 's')).toBe(GiB);
    expect(restoreSize(GiB, GiB, 0n, 's')).toBe(GiB);
    expect(restoreSize(GiB, 2n * GiB + 1n, 0n, 's')).toBe(2n * GiB + MiB);
    expect(restoreSize(GiB, 0n, 2n * GiB, 's')).toBe(GiB);
  });

  test('smaller than the snapshot, or a limit below the size: OUT_OF_RANGE naming the field', () => {
    expect(code(() => restoreSize(2n * GiB, GiB, 0n, 's'))).toBe(status.OUT_OF_RANGE);
    expect(() => restoreSize(2n * GiB, GiB, 0n, 'snap-1')).toThrow(/required_bytes: 1073741824 is smaller than snapshot snap-1 \(2147483648 bytes\)/);
    expect(code(() => restoreSize(2n * GiB, 0n, GiB, 's'))).toBe(status.OUT_OF_RANGE);
    expect(() => restoreSize(2n * GiB, 0n, GiB, 's')).toThrow(/limit_bytes/);
  });
});

describe('CSI snapshot shape', () => {
  test('creation_time as a protobuf Timestamp, ready, size as a string', () => {
    const s = toCsiSnapshot({ volumeId: 'v', snapshotId: 's', description: 'n', createTime: new Date(1_700_000_000_123) }, GiB);
    expect(s).toEqual({
      snapshot_id: 'v+s',
      source_volume_id: 'v',
      size_bytes: String(GiB),
      creation_time: { seconds: '1700000000', nanos: 123_000_000 },
      ready_to_use: true,
    });
  });
});
