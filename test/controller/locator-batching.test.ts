/**
 * The volume locator's `find` shares CnsQueryVolumes between concurrent
 * callers, per vCenter: against fake clients that record each query. A lone
 * find is sent at once; concurrent ones go in a few queries; a volume not in
 * the first vCenter's answer is still found in another; an unknown one is
 * NOT_FOUND for its caller only; a stale cached location is resolved again.
 */
import { describe, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { silentLogger } from '../../src/log.js';
import type { CnsQueryFilter, CnsVolume, VsphereClient } from '../../src/vsphere/api.js';
import { VcenterSet } from '../../src/controller/vcenters.js';
import { VolumeLocator } from '../../src/controller/volume-locator.js';

interface Fake {
  client: VsphereClient;
  queries: string[][];
}

/** A vCenter holding these volume ids, answering CnsQueryVolume after `delayMs`. */
function fakeVcenter(host: string, ids: string[], delayMs = 5): Fake {
  const queries: string[][] = [];
  const cns = {
    queryVolumes: async (filter: CnsQueryFilter) => {
      const asked = filter.volumeIds ?? [];
      queries.push(asked);
      await new Promise((r) => setTimeout(r, delayMs));
      const volumes: CnsVolume[] = asked.filter((id) => ids.includes(id)).map((id) => ({ volumeId: id, name: `pvc-${id}`, capacityMb: 1024 }) as CnsVolume);
      return { volumes, cursor: { offset: volumes.length, limit: asked.length } };
    },
  };
  const client = { host, onRequest: () => () => undefined, cns } as unknown as VsphereClient;
  return { client, queries };
}

const BATCHING = { enabled: true, windowMs: 5, maxBatch: 32 };
const labels = { topologyCategories: [] };
const setOf = (fakes: Fake[]) => new VcenterSet(fakes.map((f) => ({ client: f.client, vSphereUser: 'u@vsphere.local' })), { labels, log: silentLogger }, silentLogger);
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('VolumeLocator.find batching', () => {
  test('one vCenter: a lone find is one query sent at once, not after the window', async () => {
    const vc = fakeVcenter('vc-a', ['v-1']);
    const locator = new VolumeLocator(setOf([vc]), { ...BATCHING, windowMs: 1_000 });
    const started = Date.now();
    const found = await locator.find('v-1');
    expect(Date.now() - started).toBeLessThan(500);
    expect(found.volume.volumeId).toBe('v-1');
    expect(vc.queries).toEqual([['v-1']]);
  });

  test('one vCenter: 50 concurrent finds share 3 queries; an unknown id is NOT_FOUND for its caller only', async () => {
    const held = ids('v', 49);
    const vc = fakeVcenter('vc-a', held);
    const locator = new VolumeLocator(setOf([vc]), BATCHING);
    const results = await Promise.allSettled([...held, 'v-unknown'].map((id) => locator.find(id)));
    expect(vc.queries.length).toBe(3); // the first alone, then 32 and 17 gathered while it ran
    expect(vc.queries.flat().sort()).toEqual([...held, 'v-unknown'].sort());
    results.slice(0, 49).forEach((r, i) => expect(r.status === 'fulfilled' && r.value.volume.volumeId).toBe(held[i]));
    const missing = results[49] as PromiseRejectedResult;
    expect(missing.status).toBe('rejected');
    expect((missing.reason as { code: number }).code).toBe(status.NOT_FOUND);
    expect(locator.stats).toEqual({ batches: 3, items: 50 });
  });

  test('disabled batching: one query per find, as before', async () => {
    const held = ids('v', 5);
    const vc = fakeVcenter('vc-a', held);
    const locator = new VolumeLocator(setOf([vc]), { ...BATCHING, enabled: false });
    await Promise.all(held.map((id) => locator.find(id)));
    expect(vc.queries.length).toBe(5);
  });

  test('several vCenters: volumes of the second are found; each vCenter gets a few queries, not one per find', async () => {
    const inA = ids('a', 20);
    const inB = ids('b', 20);
    const a = fakeVcenter('vc-a', inA);
    const b = fakeVcenter('vc-b', inB);
    const locator = new VolumeLocator(setOf([a, b]), BATCHING);
    const all = [...inA, ...inB];
    const found = await Promise.all(all.map((id) => locator.find(id)));
    expect(found.map((f) => f.vc.name)).toEqual([...inA.map(() => 'vc-a'), ...inB.map(() => 'vc-b')]);
    expect(found.map((f) => f.volume.volumeId)).toEqual(all);
    expect(a.queries.length).toBeLessThanOrEqual(3);
    expect(b.queries.length).toBeLessThanOrEqual(3);
    // Now remembered: finds of known volumes read the volume from its own vCenter only, still shared.
    a.queries.length = 0;
    b.queries.length = 0;
    await Promise.all(all.map((id) => locator.find(id)));
    expect(a.queries.flat().sort()).toEqual([...inA].sort());
    expect(b.queries.flat().sort()).toEqual([...inB].sort());
    expect(a.queries.length + b.queries.length).toBeLessThanOrEqual(6);
    const err = (await locator.find('nowhere').catch((e: unknown) => e)) as { code: number; message: string };
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.message).toContain('in any configured vCenter (vc-a, vc-b)');
  });

  test('several vCenters: a stale cached location is resolved again, and the volume found where it is', async () => {
    const a = fakeVcenter('vc-a', []);
    const b = fakeVcenter('vc-b', ['moved']);
    const set = setOf([a, b]);
    const locator = new VolumeLocator(set, BATCHING);
    locator.remember('moved', set.all[0]!);
    const found = await locator.find('moved');
    expect(found.vc.name).toBe('vc-b');
    expect((await locator.locate('moved'))?.vc.name).toBe('vc-b');
  });
});
