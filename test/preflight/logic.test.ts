/** Pure parts of preflight: Node UUID candidates, version comparison, privilege evaluation, datastore intersection, topology domains, the text table. */
import { describe, expect, test } from '@jest/globals';
import { checkCnsSnapshots, versionAtLeast, MIN_CNS_API } from '../../src/preflight/cns.js';
import { formatJson, formatText } from '../../src/preflight/format.js';
import { diskUuidCheck, nodeUuids } from '../../src/preflight/node-vms.js';
import { swapUuidByteOrder } from '../../src/contract/uuid.js';
import { evaluatePrivileges, requiredPrivileges } from '../../src/preflight/privileges.js';
import { configuredCategories, domainOf, sharedDatastores } from '../../src/preflight/topology.js';
import { fail, pass, reportOf, skip, warn } from '../../src/preflight/types.js';
import type { DatastoreInfo, HostInfo, MoRef, VmInfo } from '../../src/vsphere/api.js';

const ref = (type: string, value: string): MoRef => ({ type, value });

describe('node UUIDs', () => {
  test('providerID and systemUUID (both orders) are candidates; junk is ignored', () => {
    const uuid = '421e8c7a-9b52-3c1d-8e2f-0a1b2c3d4e5f';
    expect(nodeUuids({ spec: { providerID: `vsphere://${uuid.toUpperCase()}` } })).toEqual([uuid]);
    expect(nodeUuids({ status: { nodeInfo: { systemUUID: uuid.toUpperCase() } as never } })).toEqual([uuid, swapUuidByteOrder(uuid)]);
    expect(nodeUuids({ spec: { providerID: 'aws:///i-123' }, status: { nodeInfo: { systemUUID: 'not-a-uuid' } as never } })).toEqual([]);
  });
});

test('versionAtLeast compares numerically, missing parts as 0', () => {
  expect(versionAtLeast('6.7.3', MIN_CNS_API)).toBe(true);
  expect(versionAtLeast('7.0.1.1', MIN_CNS_API)).toBe(true);
  expect(versionAtLeast('6.7.10', MIN_CNS_API)).toBe(true);
  expect(versionAtLeast('6.7.2', MIN_CNS_API)).toBe(false);
  expect(versionAtLeast('6.7', MIN_CNS_API)).toBe(false);
  expect(versionAtLeast('6.5', MIN_CNS_API)).toBe(false);
  expect(versionAtLeast('', MIN_CNS_API)).toBe(false);
});

test('cns-snapshots: pass from API 7.0.3 on, a warning below (or unknown), skipped when CNS failed', () => {
  const about = (apiVersion: string) => ({ apiVersion }) as never;
  const cnsOk = pass('cns', 'CnsQueryVolume answered');
  for (const v of ['7.0.3', '7.0.3.0', '7.0.10', '8.0.0.1', '8.0.3.0']) expect([v, checkCnsSnapshots(about(v), cnsOk).status]).toEqual([v, 'pass']);
  for (const v of ['7.0.2.1', '7.0.2', '7.0', '6.7.3', '']) expect([v, checkCnsSnapshots(about(v), cnsOk).status]).toEqual([v, 'warn']);
  expect(checkCnsSnapshots(undefined, cnsOk).finding).toMatch(/^vCenter API unknown is older than 7\.0\.3/);
  // An old CNS (a warning on cns) still gets its own snapshot row.
  expect(checkCnsSnapshots(about('6.5'), warn('cns', 'old')).status).toBe('warn');
  expect(checkCnsSnapshots(about('8.0.3.0'), fail('cns', 'CnsQueryVolume failed', 'x'))).toEqual(skip('cns-snapshots', 'skipped: CNS does not answer (see cns)'));
});

describe('privilege evaluation', () => {
  const targets = {
    root: { ref: ref('Folder', 'group-d1'), name: 'root folder' },
    nodeVms: [{ ref: ref('VirtualMachine', 'vm-1'), name: 'node-1' }],
    ancestors: [{ ref: ref('ClusterComputeResource', 'c-1'), name: 'cluster-1' }],
    datastores: [{ ref: ref('Datastore', 'ds-1'), name: 'shared-ds' }],
  };
  const reqs = requiredPrivileges(targets);
  const grantAll = reqs.map((r) => r.entities.map((e) => ({ entity: e.ref, granted: new Map(r.privIds.map((p) => [p, true])) })));

  test('the documented roles are required where the reference documents them', () => {
    expect(reqs.map((r) => r.role)).toEqual(['CNS-SEARCH-AND-SPBM', 'CNS-VM', 'ReadOnly', 'CNS-DATASTORE']);
    expect(reqs[0]!.privIds).toContain('Cns.Searchable');
    expect(reqs[1]!.privIds).toEqual(expect.arrayContaining(['VirtualMachine.Config.AddExistingDisk', 'VirtualMachine.Config.AddRemoveDevice']));
  });

  test('all granted → pass', () => {
    expect(evaluatePrivileges(reqs, grantAll).status).toBe('pass');
  });

  test('a missing VM privilege fails, naming the VM, the privilege and the role', () => {
    const answers = grantAll.map((a) => a.map((e) => ({ entity: e.entity, granted: new Map(e.granted) })));
    answers[1]![0]!.granted.set('VirtualMachine.Config.AddExistingDisk', false);
    const result = evaluatePrivileges(reqs, answers);
    expect(result.status).toBe('fail');
    expect(result.finding).toContain('node-1: VirtualMachine.Config.AddExistingDisk');
    expect(result.fix).toContain('CNS-VM');
    expect(result.fix).toContain('every node VM');
  });

  test('a missing datastore privilege only warns (the driver skips such datastores); an unanswered entity counts as missing', () => {
    const answers = grantAll.map((a) => [...a]);
    answers[3] = [];
    const result = evaluatePrivileges(reqs, answers);
    expect(result.status).toBe('warn');
    expect(result.finding).toContain('shared-ds: Datastore.FileManagement');
  });
});

describe('topology', () => {
  test('topology-categories win over legacy zone/region', () => {
    expect(configuredCategories({ topologyCategories: ['a', 'b'], zone: 'z', region: 'r' })).toEqual(['a', 'b']);
    expect(configuredCategories({ topologyCategories: [], zone: 'z', region: 'r' })).toEqual(['r', 'z']);
    expect(configuredCategories({ topologyCategories: [] })).toEqual([]);
  });

  test('the nearest tag of a category wins; a missing one is reported', () => {
    const host = { ref: ref('HostSystem', 'h1'), name: 'h1' };
    const cluster = { ref: ref('ClusterComputeResource', 'c1'), name: 'c1' };
    const dc = { ref: ref('Datacenter', 'dc1'), name: 'dc1' };
    const tags = new Map([
      ['HostSystem:h1', [{ id: 't1', name: 'zone-host', categoryId: 'z', categoryName: 'zone' }]],
      ['ClusterComputeResource:c1', [{ id: 't2', name: 'zone-cluster', categoryId: 'z', categoryName: 'zone' }]],
      ['Datacenter:dc1', [{ id: 't3', name: 'r1', categoryId: 'r', categoryName: 'region' }]],
    ]);
    expect(domainOf(['region', 'zone'], [host, cluster, dc], tags)).toEqual({ key: 'region=r1, zone=zone-host', missing: [] });
    expect(domainOf(['region', 'rack'], [host, cluster, dc], tags)).toEqual({ key: 'region=r1, rack=<none>', missing: ['rack'] });
  });

  test('shared datastores: mounted on every host and accessible', () => {
    const ds = (name: string, accessible = true): DatastoreInfo => ({ ref: ref('Datastore', name), name, url: `ds:///${name}`, accessible, capacity: 0n, freeSpace: 0n, hostMounts: [] });
    const host = (name: string, dss: string[]): HostInfo => ({ ref: ref('HostSystem', name), name, datastores: dss.map((d) => ref('Datastore', d)) });
    const all = [ds('a'), ds('b'), ds('c', false)];
    expect(sharedDatastores([host('h1', ['a', 'b', 'c']), host('h2', ['b', 'c'])], all).map((d) => d.name)).toEqual(['b']);
    expect(sharedDatastores([host('h1', ['a']), host('h2', ['b'])], all)).toEqual([]);
    expect(sharedDatastores([], all)).toEqual([]);
  });
});

test('disk.EnableUUID: unset counts as not TRUE', () => {
  const vm = (name: string, diskEnableUuid?: boolean): VmInfo => ({ ref: ref('VirtualMachine', name), name, guestNics: [], diskEnableUuid });
  const result = diskUuidCheck([vm('ok', true), vm('unset'), vm('off', false)], 'test');
  expect(result.status).toBe('fail');
  expect(result.finding).toContain('2 of 3 node VMs (test): off, unset');
  expect(diskUuidCheck([], 'none').status).toBe('skip');
});

test('report: ok unless a check failed; the text table shows fixes; JSON round-trips', () => {
  const okReport = reportOf([pass('a', 'fine'), warn('b', 'hmm', 'do x'), skip('c', 'n/a')]);
  expect(okReport.ok).toBe(true);
  const bad = reportOf([pass('config', 'fine'), fail('vcenter-login', 'rejected', 'fix the Secret')]);
  expect(bad.ok).toBe(false);
  const text = formatText(bad);
  expect(text).toMatch(/^CHECK\s+STATUS\s+FINDING$/m);
  expect(text).toMatch(/^vcenter-login\s+FAIL\s+rejected$/m);
  expect(text).toMatch(/^\s+fix: fix the Secret$/m);
  expect(text).toContain('preflight FAILED: 1 check failed');
  expect(formatText(okReport)).toContain('preflight passed (1 warning)');
  expect(JSON.parse(formatJson(bad))).toEqual(bad);
});
