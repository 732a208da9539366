/**
 * The controller process killed (SIGKILL) the moment its CnsCreateVolume
 * reaches vCenter, then restarted: the provisioner's retry must find the
 * volume vCenter created by name (no store of our own) and return it, never
 * create a second one. Whether the kill lands before or after the driver
 * learned the result is a race on a fast simulator; both orders must end
 * with exactly one volume, and the suite prints which one it saw.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { createCsiClient } from '../../src/csi/client.js';
import { GrpcCode } from '../../src/csi/errors.js';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { createVsphereClient } from '../../src/vsphere/client.js';
import { compiledMain } from './compiled.js';
import { controllerConfig, spawnDriver, waitReady, type DriverProcess } from './driver-process.js';

const MOUNT_RWO = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

let main: string;
let sim: Vcsim;
let dir: string;
const procs: DriverProcess[] = [];

beforeAll(async () => {
  [main, sim] = await Promise.all([compiledMain(), startVcsim({ clusters: 1, hostsPerCluster: 2, vmsPerPool: 1, standaloneHosts: 0 })]);
  dir = mkdtempSync(join(tmpdir(), 'faults-crash-'));
}, 300_000);

afterAll(async () => {
  for (const p of procs) await p.stop(2_000);
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('controller killed as its CnsCreateVolume reaches vCenter: the retry after restart returns the one volume', async () => {
  writeFileSync(join(dir, 'csi-vsphere.conf'), controllerConfig(sim, 'crash'), { mode: 0o600 });
  const endpoint = `unix://${join(dir, 'csi.sock')}`;
  const args = ['controller', '--endpoint', endpoint, '--config', join(dir, 'csi-vsphere.conf')];
  const first = spawnDriver(main, args);
  procs.push(first);
  await waitReady(endpoint, first);
  const csi = createCsiClient(endpoint);
  await csi.call('Controller', 'CreateVolume', { name: 'pvc-warm', volume_capabilities: [MOUNT_RWO] });
  const createsBefore = (await sim.requests()).byMethod['/vsanHealth CnsCreateVolume'] ?? 0;

  const name = 'pvc-crash';
  const firstCall = csi.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', { name, volume_capabilities: [MOUNT_RWO] }, { timeoutMs: 30_000 }).then(
    (res) => res.volume.volume_id,
    (err: ServiceError) => err.code,
  );
  let sent = false;
  for (let i = 0; i < 5_000 && !sent; i++) sent = ((await sim.requests()).byMethod['/vsanHealth CnsCreateVolume'] ?? 0) > createsBefore;
  first.child.kill('SIGKILL');
  await first.exited;
  expect(sent).toBe(true);
  const firstOutcome = await firstCall;
  csi.close();

  const second = spawnDriver(main, args);
  procs.push(second);
  await waitReady(endpoint, second);
  const retry = createCsiClient(endpoint);
  try {
    const volumeId = (await retry.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', { name, volume_capabilities: [MOUNT_RWO] }, { timeoutMs: 30_000 })).volume.volume_id;
    const admin = createVsphereClient({ host: sim.hostname, port: sim.port, user: sim.username, password: sim.password, insecure: true });
    try {
      const named = (await admin.cns.queryAllVolumes({})).filter((v) => v.name === name).map((v) => v.volumeId);
      expect(named).toEqual([volumeId]);
    } finally {
      await admin.close();
    }
    // The retry found the volume; it did not create another.
    expect((await sim.requests()).byMethod['/vsanHealth CnsCreateVolume']).toBe(createsBefore + 1);
    if (typeof firstOutcome === 'string') expect(firstOutcome).toBe(volumeId);
    else expect(firstOutcome).toBe(GrpcCode.UNAVAILABLE);
    process.stdout.write(`controller crash: first call ${typeof firstOutcome === 'string' ? 'answered before the kill' : 'was cut by the kill (response lost)'}\n`);
  } finally {
    retry.close();
  }
}, 90_000);
