/**
 * SIGTERM while operations are in flight (held there by a hung vCenter),
 * against the compiled controller as a real process: the calls finish with
 * a proper gRPC answer, the process exits 0, the socket is gone, and the
 * vCenter session is logged out (the simulator's session list and Logout).
 * When vCenter stays hung past the shutdown grace (10 s), the calls are cut
 * with a status and the process still exits (logout is bounded too).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
type ServiceError = grpc.ServiceError;
import { createCsiClient } from '../../src/csi/client.js';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { compiledMain } from './compiled.js';
import { controllerConfig, parseMetrics, spawnDriver, waitReady, type DriverProcess } from './driver-process.js';
import { simSessionKeys } from './sim-sessions.js';

const MOUNT_RWO = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

let main: string;
let sim: Vcsim;
let dir: string;
let proc: DriverProcess | undefined;

beforeAll(async () => {
  [main, sim] = await Promise.all([compiledMain(), startVcsim({ clusters: 1, hostsPerCluster: 2, vmsPerPool: 1, standaloneHosts: 0 })]);
  dir = mkdtempSync(join(tmpdir(), 'faults-sigterm-'));
}, 300_000);

afterAll(async () => {
  await sim?.setHang(false).catch(() => undefined);
  await proc?.stop(2_000);
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('SIGTERM with calls in flight: they finish cleanly, socket removed, vCenter session logged out', async () => {
  writeFileSync(join(dir, 'csi-vsphere.conf'), controllerConfig(sim, 'sigterm'), { mode: 0o600 });
  const socket = join(dir, 'csi.sock');
  const endpoint = `unix://${socket}`;
  const p = spawnDriver(main, ['controller', '--endpoint', endpoint, '--config', join(dir, 'csi-vsphere.conf'), '--metrics-port', '0']);
  proc = p;
  await waitReady(endpoint, p);
  const port = (await p.waitForOutput(/"port":(\d+),"msg":"metrics at \/metrics"/))[1];
  const csi = createCsiClient(endpoint);
  // Warm: placement inventory and name lookups have run once.
  await csi.call('Controller', 'CreateVolume', { name: 'pvc-warm', volume_capabilities: [MOUNT_RWO] });
  const sessionsBefore = await simSessionKeys(sim);
  expect(sessionsBefore.length).toBe(2); // the driver's and the reader's own

  const logoutsBefore = (await sim.requests()).byMethod['/sdk Logout'] ?? 0; // the reader's own
  await sim.setHang(true);
  const calls = [
    ...['pvc-t1', 'pvc-t2', 'pvc-t3'].map((name) => csi.call('Controller', 'CreateVolume', { name, volume_capabilities: [MOUNT_RWO] }, { timeoutMs: 30_000 })),
    csi.call('Controller', 'DeleteVolume', { volume_id: '00000000-0000-0000-0000-000000000000' }, { timeoutMs: 30_000 }),
  ];
  const outcomes = Promise.allSettled(calls);
  let inFlight = 0;
  for (let i = 0; i < 100 && inFlight < calls.length; i++) {
    const m = parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    inFlight = (m.get('vsphere_csi_rpc_in_flight{method="CreateVolume"}') ?? 0) + (m.get('vsphere_csi_rpc_in_flight{method="DeleteVolume"}') ?? 0);
    if (inFlight < calls.length) await new Promise((r) => setTimeout(r, 50));
  }
  expect(inFlight).toBe(calls.length);

  p.child.kill('SIGTERM');
  await p.waitForOutput(/"msg":"CSI server shutting down"/);
  // New calls are refused while the in-flight ones still run.
  await expect(csi.call('Identity', 'GetPluginInfo', {}, { timeoutMs: 2_000 })).rejects.toBeDefined();
  // vCenter comes back within the shutdown grace: the calls complete.
  await sim.setHang(false);
  const settled = await outcomes;
  csi.close();
  const exit = await p.exited;

  for (const s of settled) {
    if (s.status === 'rejected') throw new Error(`in-flight call failed during shutdown: ${(s.reason as ServiceError).code} ${(s.reason as ServiceError).details}`);
  }
  expect(exit).toEqual({ code: 0, signal: null });
  expect(existsSync(socket)).toBe(false);
  expect((await sim.requests()).byMethod['/sdk Logout']).toBe(logoutsBefore + 1);
  // Only the reader's own session is left: the driver's was logged out, not abandoned.
  expect(await simSessionKeys(sim)).toHaveLength(1);
  expect(p.output()).toContain('"msg":"stopped"');
}, 60_000);

test('SIGTERM while vCenter stays hung: calls are cut after the grace with a gRPC status, the process still exits and removes its socket', async () => {
  await sim.setHang(false);
  const hungDir = join(dir, 'hung');
  mkdirSync(hungDir);
  writeFileSync(join(hungDir, 'csi-vsphere.conf'), controllerConfig(sim, 'sigterm-hung'), { mode: 0o600 });
  const socket = join(hungDir, 'csi.sock');
  const endpoint = `unix://${socket}`;
  const p = spawnDriver(main, ['controller', '--endpoint', endpoint, '--config', join(hungDir, 'csi-vsphere.conf')]);
  proc = p;
  await waitReady(endpoint, p);
  const csi = createCsiClient(endpoint);
  await sim.setHang(true);
  const calls = ['pvc-h1', 'pvc-h2'].map((name) =>
    csi.call('Controller', 'CreateVolume', { name, volume_capabilities: [MOUNT_RWO] }, { timeoutMs: 60_000 }).then(
      () => 'ok' as const,
      (err: ServiceError) => err.code,
    ),
  );
  await new Promise((r) => setTimeout(r, 500));
  p.child.kill('SIGTERM');
  const codes = await Promise.all(calls);
  const exit = await p.exited;
  csi.close();
  await sim.setHang(false);
  // Cut by the server (CANCELLED) or by the connection closing under them (UNAVAILABLE): never left hanging.
  for (const code of codes) expect([grpc.status.CANCELLED, grpc.status.UNAVAILABLE]).toContain(code);
  expect(existsSync(socket)).toBe(false);
  expect(exit).toEqual({ code: 0, signal: null });
  expect(p.output()).toContain('shutdown grace expired: cancelling in-flight calls');
  expect(p.output()).toContain('"msg":"stopped"');
}, 60_000);
