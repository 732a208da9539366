/**
 * CSI snapshots over the real gRPC socket against the simulator's CNS
 * snapshots: CreateSnapshot (idempotent by name, ALREADY_EXISTS for the name
 * on another volume, the per-volume limit), DeleteSnapshot, GetSnapshot,
 * ListSnapshots (by id, by source volume, all; paging), DeleteVolume and
 * ControllerExpandVolume refused while snapshots exist, restores of equal,
 * larger and smaller size, ids made the reference driver's way, the
 * per-volume lock, 50 snapshots at once, a vCenter too old for the API,
 * vCenter request counts per operation, and the snapshot name index (no full
 * read once warm, kept current by this process, out-of-band names seen after
 * its TTL).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { startWorld, stopWorld, serveController, useController, type World, type Served, MOUNT_RWO, BLOCK_RWO, GiB } from './fixture.js';
import { codeOf, errorOf } from './csi-client.js';
import { createCsiMetrics, type CsiMetrics } from '../../src/csi/metrics.js';
import { CsiError } from '../../src/csi/errors.js';
import { SnapshotService } from '../../src/controller/snapshots.js';
import { snapshotCall } from '../../src/controller/snapshot-reads.js';
import { silentLogger } from '../../src/log.js';

import type { ListRes, SnapRes, VolumeRes } from './snapshot-shapes.js';

const LIMIT = 5;
let world: World;
let served: Served;
let metrics: CsiMetrics;

beforeAll(async () => {
  world = await startWorld();
  metrics = createCsiMetrics(new Registry());
  served = await serveController(world, {}, { snapshot: { globalMaxSnapshotsPerBlockVolume: LIMIT }, metrics });
}, 90_000);

afterAll(async () => {
  await served?.stop();
  await stopWorld(world);
});

const call = <T>(method: string, req: object, timeoutMs?: number) => served.csi.call<T>(method, req, timeoutMs === undefined ? {} : { timeoutMs });

async function volume(name: string, bytes = GiB, extra: object = {}): Promise<string> {
  const res = await call<VolumeRes>('CreateVolume', { name, capacity_range: { required_bytes: String(bytes) }, volume_capabilities: [MOUNT_RWO], ...extra });
  return res.volume.volume_id;
}

const snap = (name: string, source: string) => call<SnapRes>('CreateSnapshot', { name, source_volume_id: source });
const restore = (name: string, snapshotId: string, bytes?: number, extra: object = {}) =>
  call<VolumeRes>('CreateVolume', {
    name,
    volume_capabilities: [MOUNT_RWO],
    volume_content_source: { snapshot: { snapshot_id: snapshotId } },
    ...(bytes === undefined ? {} : { capacity_range: { required_bytes: String(bytes) } }),
    ...extra,
  });

async function capacityMb(volumeId: string): Promise<number | undefined> {
  return (await world.client.cns.queryVolumes({ volumeIds: [volumeId] })).volumes[0]?.capacityMb;
}

async function requestCounts(): Promise<Record<string, number>> {
  return (await world.sim.requests()).byMethod;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

describe('CreateSnapshot', () => {
  test('takes a CNS snapshot described by the request name; the answer has the reference id form, size, time, ready', async () => {
    const vol = await volume('snap-basic', 2 * GiB);
    const before = Date.now();
    const { snapshot } = await snap('snapshot-basic', vol);
    expect(snapshot.snapshot_id).toMatch(new RegExp(`^${vol}\\+[0-9a-f-]{36}$`));
    expect(snapshot).toMatchObject({ source_volume_id: vol, size_bytes: String(2 * GiB), ready_to_use: true });
    const seconds = Number(snapshot.creation_time.seconds);
    expect(seconds).toBeGreaterThanOrEqual(Math.floor(before / 1000) - 1);
    expect(seconds).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 1);
    expect(await world.sim.snapshotCount(vol)).toBe(1);
    const cns = await world.client.cns.querySnapshots({ specs: [{ volumeId: vol }] });
    expect(cns.entries.map((e) => e.snapshot?.description)).toEqual(['snapshot-basic']);
    expect(`${vol}+${cns.entries[0]!.snapshot!.snapshotId}`).toBe(snapshot.snapshot_id);
  });

  test('idempotent: a repeat, and 5 identical requests at once, answer the same snapshot; one CNS snapshot', async () => {
    const vol = await volume('snap-idem');
    const first = await snap('snapshot-idem', vol);
    const again = await snap('snapshot-idem', vol);
    expect(again.snapshot).toEqual(first.snapshot);
    const vol2 = await volume('snap-idem-2');
    await world.sim.resetRequests();
    const many = await Promise.all(Array.from({ length: 5 }, () => snap('snapshot-idem-2', vol2)));
    expect(new Set(many.map((r) => r.snapshot.snapshot_id)).size).toBe(1);
    expect((await requestCounts())['/vsanHealth CnsCreateSnapshots']).toBe(1);
    expect(await world.sim.snapshotCount(vol)).toBe(1);
    expect(await world.sim.snapshotCount(vol2)).toBe(1);
  });

  test('the same name for another source volume is ALREADY_EXISTS naming the snapshot that has it', async () => {
    const a = await volume('snap-clash-a');
    const b = await volume('snap-clash-b');
    const { snapshot } = await snap('snapshot-clash', a);
    await world.sim.resetRequests();
    const err = await errorOf(snap('snapshot-clash', b));
    // Found in the name index (no full read): b's snapshots, and one query that the clashing snapshot is still there.
    expect((await requestCounts())['/vsanHealth CnsQuerySnapshots']).toBe(2);
    expect(err.code).toBe(status.ALREADY_EXISTS);
    expect(err.details).toContain(snapshot.snapshot_id);
    expect(err.details).toContain(`not of source_volume_id ${b}`);
    expect(await world.sim.snapshotCount(b)).toBe(0);
  });

  test('bad requests: missing name or source, unknown parameter, unknown source volume', async () => {
    const vol = await volume('snap-bad');
    const noName = await errorOf(call('CreateSnapshot', { source_volume_id: vol }));
    expect(noName.code).toBe(status.INVALID_ARGUMENT);
    expect(noName.details).toContain('name');
    const noSource = await errorOf(call('CreateSnapshot', { name: 'snapshot-x' }));
    expect(noSource.code).toBe(status.INVALID_ARGUMENT);
    expect(noSource.details).toContain('source_volume_id');
    const param = await errorOf(call('CreateSnapshot', { name: 'snapshot-p', source_volume_id: vol, parameters: { speed: 'fast' } }));
    expect(param.code).toBe(status.INVALID_ARGUMENT);
    expect(param.details).toContain('"speed"');
    // The snapshotter's own metadata keys are accepted.
    await call('CreateSnapshot', { name: 'snapshot-meta', source_volume_id: vol, parameters: { 'csi.storage.k8s.io/volumesnapshot/name': 'vs' } });
    const unknown = await errorOf(snap('snapshot-nosrc', '00000000-0000-0000-0000-000000000000'));
    expect(unknown.code).toBe(status.NOT_FOUND);
  });

  test(`the per-volume limit ([Snapshot] global-max-snapshots-per-block-volume = ${LIMIT}) is FAILED_PRECONDITION naming it; a repeat of an existing one still answers`, async () => {
    const vol = await volume('snap-limit');
    for (let i = 0; i < LIMIT; i++) await snap(`snapshot-limit-${i}`, vol);
    const err = await errorOf(snap('snapshot-limit-over', vol));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(`has ${LIMIT} snapshots`);
    expect(err.details).toContain(`limit of ${LIMIT} set by [Snapshot] global-max-snapshots-per-block-volume`);
    expect((await snap(`snapshot-limit-${LIMIT - 1}`, vol)).snapshot.source_volume_id).toBe(vol);
    expect(await world.sim.snapshotCount(vol)).toBe(LIMIT);
  });

  test('a vCenter refusing our request is INTERNAL naming the fault, not INVALID_ARGUMENT; a retry succeeds', async () => {
    const vol = await volume('snap-refused');
    await world.sim.failNextCns('CnsCreateSnapshots', 'InvalidArgument', { property: 'snapshotSpecs' });
    const refused = await errorOf(snap('snapshot-refused', vol));
    expect(refused.code).toBe(status.INTERNAL);
    expect(refused.details).toMatch(/refused a request the driver built: InvalidArgument during \S*CnsCreateSnapshots \(property "snapshotSpecs"\)/);
    await world.sim.failNextCns('CnsQuerySnapshots', 'InvalidRequest');
    expect(await codeOf(snap('snapshot-refused', vol))).toBe(status.INTERNAL);
    expect((await snap('snapshot-refused', vol)).snapshot.source_volume_id).toBe(vol);
    expect(await world.sim.snapshotCount(vol)).toBe(1);
  });

  test('vCenter requests per CreateSnapshot (new, and a repeat)', async () => {
    const vol = await volume('snap-count');
    await world.sim.resetRequests();
    await snap('snapshot-count', vol);
    const created = await requestCounts();
    await world.sim.resetRequests();
    await snap('snapshot-count', vol);
    const repeated = await requestCounts();
    console.log(`requests per CreateSnapshot: new ${total(created)} ${JSON.stringify(created)}; repeat ${total(repeated)} ${JSON.stringify(repeated)}`);
    expect(created['/vsanHealth CnsCreateSnapshots']).toBe(1);
    // The source volume's snapshots; the name check answers from the (warm) name index.
    expect(created['/vsanHealth CnsQuerySnapshots']).toBe(1);
    // The source volume (size, datastore), sent at once: a lone lookup has nothing to wait for.
    expect(created['/vsanHealth CnsQueryVolume']).toBe(1);
    expect(total(created)).toBeLessThanOrEqual(8);
    expect(repeated['/vsanHealth CnsCreateSnapshots'] ?? 0).toBe(0);
    expect(repeated['/vsanHealth CnsQuerySnapshots']).toBe(1);
    expect(total(repeated)).toBeLessThanOrEqual(5);
  });
});

describe('the snapshot name index', () => {
  test('warm, with more than 128 snapshots in the vCenter: one CnsQuerySnapshots per new CreateSnapshot, no full read', async () => {
    // Seed 135 snapshots out of band, so that a full read would be two CnsQuerySnapshots pages or more.
    const seedVols = await Promise.all(Array.from({ length: 5 }, (_, i) => volume(`snap-seed-${i}`)));
    const seeded: { volumeId: string; snapshotId: string }[] = [];
    await Promise.all(
      seedVols.map(async (v, i) => {
        for (let j = 0; j < 27; j++) seeded.push(await world.client.cns.createSnapshot(v, `seed-${i}-${j}`));
      }),
    );
    try {
      expect(await world.sim.snapshotCount()).toBeGreaterThan(128);
      const vols = await Promise.all(Array.from({ length: 3 }, (_, i) => volume(`snap-warm-${i}`)));
      await snap('snapshot-warm-first', vols[0]!); // the index is warm from the tests above; make sure
      await world.sim.resetRequests();
      for (let i = 0; i < 3; i++) await snap(`snapshot-warm-${i}`, vols[i]!);
      const counts = await requestCounts();
      console.log(`requests for 3 new CreateSnapshots, index warm, ${await world.sim.snapshotCount()} snapshots in the vCenter: ${total(counts)} ${JSON.stringify(counts)}`);
      expect(counts['/vsanHealth CnsCreateSnapshots']).toBe(3);
      expect(counts['/vsanHealth CnsQuerySnapshots']).toBe(3);
    } finally {
      await Promise.all(seedVols.map(async (v) => {
        for (const s of seeded.filter((x) => x.volumeId === v)) await world.client.cns.deleteSnapshot(s.volumeId, s.snapshotId);
      }));
    }
  });

  test('kept current by DeleteSnapshot and by a restore finding a snapshot gone: the name is free again without a stale-entry check', async () => {
    const a = await volume('snap-index-a');
    const b = await volume('snap-index-b');
    const deleted = (await snap('snapshot-index-deleted', a)).snapshot.snapshot_id;
    await call('DeleteSnapshot', { snapshot_id: deleted });
    await world.sim.resetRequests();
    await snap('snapshot-index-deleted', b);
    expect((await requestCounts())['/vsanHealth CnsQuerySnapshots']).toBe(1);

    const gone = (await snap('snapshot-index-gone', a)).snapshot.snapshot_id;
    const [volumeId, snapshotId] = gone.split('+') as [string, string];
    await world.client.cns.deleteSnapshot(volumeId, snapshotId); // out of band
    expect((await errorOf(restore('pvc-index-gone', gone))).code).toBe(status.NOT_FOUND);
    await world.sim.resetRequests();
    await snap('snapshot-index-gone', b);
    expect((await requestCounts())['/vsanHealth CnsQuerySnapshots']).toBe(1);

    // Deleted out of band and not seen by this process: the clash the index reports is checked, and the name is free.
    const stale = (await snap('snapshot-index-stale', a)).snapshot.snapshot_id;
    await world.client.cns.deleteSnapshot(...(stale.split('+') as [string, string]));
    await world.sim.resetRequests();
    await snap('snapshot-index-stale', b);
    expect((await requestCounts())['/vsanHealth CnsQuerySnapshots']).toBe(2);
  });

  test('concurrent CreateSnapshots of one name for two volumes: one snapshot, the other ABORTED then ALREADY_EXISTS', async () => {
    const a = await volume('snap-race-a');
    const b = await volume('snap-race-b');
    const results = await Promise.allSettled([snap('snapshot-race', a), snap('snapshot-race', b)]);
    const codes = results.map((r) => (r.status === 'fulfilled' ? status.OK : (r.reason as { code: number }).code)).sort();
    expect(codes).toEqual([status.OK, status.ABORTED].sort());
    const loser = results[0]!.status === 'fulfilled' ? b : a;
    expect(await codeOf(snap('snapshot-race', loser))).toBe(status.ALREADY_EXISTS);
    expect((await world.sim.snapshotCount(a)) + (await world.sim.snapshotCount(b))).toBe(1);
  });

  test('a name taken out of band is missed within the TTL (documented), and refused once the background re-read after the TTL has run', async () => {
    const ttl = 300;
    const ctx = served.controller.context;
    const vc = ctx.vcenters.first;
    const service = new SnapshotService(ctx, { nameIndexTtlMs: ttl });
    const callCtx = { method: 'CreateSnapshot', signal: new AbortController().signal, log: silentLogger };
    const create = (name: string, source: string) => service.createSnapshot({ name, source_volume_id: source, parameters: {} } as never, callCtx);
    const [a, b, c] = await Promise.all(['snap-oob-a', 'snap-oob-b', 'snap-oob-c'].map((n) => volume(n)));

    await create('snapshot-oob-warm', c!); // builds this service's index
    expect(service.nameIndexReads).toBe(1);
    // Made outside this service (as another cluster would).
    await world.client.cns.createSnapshot(a!, 'snapshot-oob-missed');
    const oob = await world.client.cns.createSnapshot(a!, 'snapshot-oob-clash');
    // Within the TTL: the trade-off, a second snapshot of that name of another volume.
    expect((await create('snapshot-oob-missed', b!)).snapshot?.source_volume_id).toBe(b);

    await new Promise((r) => setTimeout(r, ttl + 50));
    await world.sim.resetRequests();
    const started = Date.now();
    await create('snapshot-oob-trigger', c!); // answers from the stale index, and starts the re-read
    const triggerMs = Date.now() - started;
    expect(service.nameIndexReads).toBe(2);
    await service.nameIndex(vc).whenIdle();
    const counts = await requestCounts();
    console.log(`CreateSnapshot starting the background re-read: ${triggerMs} ms; requests incl. the re-read ${total(counts)} ${JSON.stringify(counts)}`);
    // The trigger's own query, and the full read (under 128 snapshots: one page).
    expect(counts['/vsanHealth CnsQuerySnapshots']).toBe(2);

    const err = await create('snapshot-oob-clash', b!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiError);
    expect((err as CsiError).code).toBe(status.ALREADY_EXISTS);
    expect((err as CsiError).message).toContain(`${a}+${oob.snapshotId}`);
    expect(await world.sim.snapshotCount(b!)).toBe(1);
    expect(service.nameIndexReads).toBe(2);
  });
});

describe('DeleteSnapshot, GetSnapshot', () => {
  test('delete removes it; deleting again, an unknown or a malformed id are OK', async () => {
    const vol = await volume('snap-del');
    const { snapshot } = await snap('snapshot-del', vol);
    await world.sim.resetRequests();
    await call('DeleteSnapshot', { snapshot_id: snapshot.snapshot_id });
    const counts = await requestCounts();
    console.log(`requests per DeleteSnapshot: ${total(counts)} ${JSON.stringify(counts)}`);
    expect(counts['/vsanHealth CnsDeleteSnapshots']).toBe(1);
    expect(total(counts)).toBeLessThanOrEqual(4);
    expect(await world.sim.snapshotCount(vol)).toBe(0);
    await call('DeleteSnapshot', { snapshot_id: snapshot.snapshot_id });
    await call('DeleteSnapshot', { snapshot_id: `${vol}+00000000-0000-0000-0000-000000000000` });
    await call('DeleteSnapshot', { snapshot_id: '00000000-0000-0000-0000-000000000000+00000000-0000-0000-0000-000000000001' });
    await call('DeleteSnapshot', { snapshot_id: 'not-a-snapshot-id' });
    expect(await codeOf(call('DeleteSnapshot', {}))).toBe(status.INVALID_ARGUMENT);
  });

  test('GetSnapshot answers the snapshot; unknown or malformed ids are NOT_FOUND', async () => {
    const vol = await volume('snap-get', 3 * GiB);
    const { snapshot } = await snap('snapshot-get', vol);
    const got = await call<SnapRes>('GetSnapshot', { snapshot_id: snapshot.snapshot_id });
    expect(got.snapshot).toEqual(snapshot);
    expect(await codeOf(call('GetSnapshot', { snapshot_id: `${vol}+00000000-0000-0000-0000-000000000000` }))).toBe(status.NOT_FOUND);
    expect(await codeOf(call('GetSnapshot', { snapshot_id: 'no-plus-here' }))).toBe(status.NOT_FOUND);
    expect(await codeOf(call('GetSnapshot', { snapshot_id: '00000000-0000-0000-0000-000000000000+x' }))).toBe(status.NOT_FOUND);
  });

  test('a snapshot made the reference driver way (CNS description, id "<fcd>+<snapshot>") is found, listed and deleted', async () => {
    const vol = await volume('snap-ref');
    const made = await world.client.cns.createSnapshot(vol, 'snapshot-4b9a1c52-made-by-the-reference');
    const id = `${vol}+${made.snapshotId}`;
    expect((await call<SnapRes>('GetSnapshot', { snapshot_id: id })).snapshot).toMatchObject({ snapshot_id: id, source_volume_id: vol, size_bytes: String(GiB) });
    expect((await call<ListRes>('ListSnapshots', { snapshot_id: id })).entries.map((e) => e.snapshot.snapshot_id)).toEqual([id]);
    // CreateSnapshot with that name answers it (the reference's VolumeSnapshotContent keeps working).
    expect((await snap('snapshot-4b9a1c52-made-by-the-reference', vol)).snapshot.snapshot_id).toBe(id);
    await call('DeleteSnapshot', { snapshot_id: id });
    expect(await world.sim.snapshotCount(vol)).toBe(0);
  });
});

describe('ListSnapshots', () => {
  let vol: string;
  let ids: string[];

  beforeAll(async () => {
    vol = await volume('snap-list', 4 * GiB);
    ids = [];
    for (let i = 0; i < 5; i++) ids.push((await snap(`snapshot-list-${i}`, vol)).snapshot.snapshot_id);
  });

  test('by source volume, max_entries 2 over 5: pages of 2, 2, 1 in creation order, no repeats, sizes', async () => {
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await call<ListRes>('ListSnapshots', { source_volume_id: vol, max_entries: 2, starting_token: token });
      expect(page.entries.length).toBeLessThanOrEqual(2);
      for (const e of page.entries) {
        expect(e.snapshot).toMatchObject({ source_volume_id: vol, size_bytes: String(4 * GiB), ready_to_use: true });
        seen.push(e.snapshot.snapshot_id);
      }
      token = page.next_token;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
    const whole = await call<ListRes>('ListSnapshots', { source_volume_id: vol });
    expect(whole.entries.map((e) => e.snapshot.snapshot_id)).toEqual(ids);
    expect(whole.next_token).toBe('');
  });

  test('all snapshots, 2 per page: every CNS snapshot once, in a stable order, with its size', async () => {
    const cns = await world.client.cns.querySnapshots({ cursor: { offset: 0, limit: 1000 } });
    const expected = cns.entries.map((e) => `${e.snapshot!.volumeId}+${e.snapshot!.snapshotId}`);
    const seen: string[] = [];
    let token = '';
    do {
      const page = await call<ListRes>('ListSnapshots', { max_entries: 2, starting_token: token });
      expect(page.entries.length).toBeLessThanOrEqual(2);
      seen.push(...page.entries.map((e) => e.snapshot.snapshot_id));
      for (const e of page.entries) expect(Number(e.snapshot.size_bytes)).toBeGreaterThan(0);
      token = page.next_token;
    } while (token);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expected);
    expect(seen).toEqual(expect.arrayContaining(ids));
  });

  test('vCenter requests per page: one CnsQuerySnapshots and one CnsQueryVolume for the sizes', async () => {
    await world.sim.resetRequests();
    const page = await call<ListRes>('ListSnapshots', { source_volume_id: vol, max_entries: 4 });
    expect(page.entries).toHaveLength(4);
    const counts = await requestCounts();
    console.log(`requests per ListSnapshots page of 4: ${total(counts)} ${JSON.stringify(counts)}`);
    expect(counts['/vsanHealth CnsQuerySnapshots']).toBe(1);
    expect(counts['/vsanHealth CnsQueryVolume']).toBe(1);
  });

  test('by snapshot id; unknown or malformed ids and unknown source volumes list nothing; a foreign token is ABORTED', async () => {
    const one = await call<ListRes>('ListSnapshots', { snapshot_id: ids[2] });
    expect(one.entries.map((e) => e.snapshot.snapshot_id)).toEqual([ids[2]]);
    expect((await call<ListRes>('ListSnapshots', { snapshot_id: ids[2], source_volume_id: vol })).entries).toHaveLength(1);
    const empty = async (req: object) => expect((await call<ListRes>('ListSnapshots', req)).entries).toEqual([]);
    await empty({ snapshot_id: ids[2], source_volume_id: '00000000-0000-0000-0000-000000000000' });
    await empty({ snapshot_id: `${vol}+00000000-0000-0000-0000-000000000000` });
    await empty({ snapshot_id: 'garbage' });
    await empty({ source_volume_id: '00000000-0000-0000-0000-000000000000' });
    const bad = await errorOf(call('ListSnapshots', { starting_token: 'bm90LWEtdG9rZW4' }));
    expect(bad.code).toBe(status.ABORTED);
    expect(bad.details).toContain('starting_token');
    expect(await codeOf(call('ListSnapshots', { max_entries: -1 }))).toBe(status.INVALID_ARGUMENT);
  });
});

describe('volumes with snapshots', () => {
  test('DeleteVolume and ControllerExpandVolume are FAILED_PRECONDITION listing the snapshots; allowed once they are deleted', async () => {
    const vol = await volume('snap-guard');
    const a = (await snap('snapshot-guard-a', vol)).snapshot.snapshot_id;
    const b = (await snap('snapshot-guard-b', vol)).snapshot.snapshot_id;
    const del = await errorOf(call('DeleteVolume', { volume_id: vol }));
    expect(del.code).toBe(status.FAILED_PRECONDITION);
    expect(del.details).toContain(`${a}, ${b}`);
    expect(del.details).toContain('delete the VolumeSnapshots');
    const grow = await errorOf(call('ControllerExpandVolume', { volume_id: vol, capacity_range: { required_bytes: String(2 * GiB) } }));
    expect(grow.code).toBe(status.FAILED_PRECONDITION);
    expect(grow.details).toContain('cannot be expanded');
    // An expand to the size it has needs no CNS call, so nothing refuses it.
    await call('ControllerExpandVolume', { volume_id: vol, capacity_range: { required_bytes: String(GiB) } });
    await call('DeleteSnapshot', { snapshot_id: a });
    await call('DeleteSnapshot', { snapshot_id: b });
    await call('ControllerExpandVolume', { volume_id: vol, capacity_range: { required_bytes: String(2 * GiB) } });
    expect(await capacityMb(vol)).toBe(2048);
    await world.sim.resetRequests();
    await call('DeleteVolume', { volume_id: vol });
    const counts = await requestCounts();
    console.log(`requests per DeleteVolume (with the snapshot check): ${total(counts)} ${JSON.stringify(counts)}`);
    expect(counts['/vsanHealth CnsQuerySnapshots']).toBe(1);
    expect(counts['/vsanHealth CnsDeleteVolume']).toBe(1);
    expect(await capacityMb(vol)).toBeUndefined();
  });

  test('a snapshot while a slow expand of the volume runs is ABORTED; other volumes are not held up', async () => {
    const vol = await volume('snap-busy');
    const other = await volume('snap-busy-other');
    await world.sim.setCnsTiming(2, 1200);
    let expand: Promise<unknown> | undefined;
    try {
      expand = call('ControllerExpandVolume', { volume_id: vol, capacity_range: { required_bytes: String(2 * GiB) } }, 20_000);
      await new Promise((r) => setTimeout(r, 200));
      const busy = await errorOf(snap('snapshot-busy', vol));
      expect(busy.code).toBe(status.ABORTED);
      expect(busy.details).toContain(`operation on volume ${vol} is already in progress`);
      expect((await snap('snapshot-busy-other', other)).snapshot.source_volume_id).toBe(other);
      await expand;
    } finally {
      await world.sim.setCnsTiming(2, 3);
      await expand?.catch(() => undefined);
    }
    expect((await snap('snapshot-busy', vol)).snapshot.source_volume_id).toBe(vol);
    // And the other way round: a delete while a snapshot of the volume is being taken.
    await world.sim.setCnsTiming(2, 600);
    try {
      const taking = snap('snapshot-busy-2', other);
      await new Promise((r) => setTimeout(r, 150));
      expect(await codeOf(call('DeleteVolume', { volume_id: other }))).toBe(status.ABORTED);
      await taking;
    } finally {
      await world.sim.setCnsTiming(2, 3);
    }
  });

  test('50 snapshots of 50 volumes at once: 50 snapshots, no errors', async () => {
    const vols = await Promise.all(Array.from({ length: 50 }, (_, i) => volume(`snap-storm-${i}`)));
    await world.sim.resetRequests();
    const started = Date.now();
    const results = await Promise.allSettled(vols.map((v, i) => snap(`snapshot-storm-${i}`, v)));
    const ms = Date.now() - started;
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.map((r) => (r as PromiseRejectedResult).reason.details)).toEqual([]);
    const counts = await requestCounts();
    console.log(`50 concurrent CreateSnapshot: ${ms} ms, ${total(counts)} requests ${JSON.stringify(counts)}`);
    expect(counts['/vsanHealth CnsCreateSnapshots']).toBe(50);
    // Each reads its source volume's snapshots; the name checks answer from the warm name index (no full read).
    expect(counts['/vsanHealth CnsQuerySnapshots']).toBe(50);
    // The source volumes' lookups (size, datastore) share CnsQueryVolumes: up to 32 ids each, not one per snapshot.
    expect(counts['/vsanHealth CnsQueryVolume']).toBeGreaterThanOrEqual(2);
    expect(counts['/vsanHealth CnsQueryVolume']).toBeLessThanOrEqual(6);
    for (const v of vols.slice(0, 5)) expect(await world.sim.snapshotCount(v)).toBe(1);
    const ids = new Set(results.map((r) => (r as PromiseFulfilledResult<SnapRes>).value.snapshot.snapshot_id));
    expect(ids.size).toBe(50);
  });
});

describe('CreateVolume from a snapshot', () => {
  let source: string;
  let snapshotId: string;

  beforeAll(async () => {
    source = await volume('snap-restore-src', 2 * GiB);
    snapshotId = (await snap('snapshot-restore', source)).snapshot.snapshot_id;
  });

  test('equal size: a new volume of the snapshot size with content_source; a retry answers the same volume', async () => {
    await world.sim.resetRequests();
    const res = await restore('pvc-restored-equal', snapshotId, 2 * GiB);
    const counts = await requestCounts();
    console.log(`requests per restore (equal size): ${total(counts)} ${JSON.stringify(counts)}`);
    expect(res.volume.volume_id).not.toBe(source);
    expect(res.volume.capacity_bytes).toBe(String(2 * GiB));
    expect(res.volume.content_source?.snapshot?.snapshot_id).toBe(snapshotId);
    expect(await capacityMb(res.volume.volume_id)).toBe(2048);
    expect(counts['/vsanHealth CnsCreateVolume']).toBe(1);
    expect(counts['/vsanHealth CnsExtendVolume'] ?? 0).toBe(0);
    const again = await restore('pvc-restored-equal', snapshotId, 2 * GiB);
    expect(again.volume.volume_id).toBe(res.volume.volume_id);
    expect(again.volume.content_source?.snapshot?.snapshot_id).toBe(snapshotId);
    // Without a capacity range: the snapshot's size.
    expect((await restore('pvc-restored-norange', snapshotId)).volume.capacity_bytes).toBe(String(2 * GiB));
  });

  test('larger: restored, then extended to the requested size', async () => {
    await world.sim.resetRequests();
    const res = await restore('pvc-restored-larger', snapshotId, 5 * GiB, { volume_capabilities: [BLOCK_RWO] });
    const counts = await requestCounts();
    console.log(`requests per restore (larger, with the extend): ${total(counts)} ${JSON.stringify(counts)}`);
    expect(res.volume.capacity_bytes).toBe(String(5 * GiB));
    expect(await capacityMb(res.volume.volume_id)).toBe(5 * 1024);
    expect(counts['/vsanHealth CnsExtendVolume']).toBe(1);
    expect((await restore('pvc-restored-larger', snapshotId, 5 * GiB, { volume_capabilities: [BLOCK_RWO] })).volume.volume_id).toBe(res.volume.volume_id);
  });

  test('smaller than the snapshot is OUT_OF_RANGE; an unknown or malformed snapshot is NOT_FOUND; nothing is created', async () => {
    const small = await errorOf(restore('pvc-restored-small', snapshotId, GiB));
    expect(small.code).toBe(status.OUT_OF_RANGE);
    expect(small.details).toContain('smaller than snapshot');
    const unknown = await errorOf(restore('pvc-restored-unknown', `${source}+00000000-0000-0000-0000-000000000000`));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toContain('volume_content_source.snapshot.snapshot_id');
    expect(await codeOf(restore('pvc-restored-garbage', 'garbage'))).toBe(status.NOT_FOUND);
    for (const name of ['pvc-restored-small', 'pvc-restored-unknown', 'pvc-restored-garbage']) {
      expect((await world.client.cns.queryVolumes({ names: [name] })).volumes).toHaveLength(0);
    }
  });

  test('placed by the request topology: a zone-a restore lands on a datastore of zone a', async () => {
    const zoneA = world.zones[0]!;
    const res = await restore('pvc-restored-zone', snapshotId, 2 * GiB, { accessibility_requirements: { requisite: [{ segments: zoneA.segment }] } });
    expect(res.volume.accessible_topology).toEqual([{ segments: zoneA.segment }]);
    const v = (await world.client.cns.queryVolumes({ volumeIds: [res.volume.volume_id] })).volumes[0]!;
    expect([zoneA.datastoreUrl, world.sharedDatastoreUrl]).toContain(v.datastoreUrl);
  });
});

test('snapshot RPCs are in the per-RPC metrics', async () => {
  const text = await metrics.registry.metrics();
  for (const method of ['CreateSnapshot', 'DeleteSnapshot', 'ListSnapshots', 'GetSnapshot']) {
    expect(text).toMatch(new RegExp(`vsphere_csi_rpc_duration_seconds_count\\{method="${method}",code="OK"\\} [1-9]`));
  }
});

describe('a vCenter older than 7.0 Update 3', () => {
  const older = useController({ version: '7.0.2' });
  let old: World;
  let oldServed: Served;

  beforeAll(() => {
    ({ world: old, served: oldServed } = older);
  });

  test('snapshot RPCs and restores are UNIMPLEMENTED naming the release; DeleteVolume works without a snapshot query', async () => {
    const created = await oldServed.csi.call<VolumeRes>('CreateVolume', { name: 'old-snap', volume_capabilities: [MOUNT_RWO], capacity_range: { required_bytes: String(GiB) } });
    const id = created.volume.volume_id;
    const err = await errorOf(oldServed.csi.call('CreateSnapshot', { name: 'snapshot-old', source_volume_id: id }));
    expect(err.code).toBe(status.UNIMPLEMENTED);
    expect(err.details).toMatch(/needs vSphere 7\.0 Update 3 or later .*is 7\.0\.2/);
    expect(await codeOf(oldServed.csi.call('ListSnapshots', {}))).toBe(status.UNIMPLEMENTED);
    expect(await codeOf(oldServed.csi.call('GetSnapshot', { snapshot_id: `${id}+00000000-0000-0000-0000-000000000000` }))).toBe(status.UNIMPLEMENTED);
    expect(await codeOf(oldServed.csi.call('CreateVolume', { name: 'old-restore', volume_capabilities: [MOUNT_RWO], volume_content_source: { snapshot: { snapshot_id: `${id}+00000000-0000-0000-0000-000000000000` } } }))).toBe(
      status.UNIMPLEMENTED,
    );
    await old.sim.resetRequests();
    await oldServed.csi.call('DeleteVolume', { volume_id: id });
    const counts = (await old.sim.requests()).byMethod;
    expect(counts['/vsanHealth CnsQuerySnapshots'] ?? 0).toBe(0);
    expect(counts['/vsanHealth CnsDeleteVolume']).toBe(1);
  });

  test("the vCenter's own MethodNotFound (whatever its version claims) is UNIMPLEMENTED naming the release", async () => {
    const vc = oldServed.controller.context.vcenters.first;
    const err = await snapshotCall(vc, 'taking snapshots', () => vc.client.cns.createSnapshot('00000000-0000-0000-0000-000000000000', 'x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiError);
    expect((err as CsiError).code).toBe(status.UNIMPLEMENTED);
    expect((err as CsiError).message).toMatch(/taking snapshots needs vSphere 7\.0 Update 3 or later .*is 7\.0\.2/);
    expect((await old.sim.requests()).byMethod['/vsanHealth CnsCreateSnapshots']).toBeGreaterThanOrEqual(1);
  });
});
