/**
 * ControllerPublishVolume / ControllerUnpublishVolume over the real gRPC
 * socket against the vCenter simulator: contexts, idempotency, the
 * disk.EnableUUID check, unknown volume/node, deleted node VMs, and the
 * batching of attach/detach storms to one VM (counted on the simulator).
 */
import { describe, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { useController, serveController, type Served, MOUNT_RWO, GiB } from './fixture.js';
import { codeOf, errorOf } from './csi-client.js';
import { refKey, type MoRef } from '../../src/vsphere/api.js';

/** The context a publish must return: the disk UUID of the device CNS added to that VM for this volume. */
async function contextOn(volumeId: string, vm: MoRef): Promise<Record<string, string>> {
  const disk = (await env.world.client.inventory.vmDisks([vm])).get(refKey(vm))?.find((d) => d.volumeId === volumeId);
  if (!disk?.diskUuid) throw new Error(`VM ${vm.value} has no disk for volume ${volumeId}`);
  return { type: 'vSphere CNS Block Volume', diskUUID: disk.diskUuid };
}

const env = useController({}, { enabled: true, windowMs: 5, maxBatch: 32 });

async function volumes(prefix: string, n: number, on: Served = env.served): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await on.csi.call<{ volume: { volume_id: string } }>('CreateVolume', { name: `${prefix}-${i}`, volume_capabilities: [MOUNT_RWO], capacity_range: { required_bytes: String(GiB) } });
    out.push(res.volume.volume_id);
  }
  return out;
}

const publish = (volumeId: string, nodeId: string, on: Served = env.served) =>
  on.csi.call<{ publish_context: Record<string, string> }>('ControllerPublishVolume', { volume_id: volumeId, node_id: nodeId, volume_capability: MOUNT_RWO, readonly: false });
const unpublish = (volumeId: string, nodeId: string, on: Served = env.served) => on.csi.call('ControllerUnpublishVolume', { volume_id: volumeId, node_id: nodeId });

async function countCns(method: string, fn: () => Promise<unknown>): Promise<number> {
  const before = (await env.world.sim.requests()).byMethod[`/vsanHealth ${method}`] ?? 0;
  await fn();
  return ((await env.world.sim.requests()).byMethod[`/vsanHealth ${method}`] ?? 0) - before;
}

describe('publish and unpublish one volume', () => {
  test('attach returns the context; repeating it is free; another node is refused', async () => {
    const [vol] = await volumes('pvc-pub', 1);
    const node = env.world.nodes[0]!.biosUuid!;
    const context = (await publish(vol!, node)).publish_context;
    expect(context).toEqual(await contextOn(vol!, env.world.nodes[0]!.ref));
    const again = await countCns('CnsAttachVolume', async () => expect((await publish(vol!, node)).publish_context).toEqual(context));
    expect(again).toBe(0);
    const other = await errorOf(publish(vol!, env.world.nodes[1]!.biosUuid!));
    expect(other.code).toBe(status.FAILED_PRECONDITION);
    expect(other.details).toContain(node);

    const got = await env.served.csi.call<{ status: { published_node_ids: string[] } }>('ControllerGetVolume', { volume_id: vol });
    expect(got.status.published_node_ids).toEqual([node]);
    const list = await env.served.csi.call<{ entries: { volume: { volume_id: string }; status: { published_node_ids: string[] } }[] }>('ListVolumes', {});
    expect(list.entries.find((e) => e.volume.volume_id === vol)?.status.published_node_ids).toEqual([node]);
    expect(await codeOf(env.served.csi.call('DeleteVolume', { volume_id: vol }))).toBe(status.FAILED_PRECONDITION);

    await unpublish(vol!, node);
    await unpublish(vol!, node);
    expect((await env.served.csi.call<{ status: { published_node_ids: string[] } }>('ControllerGetVolume', { volume_id: vol })).status.published_node_ids).toEqual([]);
    // Now it can move to another node, and be deleted once detached there.
    const node1 = env.world.nodes[1]!.biosUuid!;
    expect((await publish(vol!, node1)).publish_context).toEqual(await contextOn(vol!, env.world.nodes[1]!.ref));
    await unpublish(vol!, node1);
    await env.served.csi.call('DeleteVolume', { volume_id: vol });
  });

  test('node VM without disk.EnableUUID: FAILED_PRECONDITION with the fix', async () => {
    const [vol] = await volumes('pvc-uuid', 1);
    const err = await errorOf(publish(vol!, env.world.unfitNode.biosUuid!));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain('disk.EnableUUID=TRUE');
    expect(err.details).toContain(env.world.unfitNode.name);
  });

  test('unknown volume or node: NOT_FOUND, also for a node id that is not a UUID; unpublish of unknowns succeeds', async () => {
    const [vol] = await volumes('pvc-unknown', 1);
    expect(await codeOf(publish('11111111-2222-3333-4444-555555555555', env.world.nodes[0]!.biosUuid!))).toBe(status.NOT_FOUND);
    expect(await codeOf(publish(vol!, '11111111-2222-3333-4444-555555555555'))).toBe(status.NOT_FOUND);
    // The conformance suite's fake node id: no VM can have it, so the node is not found (not a malformed request).
    const fake = await errorOf(publish(vol!, 'some-fake-node-id'));
    expect(fake.code).toBe(status.NOT_FOUND);
    expect(fake.details).toContain('"some-fake-node-id" matches no VM: node ids are VM BIOS UUIDs');
    expect(await codeOf(env.served.csi.call('ControllerPublishVolume', { volume_id: vol, node_id: '', volume_capability: MOUNT_RWO }))).toBe(status.INVALID_ARGUMENT);
    expect(await codeOf(env.served.csi.call('ControllerPublishVolume', { volume_id: vol, node_id: env.world.nodes[0]!.biosUuid }))).toBe(status.INVALID_ARGUMENT);
    await unpublish(vol!, '11111111-2222-3333-4444-555555555555');
    await unpublish(vol!, 'some-fake-node-id');
    await unpublish('11111111-2222-3333-4444-555555555555', env.world.nodes[0]!.biosUuid!);
  });

  test('PUBLISH_READONLY is not advertised: readonly=true is refused; any capability we accept is served by the one attachment', async () => {
    const [vol] = await volumes('pvc-ro', 1);
    const node = env.world.nodes[0]!.biosUuid!;
    const caps = await env.served.csi.call<{ capabilities: Array<{ rpc: { type: string } }> }>('ControllerGetCapabilities', {});
    expect(caps.capabilities.map((c) => c.rpc.type)).not.toContain('PUBLISH_READONLY');
    const ro = await errorOf(env.served.csi.call('ControllerPublishVolume', { volume_id: vol, node_id: node, volume_capability: MOUNT_RWO, readonly: true }));
    expect(ro.code).toBe(status.INVALID_ARGUMENT);
    expect(ro.details).toContain('readonly');
    expect(ro.details).toContain('PUBLISH_READONLY');
    const context = (await publish(vol!, node)).publish_context;
    expect(context).toEqual(await contextOn(vol!, env.world.nodes[0]!.ref));
    // CNS attaches the disk the same way whatever the access type or mode: a republish is compatible, and free.
    const republishes = await countCns('CnsAttachVolume', async () => {
      for (const volume_capability of [{ access_mode: { mode: 'SINGLE_NODE_READER_ONLY' }, block: {} }, { access_mode: { mode: 'SINGLE_NODE_WRITER' }, mount: { fs_type: 'xfs' } }]) {
        const res = await env.served.csi.call<{ publish_context: Record<string, string> }>('ControllerPublishVolume', { volume_id: vol, node_id: node, volume_capability, readonly: false });
        expect(res.publish_context).toEqual(context);
      }
    });
    expect(republishes).toBe(0);
    await unpublish(vol!, node);
  });

  test('concurrent operations on one volume: one proceeds, the other is ABORTED', async () => {
    const [vol] = await volumes('pvc-race', 1);
    const node = env.world.nodes[0]!.biosUuid!;
    // vCenter holds the publish in flight, so the delete surely arrives while it runs.
    await env.world.sim.setHang(true);
    let pending: Promise<unknown> | undefined;
    try {
      pending = publish(vol!, node);
      while (!env.served.controller.context.volumeLocks.isHeld(vol!)) await new Promise((r) => setTimeout(r, 5));
      expect(await codeOf(env.served.csi.call('DeleteVolume', { volume_id: vol }))).toBe(status.ABORTED);
    } finally {
      await env.world.sim.setHang(false);
    }
    expect(await codeOf(pending!)).toBe('ok');
    await unpublish(vol!, node);
  });

  test('node VM deleted from the inventory: unpublish succeeds and frees the volume', async () => {
    const [vol] = await volumes('pvc-gone', 1);
    const victim = env.world.nodes[env.world.nodes.length - 1]!;
    await publish(vol!, victim.biosUuid!);
    await env.world.client.inventory.powerOffVm(victim.ref).catch(() => undefined);
    await env.world.client.inventory.destroyVm(victim.ref);
    await unpublish(vol!, victim.biosUuid!);
    expect((await env.served.csi.call<{ status: { published_node_ids: string[] } }>('ControllerGetVolume', { volume_id: vol })).status.published_node_ids).toEqual([]);
  });
});

describe('batching', () => {
  test('20 concurrent publishes to one VM: fewer CNS calls than volumes, every caller correct', async () => {
    const vols = await volumes('pvc-storm', 20);
    const node = env.world.nodes[2]!.biosUuid!;
    let results: { publish_context: Record<string, string> }[] = [];
    const calls = await countCns('CnsAttachVolume', async () => {
      results = await Promise.all(vols.map((v) => publish(v, node)));
    });
    expect(calls).toBeLessThan(vols.length);
    expect(calls).toBeGreaterThanOrEqual(1);
    // Each caller got its own volume's disk UUID: the one on the device CNS added for it.
    for (const [i, r] of results.entries()) expect(r.publish_context).toEqual(await contextOn(vols[i]!, env.world.nodes[2]!.ref));
    expect(new Set(results.map((r) => r.publish_context.diskUUID)).size).toBe(vols.length);
    for (const v of vols) {
      expect((await env.served.csi.call<{ status: { published_node_ids: string[] } }>('ControllerGetVolume', { volume_id: v })).status.published_node_ids).toEqual([node]);
    }
    const detaches = await countCns('CnsDetachVolume', async () => {
      await Promise.all(vols.map((v) => unpublish(v, node)));
    });
    expect(detaches).toBeLessThan(vols.length);
    for (const v of vols) await env.served.csi.call('DeleteVolume', { volume_id: v });
  });

  test('one bad volume in a batch fails only its caller', async () => {
    const vols = await volumes('pvc-mixed', 6);
    const elsewhere = vols.pop()!;
    const nodeA = env.world.nodes[3]!.biosUuid!;
    await publish(elsewhere, env.world.nodes[0]!.biosUuid!);
    const missing = '99999999-8888-7777-6666-555555555555';
    let settled: PromiseSettledResult<{ publish_context: Record<string, string> }>[] = [];
    const calls = await countCns('CnsAttachVolume', async () => {
      settled = await Promise.allSettled([...vols, missing, elsewhere].map((v) => publish(v, nodeA)));
    });
    expect(calls).toBeLessThan(vols.length);
    const codes = settled.map((s) => (s.status === 'fulfilled' ? 'ok' : (s.reason as { code: number }).code));
    expect(codes).toEqual([...vols.map(() => 'ok'), status.NOT_FOUND, status.FAILED_PRECONDITION]);
    for (const [i, s] of settled.slice(0, vols.length).entries()) {
      expect((s as PromiseFulfilledResult<{ publish_context: unknown }>).value.publish_context).toEqual(await contextOn(vols[i]!, env.world.nodes[3]!.ref));
    }
  });

  test('batching off: one CNS call per publish', async () => {
    const plain = await serveController(env.world, { enabled: false });
    try {
      const vols = await volumes('pvc-nobatch', 8, plain);
      const node = env.world.nodes[1]!.biosUuid!;
      const calls = await countCns('CnsAttachVolume', () => Promise.all(vols.map((v) => publish(v, node, plain))));
      expect(calls).toBe(vols.length);
      await Promise.all(vols.map((v) => unpublish(v, node, plain)));
    } finally {
      await plain.stop();
    }
  });
});
