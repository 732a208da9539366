import { describe, expect, test } from '@jest/globals';
import type { V1Node } from '@kubernetes/client-node';
import { compileAddressRules } from '../../src/cpi/addresses.js';
import { planNode, type PlanContext } from '../../src/cpi/node-plan.js';
import { SHUTDOWN_TAINT, UNINITIALIZED_TAINT } from '../../src/contract/taints.js';
import type { VmMatch } from '../../src/cpi/vm-matcher.js';

const ctx = (over: Partial<PlanContext> = {}): PlanContext => ({
  labels: { zone: 'k8s-zone', topologyCategories: [] },
  addressRules: compileAddressRules({}),
  ipFamilies: ['ipv4'],
  deleteNodesOfDeletedVms: true,
  inventoryComplete: true,
  chain: [{ ref: { type: 'HostSystem', value: 'h1' } }],
  facts: {
    categoryIds: new Map([['k8s-zone', 'cz']]),
    tags: new Map([['t1', { name: 'zone-a', categoryId: 'cz' }]]),
    attached: new Map([['HostSystem:h1', ['t1']]]),
  },
  ...over,
});

const uninitialized = (): V1Node => ({
  metadata: { name: 'n1' },
  spec: { taints: [{ key: UNINITIALIZED_TAINT, effect: 'NoSchedule' }] },
  status: { nodeInfo: { systemUUID: '42000000-0000-0000-0000-000000000001' } as never },
});
const initialized = (): V1Node => ({ metadata: { name: 'n1' }, spec: { providerID: 'vsphere://42000000-0000-0000-0000-000000000001' } });

const match = (over: Partial<VmMatch['vm']> = {}): VmMatch => ({
  vcenter: 'vc1',
  vcenterIndex: 0,
  by: 'uuid',
  vm: {
    ref: { type: 'VirtualMachine', value: 'vm-1' }, name: 'DC0_H0_VM0', biosUuid: '42000000-0000-0000-0000-000000000001',
    guestHostName: 'n1', guestNics: [{ connected: true, ipAddresses: ['10.0.0.1'] }], powerState: 'poweredOn',
    host: { type: 'HostSystem', value: 'h1' }, numCpu: 2, memoryMb: 4096, guestId: 'ubuntu64Guest', ...over,
  },
});

describe('planNode', () => {
  test('initializes: providerID, instance type, zone, addresses, taint removal', () => {
    const plan = planNode(uninitialized(), match(), ctx());
    expect(plan).toMatchObject({
      action: 'apply', initializing: true, providerID: 'vsphere://42000000-0000-0000-0000-000000000001',
      labels: { 'topology.kubernetes.io/zone': 'zone-a', 'node.kubernetes.io/instance-type': 'vsphere-vm.cpu-2.mem-4gb.os-ubuntu' },
      removeTaints: [UNINITIALIZED_TAINT, SHUTDOWN_TAINT], addTaints: [],
    });
  });
  test('missing Tools data keeps an uninitialized node tainted, with a message naming what is missing', () => {
    const plan = planNode(uninitialized(), match({ guestHostName: undefined, guestNics: [] }), ctx());
    expect(plan).toMatchObject({ action: 'retry', problem: { reason: 'MissingVMwareToolsData' } });
    if (plan.action === 'retry') expect(plan.problem.message).toMatch(/DC0_H0_VM0 in vCenter vc1: VMware Tools reports no guest host name/);
  });
  test('a VM without a BIOS UUID cannot give a providerID: stays tainted', () => {
    expect(planNode(uninitialized(), match({ biosUuid: undefined }), ctx())).toMatchObject({ action: 'retry', problem: { message: expect.stringContaining('no BIOS UUID') } });
  });
  test('missing category keeps it tainted', () => {
    const plan = planNode(uninitialized(), match(), ctx({ labels: { zone: 'absent', topologyCategories: [] } }));
    expect(plan).toMatchObject({ action: 'retry', problem: { reason: 'MissingTopologyTags' } });
  });
  test('no VM: retry for uninitialized; delete (or report when disabled) for initialized; nothing when a vCenter was unreachable', () => {
    expect(planNode(uninitialized(), undefined, ctx())).toMatchObject({ action: 'retry', problem: { reason: 'VMNotFound' } });
    expect(planNode(initialized(), undefined, ctx())).toMatchObject({ action: 'delete' });
    expect(planNode(initialized(), undefined, ctx({ deleteNodesOfDeletedVms: false }))).toMatchObject({ action: 'report' });
    expect(planNode(initialized(), undefined, ctx({ inventoryComplete: false }))).toEqual({ action: 'skip' });
  });
  test('powered off: shutdown taint and a notice; addresses left alone', () => {
    const plan = planNode(initialized(), match({ powerState: 'poweredOff', guestNics: [], guestHostName: undefined }), ctx());
    expect(plan).toMatchObject({ action: 'apply', initializing: false, addTaints: [{ key: SHUTDOWN_TAINT, effect: 'NoSchedule' }], addresses: undefined });
    if (plan.action === 'apply') expect(plan.notices.map((n) => n.reason)).toEqual(['VMPoweredOff']);
  });
  test("another provider's initialized node is skipped", () => {
    expect(planNode({ metadata: { name: 'x' }, spec: { providerID: 'aws:///i-1' } }, undefined, ctx())).toEqual({ action: 'skip' });
  });
});
