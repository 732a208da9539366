/**
 * The CNS snapshot reads and checks shared by the snapshot RPCs (snapshots.ts),
 * restores (create-volume.ts) and the DeleteVolume / ControllerExpandVolume
 * guards (volume-ops.ts): the API gate (vSphere >= 7.0 Update 3: about.apiVersion,
 * read once per client; MethodNotFound also means "no API"), paged snapshot
 * queries, finding one snapshot by its CSI id, and CNS → CSI conversion.
 */
import type { Logger } from '../log.js';
import type { Snapshot as CsiSnapshot } from '../csi/generated/csi/v1/Snapshot.js';
import { failedPrecondition, unimplemented } from '../csi/errors.js';
import type { CnsSnapshot, CnsSnapshotQuerySpec, CnsVolume } from '../vsphere/api.js';
import { CNS_QUERY_MAX_LIMIT } from '../vsphere/cns-codec.js';
import { isFault } from '../vsphere/faults.js';
import { CNS_SNAPSHOTS, versionAtLeast } from '../vsphere/versions.js';
import type { ControllerContext } from './context.js';
import { formatSnapshotId, type SnapshotRef } from './snapshot-id.js';
import { SnapshotNames, type NameEntry } from './snapshot-names.js';
import type { VcenterContext } from './vcenters.js';

/** Snapshots asked for per CnsQuerySnapshots (vCenter's default and the reference driver's page). */
export const SNAPSHOT_QUERY_LIMIT = 128;

// ---------------------------------------------------------------- API gate

/** Whether the vCenter has the CNS snapshot API (about.apiVersion: read once per client, then cached). */
export async function supportsSnapshots(vc: VcenterContext, signal?: AbortSignal): Promise<boolean> {
  const about = await vc.client.session.about({ signal });
  return versionAtLeast(about.apiVersion, CNS_SNAPSHOTS.since);
}

export async function unsupported(vc: VcenterContext, what: string, signal?: AbortSignal) {
  const about = await vc.client.session.about({ signal }).catch(() => undefined);
  return unimplemented(
    `${what} needs ${CNS_SNAPSHOTS.release} or later (CNS snapshots, API ${CNS_SNAPSHOTS.since.join('.')}); vCenter ${vc.name} is ` +
      `${about?.version || 'unknown'} (API ${about?.apiVersion || 'unknown'}): upgrade vCenter to use VolumeSnapshots`,
  );
}

/** UNIMPLEMENTED naming the release when the vCenter is too old for snapshots. */
export async function requireSnapshots(vc: VcenterContext, what: string, signal?: AbortSignal): Promise<void> {
  if (!(await supportsSnapshots(vc, signal))) throw await unsupported(vc, what, signal);
}

/** Runs a CNS snapshot call; MethodNotFound (a vCenter without the API, whatever its version says) becomes UNIMPLEMENTED. */
export async function snapshotCall<T>(vc: VcenterContext, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isFault(err, 'MethodNotFound')) throw await unsupported(vc, what);
    throw err;
  }
}

// ---------------------------------------------------------------- reads

/** Every snapshot one query spec selects (all when no spec), following the cursor; entries with errors are dropped. */
export async function querySnapshotsAll(vc: VcenterContext, spec: CnsSnapshotQuerySpec | undefined, signal?: AbortSignal): Promise<CnsSnapshot[]> {
  const out: CnsSnapshot[] = [];
  for (let offset = 0; ; ) {
    const page = await vc.client.cns.querySnapshots({ specs: spec ? [spec] : undefined, cursor: { offset, limit: SNAPSHOT_QUERY_LIMIT } }, { signal });
    for (const e of page.entries) if (e.snapshot) out.push(e.snapshot);
    const next = page.cursor.offset;
    const total = page.cursor.totalRecords;
    if (page.entries.length === 0 || next <= offset || (total !== undefined ? next >= total : page.entries.length < SNAPSHOT_QUERY_LIMIT)) return out;
    offset = next;
  }
}

/** The snapshots of one volume ([] when CNS does not know the volume). */
export function snapshotsOfVolume(vc: VcenterContext, volumeId: string, signal?: AbortSignal): Promise<CnsSnapshot[]> {
  return querySnapshotsAll(vc, { volumeId }, signal).then((list) => list.filter((s) => s.volumeId === volumeId));
}

/**
 * For DeleteVolume and ControllerExpandVolume: the CSI ids of the volume's
 * snapshots, which vSphere will not let it lose or grow past. No request on
 * a vCenter without the API (it can have none).
 */
export async function blockingSnapshots(vc: VcenterContext, volumeId: string, signal?: AbortSignal): Promise<string[]> {
  if (!(await supportsSnapshots(vc, signal))) return [];
  try {
    return (await snapshotsOfVolume(vc, volumeId, signal)).map((s) => formatSnapshotId(s.volumeId, s.snapshotId));
  } catch (err) {
    if (isFault(err, 'MethodNotFound')) return [];
    throw err;
  }
}

/** FAILED_PRECONDITION for a volume that still has snapshots. */
export function hasSnapshotsError(volumeId: string, ids: string[], action: 'deleted' | 'expanded') {
  const shown = ids.slice(0, 10).join(', ') + (ids.length > 10 ? `, ... (${ids.length} in all)` : '');
  return failedPrecondition(
    `volume ${volumeId} has ${ids.length} snapshot${ids.length === 1 ? '' : 's'} (${shown}) and cannot be ${action} while it has any (vSphere keeps a disk's snapshots with it); ` +
      'delete the VolumeSnapshots of it first, then retry',
  );
}

/** Each volume (its capacity), one CnsQueryVolume per 1,000 ids. */
export async function volumeSizes(vc: VcenterContext, volumeIds: string[], signal?: AbortSignal): Promise<Map<string, CnsVolume>> {
  const ids = [...new Set(volumeIds)];
  const out = new Map<string, CnsVolume>();
  for (let i = 0; i < ids.length; i += CNS_QUERY_MAX_LIMIT) {
    const chunk = ids.slice(i, i + CNS_QUERY_MAX_LIMIT);
    const page = await vc.client.cns.queryVolumes({ volumeIds: chunk, cursor: { offset: 0, limit: chunk.length } }, { signal });
    for (const v of page.volumes) out.set(v.volumeId, v);
  }
  return out;
}

function timestamp(at: Date | undefined): { seconds: string; nanos: number } {
  const ms = (at ?? new Date()).getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** CNS snapshot → CSI Snapshot (CNS snapshots are usable as soon as the task ends). */
export function toCsiSnapshot(s: CnsSnapshot, sizeBytes: bigint): CsiSnapshot {
  return {
    snapshot_id: formatSnapshotId(s.volumeId, s.snapshotId),
    source_volume_id: s.volumeId,
    size_bytes: String(sizeBytes),
    creation_time: timestamp(s.createTime),
    ready_to_use: true,
  };
}

/**
 * A snapshot and the volume it was taken of (its capacity is the snapshot's
 * size), found by its CSI id; undefined when either does not exist.
 */
export async function findSnapshot(
  ctx: ControllerContext,
  ref: SnapshotRef,
  what: string,
  signal?: AbortSignal,
): Promise<{ vc: VcenterContext; snapshot: CnsSnapshot; volume: CnsVolume | undefined } | undefined> {
  const at = await ctx.locator.locate(ref.volumeId, signal);
  if (!at) {
    ctx.snapshotNames.forgetVolume(ref.volumeId);
    return undefined;
  }
  await requireSnapshots(at.vc, what, signal);
  const page = await snapshotCall(at.vc, what, () =>
    at.vc.client.cns.querySnapshots({ specs: [{ volumeId: ref.volumeId, snapshotId: ref.snapshotId }], cursor: { offset: 0, limit: SNAPSHOT_QUERY_LIMIT } }, { signal }),
  );
  const snapshot = page.entries.map((e) => e.snapshot).find((s) => s?.volumeId === ref.volumeId && s.snapshotId === ref.snapshotId);
  if (!snapshot) {
    ctx.snapshotNames.forgetSnapshot(at.vc, ref);
    return undefined;
  }
  const volume = at.volume ?? (await volumeSizes(at.vc, [ref.volumeId], signal)).get(ref.volumeId);
  return { vc: at.vc, snapshot, volume };
}

/**
 * Whether a snapshot a name index has is still there (one query of it), before
 * CreateSnapshot refuses its name; true when the vCenter cannot say.
 */
export async function stillThere(vc: VcenterContext, e: NameEntry): Promise<boolean> {
  try {
    const page = await vc.client.cns.querySnapshots({ specs: [{ volumeId: e.volumeId, snapshotId: e.snapshotId }], cursor: { offset: 0, limit: SNAPSHOT_QUERY_LIMIT } });
    return page.entries.some((x) => x.snapshot?.volumeId === e.volumeId && x.snapshot.snapshotId === e.snapshotId);
  } catch {
    return true;
  }
}

/** A controller's per-vCenter snapshot name indexes, each built by one full paged read of the vCenter's snapshots. */
export function snapshotNamesFor(log: Logger, ttlMs?: number): SnapshotNames {
  return new SnapshotNames({
    read: (vc) => snapshotCall(vc, 'taking snapshots (CreateSnapshot)', () => querySnapshotsAll(vc, undefined)),
    ttlMs,
    onRefreshError: (vc, err) =>
      log.warn({ vcenter: vc.name, err: (err as Error).message }, 'could not read the snapshots again for the snapshot name index; it is rebuilt by the next CreateSnapshot'),
  });
}
