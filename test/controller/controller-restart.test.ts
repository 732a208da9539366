/**
 * A controller that restarts (or a second replica) has no memory of the
 * attachments the first one made. It must learn them from vCenter: the node
 * VMs' VirtualDisk devices (vDiskId = volume id, backing.uuid = disk UUID).
 *
 * Our simulator's CnsAttachVolume adds that device with a disk UUID of its
 * own, as vCenter does, and answers ResourceInUse for any second attach, even
 * to the same VM. Controller A attaches; controller B, started fresh on the
 * same simulator, must answer from the devices. For the inconsistent case (CNS
 * holds an attachment no VM shows) the test removes one device behind CNS's
 * back with a real ReconfigVM_Task (VcsimDisks.removeDisk).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { VcsimDisks } from '../../src/harness/vcsim-disks.js';
import { refKey } from '../../src/vsphere/api.js';
import { startWorld, stopWorld, serveController, type World, type Served, MOUNT_RWO, GiB } from './fixture.js';
import { errorOf } from './csi-client.js';

type Status = { published_node_ids: string[] };
type Entry = { volume: { volume_id: string }; status: Status };

let world: World;
let disks: VcsimDisks;
let a: Served | undefined;
let b: Served | undefined;
const vols: Record<string, string> = {};
const contexts: Record<string, Record<string, string>> = {};

const create = async (on: Served, name: string): Promise<string> =>
  (await on.csi.call<{ volume: { volume_id: string } }>('CreateVolume', { name, volume_capabilities: [MOUNT_RWO], capacity_range: { required_bytes: String(GiB) } })).volume.volume_id;
const publish = (on: Served, volumeId: string, nodeId: string) =>
  on.csi.call<{ publish_context: Record<string, string> }>('ControllerPublishVolume', { volume_id: volumeId, node_id: nodeId, volume_capability: MOUNT_RWO, readonly: false });
const node = (i: number) => world.nodes[i]!;

beforeAll(async () => {
  world = await startWorld();
  disks = new VcsimDisks(world.sim, world.client);
  a = await serveController(world);
  // Controller A: attach four volumes; v4's device then disappears behind CNS's back.
  for (const [name, n] of [['v1', 0], ['v2', 0], ['v3', 1], ['v4', 0]] as const) {
    vols[name] = await create(a, `pvc-restart-${name}`);
    contexts[name] = (await publish(a, vols[name]!, node(n).biosUuid!)).publish_context;
  }
  const v4disk = (await world.client.inventory.vmDisks([node(0).ref])).get(refKey(node(0).ref))!.find((d) => d.volumeId === vols.v4)!;
  await disks.removeDisk(node(0).ref, v4disk.key);
  await a.stop();
  a = undefined;
  b = await serveController(world);
}, 60_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await stopWorld(world);
});

describe('a restarted controller learns attachments from the VMs\' disks', () => {
  test('ListVolumes and ControllerGetVolume report the published nodes (one device read per call)', async () => {
    const client = b!.controller.context.vcenters.first.client;
    const stats = () => client.stats().byMethod['/sdk RetrievePropertiesEx'] ?? 0;
    await client.session.ensure();
    client.resetStats();
    const list = await b!.csi.call<{ entries: Entry[] }>('ListVolumes', {});
    const listReads = stats();
    console.log(`ListVolumes on a fresh controller (${list.entries.length} volumes), requests: ${JSON.stringify(client.stats().byMethod)}`);
    const nodesOf = (name: string) => list.entries.find((e) => e.volume.volume_id === vols[name])?.status.published_node_ids;
    expect(nodesOf('v1')).toEqual([node(0).biosUuid]);
    expect(nodesOf('v2')).toEqual([node(0).biosUuid]);
    expect(nodesOf('v3')).toEqual([node(1).biosUuid]);
    // v4 is attached in CNS only: no device, so nothing to report.
    expect(nodesOf('v4')).toEqual([]);
    const mid = stats();
    const got = await b!.csi.call<{ status: Status }>('ControllerGetVolume', { volume_id: vols.v3 });
    expect(got.status.published_node_ids).toEqual([node(1).biosUuid]);
    expect(stats() - mid).toBe(1);
    expect(listReads).toBe(1);
  });

  test('publish to another VM: FAILED_PRECONDITION naming the VM that has the disk', async () => {
    const err = await errorOf(publish(b!, vols.v1!, node(2).biosUuid!));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(`VM "${node(0).name}"`);
    expect(err.details).toContain(node(0).biosUuid!);
  });

  test('republish to the same VM: success with the same publish context, read from the disk', async () => {
    const client = b!.controller.context.vcenters.first.client;
    client.resetStats();
    // B never saw these attaches: the disk UUIDs (each volume its own) can only come from the devices.
    expect((await publish(b!, vols.v1!, node(0).biosUuid!)).publish_context).toEqual(contexts.v1);
    const first = { ...client.stats().byMethod };
    expect((await publish(b!, vols.v2!, node(0).biosUuid!)).publish_context).toEqual(contexts.v2);
    expect(contexts.v2!.diskUUID).not.toBe(contexts.v1!.diskUUID);
    // Learned: a further repeat costs no vCenter request at all.
    client.resetStats();
    expect((await publish(b!, vols.v1!, node(0).biosUuid!)).publish_context).toEqual(contexts.v1);
    expect(client.stats().total).toBe(0);
    // The first repeat: the refused attach plus one read of the VM's devices (+ its node lookup and the volume check).
    expect(first['/vsanHealth CnsAttachVolume']).toBe(1);
    console.log(`republish after restart, requests: ${JSON.stringify(first)}`);
  });

  test('CNS holds an attachment no VM shows: a repeat publish stays FAILED_PRECONDITION, saying why', async () => {
    const err = await errorOf(publish(b!, vols.v4!, node(0).biosUuid!));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain('no VM in the configured datacenters shows its disk');
  });

  test('unpublish without memory of the attachment: detaches, with a node id, and without one (from the VM that has the disk)', async () => {
    const client = b!.controller.context.vcenters.first.client;
    const detaches = () => client.stats().byMethod['/vsanHealth CnsDetachVolume'] ?? 0;
    // v4: B never saw it and no VM shows it, but the node id says where: detach anyway (idempotent).
    const d0 = detaches();
    await b!.csi.call('ControllerUnpublishVolume', { volume_id: vols.v4, node_id: node(0).biosUuid });
    expect(detaches() - d0).toBe(1);
    // v3: no node id (CSI: "from every node"): B finds node 1's disk and detaches there.
    const d1 = detaches();
    await b!.csi.call('ControllerUnpublishVolume', { volume_id: vols.v3 });
    expect(detaches() - d1).toBe(1);
    // CNS really let go of both: they attach elsewhere now.
    expect((await publish(b!, vols.v3!, node(2).biosUuid!)).publish_context.diskUUID).toBeTruthy();
    expect((await publish(b!, vols.v4!, node(2).biosUuid!)).publish_context.diskUUID).toBeTruthy();
  });

  test('a republish storm after a restart, with 2 new volumes in it: 12 + 2 to one VM, all succeed, few device reads', async () => {
    // A third controller attaches them and goes away; B has never heard of them.
    const c = await serveController(world);
    const ids: string[] = [];
    let first: Record<string, string>[];
    try {
      for (let i = 0; i < 12; i++) ids.push(await create(c, `pvc-storm-${i}`));
      first = (await Promise.all(ids.map((id) => publish(c, id, node(3).biosUuid!)))).map((r) => r.publish_context);
    } finally {
      await c.stop();
    }
    // Two volumes never attached ride in the same batches: their items must be attached, not refused with the repeats.
    const fresh = [await create(b!, 'pvc-storm-new-0'), await create(b!, 'pvc-storm-new-1')];
    const client = b!.controller.context.vcenters.first.client;
    client.resetStats();
    const t0 = performance.now();
    const again = await Promise.all([...ids, ...fresh].map((id) => publish(b!, id, node(3).biosUuid!)));
    const ms = performance.now() - t0;
    expect(again.slice(0, ids.length).map((r) => r.publish_context)).toEqual(first);
    const devices = (await world.client.inventory.vmDisks([node(3).ref])).get(refKey(node(3).ref))!;
    for (const [i, id] of fresh.entries()) {
      expect(again[ids.length + i]!.publish_context.diskUUID).toBe(devices.find((d) => d.volumeId === id)?.diskUuid);
    }
    const byMethod = client.stats().byMethod;
    console.log(`republish storm of ${ids.length} (+${fresh.length} new) after a restart: ${ms.toFixed(0)} ms, requests ${JSON.stringify(byMethod)}`);
    // Device reads are per batch, not per volume.
    expect(byMethod['/sdk RetrievePropertiesEx']!).toBeLessThan(ids.length);
  });
});
