/**
 * The per-vCenter bookkeeping that needs no vCenter to answer: the health
 * state machine fed by request outcomes, and the volume locator's bounded
 * cache. The clients are real but point at a closed port (127.0.0.1:1), so
 * any request the code did send would fail: a cached answer must come back
 * without one, an evicted one must not.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { Writable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { createLogger, silentLogger } from '../../src/log.js';
import { createVsphereClient } from '../../src/vsphere/client.js';
import type { RequestEvent } from '../../src/vsphere/api.js';
import { VcenterHealth } from '../../src/controller/vcenter-health.js';
import { VcenterSet } from '../../src/controller/vcenters.js';
import { VolumeLocator } from '../../src/controller/volume-locator.js';

const closedPort = (host: string) => createVsphereClient({ host, port: 1, user: 'u@vsphere.local', password: 'p', insecure: true, keepAliveMs: 0, requestTimeoutMs: 2_000 });
const clients = [closedPort('127.0.0.1'), closedPort('localhost')];

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

const event = (outcome: RequestEvent['outcome'], errorKind?: RequestEvent['errorKind']): RequestEvent => ({
  endpoint: 'cns', key: '/vsanHealth CnsQueryVolume', method: 'CnsQueryVolume', durationMs: 1, outcome, errorKind,
});

describe('vCenter health', () => {
  test('down on a refused connection or two timeouts in a row (logged once), not on one timeout, a fault or the caller giving up; up again on success', () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ level: 'info', destination: new Writable({ write: (c: Buffer, _e, cb) => { lines.push(JSON.parse(c.toString()) as Record<string, unknown>); cb(); } }) });
    const h = new VcenterHealth('vc-b', log);
    expect(h.state).toBe('unknown');
    h.observe(event('ok'));
    expect(h.state).toBe('up');
    h.observe(event('fault'));
    h.observe(event('error', 'cancelled'));
    h.observe(event('error', 'closed'));
    expect(h.state).toBe('up');
    // One slow answer is not an outage; a second in a row is.
    h.observe(event('error', 'timeout'));
    expect(h.state).toBe('up');
    h.observe(event('ok'));
    h.observe(event('error', 'timeout'));
    expect(h.state).toBe('up');
    h.observe(event('error', 'timeout'));
    expect(h.isDown).toBe(true);
    expect(h.reason).toBe('CnsQueryVolume: no answer within the request timeout (2 in a row)');
    h.observe(event('error', 'connection'));
    expect(h.reason).toBe('CnsQueryVolume: connection failed');
    h.observe(event('ok'));
    expect(h.state).toBe('up');
    expect(lines.map((l) => [l.level, l.vcenter, l.msg])).toEqual([
      ['warn', 'vc-b', 'vCenter vc-b is down: operations that need it fail with UNAVAILABLE, the others go on'],
      ['info', 'vc-b', 'vCenter vc-b answers again'],
    ]);
  });
});

describe('volume locator cache', () => {
  const set = new VcenterSet(clients.map((client) => ({ client, vSphereUser: 'u@vsphere.local' })), { labels: { topologyCategories: ['k8s-zone'] }, log: silentLogger }, silentLogger);
  const [a, b] = set.all;

  test('remembered answers come back without a request; the least recently used is dropped past the bound', async () => {
    const locator = new VolumeLocator(set, { enabled: false, windowMs: 0, maxBatch: 1 }, 2);
    locator.remember('v1', a!);
    locator.remember('v2', b!);
    expect(await locator.locate('v1')).toEqual({ vc: a, cached: true });
    // v1 was just used: v3 pushes out v2.
    locator.remember('v3', a!);
    expect((await locator.locate('v1'))?.vc).toBe(a);
    expect((await locator.locate('v3'))?.vc).toBe(a);
    expect(clients.map((c) => c.stats().total)).toEqual([0, 0]);
    // v2 must be asked for, and neither vCenter answers: UNAVAILABLE naming both.
    const err = (await locator.locate('v2').catch((e: unknown) => e)) as { code: number; message: string };
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.message).toContain('vCenter 127.0.0.1 (');
    expect(err.message).toContain('vCenter localhost (');
    expect(clients.every((c) => c.stats().total > 0)).toBe(true);
  }, 20_000);

  test('with one vCenter there is nothing to resolve and nothing to remember', async () => {
    const one = new VcenterSet([{ client: clients[0]!, vSphereUser: 'u@vsphere.local' }], { labels: { topologyCategories: [] }, log: silentLogger }, silentLogger);
    const locator = new VolumeLocator(one, { enabled: false, windowMs: 0, maxBatch: 1 });
    const before = clients[0]!.stats().total;
    expect(await locator.locate('any')).toEqual({ vc: one.first, cached: false });
    expect(clients[0]!.stats().total).toBe(before);
  });
});
