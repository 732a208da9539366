/**
 * The volume locator's `find` shares CnsQueryVolumes between concurrent
 * callers, per vCenter, against the real simulators: one vCenter (the zoned
 * world, recording request bodies, so each query's volume ids are read back
 * from what the simulator received) and two (sites A and B). The locator is
 * built as the controller builds it (src/controller/context.ts), over clients
 * of its own, so each simulator's request counter holds its queries alone.
 *
 * A lone find is sent at once, not held for the window; concurrent ones go
 * in the queries the design gives (the first alone, the rest gathered in
 * batches of up to 32 while it runs); an unknown id is NOT_FOUND for its
 * caller only; a volume of the second vCenter is found with and without a
 * cached location; a wrong cached location is resolved again.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { silentLogger } from '../../src/log.js';
import { createVsphereClient } from '../../src/vsphere/client.js';
import type { VsphereClient } from '../../src/vsphere/api.js';
import type { Vcsim } from '../../src/harness/vcsim.js';
import { startSites, type Site, type Sites } from '../../src/harness/sites.js';
import type { BatchingOptions } from '../../src/controller/context.js';
import { VcenterSet } from '../../src/controller/vcenters.js';
import { VolumeLocator } from '../../src/controller/volume-locator.js';
import { startWorld, stopWorld, type World } from './fixture.js';
import { requestsDuring } from '../multi-vcenter/fixture.js';

const QUERY = '/vsanHealth CnsQueryVolume';
/** The controller's defaults (ControllerContext). */
const BATCHING: BatchingOptions = { enabled: true, windowMs: 5, maxBatch: 32 };
const labels = { topologyCategories: [] };
const UNKNOWN = '00000000-0000-0000-0000-00000000dead';

interface Target {
  sim: Vcsim;
  thumbprint: string;
  client: VsphereClient;
  sharedDatastoreUrl: string;
}

/** Requests each locator client has had answered (its observer runs when a request ends; stats() counts it when sent). */
const answered = new Map<VsphereClient, { count: number; wake: Set<() => void> }>();

/** A client of the locator's own, logged in (so the counters that follow hold only the locator's queries). */
async function ownClient(t: Target): Promise<VsphereClient> {
  const client = createVsphereClient({ host: t.sim.hostname, port: t.sim.port, user: t.sim.username, password: t.sim.password, thumbprint: t.thumbprint });
  const seen = { count: 0, wake: new Set<() => void>() };
  answered.set(client, seen);
  client.onRequest(() => {
    seen.count++;
    for (const wake of seen.wake) wake();
  });
  await client.session.ensure();
  return client;
}

/**
 * Resolves when every request these clients sent has been answered. A find
 * that one vCenter answered does not wait for the other vCenters' queries
 * (askEach), so their requests may still be on the way when it resolves.
 */
async function settled(clients: VsphereClient[]): Promise<void> {
  await Promise.all(
    clients.map((client) => {
      const seen = answered.get(client)!;
      return new Promise<void>((resolve) => {
        const check = () => {
          if (seen.count < client.stats().total) return;
          seen.wake.delete(check);
          resolve();
        };
        seen.wake.add(check);
        check();
      });
    }),
  );
}

/** The locator as the controller builds it, over these clients (in config order). */
function locatorOver(clients: VsphereClient[], batching: BatchingOptions = BATCHING): { set: VcenterSet; locator: VolumeLocator } {
  const set = new VcenterSet(clients.map((client) => ({ client, vSphereUser: 'u@vsphere.local' })), { labels, log: silentLogger }, silentLogger);
  return { set, locator: new VolumeLocator(set, batching) };
}

/** `n` CNS volumes made straight through CNS (not the driver), all at once. */
async function createVolumes(t: Target, prefix: string, n: number): Promise<string[]> {
  const ds = (await t.client.inventory.datastores()).find((d) => d.url === t.sharedDatastoreUrl)!;
  return Promise.all(
    Array.from({ length: n }, async (_, i) =>
      (await t.client.cns.createVolume({ name: `${prefix}-${i}`, capacityMb: 16, datastores: [ds.ref], clusterId: 'locator', vSphereUser: t.sim.username })).volumeId,
    ),
  );
}

async function deleteVolumes(t: Target | undefined, ids: string[]): Promise<void> {
  if (!t) return;
  await Promise.all(ids.map((id) => t.client.cns.deleteVolume(id)));
}

/** The volume ids each CnsQueryVolume the simulator received since its counters were reset carried, in arrival order. */
async function queriedIds(sim: Vcsim): Promise<string[][]> {
  const bodies = (await sim.bodies()).filter((b) => b.includes('<CnsQueryVolume'));
  return bodies.map((b) => [...b.matchAll(/<volumeIds>(?:(?!<\/volumeIds>)[\s\S])*?<id>([^<]*)<\/id>/g)].map((m) => m[1]!));
}

async function countsDuring(sim: Vcsim, fn: () => Promise<unknown>): Promise<Record<string, number>> {
  await sim.resetRequests();
  await fn();
  return (await sim.requests()).byMethod;
}

const codeOf = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' ? (r.reason as { code: number }).code : undefined);

describe('one vCenter', () => {
  let world: World | undefined;
  let client: VsphereClient | undefined;
  let held: string[] = [];

  beforeAll(async () => {
    world = await startWorld({ record: true, vmsPerPool: 1 });
    client = await ownClient(world);
    held = await createVolumes(world, 'locate', 49);
  }, 120_000);

  afterAll(async () => {
    await deleteVolumes(world, held);
    await client?.close();
    await stopWorld(world);
  });

  // A 30 s window under a 10 s test timeout: a query held for the window would time the test out.
  test('a lone find is one CnsQueryVolume, sent at once: dispatched before the event loop turns, not after the window', async () => {
    const { locator } = locatorOver([client!], { ...BATCHING, windowMs: 30_000 });
    await world!.sim.resetRequests();
    const finding = locator.find(held[0]!);
    // The window's timer cannot have fired by the next setImmediate: a query counted by then was not held for it.
    await new Promise((r) => setImmediate(r));
    expect(locator.stats).toEqual({ batches: 1, items: 1 });
    const found = await finding;
    expect(found.volume.volumeId).toBe(held[0]);
    expect(found.vc.name).toBe(world!.sim.hostname);
    expect((await world!.sim.requests()).byMethod).toEqual({ [QUERY]: 1 });
    expect(await queriedIds(world!.sim)).toEqual([[held[0]]]);
  }, 10_000);

  test('50 concurrent finds share 3 CnsQueryVolumes (the first alone, then 32 and 17 gathered while it ran); an unknown id is NOT_FOUND for its caller only', async () => {
    const { locator } = locatorOver([client!]);
    const asked = [...held, UNKNOWN];
    let results: PromiseSettledResult<Awaited<ReturnType<VolumeLocator['find']>>>[] = [];
    const counts = await countsDuring(world!.sim, async () => {
      results = await Promise.allSettled(asked.map((id) => locator.find(id)));
    });
    expect(counts).toEqual({ [QUERY]: 3 });
    const queries = await queriedIds(world!.sim);
    expect(queries.map((q) => q.length).sort((a, b) => a - b)).toEqual([1, 17, 32]);
    expect(queries.find((q) => q.length === 1)).toEqual([held[0]]);
    expect(queries.flat().sort()).toEqual([...asked].sort());
    results.slice(0, 49).forEach((r, i) => expect(r.status === 'fulfilled' && r.value.volume.volumeId).toBe(held[i]));
    expect(codeOf(results[49]!)).toBe(status.NOT_FOUND);
    expect(((results[49] as PromiseRejectedResult).reason as Error).message).toBe(`volume_id ${UNKNOWN}: CNS has no such volume`);
    expect(locator.stats).toEqual({ batches: 3, items: 50 });
  });

  test('batching disabled: one CnsQueryVolume per find, each carrying its own id', async () => {
    const { locator } = locatorOver([client!], { ...BATCHING, enabled: false });
    const five = held.slice(0, 5);
    const counts = await countsDuring(world!.sim, () => Promise.all(five.map((id) => locator.find(id))));
    expect(counts).toEqual({ [QUERY]: 5 });
    expect((await queriedIds(world!.sim)).sort()).toEqual(five.map((id) => [id]).sort());
  });
});

describe('two vCenters', () => {
  let sites: Sites | undefined;
  const clients: VsphereClient[] = [];
  let inA: string[] = [];
  let inB: string[] = [];

  const site = (s: Site): Target => s.world;
  const byMethod = async (fn: () => Promise<unknown>) => {
    const [a, b] = await requestsDuring([sites!.a, sites!.b], async () => {
      await fn();
      await settled(clients);
    });
    return { a: a!, b: b! };
  };

  beforeAll(async () => {
    sites = await startSites({ vmsPerSite: 1 });
    clients.push(await ownClient(site(sites.a)), await ownClient(site(sites.b)));
    [inA, inB] = await Promise.all([createVolumes(site(sites.a), 'in-a', 20), createVolumes(site(sites.b), 'in-b', 20)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([deleteVolumes(sites && site(sites.a), inA), deleteVolumes(sites && site(sites.b), inB)]);
    for (const c of clients) await c.close();
    await sites?.stop();
  });

  test("a volume of the second vCenter: without a cached location both are asked once; with one, only the volume's own", async () => {
    const { locator } = locatorOver(clients);
    const id = inB[0]!;
    let found: Awaited<ReturnType<VolumeLocator['find']>> | undefined;
    const first = await byMethod(async () => void (found = await locator.find(id)));
    expect(found!.vc.name).toBe(sites!.b.vcenter);
    expect(found!.volume.volumeId).toBe(id);
    expect(first).toEqual({ a: { [QUERY]: 1 }, b: { [QUERY]: 1 } });

    const again = await byMethod(async () => void (found = await locator.find(id)));
    expect(found!.vc.name).toBe(sites!.b.vcenter);
    expect(found!.volume.volumeId).toBe(id);
    expect(again).toEqual({ a: {}, b: { [QUERY]: 1 } });
  });

  test('40 concurrent finds, 20 in each vCenter: each vCenter gets 3 queries uncached (40 ids: 1, 32, 7) and 2 cached (its own 20: 1, 19)', async () => {
    const { locator } = locatorOver(clients);
    const all = [...inA, ...inB];
    let found: Awaited<ReturnType<VolumeLocator['find']>>[] = [];
    const uncached = await byMethod(async () => void (found = await Promise.all(all.map((id) => locator.find(id)))));
    expect(found.map((f) => f.vc.name)).toEqual([...inA.map(() => sites!.a.vcenter), ...inB.map(() => sites!.b.vcenter)]);
    expect(found.map((f) => f.volume.volumeId)).toEqual(all);
    expect(uncached).toEqual({ a: { [QUERY]: 3 }, b: { [QUERY]: 3 } });

    // Now remembered: each volume is read from its own vCenter only, still shared.
    const cached = await byMethod(async () => void (found = await Promise.all(all.map((id) => locator.find(id)))));
    expect(found.map((f) => f.vc.name)).toEqual([...inA.map(() => sites!.a.vcenter), ...inB.map(() => sites!.b.vcenter)]);
    expect(found.map((f) => f.volume.volumeId)).toEqual(all);
    expect(cached).toEqual({ a: { [QUERY]: 2 }, b: { [QUERY]: 2 } });
    expect(locator.stats).toEqual({ batches: 10, items: 80 + 40 });

    const err = (await locator.find(UNKNOWN).catch((e: unknown) => e)) as { code: number; message: string };
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.message).toContain(`in any configured vCenter (${sites!.a.vcenter}, ${sites!.b.vcenter})`);
  });

  test('a wrong cached location (vCenter A for a volume of B) is resolved again, and the volume found in B', async () => {
    const { set, locator } = locatorOver(clients);
    const id = inB[1]!;
    locator.remember(id, set.get(sites!.a.vcenter)!);
    let found: Awaited<ReturnType<VolumeLocator['find']>> | undefined;
    // A: the cached read (nothing there), then the fresh resolve asks both.
    const stale = await byMethod(async () => void (found = await locator.find(id)));
    expect(found!.vc.name).toBe(sites!.b.vcenter);
    expect(found!.volume.volumeId).toBe(id);
    expect(stale).toEqual({ a: { [QUERY]: 2 }, b: { [QUERY]: 1 } });
    const at = await locator.locate(id);
    expect(at?.vc.name).toBe(sites!.b.vcenter);
    expect(at?.cached).toBe(true);
    expect(await byMethod(() => locator.find(id))).toEqual({ a: {}, b: { [QUERY]: 1 } });
  });
});
