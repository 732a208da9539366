/**
 * The controller mode as the CLI runs it: config file → vCenter client →
 * Identity (Probe tied to the vCenter session) + Controller on a real
 * socket; close() logs out of vCenter.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { runControllerMode, batchingFromEnv } from '../../src/controller/mode.js';
import { startCsiServer } from '../../src/csi/server.js';
import { silentLogger } from '../../src/log.js';
import { csiClient } from './csi-client.js';
import { MOUNT_RWO } from './fixture.js';

let sim: Vcsim;
let dir: string;

beforeAll(async () => {
  sim = await startVcsim({ clusters: 1, hostsPerCluster: 2, vmsPerPool: 1 });
  dir = mkdtempSync(join(tmpdir(), 'ctrl-mode-'));
}, 60_000);

afterAll(async () => {
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('controller mode serves Identity and Controller from the config and logs out on close', async () => {
  const config = join(dir, 'csi-vsphere.conf');
  writeFileSync(
    config,
    `[Global]\ncluster-id = "mode-test"\n\n[VirtualCenter "${sim.hostname}"]\nuser = "${sim.username}"\npassword = "${sim.password}"\nport = "${sim.port}"\ninsecure-flag = "true"\ndatacenters = "DC0"\n`,
    { mode: 0o600 },
  );
  const endpoint = `unix://${join(dir, 'csi.sock')}`;
  const handle = await runControllerMode(
    { mode: 'controller', endpoint, configPath: config, cloudConfigPath: '', logLevel: 'silent', output: 'text', env: {}, metricsRegistry: new Registry() },
    silentLogger,
  );
  const server = await startCsiServer({ endpoint, logger: silentLogger, services: handle.services! });
  const identity = csiClient('Identity', server.socketPath);
  const controller = csiClient('Controller', server.socketPath);
  try {
    const probe = await identity.call<{ ready: { value: boolean } | null }>('Probe', {});
    expect(probe.ready?.value).toBe(true);
    const res = await controller.call<{ volume: { volume_id: string } }>('CreateVolume', { name: 'pvc-mode', volume_capabilities: [MOUNT_RWO] });
    expect(res.volume.volume_id).toMatch(/^[0-9a-f-]{36}$/);
    await sim.setHang(true);
    // vCenter stops answering: Probe turns not-ready (within its own timeout), it does not fail the call.
    const hung = await identity.call<{ ready: { value: boolean } | null }>('Probe', {});
    expect(hung.ready?.value).toBe(false);
    await sim.setHang(false);
  } finally {
    identity.close();
    controller.close();
    await server.close();
    await handle.close();
  }
  expect((await sim.requests()).byMethod['/sdk Logout']).toBe(1);
}, 30_000);

test('batching knobs from the environment', () => {
  expect(batchingFromEnv({})).toEqual({});
  expect(batchingFromEnv({ VSPHERE_CSI_BATCHING: 'false', VSPHERE_CSI_BATCH_WINDOW_MS: '2', VSPHERE_CSI_BATCH_MAX: '8' })).toEqual({ enabled: false, windowMs: 2, maxBatch: 8 });
  expect(batchingFromEnv({ VSPHERE_CSI_BATCH_WINDOW_MS: '-1', VSPHERE_CSI_BATCH_MAX: 'x' })).toEqual({});
});
