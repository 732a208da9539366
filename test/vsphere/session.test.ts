/** Session sharing, expiry recovery, wrong passwords, deadlines and a dying vCenter, against the simulator. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { isFault, VsphereConnectionError, VsphereFault, VsphereTimeoutError } from '../../src/vsphere/faults.js';
import type { VsphereClient } from '../../src/vsphere/api.js';
import { clientFor } from './helpers.js';

let sim: Vcsim;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
const clients: VsphereClient[] = [];
const track = (c: VsphereClient): VsphereClient => (clients.push(c), c);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  sim = await startVcsim({ vmsPerPool: 1 });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await sim?.stop();
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

async function until(check: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !check() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
}

describe('session', () => {
  test('concurrent first callers share one login', async () => {
    const client = track(clientFor(sim));
    await Promise.all(Array.from({ length: 20 }, () => client.session.currentTime()));
    expect(client.stats().byMethod['/sdk Login']).toBe(1);
    expect(client.stats().sessionsCreated).toBe(1);
  });

  test('1,000 operations with a forced session expiry in the middle: every call succeeds, at most 2 sessions', async () => {
    const client = track(clientFor(sim));
    const admin = track(clientFor(sim));
    const vm = (await client.inventory.vms())[0]!.ref;
    let done = 0;
    const op = (i: number): Promise<unknown> => (i % 3 === 0 ? client.session.currentTime() : i % 3 === 1 ? client.inventory.vm(vm) : client.cns.queryVolumes({ volumeIds: ['x'] }));
    for (let batch = 0; batch < 100; batch++) {
      if (batch === 50) await admin.session.terminateSessions([await client.session.currentSessionKey()]);
      await Promise.all(Array.from({ length: 10 }, (_, j) => op(batch * 10 + j).then(() => done++)));
    }
    const stats = client.stats();
    expect(done).toBe(1000);
    expect(stats.sessionsCreated).toBeLessThanOrEqual(2);
    expect(stats.byMethod['/sdk Login']).toBeLessThanOrEqual(2);
    expect(stats.relogins).toBe(1);
    console.log(`1,000 ops + forced expiry: ${stats.sessionsCreated} sessions, ${stats.byMethod['/sdk Login']} Login requests, ${stats.total} requests`);
  });

  test('wrong password: clear error naming user and server (never the password), no retry storm', async () => {
    const password = 'Wr0ng<&>"pass';
    const client = track(clientFor(sim, { password, loginBackoffMs: 60_000 }));
    const errors = await Promise.all(Array.from({ length: 10 }, () => client.session.currentTime().catch((e: unknown) => e)));
    for (let i = 0; i < 5; i++) errors.push(await client.inventory.vms().catch((e: unknown) => e));
    for (const err of errors) {
      expect(isFault(err, 'InvalidLogin')).toBe(true);
      const message = (err as VsphereFault).message;
      expect(message).toContain(sim.username);
      expect(message).toContain(sim.hostname);
      expect(message).not.toContain(password);
    }
    expect(client.stats().byMethod['/sdk Login']).toBe(1);
    // The simulator's vAPI accepts any non-empty password, so an empty one stands in for a wrong one there.
    const vapi = track(clientFor(sim, { password: '', loginBackoffMs: 60_000 }));
    const tagErrors = await Promise.all(Array.from({ length: 3 }, () => vapi.tags.categories().catch((e: unknown) => e)));
    tagErrors.push(await vapi.tags.tags().catch((e: unknown) => e));
    expect(tagErrors.every((e) => isFault(e, 'InvalidLogin') && (e as Error).message.includes(sim.username))).toBe(true);
    expect(vapi.stats().byMethod['POST /rest/com/vmware/cis/session']).toBe(1);
  });

  test('close() logs out of vim25 and vAPI; the session is no longer active', async () => {
    const client = clientFor(sim);
    const admin = track(clientFor(sim));
    await client.tags.categories();
    const key = await client.session.currentSessionKey();
    expect(await admin.session.isSessionActive(key, sim.username)).toBe(true);
    await client.close();
    expect(client.stats().byMethod['/sdk Logout']).toBe(1);
    expect(client.stats().byMethod['DELETE /rest/com/vmware/cis/session']).toBe(1);
    expect(await admin.session.isSessionActive(key, sim.username)).toBe(false);
    await expect(client.session.currentTime()).rejects.toThrow(/closed/);
  });

  test('privileges of the session user are asked in the shared session: one HasPrivilegeOnEntities per query, no second login', async () => {
    const client = track(clientFor(sim));
    const root = (await client.inventory.ancestors((await client.inventory.vms())[0]!.ref)).at(-1)!.ref;
    client.resetStats();
    const [granted, empty] = await client.session.hasPrivilegesOnEntities([{ entities: [root], privIds: ['System.Read', 'System.View'] }, { entities: [], privIds: ['System.Read'] }]);
    expect(granted).toEqual({ ok: true, value: [{ entity: root, granted: new Map([['System.Read', true], ['System.View', true]]) }] });
    expect(empty).toEqual({ ok: true, value: [] });
    expect(client.stats().byMethod['/sdk HasPrivilegeOnEntities']).toBe(1);
    expect(client.stats().byMethod['/sdk Login']).toBeUndefined();
  });

  test('keep-alive: an idle session gets a cheap CurrentTime', async () => {
    const client = track(clientFor(sim, { keepAliveMs: 1000 }));
    await client.session.ensure();
    await until(() => (client.stats().byMethod['/sdk CurrentTime'] ?? 0) > 0, 5000);
    expect(client.stats().byMethod['/sdk CurrentTime']).toBeGreaterThan(0);
  });

  test('a hanging vCenter: the call ends at the caller deadline with VsphereTimeoutError, then recovers', async () => {
    const client = track(clientFor(sim));
    await client.session.ensure();
    await sim.setHang(true);
    try {
      const err = await client.session.currentTime({ signal: AbortSignal.timeout(300) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VsphereTimeoutError);
      expect((err as Error).message).toMatch(/did not answer before the deadline/);
    } finally {
      await sim.setHang(false);
    }
    expect(await client.session.currentTime()).toBeInstanceOf(Date);
  });

  test('close() while vCenter hangs still returns, and the hung call fails with a typed error', async () => {
    const client = clientFor(sim);
    await client.session.ensure();
    await sim.setHang(true);
    try {
      const hung = client.session.currentTime().catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 100));
      await client.close();
      const err = await hung;
      expect(err instanceof VsphereConnectionError || err instanceof VsphereTimeoutError).toBe(true);
    } finally {
      await sim.setHang(false);
    }
  });
});

describe('vCenter stopped mid-call', () => {
  test('in-flight calls and task waits fail with typed errors, later calls too; nothing is left unhandled', async () => {
    const doomed = await startVcsim({ vmsPerPool: 1 });
    const client = track(clientFor(doomed));
    try {
      await client.session.ensure();
      const wait = client.tasks.wait({ type: 'Task', value: 'task-never-finishes' }).catch((e: unknown) => e);
      await doomed.setHang(true);
      const inflight = client.inventory.vms().catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200));
      await doomed.stop();
      const [inflightErr, waitErr] = await Promise.all([inflight, wait]);
      expect(inflightErr).toBeInstanceOf(VsphereConnectionError);
      expect(waitErr).toBeInstanceOf(VsphereConnectionError);
      const later = await client.session.currentTime().catch((e: unknown) => e);
      expect(later).toBeInstanceOf(VsphereConnectionError);
      expect((later as Error).message).toMatch(/cannot reach vCenter 127\.0\.0\.1 \(ECONNREFUSED\)/);
      // Reads are retried with bounded backoff (3 attempts); writes are sent once.
      expect(client.stats().byMethod['/sdk CurrentTime']).toBe(3);
      const write = await client.cns.createVolume({ name: 'x', capacityMb: 1, datastores: [{ type: 'Datastore', value: 'd' }], clusterId: 'c', vSphereUser: 'u' }).catch((e: unknown) => e);
      expect(write).toBeInstanceOf(VsphereConnectionError);
      expect(client.stats().byMethod['/vsanHealth CnsCreateVolume']).toBe(1);
    } finally {
      await doomed.stop();
    }
  });
});
