/**
 * vCenter faults that arrive as a failed CNS task rather than as a SOAP fault,
 * on the snapshot RPCs: MethodNotFound (an implementation that reports a
 * missing method through the task, whatever its version says) is
 * UNIMPLEMENTED naming the release, a vCenter-side CnsFault is not blamed on
 * the caller (not INVALID_ARGUMENT), and neither leaves a snapshot behind.
 */
import { expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { useController, MOUNT_RWO, GiB } from './fixture.js';
import { errorOf } from './csi-client.js';

const env = useController();

async function volume(name: string): Promise<string> {
  const res = await env.served.csi.call<{ volume: { volume_id: string } }>('CreateVolume', { name, capacity_range: { required_bytes: String(GiB) }, volume_capabilities: [MOUNT_RWO] });
  return res.volume.volume_id;
}

test('a CnsCreateSnapshots task failing with MethodNotFound is UNIMPLEMENTED naming vSphere 7.0 Update 3, and nothing is created', async () => {
  const id = await volume('task-fault-mnf');
  await env.world.sim.failNextCns('CnsCreateSnapshots', 'MethodNotFound', { property: 'CnsCreateSnapshots' });
  const err = await errorOf(env.served.csi.call('CreateSnapshot', { name: 'snap-mnf', source_volume_id: id }));
  expect(err.code).toBe(status.UNIMPLEMENTED);
  expect(err.details).toContain('vSphere 7.0 Update 3');
  expect(await env.world.sim.snapshotCount(id)).toBe(0);
  // The fault was one task's: the retry the sidecar makes goes through.
  const ok = await env.served.csi.call<{ snapshot: { snapshot_id: string } }>('CreateSnapshot', { name: 'snap-mnf', source_volume_id: id });
  expect(ok.snapshot.snapshot_id.startsWith(`${id}+`)).toBe(true);
  expect(await env.world.sim.snapshotCount(id)).toBe(1);
  await env.served.csi.call('DeleteSnapshot', { snapshot_id: ok.snapshot.snapshot_id });
});

test('a CnsDeleteSnapshots task failing with a CnsFault is retryable (not INVALID_ARGUMENT) and the snapshot stays until the retry', async () => {
  const id = await volume('task-fault-cns');
  const snap = await env.served.csi.call<{ snapshot: { snapshot_id: string } }>('CreateSnapshot', { name: 'snap-cnsfault', source_volume_id: id });
  await env.world.sim.failNextCns('CnsDeleteSnapshots', 'CnsFault');
  const err = await errorOf(env.served.csi.call('DeleteSnapshot', { snapshot_id: snap.snapshot.snapshot_id }));
  expect(err.code).not.toBe(status.INVALID_ARGUMENT);
  expect(await env.world.sim.snapshotCount(id)).toBe(1);
  await env.served.csi.call('DeleteSnapshot', { snapshot_id: snap.snapshot.snapshot_id });
  expect(await env.world.sim.snapshotCount(id)).toBe(0);
});
