import { describe, expect, test } from '@jest/globals';
import type { V1Node } from '@kubernetes/client-node';
import { topologyLabels, wantedCategories, type AncestorEntry, type TagFacts } from '../../src/cpi/topology.js';
import { SHUTDOWN_TAINT, UNINITIALIZED_TAINT } from '../../src/contract/taints.js';
import { buildAddressPatch, buildNodePatch, needsInitialization } from '../../src/cpi/node-patch.js';
import { VmIndex, describeSearch } from '../../src/cpi/vm-matcher.js';
import type { VmInfo } from '../../src/vsphere/api.js';

const chain: AncestorEntry[] = [
  { ref: { type: 'HostSystem', value: 'host-1' }, name: 'esx1' },
  { ref: { type: 'ClusterComputeResource', value: 'c-1' }, name: 'C1' },
  { ref: { type: 'Folder', value: 'f-1' }, name: 'host' },
  { ref: { type: 'Datacenter', value: 'dc-1' }, name: 'DC0' },
];

function facts(attached: Record<string, string[]>): TagFacts {
  return {
    categoryIds: new Map([['k8s-zone', 'cat-z'], ['k8s-region', 'cat-r']]),
    tags: new Map([
      ['t-za', { name: 'zone-a', categoryId: 'cat-z' }],
      ['t-zb', { name: 'zone-b', categoryId: 'cat-z' }],
      ['t-r1', { name: 'region-1', categoryId: 'cat-r' }],
      ['t-bad', { name: 'zone with spaces', categoryId: 'cat-z' }],
    ]),
    attached: new Map(Object.entries(attached)),
  };
}
const cfg = { zone: 'k8s-zone', region: 'k8s-region', topologyCategories: [] };

describe('zone/region from tags', () => {
  test('nearest wins: host tag overrides the cluster tag; region from the datacenter', () => {
    const r = topologyLabels(chain, cfg, facts({ 'HostSystem:host-1': ['t-zb'], 'ClusterComputeResource:c-1': ['t-za'], 'Datacenter:dc-1': ['t-r1'] }), 'vc');
    expect(r.problems).toEqual([]);
    expect(r.labels).toEqual({
      'topology.kubernetes.io/zone': 'zone-b',
      'failure-domain.beta.kubernetes.io/zone': 'zone-b',
      'topology.kubernetes.io/region': 'region-1',
      'failure-domain.beta.kubernetes.io/region': 'region-1',
    });
  });
  test('cluster tag used when the host has none', () => {
    const r = topologyLabels(chain, cfg, facts({ 'ClusterComputeResource:c-1': ['t-za', 't-r1'] }), 'vc');
    expect(r.labels['topology.kubernetes.io/zone']).toBe('zone-a');
  });
  test('missing category and missing tag are problems naming the config key and the path searched', () => {
    const r = topologyLabels(chain, { zone: 'nope', region: 'k8s-region', topologyCategories: [] }, facts({}), 'vc.example');
    expect(r.problems).toEqual([
      "tag category 'nope' (labels.zone) does not exist in vCenter vc.example",
      "no tag of category 'k8s-region' (labels.region) is attached to HostSystem esx1 → ClusterComputeResource C1 → Folder host → Datacenter DC0",
    ]);
    expect(r.labels).toEqual({});
  });
  test('topology-categories produce topology.csi.vmware.com/<category>', () => {
    const r = topologyLabels(chain, { topologyCategories: ['k8s-zone', 'k8s-region'] }, facts({ 'HostSystem:host-1': ['t-za'], 'Datacenter:dc-1': ['t-r1'] }), 'vc');
    expect(r.labels).toEqual({ 'topology.csi.vmware.com/k8s-zone': 'zone-a', 'topology.csi.vmware.com/k8s-region': 'region-1' });
    expect(wantedCategories({ zone: 'k8s-zone', topologyCategories: ['k8s-zone', 'x'] })).toEqual(['k8s-zone', 'x']);
  });
  test('a tag name that is not a valid label value is a problem', () => {
    const r = topologyLabels(chain, { zone: 'k8s-zone', topologyCategories: [] }, facts({ 'HostSystem:host-1': ['t-bad'] }), 'vc');
    expect(r.problems[0]).toMatch(/'zone with spaces' on HostSystem esx1.*not a valid Kubernetes label value/);
  });
});

const node = (over: Partial<V1Node['spec']> = {}, labels: Record<string, string> = {}): V1Node => ({
  metadata: { name: 'n1', resourceVersion: '42', labels },
  spec: { taints: [{ key: 'other', effect: 'NoExecute' }, { key: UNINITIALIZED_TAINT, value: 'true', effect: 'NoSchedule' }], ...over },
  status: { addresses: [{ type: 'Hostname', address: 'n1' }] },
});

describe('node patches', () => {
  test('initialization patch: only our labels, providerID, taint removed, resourceVersion guarding the taint list', () => {
    const n = node({}, { keep: 'me', 'topology.kubernetes.io/zone': 'zone-a' });
    expect(needsInitialization(n)).toBe(true);
    const p = buildNodePatch(n, {
      providerID: 'vsphere://x',
      labels: { 'topology.kubernetes.io/zone': 'zone-a', 'node.kubernetes.io/instance-type': 't' },
      removeTaints: [UNINITIALIZED_TAINT],
    });
    expect(p).toEqual({
      metadata: { labels: { 'node.kubernetes.io/instance-type': 't' }, resourceVersion: '42' },
      spec: { providerID: 'vsphere://x', taints: [{ key: 'other', effect: 'NoExecute' }] },
    });
  });
  test('nothing to change → no patch; providerID is never overwritten', () => {
    const n = node({ providerID: 'vsphere://a', taints: [] }, { a: 'b' });
    expect(needsInitialization(n)).toBe(false);
    expect(buildNodePatch(n, { providerID: 'vsphere://other', labels: { a: 'b' }, removeTaints: [UNINITIALIZED_TAINT] })).toBeUndefined();
  });
  test('shutdown taint added once', () => {
    const n = node({ providerID: 'vsphere://a', taints: [] });
    const p = buildNodePatch(n, { addTaints: [{ key: SHUTDOWN_TAINT, effect: 'NoSchedule' }] });
    expect(p).toEqual({ metadata: { resourceVersion: '42' }, spec: { taints: [{ key: SHUTDOWN_TAINT, effect: 'NoSchedule' }] } });
    const tainted = node({ providerID: 'vsphere://a', taints: [{ key: SHUTDOWN_TAINT, effect: 'NoSchedule' }] });
    expect(buildNodePatch(tainted, { addTaints: [{ key: SHUTDOWN_TAINT, effect: 'NoSchedule' }] })).toBeUndefined();
  });
  test('address patch replaces the list through status, or nothing when equal', () => {
    const n = node();
    expect(buildAddressPatch(n, [{ type: 'Hostname', address: 'n1' }])).toBeUndefined();
    expect(buildAddressPatch(n, [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '10.0.0.1' }])).toEqual({
      status: { addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '10.0.0.1' }] },
    });
  });
});

const vm = (name: string, biosUuid: string, host?: string, ip?: string): VmInfo => ({
  ref: { type: 'VirtualMachine', value: name }, name, biosUuid, guestHostName: host, guestNics: ip ? [{ connected: true, ipAddresses: [ip] }] : [],
});

describe('VM matching', () => {
  const index = new VmIndex([
    { vcenter: 'vc', vcenterIndex: 0, vm: vm('a', '422e4956-ad22-1139-6d72-59cc8f26bc90') },
    { vcenter: 'vc', vcenterIndex: 0, vm: vm('b', '11111111-2222-3333-4444-555555555555', 'web-1.corp.example') },
    { vcenter: 'vc', vcenterIndex: 0, vm: vm('c', '66666666-2222-3333-4444-555555555555', undefined, '10.0.0.77') },
  ]);
  const n = (name: string, systemUUID?: string, extra: Partial<V1Node> = {}): V1Node => ({
    metadata: { name }, status: { nodeInfo: { systemUUID } as never }, ...extra,
  });
  test('by UUID, by swapped UUID, by DNS name (full or short), by IP', () => {
    expect(index.match(n('x', '422E4956-AD22-1139-6D72-59CC8F26BC90'))).toMatchObject({ by: 'uuid', vm: { name: 'a' } });
    expect(index.match(n('x', '56492e42-22ad-3911-6d72-59cc8f26bc90'))).toMatchObject({ by: 'swapped-uuid', vm: { name: 'a' } });
    expect(index.match(n('web-1'))).toMatchObject({ by: 'dns-name', vm: { name: 'b' } });
    expect(index.match(n('WEB-1.corp.example'))).toMatchObject({ by: 'dns-name', vm: { name: 'b' } });
    expect(index.match(n('zz', undefined, { status: { addresses: [{ type: 'InternalIP', address: '10.0.0.77' }] } }))).toMatchObject({ by: 'ip', vm: { name: 'c' } });
  });
  test('a providerID binds the node to its VM only', () => {
    expect(index.match(n('web-1', undefined, { spec: { providerID: 'vsphere://99999999-2222-3333-4444-555555555555' } }))).toBeUndefined();
    expect(index.match(n('q', undefined, { spec: { providerID: 'vsphere://11111111-2222-3333-4444-555555555555' } }))).toMatchObject({ by: 'providerID' });
  });
  test('search description for the event', () => {
    expect(describeSearch(n('w', '56492e42-22ad-3911-6d72-59cc8f26bc90'))).toBe(
      'BIOS UUID 56492e42-22ad-3911-6d72-59cc8f26bc90 or 422e4956-ad22-1139-6d72-59cc8f26bc90, guest DNS name w',
    );
  });
});
