/**
 * Datastore clusters (StoragePods) as placement targets, over the real gRPC
 * socket against the simulator: StorageClass `datastorecluster` (name or
 * inventory path) picks the emptiest member that fits the topology, the
 * policy and is not in maintenance; `datastoreurl` may name a member;
 * GetCapacity reports the best member. The world's cluster pod-1 has two
 * members local to each zone; free space is set per datastore so that the
 * non-members and the other zone's members are emptier than the right answer.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { startWorld, stopWorld, serveController, type World, type Served, MOUNT_RWO, GiB } from './fixture.js';
import { errorOf } from './csi-client.js';
import type { DatastoreInfo } from '../../src/vsphere/api.js';

interface VolumeRes {
  volume: { volume_id: string; accessible_topology: { segments: Record<string, string> }[] };
}

const G = BigInt(GiB);
const FREE: Record<string, bigint> = {
  'zone-a-pod-1': 50n * G,
  'zone-a-pod-2': 80n * G,
  'zone-b-pod-1': 500n * G, // in maintenance below
  'zone-b-pod-2': 400n * G,
  'zone-a-ds': 900n * G,
  'zone-b-ds': 900n * G,
  LocalDS_0: 900n * G,
};

let world: World;
let served: Served;
let byName: Map<string, DatastoreInfo>;

beforeAll(async () => {
  world = await startWorld({ datastoreCluster: 'pod-1' });
  for (const [name, freeSpace] of Object.entries(FREE)) await world.sim.setDatastoreState(name, { freeSpace });
  await world.sim.setDatastoreState('zone-b-pod-1', { maintenanceMode: 'enteringMaintenance' });
  byName = new Map((await world.client.inventory.datastores()).map((d) => [d.name, d]));
  const encryption = (await world.client.pbm.policyIdByName('VM Encryption Policy'))!;
  await world.sim.setPolicyDatastores(encryption, ['zone-a-pod-1', 'zone-b-pod-2', 'LocalDS_0'].map((n) => byName.get(n)!.ref.value));
  // Started after the state is set: the controller caches what it reads.
  served = await serveController(world);
}, 90_000);

afterAll(async () => {
  await served?.stop();
  await stopWorld(world);
});

const zone = (i: number) => world.zones[i]!;
const url = (name: string): string => byName.get(name)!.url;

function create(name: string, parameters: Record<string, string>, zoneIndex?: number) {
  return served.csi.call<VolumeRes>('CreateVolume', {
    name,
    capacity_range: { required_bytes: String(GiB) },
    volume_capabilities: [MOUNT_RWO],
    parameters,
    ...(zoneIndex === undefined ? {} : { accessibility_requirements: { requisite: [{ segments: zone(zoneIndex).segment }] } }),
  });
}

async function datastoreOf(res: VolumeRes): Promise<string | undefined> {
  const [v] = (await world.client.cns.queryVolumes({ volumeIds: [res.volume.volume_id] })).volumes;
  return [...byName.values()].find((d) => d.url === v?.datastoreUrl)?.name;
}

const capacity = (parameters: Record<string, string>, zoneIndex: number) =>
  served.csi.call<{ available_capacity: string }>('GetCapacity', { parameters, accessible_topology: { segments: zone(zoneIndex).segment } });

describe('datastorecluster placement', () => {
  test('the emptiest member reachable from the zone wins, not an emptier non-member or member of the other zone; by name or inventory path', async () => {
    expect(world.datastoreCluster?.path).toBe('/DC0/datastore/pod-1');
    const byClusterName = await create('dsc-name', { datastorecluster: 'pod-1' }, 0);
    expect(await datastoreOf(byClusterName)).toBe('zone-a-pod-2');
    expect(byClusterName.volume.accessible_topology).toEqual([{ segments: zone(0).segment }]);
    expect(await datastoreOf(await create('dsc-path', { DatastoreCluster: '/DC0/datastore/pod-1' }, 0))).toBe('zone-a-pod-2');
  });

  test('members in maintenance mode and members the policy does not allow are passed over', async () => {
    // zone-b-pod-1 has the most room but is entering maintenance.
    expect(await datastoreOf(await create('dsc-maintenance', { datastorecluster: 'pod-1' }, 1))).toBe('zone-b-pod-2');
    // The policy allows zone-a-pod-1 (and a non-member with more room).
    expect(await datastoreOf(await create('dsc-policy', { datastorecluster: 'pod-1', storagepolicyname: 'VM Encryption Policy' }, 0))).toBe('zone-a-pod-1');
  });

  test('datastoreurl may name a member; with datastorecluster it must be one', async () => {
    expect(await datastoreOf(await create('dsc-member-url', { datastoreurl: url('zone-a-pod-1') }, 0))).toBe('zone-a-pod-1');
    const notMember = await errorOf(create('dsc-not-member', { datastorecluster: 'pod-1', datastoreurl: url('zone-a-ds') }, 0));
    expect(notMember.code).toBe(status.INVALID_ARGUMENT);
    expect(notMember.details).toContain('is not a member of datastore cluster "pod-1"');
  });

  test('an unknown cluster is INVALID_ARGUMENT naming the clusters there are; no member fitting the request is RESOURCE_EXHAUSTED naming the members', async () => {
    const unknown = await errorOf(create('dsc-unknown', { datastorecluster: 'gold' }, 0));
    expect(unknown.code).toBe(status.INVALID_ARGUMENT);
    expect(unknown.details).toMatch(/parameters\.datastorecluster "gold" matches no datastore cluster .* \(it has: pod-1 \(\/DC0\/datastore\/pod-1\)\)/);
    // Without topology a volume needs a datastore on every host: every member is zone-local.
    const none = await errorOf(create('dsc-nowhere', { datastorecluster: 'pod-1' }));
    expect(none.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(none.details).toContain('zone-a-pod-1');
    expect(none.details).not.toContain('LocalDS_0');
  });

  test('GetCapacity with datastorecluster reports the best qualifying member of the segment', async () => {
    expect((await capacity({ datastorecluster: 'pod-1' }, 0)).available_capacity).toBe(String(FREE['zone-a-pod-2']));
    expect((await capacity({ datastorecluster: 'pod-1' }, 1)).available_capacity).toBe(String(FREE['zone-b-pod-2']));
    expect((await capacity({ datastorecluster: 'pod-1', storagepolicyname: 'VM Encryption Policy' }, 0)).available_capacity).toBe(String(FREE['zone-a-pod-1']));
    expect((await capacity({}, 0)).available_capacity).toBe(String(FREE.LocalDS_0));
    expect((await errorOf(capacity({ datastorecluster: 'gold' }, 0))).code).toBe(status.INVALID_ARGUMENT);
  });
});
