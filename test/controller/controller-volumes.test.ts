/**
 * CSI Controller volume RPCs over the real gRPC socket against the vCenter
 * simulator shaped as two zones: CreateVolume (topology, policy,
 * idempotency, concurrency, bad input), DeleteVolume, ControllerExpandVolume,
 * ValidateVolumeCapabilities, ControllerGetVolume, ListVolumes paging,
 * GetCapacity, ControllerGetCapabilities, Probe.
 */
import { describe, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { useController, serveController, MOUNT_RWO, BLOCK_RWO, GiB, CLUSTER_ID } from './fixture.js';
import { codeOf, errorOf } from './csi-client.js';
import { cnsVolumeName, FULL_NAME_LABEL } from '../../src/controller/volume-name.js';

interface VolumeRes {
  volume: { volume_id: string; capacity_bytes: string; volume_context: Record<string, string>; accessible_topology: { segments: Record<string, string> }[] };
}

const env = useController();

const create = (name: string, extra: object = {}) => env.served.csi.call<VolumeRes>('CreateVolume', { name, volume_capabilities: [MOUNT_RWO], ...extra });
const cnsVolumesNamed = async (name: string) => (await env.world.client.cns.queryAllVolumes({})).filter((v) => v.name === name);

describe('CreateVolume', () => {
  test('no topology: the datastore every host mounts, 10 GiB default, metadata recorded', async () => {
    const res = await create('pvc-plain', {
      parameters: { 'csi.storage.k8s.io/pvc/name': 'data', 'csi.storage.k8s.io/pvc/namespace': 'apps', 'csi.storage.k8s.io/pv/name': 'pvc-plain' },
    });
    expect(res.volume.capacity_bytes).toBe(String(10 * GiB));
    expect(res.volume.volume_context).toEqual({ type: 'vSphere CNS Block Volume' });
    expect(res.volume.accessible_topology).toEqual([]);
    const [cns] = await cnsVolumesNamed('pvc-plain');
    expect(cns?.volumeId).toBe(res.volume.volume_id);
    expect(cns?.datastoreUrl).toBe(env.world.sharedDatastoreUrl);
    expect(cns?.capacityMb).toBe(10 * 1024);
    expect(cns?.containerCluster).toMatchObject({ clusterId: CLUSTER_ID, clusterType: 'KUBERNETES', clusterFlavor: 'VANILLA' });
    const pvc = cns?.entityMetadata.find((e) => e.entityType === 'PERSISTENT_VOLUME_CLAIM');
    expect(pvc).toMatchObject({ entityName: 'data', namespace: 'apps' });
    expect(cns?.entityMetadata.some((e) => e.entityType === 'PERSISTENT_VOLUME' && e.entityName === 'pvc-plain')).toBe(true);
  });

  test('idempotent by name; incompatible size is ALREADY_EXISTS', async () => {
    const a = await create('pvc-idem', { capacity_range: { required_bytes: String(GiB) } });
    const b = await create('pvc-idem', { capacity_range: { required_bytes: String(GiB) } });
    expect(b.volume.volume_id).toBe(a.volume.volume_id);
    expect(await cnsVolumesNamed('pvc-idem')).toHaveLength(1);
    expect(await codeOf(create('pvc-idem', { capacity_range: { required_bytes: String(2 * GiB) } }))).toBe(status.ALREADY_EXISTS);
  });

  test('a second controller process finds the volume an earlier one created', async () => {
    const first = await create('pvc-restart', { capacity_range: { required_bytes: String(GiB) } });
    const other = await serveController(env.world);
    try {
      const again = await other.csi.call<VolumeRes>('CreateVolume', { name: 'pvc-restart', volume_capabilities: [MOUNT_RWO], capacity_range: { required_bytes: String(GiB) } });
      expect(again.volume.volume_id).toBe(first.volume.volume_id);
    } finally {
      await other.stop();
    }
  });

  test('32 concurrent creates of one name make one CNS volume', async () => {
    const results = await Promise.allSettled(Array.from({ length: 32 }, () => create('pvc-storm')));
    const ids = new Set(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<VolumeRes>).value.volume.volume_id));
    expect(ids.size).toBe(1);
    expect(results.every((r) => r.status === 'fulfilled' || (r.reason as { code: number }).code === status.ABORTED)).toBe(true);
    expect(await cnsVolumesNamed('pvc-storm')).toHaveLength(1);
  });

  test('names up to 128 bytes: a deterministic ≤ 80-character CNS name, found again by any process, full name in the metadata', async () => {
    const long = `csi-sanity-${'n'.repeat(100)}-0123456789abcdef`; // 128 bytes
    const twin = `${long.slice(0, -1)}0`; // differs only in the last byte
    const cnsName = cnsVolumeName(long);
    expect(cnsName.length).toBeLessThanOrEqual(80);
    expect(cnsName.startsWith('csi-sanity-nnn')).toBe(true);
    const a = await create(long, { parameters: { 'csi.storage.k8s.io/pv/name': 'pv-long' } });
    expect((await create(long)).volume.volume_id).toBe(a.volume.volume_id);
    const other = await serveController(env.world);
    try {
      expect((await other.csi.call<VolumeRes>('CreateVolume', { name: long, volume_capabilities: [MOUNT_RWO] })).volume.volume_id).toBe(a.volume.volume_id);
    } finally {
      await other.stop();
    }
    const [cns, ...more] = await cnsVolumesNamed(cnsName);
    expect([cns?.volumeId, more]).toEqual([a.volume.volume_id, []]);
    expect(cns?.entityMetadata.find((e) => e.entityType === 'PERSISTENT_VOLUME')?.labels).toEqual({ [FULL_NAME_LABEL]: long });
    const b = await create(twin);
    expect(b.volume.volume_id).not.toBe(a.volume.volume_id);
    expect(await cnsVolumesNamed(cnsVolumeName(twin))).toHaveLength(1);
    // 80 characters fit: the name is CNS's unchanged (existing pvc-<uuid> volumes keep theirs), and no label is added.
    const fits = `pvc-${'f'.repeat(76)}`;
    const c = await create(fits, { parameters: { 'csi.storage.k8s.io/pv/name': 'pv-fits' } });
    const [plain] = await cnsVolumesNamed(fits);
    expect(plain?.volumeId).toBe(c.volume.volume_id);
    expect(plain?.entityMetadata.find((e) => e.entityType === 'PERSISTENT_VOLUME')?.labels).toEqual({});
  });

  test('XML metacharacters in the name round-trip exactly', async () => {
    const name = `pvc-<x>&"y'`;
    const a = await create(name);
    const b = await create(name);
    expect(b.volume.volume_id).toBe(a.volume.volume_id);
    expect((await cnsVolumesNamed(name)).map((v) => v.volumeId)).toEqual([a.volume.volume_id]);
  });

  test('requisite zone: placed where every host of the zone reaches it', async () => {
    const [za, zb] = env.world.zones;
    const res = await create('pvc-zone-b', { accessibility_requirements: { requisite: [{ segments: zb!.segment }] } });
    expect(res.volume.accessible_topology).toEqual([{ segments: zb!.segment }]);
    const [cns] = await cnsVolumesNamed('pvc-zone-b');
    expect([zb!.datastoreUrl, env.world.sharedDatastoreUrl]).toContain(cns?.datastoreUrl);
    // Zone a's local datastore is not reachable from zone b: rejected with the reason.
    const err = await errorOf(create('pvc-wrong-ds', { parameters: { datastoreurl: za!.datastoreUrl }, accessibility_requirements: { requisite: [{ segments: zb!.segment }] } }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('not mounted on 2 of 2 hosts');
  });

  test('preferred first, then requisite; accessible topology lists every zone that reaches the datastore', async () => {
    const [za, zb] = env.world.zones;
    const res = await create('pvc-pref', {
      parameters: { DatastoreURL: za!.datastoreUrl },
      accessibility_requirements: { preferred: [{ segments: zb!.segment }, { segments: za!.segment }], requisite: [{ segments: za!.segment }, { segments: zb!.segment }] },
    });
    expect(res.volume.accessible_topology).toEqual([{ segments: za!.segment }]);
    expect((await cnsVolumesNamed('pvc-pref'))[0]?.datastoreUrl).toBe(za!.datastoreUrl);
    const shared = await create('pvc-shared', {
      parameters: { datastoreurl: env.world.sharedDatastoreUrl },
      accessibility_requirements: { preferred: [{ segments: za!.segment }], requisite: [{ segments: za!.segment }, { segments: zb!.segment }] },
    });
    expect(shared.volume.accessible_topology).toEqual([{ segments: za!.segment }, { segments: zb!.segment }]);
  });

  test('unknown zone: RESOURCE_EXHAUSTED saying what was considered', async () => {
    const err = await errorOf(create('pvc-nozone', { accessibility_requirements: { requisite: [{ segments: { 'topology.csi.vmware.com/k8s-zone': 'zone-x' } }] } }));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain('zone-x');
    expect(err.details).toContain('no ESXi host matches');
  });

  test('storage policy resolved by name (any case of the key); unknown policy is INVALID_ARGUMENT', async () => {
    const res = await create('pvc-policy', { parameters: { StoragePolicyName: 'vSAN Default Storage Policy' } });
    const id = await env.world.client.pbm.policyIdByName('vSAN Default Storage Policy');
    expect((await cnsVolumesNamed('pvc-policy'))[0]?.storagePolicyId).toBe(id);
    expect(res.volume.volume_id).toBeTruthy();
    const again = await create('pvc-policy', { parameters: { storagepolicyname: 'vSAN Default Storage Policy' } });
    expect(again.volume.volume_id).toBe(res.volume.volume_id);
    expect(await codeOf(create('pvc-policy', { parameters: { storagepolicyname: 'VVol No Requirements Policy' } }))).toBe(status.ALREADY_EXISTS);
    const err = await errorOf(create('pvc-nopolicy', { parameters: { storagepolicyname: 'Gold <&>' } }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('Gold <&>');
  });

  test('bad requests are rejected before anything is created', async () => {
    expect(await codeOf(create('', {}))).toBe(status.INVALID_ARGUMENT);
    const multi = await errorOf(create('pvc-rwx', { volume_capabilities: [{ mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }] }));
    expect(multi.code).toBe(status.INVALID_ARGUMENT);
    expect(multi.details).toContain('file volumes are not supported yet');
    const key = await errorOf(create('pvc-key', { parameters: { diskformat: 'thin' } }));
    expect(key.details).toContain('"diskformat"');
    expect(await codeOf(create('pvc-fs', { volume_capabilities: [{ mount: { fs_type: 'ntfs' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] }))).toBe(status.INVALID_ARGUMENT);
    expect(await codeOf(create('pvc-range', { capacity_range: { required_bytes: '1', limit_bytes: '1000' } }))).toBe(status.OUT_OF_RANGE);
    expect(await codeOf(create('pvc-src', { volume_content_source: { snapshot: { snapshot_id: 'x' } } }))).toBe(status.NOT_FOUND);
    const clone = await errorOf(create('pvc-clone', { volume_content_source: { volume: { volume_id: 'some-volume' } } }));
    expect(clone.code).toBe(status.INVALID_ARGUMENT);
    expect(clone.details).toContain('cloning');
    const tooLong = await errorOf(create('x'.repeat(129)));
    expect(tooLong.code).toBe(status.INVALID_ARGUMENT);
    expect(tooLong.details).toContain('name: is 129 bytes long; the limit is 128 bytes');
    expect(await codeOf(create('pvc-fstype', { parameters: { fstype: 'ext4' } }))).toBe('ok');
    for (const name of ['', 'pvc-rwx', 'pvc-key', 'pvc-fs', 'pvc-range', 'pvc-src', 'pvc-clone']) expect(await cnsVolumesNamed(name)).toHaveLength(0);
  });
});

describe('DeleteVolume, ControllerExpandVolume, ValidateVolumeCapabilities, ControllerGetVolume', () => {
  test('delete is idempotent and unknown ids succeed', async () => {
    const res = await create('pvc-del');
    await env.served.csi.call('DeleteVolume', { volume_id: res.volume.volume_id });
    expect(await cnsVolumesNamed('pvc-del')).toHaveLength(0);
    await env.served.csi.call('DeleteVolume', { volume_id: res.volume.volume_id });
    await env.served.csi.call('DeleteVolume', { volume_id: '00000000-0000-0000-0000-000000000000' });
    expect(await codeOf(env.served.csi.call('DeleteVolume', { volume_id: '' }))).toBe(status.INVALID_ARGUMENT);
  });

  test('expand grows, is idempotent, refuses to shrink; node expansion only for mount', async () => {
    const { volume } = await create('pvc-grow', { capacity_range: { required_bytes: String(GiB) } });
    const grown = await env.served.csi.call<{ capacity_bytes: string; node_expansion_required: boolean }>('ControllerExpandVolume', {
      volume_id: volume.volume_id, capacity_range: { required_bytes: String(2 * GiB) }, volume_capability: MOUNT_RWO,
    });
    expect(grown).toEqual({ capacity_bytes: String(2 * GiB), node_expansion_required: true });
    expect((await cnsVolumesNamed('pvc-grow'))[0]?.capacityMb).toBe(2048);
    const block = await env.served.csi.call<{ node_expansion_required: boolean }>('ControllerExpandVolume', {
      volume_id: volume.volume_id, capacity_range: { required_bytes: String(2 * GiB) }, volume_capability: BLOCK_RWO,
    });
    expect(block.node_expansion_required).toBe(false);
    expect(await codeOf(env.served.csi.call('ControllerExpandVolume', { volume_id: volume.volume_id, capacity_range: { required_bytes: String(GiB) } }))).toBe(status.OUT_OF_RANGE);
    expect(await codeOf(env.served.csi.call('ControllerExpandVolume', { volume_id: 'nope', capacity_range: { required_bytes: String(GiB) } }))).toBe(status.NOT_FOUND);
    expect(await codeOf(env.served.csi.call('ControllerExpandVolume', { volume_id: volume.volume_id }))).toBe(status.INVALID_ARGUMENT);
  });

  test('validate capabilities and get volume', async () => {
    const { volume } = await create('pvc-val');
    const ok = await env.served.csi.call<{ confirmed: { volume_capabilities: unknown[] } | null }>('ValidateVolumeCapabilities', { volume_id: volume.volume_id, volume_capabilities: [MOUNT_RWO, BLOCK_RWO] });
    expect(ok.confirmed?.volume_capabilities).toHaveLength(2);
    const no = await env.served.csi.call<{ confirmed: unknown; message: string }>('ValidateVolumeCapabilities', { volume_id: volume.volume_id, volume_capabilities: [{ mount: {}, access_mode: { mode: 'MULTI_NODE_READER_ONLY' } }] });
    expect(no.confirmed).toBeNull();
    expect(no.message).toContain('file volumes are not supported yet');
    expect(await codeOf(env.served.csi.call('ValidateVolumeCapabilities', { volume_id: 'nope', volume_capabilities: [MOUNT_RWO] }))).toBe(status.NOT_FOUND);
    const got = await env.served.csi.call<{ volume: { volume_id: string }; status: { published_node_ids: string[]; volume_condition: { abnormal: boolean } } }>('ControllerGetVolume', { volume_id: volume.volume_id });
    expect(got.volume.volume_id).toBe(volume.volume_id);
    expect(got.status).toMatchObject({ published_node_ids: [], volume_condition: { abnormal: false } });
    expect(await codeOf(env.served.csi.call('ControllerGetVolume', { volume_id: 'nope' }))).toBe(status.NOT_FOUND);
  });
});

describe('ListVolumes, GetCapacity, capabilities, Probe', () => {
  test('paging visits every volume once even when volumes change between pages', async () => {
    for (let i = 0; i < 5; i++) await create(`pvc-list-${i}`);
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    let deleted = '';
    do {
      const page = await env.served.csi.call<{ entries: { volume: { volume_id: string } }[]; next_token: string }>('ListVolumes', { max_entries: 3, starting_token: token });
      expect(page.entries.length).toBeLessThanOrEqual(3);
      seen.push(...page.entries.map((e) => e.volume.volume_id));
      token = page.next_token;
      if (pages++ === 0) {
        // Change the set mid-listing: delete one already listed volume.
        deleted = seen[0]!;
        await env.served.csi.call('DeleteVolume', { volume_id: deleted });
      }
    } while (token);
    expect(pages).toBeGreaterThan(1);
    expect(new Set(seen).size).toBe(seen.length);
    const all = (await env.world.client.cns.queryAllVolumes({})).map((v) => v.volumeId);
    for (const id of all) expect(seen).toContain(id);
    // In CNS's order (creation order in the simulator), the order of the query cursor.
    expect(seen.filter((id) => all.includes(id))).toEqual(all.filter((id) => seen.includes(id)));
    expect(await codeOf(env.served.csi.call('ListVolumes', { starting_token: 'not-a-token!' }))).toBe(status.ABORTED);
  });

  test('GetCapacity per zone and policy', async () => {
    const [za] = env.world.zones;
    type Cap = { available_capacity: string; maximum_volume_size: { value: string } | null };
    const a = await env.served.csi.call<Cap>('GetCapacity', { accessible_topology: { segments: za!.segment }, volume_capabilities: [MOUNT_RWO] });
    expect(BigInt(a.available_capacity)).toBeGreaterThan(0n);
    expect(a.maximum_volume_size?.value).toBe(a.available_capacity);
    const none = await env.served.csi.call<Cap>('GetCapacity', { accessible_topology: { segments: { 'topology.csi.vmware.com/k8s-zone': 'zone-x' } } });
    expect(none.available_capacity).toBe('0');
    const policy = await env.served.csi.call<Cap>('GetCapacity', { parameters: { storagepolicyname: 'vSAN Default Storage Policy' } });
    expect(BigInt(policy.available_capacity)).toBeGreaterThan(0n);
    expect(await codeOf(env.served.csi.call('GetCapacity', { parameters: { storagepolicyname: 'missing' } }))).toBe(status.INVALID_ARGUMENT);
    const rwx = await env.served.csi.call<Cap>('GetCapacity', { volume_capabilities: [{ mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }] });
    expect(rwx.available_capacity).toBe('0');
  });

  test('a caller giving up does not fail the others sharing its inventory read', async () => {
    const fresh = await serveController(env.world);
    try {
      expect((await fresh.identity.call<{ ready: { value: boolean } | null }>('Probe', {})).ready?.value).toBe(true);
      await env.world.sim.setHang(true);
      let patient: Promise<number | 'ok'>;
      try {
        // Both need the (cold) inventory snapshot: one read, which the hasty caller's deadline must not cancel.
        const hasty = codeOf(fresh.csi.call('GetCapacity', {}, { timeoutMs: 400 }));
        patient = codeOf(fresh.csi.call('GetCapacity', {}, { timeoutMs: 10_000 }));
        expect(await hasty).toBe(status.DEADLINE_EXCEEDED);
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        await env.world.sim.setHang(false);
      }
      expect(await patient).toBe('ok');
    } finally {
      await fresh.stop();
    }
  });

  test('ControllerGetCapabilities and Probe', async () => {
    const caps = await env.served.csi.call<{ capabilities: { rpc: { type: string } }[] }>('ControllerGetCapabilities', {});
    expect(caps.capabilities.map((c) => c.rpc.type).sort()).toEqual(
      ['CREATE_DELETE_VOLUME', 'PUBLISH_UNPUBLISH_VOLUME', 'EXPAND_VOLUME', 'LIST_VOLUMES', 'LIST_VOLUMES_PUBLISHED_NODES', 'GET_CAPACITY', 'GET_VOLUME', 'VOLUME_CONDITION', 'MODIFY_VOLUME', 'CREATE_DELETE_SNAPSHOT', 'LIST_SNAPSHOTS', 'GET_SNAPSHOT'].sort(),
    );
    const probe = await env.served.identity.call<{ ready: { value: boolean } | null }>('Probe', {});
    expect(probe.ready?.value).toBe(true);
  });
});
