/**
 * CSI snapshots over CNS snapshots (vSphere >= 7.0 Update 3): CreateSnapshot,
 * DeleteSnapshot, ListSnapshots, GetSnapshot. The reads and checks they share
 * with restores and the DeleteVolume / ControllerExpandVolume guards are in
 * snapshot-reads.ts; the name indexes in snapshot-names.ts (one set per
 * controller, ControllerContext.snapshotNames).
 *
 * - Ids: `<CNS volume id>+<CNS snapshot id>` (snapshot-id.ts), as the
 *   reference driver, so its VolumeSnapshotContents keep working.
 * - Idempotent without a store: the CNS description of a snapshot is the CSI
 *   request name. CreateSnapshot reads the source volume's snapshots (one
 *   CnsQuerySnapshots with a {volumeId} spec: vSphere keeps at most 32 per
 *   disk) after it arrived, so the earlier snapshot of the name on the source
 *   volume (the answer to a retry) and the count for the limit are exact.
 * - The name on another volume is ALREADY_EXISTS. CNS cannot filter snapshots
 *   by description, and a vCenter is often shared by several clusters (10,000
 *   snapshots are 79 CnsQuerySnapshots tasks to read), so this check uses a
 *   per-vCenter name index (snapshot-names.ts) instead of reading them all on
 *   every CreateSnapshot: built by one full paged read the first time it is
 *   needed (concurrent first callers share it), kept current by this
 *   process's own CreateSnapshots and DeleteSnapshots (and by restores,
 *   GetSnapshot and DeleteSnapshot finding a snapshot gone), re-read in full
 *   in the background once older than a TTL (5 minutes; nameIndexTtlMs), and
 *   dropped on a read error (the next caller rebuilds it, and waits). A clash
 *   the index reports is checked with one query of that snapshot before the
 *   answer, so a snapshot deleted elsewhere does not block its name.
 *   Trade-off: a snapshot of the same name made outside this process (another
 *   cluster, the reference driver) less than a TTL ago may be missed, and
 *   CreateSnapshot then takes a second snapshot of that name of the other
 *   volume instead of answering ALREADY_EXISTS. csi-snapshotter names
 *   snapshots `snapshot-<VolumeSnapshot UID>`, so this needs a CO that reuses
 *   names across volumes (within this process, concurrent CreateSnapshots of
 *   one name for different volumes are ABORTED but one). Memory: one small
 *   entry (name -> volume and snapshot id) per snapshot of the configured
 *   vCenters. A vCenter other than the source's whose index cannot be built
 *   is left out of the name check (logged): a name used twice across
 *   vCenters needs a CO that reuses names, and snapshots should not depend
 *   on every other site being up.
 * - One operation per volume at a time: CreateSnapshot and DeleteSnapshot
 *   hold the source volume's lock (ABORTED while a delete, expand, modify or
 *   other snapshot of it runs); different volumes run in parallel.
 *   Concurrent identical CreateSnapshots share one execution.
 * - Limits: `[Snapshot]` global-max-snapshots-per-block-volume (default 3),
 *   or the granular -vsan / -vvol key for volumes on such datastores.
 * - A vCenter without the API: UNIMPLEMENTED naming the release (about.apiVersion,
 *   read once per client), also when it answers MethodNotFound.
 */
import type { CallContext } from '../csi/handler.js';
import type { CreateSnapshotRequest__Output } from '../csi/generated/csi/v1/CreateSnapshotRequest.js';
import type { CreateSnapshotResponse } from '../csi/generated/csi/v1/CreateSnapshotResponse.js';
import type { DeleteSnapshotRequest__Output } from '../csi/generated/csi/v1/DeleteSnapshotRequest.js';
import type { ListSnapshotsRequest__Output } from '../csi/generated/csi/v1/ListSnapshotsRequest.js';
import type { ListSnapshotsResponse } from '../csi/generated/csi/v1/ListSnapshotsResponse.js';
import type { GetSnapshotRequest__Output } from '../csi/generated/csi/v1/GetSnapshotRequest.js';
import type { GetSnapshotResponse } from '../csi/generated/csi/v1/GetSnapshotResponse.js';
import type { Snapshot as CsiSnapshot } from '../csi/generated/csi/v1/Snapshot.js';
import { aborted, alreadyExists, failedPrecondition, invalidArgument, notFound } from '../csi/errors.js';
import { requireString, requireVolumeId, validateStringMap } from '../csi/validate.js';
import type { Logger } from '../log.js';
import type { CnsSnapshotQueryEntry, CnsSnapshotQuerySpec, CnsVolume } from '../vsphere/api.js';
import { isFault } from '../vsphere/faults.js';
import { abandonOnAbort } from './abandon.js';
import { mibToBytes } from './capacity.js';
import type { ControllerContext } from './context.js';
import { CursorPager, type CursorChunk } from './cursor-paging.js';
import { decodeListToken } from './paging.js';
import { sameUrl } from './placement.js';
import { SingleFlight } from './single-flight.js';
import { datastoreKind, formatSnapshotId, limitProblem, parseSnapshotId, snapshotLimit } from './snapshot-id.js';
import type { NameEntry, SnapshotNameIndex, SnapshotNames } from './snapshot-names.js';
import {
  findSnapshot,
  requireSnapshots,
  snapshotCall,
  snapshotNamesFor,
  snapshotsOfVolume,
  stillThere,
  supportsSnapshots,
  toCsiSnapshot,
  unsupported,
  volumeSizes,
  SNAPSHOT_QUERY_LIMIT,
} from './snapshot-reads.js';
import type { VcenterContext } from './vcenters.js';

// ---------------------------------------------------------------- the RPCs

export interface SnapshotServiceOptions {
  /** Age after which a vCenter's snapshot name index is read again in full, in the background (default 5 minutes). */
  nameIndexTtlMs?: number;
}

export class SnapshotService {
  private readonly flights = new SingleFlight<CsiSnapshot>();
  /** Names whose CreateSnapshot runs → its source volume (one volume per name at a time). */
  private readonly naming = new Map<string, string>();
  /** The context's name indexes, or (nameIndexTtlMs given: tests) indexes of this service's own. */
  private readonly names: SnapshotNames;

  constructor(
    private readonly ctx: ControllerContext,
    options: SnapshotServiceOptions = {},
  ) {
    this.names = options.nameIndexTtlMs === undefined ? ctx.snapshotNames : snapshotNamesFor(ctx.log, options.nameIndexTtlMs);
  }

  /** Full reads of a vCenter's snapshots made for the name indexes (tests and figures). */
  get nameIndexReads(): number {
    return this.names.reads;
  }

  /** The name index of a vCenter (tests and figures). */
  nameIndex(vc: VcenterContext): SnapshotNameIndex {
    return this.names.of(vc);
  }

  async createSnapshot(req: CreateSnapshotRequest__Output, call: CallContext): Promise<CreateSnapshotResponse> {
    const name = requireString(req.name, 'name');
    const sourceVolumeId = requireVolumeId(req.source_volume_id, 'source_volume_id');
    const parameters = validateStringMap(req.parameters, 'parameters');
    // The snapshotter's --extra-create-metadata keys (csi.storage.k8s.io/...) are informational; CNS keeps only a description.
    const unknown = Object.keys(parameters).filter((k) => !k.startsWith('csi.storage.k8s.io/'));
    if (unknown.length > 0) {
      throw invalidArgument(`parameters: unknown VolumeSnapshotClass parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; this driver takes none`);
    }
    const snapshot = await abandonOnAbort(
      this.flights.run(name, sourceVolumeId, () => this.createOnce(name, sourceVolumeId, call.log), 'CreateSnapshot'),
      call.signal,
      `CreateSnapshot "${name}"`,
    );
    return { snapshot };
  }

  /** The shared work: no caller's signal (each vCenter request is bounded by the client's timeout), so a retry joins it. */
  private async createOnce(name: string, volumeId: string, log: Logger): Promise<CsiSnapshot> {
    const release = this.ctx.volumeLocks.tryAcquire(volumeId);
    if (!release) throw aborted(`an operation on volume ${volumeId} is already in progress; retry`);
    // Two CreateSnapshots of one name for different volumes must not both pass the name check.
    const holder = this.naming.get(name);
    if (holder !== undefined) {
      release();
      throw aborted(`a snapshot named "${name}" of volume ${holder} is being taken; retry (the name is then taken)`);
    }
    this.naming.set(name, volumeId);
    try {
      const what = 'taking snapshots (CreateSnapshot)';
      const { vc, volume } = await this.ctx.locator.find(volumeId);
      await requireSnapshots(vc, what);
      const sizeBytes = mibToBytes(volume.capacityMb ?? 0);
      // Exact: the source volume's snapshots, read after the request arrived; and, meanwhile, the name indexes.
      const [own, named] = await Promise.all([snapshotCall(vc, what, () => snapshotsOfVolume(vc, volumeId)), this.namedInIndexes(name, vc, log)]);
      const index = this.nameIndex(vc);
      const earlier = own.find((s) => s.description === name);
      if (earlier) {
        index.add(name, volumeId, earlier.snapshotId);
        log.info({ snapshotId: formatSnapshotId(volumeId, earlier.snapshotId), snapshotName: name }, 'snapshot exists already');
        return toCsiSnapshot(earlier, sizeBytes);
      }
      for (const { vc: other, entry } of named) {
        if (other === vc && entry.volumeId === volumeId) {
          index.remove(volumeId, entry.snapshotId); // not among the volume's snapshots: gone
          continue;
        }
        if (!(await stillThere(other, entry))) {
          this.names.forgetSnapshot(other, entry);
          continue;
        }
        const where = this.ctx.vcenters.size > 1 ? ` in vCenter ${other.name}` : '';
        throw alreadyExists(
          `name: a snapshot named "${name}" exists already as ${formatSnapshotId(entry.volumeId, entry.snapshotId)}, of volume ${entry.volumeId}${where}, not of source_volume_id ${volumeId}; use another name`,
        );
      }
      const kind = datastoreKind(volume.datastoreUrl, await this.datastoreType(vc, volume));
      const problem = limitProblem(volumeId, own.length, snapshotLimit(this.ctx.snapshotConfig, kind), kind);
      if (problem) throw failedPrecondition(problem);
      const created = await snapshotCall(vc, what, () => vc.client.cns.createSnapshot(volumeId, name));
      index.add(name, volumeId, created.snapshotId);
      log.info({ snapshotId: formatSnapshotId(volumeId, created.snapshotId), snapshotName: name, volumeId, vcenter: vc.name }, 'CNS snapshot created');
      return toCsiSnapshot(created, sizeBytes);
    } finally {
      this.naming.delete(name);
      release();
    }
  }

  /** summary.type of the volume's datastore from the (cached) placement inventory; undefined when not there. */
  private async datastoreType(vc: VcenterContext, volume: CnsVolume): Promise<string | undefined> {
    if (!volume.datastoreUrl) return undefined;
    try {
      const snapshot = await vc.inventory.get();
      return snapshot.datastores.find((d) => sameUrl(d.url, volume.datastoreUrl!))?.type;
    } catch {
      return undefined; // the URL prefix still tells vSAN and vVol apart
    }
  }

  /**
   * The snapshots the name indexes of every configured vCenter know by this
   * name, the source vCenter's first. The source vCenter's index must be
   * there (its first build's error is the caller's); another vCenter's that
   * cannot be built is left out (logged).
   */
  private async namedInIndexes(name: string, source: VcenterContext, log: Logger): Promise<{ vc: VcenterContext; entry: NameEntry }[]> {
    const all = [source, ...this.ctx.vcenters.all.filter((vc) => vc !== source)];
    const found = await Promise.all(
      all.map(async (vc) => {
        try {
          if (vc !== source && !(await supportsSnapshots(vc))) return [];
          return (await this.nameIndex(vc).lookup(name)).map((entry) => ({ vc, entry }));
        } catch (err) {
          if (vc === source) throw err;
          log.warn({ vcenter: vc.name, err: (err as Error).message }, 'could not read the snapshots of another vCenter; the snapshot name is checked without it');
          return [];
        }
      }),
    );
    return found.flat();
  }

  async deleteSnapshot(req: DeleteSnapshotRequest__Output, call: CallContext): Promise<Record<string, never>> {
    const id = requireString(req.snapshot_id, 'snapshot_id');
    const ref = parseSnapshotId(id);
    if (!ref) {
      // Not an id of this driver's (or the reference's) form: no such snapshot, so nothing to delete (CSI: OK).
      call.log.info({ snapshotId: id }, 'DeleteSnapshot of an id that names no CNS snapshot: nothing to do');
      return {};
    }
    return this.ctx.volumeLocks.run(ref.volumeId, async () => {
      await this.ctx.locator.withVolume(
        ref.volumeId,
        call.signal,
        async ({ vc }) => {
          const what = 'deleting snapshots (DeleteSnapshot)';
          await requireSnapshots(vc, what, call.signal);
          try {
            await snapshotCall(vc, what, () => vc.client.cns.deleteSnapshot(ref.volumeId, ref.snapshotId, { signal: call.signal }));
            call.log.info({ snapshotId: id, vcenter: vc.name }, 'CNS snapshot deleted');
          } catch (err) {
            // Gone already (or its volume is): the outcome the CO wants.
            if (!isFault(err, 'CnsSnapshotNotFoundFault', 'CnsVolumeNotFoundFault', 'NotFound')) throw err;
          }
          this.names.forgetSnapshot(vc, ref);
        },
        () => this.names.forgetVolume(ref.volumeId),
      );
      return {};
    });
  }

  async getSnapshot(req: GetSnapshotRequest__Output, call: CallContext): Promise<GetSnapshotResponse> {
    const id = requireString(req.snapshot_id, 'snapshot_id');
    const ref = parseSnapshotId(id);
    const missing = () => notFound(`snapshot_id ${id}: no such snapshot${ref ? '' : ' (ids of this driver are "<volume id>+<snapshot id>")'}`);
    if (!ref) throw missing();
    const found = await findSnapshot(this.ctx, ref, 'reading snapshots (GetSnapshot)', call.signal);
    if (!found) throw missing();
    return { snapshot: toCsiSnapshot(found.snapshot, mibToBytes(found.volume?.capacityMb ?? 0)) };
  }

  async listSnapshots(req: ListSnapshotsRequest__Output, call: CallContext): Promise<ListSnapshotsResponse> {
    const maxEntries = Number(req.max_entries ?? 0);
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw invalidArgument(`max_entries: ${req.max_entries} must be >= 0`);
    const what = 'listing snapshots (ListSnapshots)';
    const signal = call.signal;
    const empty: ListSnapshotsResponse = { entries: [], next_token: '' };

    if (req.snapshot_id) {
      // CSI: an unknown (or malformed) snapshot_id lists nothing, and so does one of another source volume.
      const ref = parseSnapshotId(req.snapshot_id);
      if (!ref || (req.source_volume_id && req.source_volume_id !== ref.volumeId)) return empty;
      const found = await findSnapshot(this.ctx, ref, what, signal);
      if (!found) return empty;
      return { entries: [{ snapshot: toCsiSnapshot(found.snapshot, mibToBytes(found.volume?.capacityMb ?? 0)) }], next_token: '' };
    }

    let sources: VcenterContext[];
    let spec: CnsSnapshotQuerySpec | undefined;
    if (req.source_volume_id) {
      const at = await this.ctx.locator.locate(req.source_volume_id, signal);
      if (!at) return empty;
      await requireSnapshots(at.vc, what, signal);
      sources = [at.vc];
      spec = { volumeId: req.source_volume_id };
    } else {
      const able = await Promise.all(this.ctx.vcenters.all.map((vc) => supportsSnapshots(vc, signal)));
      sources = this.ctx.vcenters.all.filter((_, i) => able[i]);
      if (sources.length === 0) throw await unsupported(this.ctx.vcenters.first, what, signal);
    }
    const names = sources.map((vc) => vc.name);
    const start = decodeListToken(req.starting_token, names);
    if (start.kind !== 'cursor') {
      throw aborted(`starting_token "${req.starting_token.slice(0, 64)}" was not issued by ListSnapshots of this driver; restart listing without a token`);
    }
    const read = async (i: number, offset: number, limit: number): Promise<CursorChunk<CnsSnapshotQueryEntry>> => {
      const vc = sources[i]!;
      const asked = Math.min(limit, SNAPSHOT_QUERY_LIMIT);
      const page = await snapshotCall(vc, what, () =>
        vc.client.cns.querySnapshots({ specs: spec ? [spec] : undefined, cursor: { offset, limit: asked } }, { signal }),
      );
      // A spec for a volume CNS does not know is one entry with only an error: nothing to list.
      const items = page.entries.filter((e) => e.snapshot);
      const total = page.cursor.totalRecords ?? (page.entries.length < asked ? page.cursor.offset : Number.MAX_SAFE_INTEGER);
      return { items, nextOffset: page.cursor.offset, total: items.length === page.entries.length ? total : offset + items.length };
    };
    const idOf = (e: CnsSnapshotQueryEntry) => formatSnapshotId(e.snapshot!.volumeId, e.snapshot!.snapshotId);
    const page = await new CursorPager(names, read, idOf).page(start.at, maxEntries);

    // size_bytes: the source volumes' capacities, one CnsQueryVolume per vCenter for the page.
    const bySource = new Map<number, string[]>();
    for (const { source, item } of page.items) bySource.set(source, [...(bySource.get(source) ?? []), item.snapshot!.volumeId]);
    const sizes = new Map<string, CnsVolume>();
    await Promise.all(
      [...bySource].map(async ([source, ids]) => {
        for (const [id, v] of await volumeSizes(sources[source]!, ids, signal)) sizes.set(id, v);
      }),
    );
    return {
      entries: page.items.map(({ item }) => ({ snapshot: toCsiSnapshot(item.snapshot!, mibToBytes(sizes.get(item.snapshot!.volumeId)?.capacityMb ?? 0)) })),
      next_token: page.nextToken,
    };
  }
}
