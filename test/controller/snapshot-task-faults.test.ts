/**
 * vCenter faults that arrive as a failed CNS task rather than as a SOAP fault,
 * on the snapshot RPCs: MethodNotFound (an implementation that reports a
 * missing method through the task, whatever its version says) is
 * UNIMPLEMENTED naming the release, a vCenter-side CnsFault is not blamed on
 * the caller (not INVALID_ARGUMENT), and neither leaves a snapshot behind.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { startWorld, stopWorld, serveController, type World, type Served, MOUNT_RWO, GiB } from './fixture.js';
import { errorOf } from './csi-client.js';

let world: World;
let served: Served;

beforeAll(async () => {
  world = await startWorld();
  served = await serveController(world);
}, 90_000);

afterAll(async () => {
  await served?.stop();
  await stopWorld(world);
});

async function volume(name: string): Promise<string> {
  const res = await served.csi.call<{ volume: { volume_id: string } }>('CreateVolume', { name, capacity_range: { required_bytes: String(GiB) }, volume_capabilities: [MOUNT_RWO] });
  return res.volume.volume_id;
}

test('a CnsCreateSnapshots task failing with MethodNotFound is UNIMPLEMENTED naming vSphere 7.0 Update 3, and nothing is created', async () => {
  const id = await volume('task-fault-mnf');
  await world.sim.failNextCns('CnsCreateSnapshots', 'MethodNotFound', { property: 'CnsCreateSnapshots' });
  const err = await errorOf(served.csi.call('CreateSnapshot', { name: 'snap-mnf', source_volume_id: id }));
  expect(err.code).toBe(status.UNIMPLEMENTED);
  expect(err.details).toContain('vSphere 7.0 Update 3');
  expect(await world.sim.snapshotCount(id)).toBe(0);
  // The fault was one task's: the retry the sidecar makes goes through.
  const ok = await served.csi.call<{ snapshot: { snapshot_id: string } }>('CreateSnapshot', { name: 'snap-mnf', source_volume_id: id });
  expect(ok.snapshot.snapshot_id.startsWith(`${id}+`)).toBe(true);
  expect(await world.sim.snapshotCount(id)).toBe(1);
  await served.csi.call('DeleteSnapshot', { snapshot_id: ok.snapshot.snapshot_id });
});

test('a CnsDeleteSnapshots task failing with a CnsFault is retryable (not INVALID_ARGUMENT) and the snapshot stays until the retry', async () => {
  const id = await volume('task-fault-cns');
  const snap = await served.csi.call<{ snapshot: { snapshot_id: string } }>('CreateSnapshot', { name: 'snap-cnsfault', source_volume_id: id });
  await world.sim.failNextCns('CnsDeleteSnapshots', 'CnsFault');
  const err = await errorOf(served.csi.call('DeleteSnapshot', { snapshot_id: snap.snapshot.snapshot_id }));
  expect(err.code).not.toBe(status.INVALID_ARGUMENT);
  expect(await world.sim.snapshotCount(id)).toBe(1);
  await served.csi.call('DeleteSnapshot', { snapshot_id: snap.snapshot.snapshot_id });
  expect(await world.sim.snapshotCount(id)).toBe(0);
});
