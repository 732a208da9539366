/**
 * Pure logic of ControllerModifyVolume and datastore clusters: the
 * VolumeAttributesClass parameters, where a volume must stay reachable,
 * datastore-cluster members and maintenance mode in placement, the
 * cluster lookup by name or path, and the API version gates.
 */
import { describe, expect, test } from '@jest/globals';
import { CsiError, GrpcCode } from '../../src/csi/errors.js';
import { chooseDatastore, type PlacementInventory } from '../../src/controller/placement.js';
import { reachOf, strandedBy } from '../../src/controller/modify-plan.js';
import { parseMutableParameters, parseVolumeParameters, withMutable } from '../../src/controller/parameters.js';
import { datastoreClusterParameter, findDatastoreCluster } from '../../src/contract/datastore-cluster.js';
import { CNS_RECONFIG_POLICY, CNS_RELOCATE, versionAtLeast } from '../../src/vsphere/versions.js';
import type { DatastoreClusterInfo } from '../../src/vsphere/api.js';

const ZONE = 'topology.csi.vmware.com/k8s-zone';
const host = (id: string, zone: string) => ({ id, name: `esx-${id.slice(1)}`, labels: { [ZONE]: zone } });
const store = (id: string, freeGiB: number, hosts: string[], maintenanceMode?: string) => ({
  id,
  name: id,
  url: `ds:///${id}/`,
  freeSpace: BigInt(freeGiB) * 1024n ** 3n,
  hosts: new Set(hosts),
  maintenanceMode,
});
const A = ['h1', 'h2'];
const inv: PlacementInventory = {
  hosts: [host('h1', 'a'), host('h2', 'a'), host('h3', 'b')],
  datastores: [store('shared', 900, [...A, 'h3']), store('za', 50, A), store('m1', 80, A, 'normal'), store('m2', 90, A, 'enteringMaintenance'), store('m3', 70, A), store('half', 500, ['h1'])],
};
const ds = (id: string) => inv.datastores.find((d) => d.id === id)!;

/** The CsiError `fn` throws (failing the test when it throws nothing, or something else). */
function thrown(fn: () => unknown): CsiError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CsiError);
  return caught as CsiError;
}

describe('VolumeAttributesClass parameters', () => {
  test('storagepolicyname and datastoreurl, case-insensitive; anything else INVALID_ARGUMENT naming the key', () => {
    expect(parseMutableParameters({ StoragePolicyName: 'Gold', DATASTOREURL: 'ds:///x/' })).toEqual({ storagePolicyName: 'Gold', datastoreUrl: 'ds:///x/' });
    const unknown = thrown(() => parseMutableParameters({ iops: '10' }));
    expect(unknown.code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(unknown.message).toContain('"iops"');
    // datastorecluster is a StorageClass key only: a live volume is moved to one datastore.
    expect(thrown(() => parseMutableParameters({ datastorecluster: 'gold' })).message).toContain('"datastorecluster"');
    expect(thrown(() => parseMutableParameters({ storagepolicyname: ' ' })).message).toContain('mutable_parameters.storagepolicyname is empty');
  });

  test('at creation they override the StorageClass; a datastoreurl replaces a datastorecluster', () => {
    const sc = parseVolumeParameters({ storagepolicyname: 'Silver', datastorecluster: 'pod-1' });
    expect(withMutable(sc, { storagePolicyName: 'Gold' })).toMatchObject({ storagePolicyName: 'Gold', datastoreCluster: 'pod-1' });
    const moved = withMutable(sc, { datastoreUrl: 'ds:///x/' });
    expect(moved).toMatchObject({ storagePolicyName: 'Silver', datastoreUrl: 'ds:///x/' });
    expect(moved.datastoreCluster).toBeUndefined();
    expect(thrown(() => parseVolumeParameters({ datastorecluster: '' })).message).toContain('parameters.datastorecluster');
  });
});

describe('where a moved volume must stay reachable', () => {
  test('every zone whose hosts all mount the current datastore', () => {
    expect(reachOf(inv, ds('za'))).toMatchObject({ scope: `topology {${ZONE}=a}` });
    expect(reachOf(inv, ds('shared')).hosts.map((h) => h.id)).toEqual(['h1', 'h2', 'h3']);
    expect(strandedBy(inv, ds('za'), ds('m1'))).toBeUndefined();
    expect(strandedBy(inv, ds('za'), ds('shared'))).toBeUndefined();
    expect(strandedBy(inv, ds('shared'), ds('za'))).toMatch(/not mounted on 1 of the 3 hosts .*\(esx-3\)/);
    expect(strandedBy(inv, ds('za'), ds('half'))).toMatch(/not mounted on 1 of the 2 hosts of the volume's topology \{.*=a\} \(esx-2\)/);
  });

  test('without topology: the hosts that mount it now', () => {
    const flat: PlacementInventory = { ...inv, hosts: inv.hosts.map((h) => ({ ...h, labels: {} })) };
    expect(reachOf(flat, ds('za'))).toMatchObject({ scope: 'the hosts that mount it now' });
    expect(reachOf(flat, ds('za')).hosts.map((h) => h.id)).toEqual(['h1', 'h2']);
  });
});

describe('datastore clusters in placement', () => {
  const zoneA = { preferred: [], requisite: [{ [ZONE]: 'a' }] };
  test('only members compete; one entering maintenance is passed over; datastoreurl must name a member', () => {
    const members = new Set(['m1', 'm2', 'm3']);
    expect(chooseDatastore(inv, { ...zoneA, members, clusterName: 'pod' }).datastore.id).toBe('m1');
    expect(chooseDatastore(inv, { ...zoneA, members, clusterName: 'pod', compatible: new Set(['m3', 'shared']), policyName: 'p' }).datastore.id).toBe('m3');
    const none = thrown(() => chooseDatastore(inv, { ...zoneA, members: new Set(['m2']), clusterName: 'pod' }));
    expect(none.code).toBe(GrpcCode.RESOURCE_EXHAUSTED);
    expect(none.message).toContain('m2 (ds:///m2/): enteringMaintenance (datastore maintenance mode)');
    expect(none.message).not.toContain('shared');
    const outside = thrown(() => chooseDatastore(inv, { ...zoneA, members, clusterName: 'pod', datastoreUrl: 'ds:///za' }));
    expect(outside.code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(outside.message).toContain('is not a member of datastore cluster "pod"');
    // Maintenance applies without a cluster too.
    expect(chooseDatastore(inv, { ...zoneA, datastoreUrl: 'ds:///m1/' }).datastore.id).toBe('m1');
    expect(thrown(() => chooseDatastore(inv, { ...zoneA, datastoreUrl: 'ds:///m2/' })).code).toBe(GrpcCode.INVALID_ARGUMENT);
  });

  test('a cluster is found by inventory path (slashes optional) or name; a name two clusters share is ambiguous', () => {
    const c = (name: string, path: string): DatastoreClusterInfo => ({ ref: { type: 'StoragePod', value: path }, name, path, datastores: [] });
    const clusters = [c('gold', '/DC1/datastore/gold'), c('gold', '/DC2/datastore/gold'), c('silver', '/DC1/datastore/f/silver')];
    expect(findDatastoreCluster(clusters, 'DC2/datastore/gold/')).toEqual({ cluster: clusters[1] });
    expect(findDatastoreCluster(clusters, 'silver')).toEqual({ cluster: clusters[2] });
    expect(findDatastoreCluster(clusters, 'gold')).toEqual({ ambiguous: [clusters[0], clusters[1]] });
    expect(findDatastoreCluster(clusters, 'bronze')).toBeUndefined();
    expect(datastoreClusterParameter({ DatastoreCluster: ' gold ' })).toBe('gold');
    expect(datastoreClusterParameter({ datastoreurl: 'x' })).toBeUndefined();
  });
});

test('API gates: relocation from 7.0 U3, policy reconfiguration from 8.0 U2', () => {
  expect(versionAtLeast('7.0.3.0', CNS_RELOCATE.since)).toBe(true);
  expect(versionAtLeast('7.0.2.1', CNS_RELOCATE.since)).toBe(false);
  expect(versionAtLeast('8.0.2.0', CNS_RECONFIG_POLICY.since)).toBe(true);
  expect(versionAtLeast('8.0.1.0', CNS_RECONFIG_POLICY.since)).toBe(false);
  expect(versionAtLeast('9.0.0.0', CNS_RECONFIG_POLICY.since)).toBe(true);
});
