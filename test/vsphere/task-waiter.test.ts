/** The shared task waiter: many concurrent waits on one property collector, against the simulator's asynchronous tasks. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import type { MoRef, VsphereClient } from '../../src/vsphere/api.js';
import { isFault, VsphereTimeoutError } from '../../src/vsphere/faults.js';
import { REMEMBER_UNCLAIMED } from '../../src/vsphere/task-waiter.js';
import { clientFor } from './helpers.js';

let sim: Vcsim;
let datastore: MoRef;
let vm: MoRef;

beforeAll(async () => {
  sim = await startVcsim();
  const probe = clientFor(sim);
  try {
    datastore = (await probe.inventory.datastores())[0]!.ref;
    vm = (await probe.inventory.vms())[0]!.ref;
  } finally {
    await probe.close();
  }
});

afterAll(async () => {
  await sim?.stop();
});

const create = (client: VsphereClient, name: string): Promise<{ volumeId: string }> =>
  client.cns.createVolume({ name, capacityMb: 10, datastores: [datastore], clusterId: 'c', vSphereUser: 'u' });

describe('task waiter', () => {
  test('50 concurrent task waits resolve correctly through ONE WaitForUpdatesEx loop, without reading tasks directly', async () => {
    const client = clientFor(sim);
    try {
      await client.session.ensure();
      client.resetStats();
      const names = Array.from({ length: 50 }, (_, i) => `wait-${i}`);
      const created = await Promise.all(names.map((n) => create(client, n)));
      const stats = client.stats().byMethod;
      // Each caller got its own volume: the ids are distinct and each id's volume carries that caller's name.
      expect(new Set(created.map((c) => c.volumeId)).size).toBe(50);
      const volumes = new Map((await client.cns.queryVolumes({ volumeIds: created.map((c) => c.volumeId) })).volumes.map((v) => [v.volumeId, v.name]));
      created.forEach((c, i) => expect(volumes.get(c.volumeId)).toBe(names[i]));
      expect(stats['/vsanHealth CnsCreateVolume']).toBe(50);
      expect(stats['/sdk CreatePropertyCollector']).toBe(1);
      // The recentTask filter, and the ListView filter that tasks join while many are in flight.
      expect(stats['/sdk CreateFilter']).toBeLessThanOrEqual(2);
      expect(stats['/sdk CreateListView'] ?? 0).toBeLessThanOrEqual(1);
      expect(stats['/sdk ModifyListView'] ?? 0).toBeLessThanOrEqual(5);
      // Each long poll carries the steps of many tasks: far fewer polls than tasks (3 steps each).
      expect(stats['/sdk WaitForUpdatesEx']).toBeLessThanOrEqual(40);
      expect(stats['/sdk RetrievePropertiesEx']).toBeUndefined();
      console.log('50 concurrent creates via WaitForUpdatesEx:', stats);
      expect(client.tasks.pending()).toBe(0);

      // A failing task surfaces its fault type through the same loop.
      await client.cns.attachVolume({ volumeId: created[0]!.volumeId, vm });
      const err = await client.cns.attachVolume({ volumeId: created[0]!.volumeId, vm }).catch((e: unknown) => e);
      expect(isFault(err, 'ResourceInUse')).toBe(true);
      await client.cns.detachVolume({ volumeId: created[0]!.volumeId, vm });
      await Promise.all(created.map((c) => client.cns.deleteVolume(c.volumeId)));
    } finally {
      await client.close();
    }
  });

  test('300 tasks in flight at once (more than recentTask holds) all resolve, each with its own result', async () => {
    const client = clientFor(sim);
    await sim.setCnsTiming(300, 50);
    try {
      await client.session.ensure();
      client.resetStats();
      const names = Array.from({ length: 300 }, (_, i) => `storm-${i}`);
      const created = await Promise.all(names.map((n) => create(client, n)));
      expect(new Set(created.map((c) => c.volumeId)).size).toBe(300);
      const byId = new Map<string, string>();
      for (let i = 0; i < created.length; i += 100) {
        const page = await client.cns.queryVolumes({ volumeIds: created.slice(i, i + 100).map((c) => c.volumeId) });
        for (const v of page.volumes) byId.set(v.volumeId, v.name);
      }
      created.forEach((c, i) => expect(byId.get(c.volumeId)).toBe(names[i]));
      const stats = client.stats().byMethod;
      console.log('300 creates in flight:', stats);
      expect(stats['/sdk WaitForUpdatesEx']).toBeLessThan(100);
      // No task had to be read directly: every result came through the property collector.
      expect(stats['/sdk RetrievePropertiesEx'] ?? 0).toBeLessThanOrEqual(1);
      expect(client.tasks.pending()).toBe(0);
      await sim.setCnsTiming(0, 0);
      await Promise.all(created.map((c) => client.cns.deleteVolume(c.volumeId)));
    } finally {
      await sim.setCnsTiming(2, 3);
      await client.close();
    }
  });

  test('a wait ends at its own deadline without disturbing the others; an unknown task is ManagedObjectNotFound', async () => {
    const client = clientFor(sim, { taskStragglerCheckMs: 100 });
    try {
      const controller = new AbortController();
      controller.abort();
      await expect(client.tasks.wait({ type: 'Task', value: 'task-does-not-matter' }, { signal: controller.signal })).rejects.toBeInstanceOf(VsphereTimeoutError);
      const ok = await create(client, 'after-abort');
      expect(ok.volumeId).toBeTruthy();
      // No update ever names it: the straggler safety net reads it directly (the long poll is shortened for that).
      const missing = await client.tasks.wait({ type: 'Task', value: 'task-424242' }).catch((e: unknown) => e);
      expect(isFault(missing, 'ManagedObjectNotFound')).toBe(true);
      await client.cns.deleteVolume(ok.volumeId);
    } finally {
      await client.close();
    }
  });

  test('a task the recentTask filter never shows is read directly (safety net for busy vCenters)', async () => {
    const client = clientFor(sim, { taskStragglerCheckMs: 100 });
    try {
      const wait = client.tasks.wait({ type: 'Task', value: 'task-not-recent' }).catch((e: unknown) => e);
      // Other task activity makes WaitForUpdatesEx return, after which unseen tasks are read.
      let activity: { volumeId: string } | undefined;
      for (let i = 0; i < 20 && client.tasks.pending() > 0; i++) {
        await new Promise((r) => setTimeout(r, 150));
        activity = await create(client, `activity-${i}`);
        await client.cns.deleteVolume(activity.volumeId);
      }
      expect(isFault(await wait, 'ManagedObjectNotFound')).toBe(true);
    } finally {
      await client.close();
    }
  });

  test('task infos are bounded: a settled task is forgotten; others\' finished tasks are kept at most REMEMBER_UNCLAIMED', async () => {
    const observer = clientFor(sim);
    const busy = clientFor(sim);
    try {
      await Promise.all([observer.session.ensure(), busy.session.ensure()]);
      // The first wait builds busy's collector, whose first update names the (finished) tasks already in recentTask.
      const warm = await create(busy, 'others-warm');
      const before = busy.tasks.remembered();
      // The observer waits for one slow task, so its update loop sees every task the busy client runs meanwhile.
      await sim.setCnsTiming(0, 4000);
      const slow = create(observer, 'slow-one');
      await new Promise((r) => setTimeout(r, 300));
      await sim.setCnsTiming(0, 0);
      const names = Array.from({ length: REMEMBER_UNCLAIMED + 150 }, (_, i) => `others-${i}`);
      const made: string[] = [];
      for (let i = 0; i < names.length; i += 50) made.push(...(await Promise.all(names.slice(i, i + 50).map((n) => create(busy, n)))).map((c) => c.volumeId));
      const mine = await slow;
      expect(observer.tasks.pending()).toBe(0);
      // Seen in its updates, none awaited by it: bounded (the old waiter kept up to 2,000 with their results).
      expect(observer.tasks.remembered()).toBeLessThanOrEqual(REMEMBER_UNCLAIMED);
      // The busy client awaited each of its tasks: none stays once settled (the old waiter kept them all).
      expect(busy.tasks.remembered() - before).toBeLessThan(10);
      made.push(warm.volumeId);
      for (let i = 0; i < made.length; i += 50) await Promise.all(made.slice(i, i + 50).map((id) => busy.cns.deleteVolume(id)));
      await observer.cns.deleteVolume(mine.volumeId);
    } finally {
      await sim.setCnsTiming(2, 3);
      await Promise.all([observer.close(), busy.close()]);
    }
  }, 60_000);

  test('after the session is terminated the waiter builds a new collector and keeps working', async () => {
    const client = clientFor(sim);
    const admin = clientFor(sim);
    try {
      await create(client, 'before-expiry');
      await admin.session.terminateSessions([await client.session.currentSessionKey()]);
      const after = await create(client, 'after-expiry');
      expect(after.volumeId).toBeTruthy();
      const stats = client.stats();
      expect(stats.sessionsCreated).toBe(2);
      expect(stats.byMethod['/sdk CreatePropertyCollector']).toBe(2);
    } finally {
      await client.close();
      await admin.close();
    }
  });
});
