/**
 * CreateVolume against vCenter's real rules (the simulator refuses a
 * CnsCreateVolume with more than one spec, as vCenter does): concurrent
 * creates of different names each get their own CNS call and volume;
 * concurrent creates of one name share one; a vCenter fault caused by a
 * request the driver built is INTERNAL, never the caller's INVALID_ARGUMENT.
 * Over the real gRPC socket, counted on the simulator.
 */
import { describe, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { useController, MOUNT_RWO, GiB, CLUSTER_ID } from './fixture.js';
import { errorOf } from './csi-client.js';

type VolumeRes = { volume: { volume_id: string } };

const env = useController();

const create = (name: string) =>
  env.served.csi.call<VolumeRes>('CreateVolume', { name, volume_capabilities: [MOUNT_RWO], capacity_range: { required_bytes: String(GiB) } });

async function cnsCalls(method: string, fn: () => Promise<unknown>): Promise<number> {
  await env.world.sim.resetRequests();
  await fn();
  return (await env.world.sim.requests()).byMethod[`/vsanHealth ${method}`] ?? 0;
}

const cnsNamed = async (names: string[]) => env.world.client.cns.queryAllPages({ names, containerClusterIds: [CLUSTER_ID] });

describe('CreateVolume under concurrency, one create spec per CnsCreateVolume', () => {
  test('64 concurrent creates of distinct names: 64 volumes, 0 errors, exactly 64 CnsCreateVolume calls', async () => {
    const names = Array.from({ length: 64 }, (_, i) => `pvc-many-${i}`);
    let results: PromiseSettledResult<VolumeRes>[] = [];
    const calls = await cnsCalls('CnsCreateVolume', async () => {
      results = await Promise.allSettled(names.map((n) => create(n)));
    });
    const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    expect(failures).toEqual([]);
    expect(calls).toBe(64);
    const ids = results.map((r) => (r as PromiseFulfilledResult<VolumeRes>).value.volume.volume_id);
    expect(new Set(ids).size).toBe(64);
    // Each caller got the volume carrying its own name.
    const byId = new Map((await cnsNamed(names)).map((v) => [v.volumeId, v.name]));
    names.forEach((n, i) => expect(byId.get(ids[i]!)).toBe(n));
    for (const id of ids) await env.served.csi.call('DeleteVolume', { volume_id: id });
  });

  test('32 concurrent creates of one name: one volume, one CnsCreateVolume, every caller the same id', async () => {
    let results: PromiseSettledResult<VolumeRes>[] = [];
    const calls = await cnsCalls('CnsCreateVolume', async () => {
      results = await Promise.allSettled(Array.from({ length: 32 }, () => create('pvc-one-name')));
    });
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    const ids = new Set(results.map((r) => (r as PromiseFulfilledResult<VolumeRes>).value.volume.volume_id));
    expect(ids.size).toBe(1);
    expect(calls).toBe(1);
    expect((await cnsNamed(['pvc-one-name'])).map((v) => v.volumeId)).toEqual([...ids]);
  });

  test('vCenter refusing a request the driver built (InvalidArgument) is INTERNAL naming the fault and method; nothing is created', async () => {
    await env.world.sim.failNextCns('CnsCreateVolume', 'InvalidArgument', { property: 'InputSpec' });
    const before = await env.world.sim.cnsCounts();
    const err = await errorOf(create('pvc-refused'));
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toContain('refused a request the driver built: InvalidArgument');
    expect(err.details).toContain('CnsCreateVolume');
    expect(err.details).toContain('"InputSpec"');
    expect(err.details).toContain("request's own fields are not at fault");
    expect(await env.world.sim.cnsCounts()).toEqual(before);
    // The caller's retry (vCenter behaving again) creates the volume once.
    const ok = await create('pvc-refused');
    expect((await cnsNamed(['pvc-refused'])).map((v) => v.volumeId)).toEqual([ok.volume.volume_id]);
  });

  test("the caller's own bad field is still INVALID_ARGUMENT, and reaches no vCenter", async () => {
    const calls = await cnsCalls('CnsCreateVolume', async () => {
      const err = await errorOf(env.served.csi.call('CreateVolume', { name: 'pvc-bad', volume_capabilities: [MOUNT_RWO], parameters: { nosuchkey: 'x' } }));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toContain('nosuchkey');
    });
    expect(calls).toBe(0);
  });
});
