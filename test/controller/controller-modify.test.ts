/**
 * ControllerModifyVolume (VolumeAttributesClass) over the real gRPC socket
 * against the simulator's CnsReconfigVolumePolicy / CnsRelocateVolume:
 * policy change and relocation of detached and attached volumes, idempotent
 * repeats that cost no task, every refusal before a task (unknown keys, an
 * unknown policy or datastore, a datastore that does not satisfy the policy,
 * is in maintenance, or would strand the volume outside its zone), a retry
 * after the caller's deadline that joins the running relocation, a vCenter
 * too old for the APIs, and CreateVolume with mutable_parameters.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { useController, serveController, MOUNT_RWO, GiB, ZONE_KEY } from './fixture.js';
import { codeOf, errorOf } from './csi-client.js';
import type { DatastoreInfo, VmInfo } from '../../src/vsphere/api.js';
import { refKey } from '../../src/vsphere/api.js';

interface VolumeRes {
  volume: { volume_id: string; accessible_topology: { segments: Record<string, string> }[] };
}

const env = useController({ datastoreCluster: 'pod-1' });
let byName: Map<string, DatastoreInfo>;
let encryption: string;
let zoneANode: VmInfo;

beforeAll(async () => {
  byName = new Map((await env.world.client.inventory.datastores()).map((d) => [d.name, d]));
  encryption = (await env.world.client.pbm.policyIdByName('VM Encryption Policy'))!;
  zoneANode = env.world.nodes.find((vm) => vm.host && env.world.zones[0]!.hosts.includes(vm.host.value))!;
});

const url = (name: string): string => byName.get(name)!.url;
const zoneA = () => env.world.zones[0]!;

/** A 1 GiB volume in zone a, on the named datastore. */
async function volumeOn(name: string, datastore: string, extra: object = {}): Promise<string> {
  const res = await env.served.csi.call<VolumeRes>('CreateVolume', {
    name,
    capacity_range: { required_bytes: String(GiB) },
    volume_capabilities: [MOUNT_RWO],
    parameters: { datastoreurl: url(datastore) },
    accessibility_requirements: { requisite: [{ segments: zoneA().segment }] },
    ...extra,
  });
  return res.volume.volume_id;
}

const modify = (volumeId: string, mutable: Record<string, string>, timeoutMs?: number) =>
  env.served.csi.call('ControllerModifyVolume', { volume_id: volumeId, mutable_parameters: mutable }, timeoutMs === undefined ? {} : { timeoutMs });

async function cnsVolume(id: string): Promise<{ datastoreUrl?: string; storagePolicyId?: string }> {
  const [v] = (await env.world.client.cns.queryVolumes({ volumeIds: [id] })).volumes;
  return v!;
}

async function tasks(method: string): Promise<number> {
  return (await env.world.sim.requests()).byMethod[`/vsanHealth ${method}`] ?? 0;
}

describe('ControllerModifyVolume', () => {
  test('storagepolicyname changes the policy of a detached volume in place; a repeat is OK without a task', async () => {
    const id = await volumeOn('mod-policy', 'zone-a-ds');
    await env.world.sim.resetRequests();
    await modify(id, { StoragePolicyName: 'VM Encryption Policy' });
    expect(await cnsVolume(id)).toMatchObject({ storagePolicyId: encryption, datastoreUrl: url('zone-a-ds') });
    expect(await tasks('CnsReconfigVolumePolicy')).toBe(1);
    await modify(id, { storagepolicyname: 'VM Encryption Policy' });
    expect(await tasks('CnsReconfigVolumePolicy')).toBe(1);
    expect(await tasks('CnsRelocateVolume')).toBe(0);
  });

  test('datastoreurl relocates a detached volume, keeping its policy; a repeat is OK without a task', async () => {
    const id = await volumeOn('mod-move', 'zone-a-ds', { mutable_parameters: { storagepolicyname: 'VM Encryption Policy' } });
    await env.world.sim.resetRequests();
    await modify(id, { datastoreurl: url('LocalDS_0') });
    expect(await cnsVolume(id)).toMatchObject({ datastoreUrl: url('LocalDS_0'), storagePolicyId: encryption });
    await modify(id, { datastoreurl: url('LocalDS_0').replace(/\/?$/, '/') });
    expect(await tasks('CnsRelocateVolume')).toBe(1);
  });

  test('an attached volume is relocated live (vCenter moves attached disks) and its policy changed; the VM disk follows', async () => {
    const id = await volumeOn('mod-attached', 'zone-a-ds');
    await env.served.csi.call('ControllerPublishVolume', { volume_id: id, node_id: zoneANode.biosUuid, volume_capability: MOUNT_RWO, readonly: false });
    await modify(id, { datastoreurl: url('LocalDS_0'), storagepolicyname: 'VM Encryption Policy' });
    expect(await cnsVolume(id)).toMatchObject({ datastoreUrl: url('LocalDS_0'), storagePolicyId: encryption });
    const disk = ((await env.world.client.inventory.vmDisks([zoneANode.ref])).get(refKey(zoneANode.ref)) ?? []).find((d) => d.volumeId === id);
    expect(disk?.fileName).toBe(`[LocalDS_0] fcd/${id}.vmdk`);
    await env.served.csi.call('ControllerUnpublishVolume', { volume_id: id, node_id: zoneANode.biosUuid });
    await env.served.csi.call('DeleteVolume', { volume_id: id });
  });

  test('a move that would make the volume unreachable from its zone is INVALID_ARGUMENT naming the hosts, before any task', async () => {
    const local = await volumeOn('mod-strand-a', 'zone-a-ds');
    const shared = await volumeOn('mod-strand-shared', 'LocalDS_0');
    await env.world.sim.resetRequests();
    const toZoneB = await errorOf(modify(local, { datastoreurl: url('zone-b-ds') }));
    expect(toZoneB.code).toBe(status.INVALID_ARGUMENT);
    expect(toZoneB.details).toMatch(/mutable_parameters\.datastoreurl: datastore zone-b-ds .* not mounted on 2 of the 2 hosts of the volume's topology \{.*zone-a\}/);
    // On the shared datastore the volume is reachable from both zones: a zone-local datastore strands one.
    const toZoneA = await errorOf(modify(shared, { datastoreurl: url('zone-a-ds') }));
    expect(toZoneA.code).toBe(status.INVALID_ARGUMENT);
    expect(toZoneA.details).toContain('zone-b');
    expect(await tasks('CnsRelocateVolume')).toBe(0);
    expect((await cnsVolume(local)).datastoreUrl).toBe(url('zone-a-ds'));
  });

  test('unknown keys, policies, datastores and volumes; a datastore the policy does not allow or in maintenance: refused with the reason', async () => {
    const id = await volumeOn('mod-refusals', 'zone-a-ds');
    const unknown = await errorOf(modify(id, { iops: '1000' }));
    expect(unknown.code).toBe(status.INVALID_ARGUMENT);
    expect(unknown.details).toContain('"iops"');
    expect(unknown.details).toContain('storagepolicyname, datastoreurl');
    expect((await errorOf(modify(id, { storagepolicyname: 'Platinum' }))).details).toMatch(/mutable_parameters\.storagepolicyname: .*no storage policy named "Platinum"/);
    expect((await errorOf(modify(id, { datastoreurl: 'ds:///vmfs/volumes/nowhere/' }))).details).toMatch(/mutable_parameters\.datastoreurl "ds:\/\/\/vmfs\/volumes\/nowhere\/" matches no/);
    expect(await codeOf(modify('11111111-2222-3333-4444-555555555555', { storagepolicyname: 'VM Encryption Policy' }))).toBe(status.NOT_FOUND);
    // Nothing to change is OK for a volume that exists, NOT_FOUND for one that does not.
    await modify(id, {});
    expect(await codeOf(modify('11111111-2222-3333-4444-555555555555', {}))).toBe(status.NOT_FOUND);
    const other = await volumeOn('mod-refusals-2', 'LocalDS_0');
    const gold = (await env.world.client.pbm.policyIdByName('vSAN Default Storage Policy'))!;
    await env.world.sim.setPolicyDatastores(gold, [byName.get('zone-a-ds')!.ref.value]);
    await env.world.sim.setPolicyDatastores(encryption, [byName.get('zone-a-ds')!.ref.value]);
    await env.world.sim.setDatastoreState('zone-a-pod-1', { maintenanceMode: 'inMaintenance' });
    // A fresh controller: the test changed what vCenter reports after the suite's controller read (and cached) it.
    const fresh = await serveController(env.world);
    try {
      const away = await errorOf(fresh.csi.call('ControllerModifyVolume', { volume_id: id, mutable_parameters: { datastoreurl: url('LocalDS_0'), storagepolicyname: 'VM Encryption Policy' } }));
      expect(away.code).toBe(status.INVALID_ARGUMENT);
      expect(away.details).toMatch(/LocalDS_0 .* does not satisfy the volume's storage policy "VM Encryption Policy"/);
      const policy = await errorOf(fresh.csi.call('ControllerModifyVolume', { volume_id: other, mutable_parameters: { storagepolicyname: 'vSAN Default Storage Policy' } }));
      expect(policy.code).toBe(status.INVALID_ARGUMENT);
      expect(policy.details).toMatch(/datastore LocalDS_0 .* does not satisfy storage policy "vSAN Default Storage Policy"; add datastoreurl/);
      const maintenance = await errorOf(fresh.csi.call('ControllerModifyVolume', { volume_id: id, mutable_parameters: { datastoreurl: url('zone-a-pod-1') } }));
      expect(maintenance.code).toBe(status.INVALID_ARGUMENT);
      expect(maintenance.details).toContain('zone-a-pod-1');
      expect(maintenance.details).toContain('inMaintenance');
    } finally {
      await fresh.stop();
      await env.world.sim.setPolicyDatastores(gold, undefined);
      await env.world.sim.setPolicyDatastores(encryption, undefined);
      await env.world.sim.setDatastoreState('zone-a-pod-1', { maintenanceMode: 'normal' });
    }
    expect(await cnsVolume(id)).toMatchObject({ datastoreUrl: url('zone-a-ds') });
  });

  test('a retry after the deadline waits for the running relocation instead of starting another; meanwhile other changes are ABORTED', async () => {
    const id = await volumeOn('mod-slow', 'zone-a-ds');
    await env.world.sim.setRelocateTime(1500);
    try {
      await env.world.sim.resetRequests();
      const started = Date.now();
      expect(await codeOf(modify(id, { datastoreurl: url('LocalDS_0') }, 300))).toBe(status.DEADLINE_EXCEEDED);
      const other = await errorOf(modify(id, { storagepolicyname: 'VM Encryption Policy' }));
      expect(other.code).toBe(status.ABORTED);
      expect(await codeOf(env.served.csi.call('ControllerExpandVolume', { volume_id: id, capacity_range: { required_bytes: String(2 * GiB) } }))).toBe(status.ABORTED);
      expect((await cnsVolume(id)).datastoreUrl).toBe(url('zone-a-ds'));
      await modify(id, { datastoreurl: url('LocalDS_0') }, 10_000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
      expect(await tasks('CnsRelocateVolume')).toBe(1);
      expect((await cnsVolume(id)).datastoreUrl).toBe(url('LocalDS_0'));
    } finally {
      await env.world.sim.setRelocateTime(0);
    }
  });

  test('CreateVolume applies mutable_parameters (overriding the StorageClass); an unknown key there is INVALID_ARGUMENT', async () => {
    const res = await env.served.csi.call<VolumeRes>('CreateVolume', {
      name: 'mod-create',
      capacity_range: { required_bytes: String(GiB) },
      volume_capabilities: [MOUNT_RWO],
      parameters: { datastoreurl: url('zone-a-ds') },
      mutable_parameters: { DatastoreURL: url('LocalDS_0'), storagepolicyname: 'VM Encryption Policy' },
      accessibility_requirements: { requisite: [{ segments: { [ZONE_KEY]: 'zone-a' } }] },
    });
    expect(await cnsVolume(res.volume.volume_id)).toMatchObject({ datastoreUrl: url('LocalDS_0'), storagePolicyId: encryption });
    const bad = await errorOf(env.served.csi.call('CreateVolume', { name: 'mod-create-bad', volume_capabilities: [MOUNT_RWO], mutable_parameters: { fstype: 'xfs' } }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('mutable_parameters: unknown VolumeAttributesClass parameter "fstype"');
  });
});

describe('ControllerModifyVolume on an older vCenter', () => {
  const old = useController({ version: '7.0.2' });

  test('UNIMPLEMENTED naming the vCenter version and the release that has the API; an unchanged volume is still OK', async () => {
    const created = await old.served.csi.call<VolumeRes>('CreateVolume', { name: 'old-vc', volume_capabilities: [MOUNT_RWO], capacity_range: { required_bytes: String(GiB) } });
    const id = created.volume.volume_id;
    const move = await errorOf(old.served.csi.call('ControllerModifyVolume', { volume_id: id, mutable_parameters: { datastoreurl: old.world.zones[0]!.datastoreUrl } }));
    expect(move.code).toBe(status.UNIMPLEMENTED);
    expect(move.details).toMatch(/needs vSphere 7\.0 Update 3 or later .*is 7\.0\.2/);
    const policy = await errorOf(old.served.csi.call('ControllerModifyVolume', { volume_id: id, mutable_parameters: { storagepolicyname: 'VM Encryption Policy' } }));
    expect(policy.code).toBe(status.UNIMPLEMENTED);
    expect(policy.details).toMatch(/needs vSphere 8\.0 Update 2 or later .*is 7\.0\.2/);
    await old.served.csi.call('ControllerModifyVolume', { volume_id: id, mutable_parameters: { datastoreurl: old.world.sharedDatastoreUrl } });
  });
});
