/**
 * The CPI controller against the vCenter simulator and the test Kubernetes
 * API server, driven through @kubernetes/client-node as in production.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { startVcsim } from '../../src/harness/vcsim.js';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { CpiController, type CpiControllerOptions } from '../../src/cpi/controller.js';
import { SHUTDOWN_TAINT } from '../../src/contract/taints.js';
import { swapUuidByteOrder } from '../../src/contract/uuid.js';
import type { VmInfo, VsphereClient } from '../../src/vsphere/api.js';
import {
  eventsFor, getNode, hasUninitTaint, newClient, pendingNode, setGuest, startTaggedSim, waitFor, waitForNode, type TaggedSim,
} from './helpers.js';

let env: TaggedSim;
let kube: KubeApiServer | undefined;
let controller: CpiController | undefined;
let cpiClient: VsphereClient | undefined;
const used = new Set<string>();

beforeAll(async () => {
  env = await startTaggedSim(14);
}, 120000);

afterAll(async () => {
  await env?.admin.close().catch(() => undefined);
  await env?.sim.stop();
});

afterEach(async () => {
  await controller?.stop();
  await cpiClient?.close().catch(() => undefined);
  await kube?.stop();
  controller = undefined;
  cpiClient = undefined;
  kube = undefined;
});

/** A VM not used by an earlier test, optionally on a given host. */
function takeVm(where: (vm: VmInfo) => boolean = () => true): VmInfo {
  const vm = env.vms.find((v) => !used.has(v.ref.value) && v.biosUuid && where(v));
  if (!vm) throw new Error('no unused VM left in the simulator inventory');
  used.add(vm.ref.value);
  return vm;
}

/** A controller on a fresh client of the shared simulator, plus any further vCenters. */
async function startController(over: Partial<CpiControllerOptions> = {}, moreVcenters: VsphereClient[] = []): Promise<CpiController> {
  kube ??= await startKubeApiServer();
  cpiClient = newClient(env.sim);
  controller = new CpiController({
    kubeConfig: kube.kubeConfig(),
    vcenters: [cpiClient, ...moreVcenters],
    labels: { zone: 'k8s-zone', region: 'k8s-region', topologyCategories: [] },
    batchWindowMs: 20,
    retryInitialMs: 100,
    retryMaxMs: 400,
    ...over,
  });
  await controller.start();
  return controller;
}

const initialized = (n: ReturnType<typeof getNode>): boolean => !!n && !hasUninitTaint(n) && !!n.spec?.providerID;

describe('node initialization', () => {
  test('by BIOS UUID: providerID, addresses, instance type, zone from the host tag, region from the datacenter', async () => {
    const vm = takeVm((v) => v.host?.value === env.taggedHost.value);
    await setGuest(env.admin, vm.ref, 'node-uuid', '10.20.0.11');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-uuid', vm.biosUuid!.toUpperCase()));
    await startController();
    const node = await waitForNode(kube, 'node-uuid', initialized);
    expect(node!.spec!.providerID).toBe(`vsphere://${vm.biosUuid}`);
    expect(node!.metadata!.labels).toMatchObject({
      'kubernetes.io/hostname': 'node-uuid',
      'topology.kubernetes.io/zone': 'zone-host',
      'failure-domain.beta.kubernetes.io/zone': 'zone-host',
      'topology.kubernetes.io/region': 'region-1',
      'failure-domain.beta.kubernetes.io/region': 'region-1',
      'node.kubernetes.io/instance-type': expect.stringMatching(/^vsphere-vm\.cpu-\d+\.mem-\d+gb\.os-[a-z0-9]+$/),
    });
    expect(node!.status!.addresses).toEqual([
      { type: 'Hostname', address: 'node-uuid' },
      { type: 'InternalIP', address: '10.20.0.11' },
      { type: 'ExternalIP', address: '10.20.0.11' },
    ]);
    // Patches went through the right subresources with merge-patch content type.
    const patches = kube.requests().filter((r) => r.method === 'PATCH');
    expect(patches.map((p) => `${p.path} ${p.contentType}`).sort()).toEqual([
      '/api/v1/nodes/node-uuid application/merge-patch+json',
      '/api/v1/nodes/node-uuid/status application/merge-patch+json',
    ]);
  });

  test('by byte-swapped systemUUID; zone from the cluster tag when the host has none', async () => {
    const vm = takeVm((v) => v.host?.value !== env.taggedHost.value && env.hostsOfCluster.some((h) => h.value === v.host?.value));
    await setGuest(env.admin, vm.ref, 'node-swapped', '10.20.0.12');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-swapped', swapUuidByteOrder(vm.biosUuid!)));
    await startController();
    const node = await waitForNode(kube, 'node-swapped', initialized);
    expect(node!.spec!.providerID).toBe(`vsphere://${vm.biosUuid}`);
    expect(node!.metadata!.labels!['topology.kubernetes.io/zone']).toBe('zone-cluster');
  });

  test('by node name (guest DNS name); zone from the datacenter for a standalone host', async () => {
    const vm = takeVm((v) => v.host?.value === env.standaloneHost?.value);
    await setGuest(env.admin, vm.ref, 'node-byname.example.internal', '10.20.0.13');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-byname'));
    await startController();
    const node = await waitForNode(kube, 'node-byname', initialized);
    expect(node!.spec!.providerID).toBe(`vsphere://${vm.biosUuid}`);
    expect(node!.metadata!.labels!['topology.kubernetes.io/zone']).toBe('zone-dc');
  });

  test('by node IP', async () => {
    const vm = takeVm();
    await setGuest(env.admin, vm.ref, 'some-other-hostname', '10.20.0.14');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-byip', undefined, { ip: '10.20.0.14' }));
    await startController();
    const node = await waitForNode(kube, 'node-byip', initialized);
    expect(node!.spec!.providerID).toBe(`vsphere://${vm.biosUuid}`);
  });

  test('address rules: only the external subnet matches → ExternalIP only', async () => {
    const vm = takeVm();
    await setGuest(env.admin, vm.ref, 'node-rules', '192.0.2.15');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-rules', vm.biosUuid));
    await startController({ nodes: { internalNetworkSubnetCidr: '10.99.0.0/16', externalNetworkSubnetCidr: '192.0.2.0/24' } });
    const node = await waitForNode(kube, 'node-rules', initialized);
    expect(node!.status!.addresses).toEqual([
      { type: 'Hostname', address: 'node-rules' },
      { type: 'ExternalIP', address: '192.0.2.15' },
    ]);
  });

  test('IPv6 family: the IPv6 address of the guest becomes the InternalIP', async () => {
    const vm = takeVm();
    await setGuest(env.admin, vm.ref, 'node-v6', '2001:db8::15');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-v6', vm.biosUuid));
    await startController({ ipFamilies: ['ipv6'] });
    const node = await waitForNode(kube, 'node-v6', initialized);
    expect(node!.status!.addresses).toContainEqual({ type: 'InternalIP', address: '2001:db8::15' });
  });

  test('missing VMware Tools data: Event, node stays tainted, retried until the data appears', async () => {
    const vm = takeVm();
    await setGuest(env.admin, vm.ref, undefined, '169.254.7.7');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-notools', vm.biosUuid));
    const c = await startController();
    await waitFor(() => eventsFor(kube!, 'node-notools').some((e) => e.reason === 'MissingVMwareToolsData'), 'MissingVMwareToolsData event');
    const ev = eventsFor(kube, 'node-notools').find((e) => e.reason === 'MissingVMwareToolsData')!;
    expect(ev.type).toBe('Warning');
    expect(ev.message).toContain('guest.hostName is empty');
    expect(ev.message).toContain('no usable ipv4 address: guest reports 169.254.7.7');
    expect(hasUninitTaint(getNode(kube, 'node-notools'))).toBe(true);
    await waitFor(() => c.stats().retriesScheduled >= 2, 'a second attempt');
    expect(eventsFor(kube, 'node-notools').filter((e) => e.reason === 'MissingVMwareToolsData')).toHaveLength(1); // not re-announced
    await setGuest(env.admin, vm.ref, 'node-notools', '10.20.0.16');
    const node = await waitForNode(kube, 'node-notools', initialized);
    expect(node!.status!.addresses).toContainEqual({ type: 'InternalIP', address: '10.20.0.16' });
  });

  test('missing tag category: Event naming it, node stays tainted until the category and a tag exist', async () => {
    const vm = takeVm();
    await setGuest(env.admin, vm.ref, 'node-nocat', '10.20.0.17');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-nocat', vm.biosUuid));
    await startController({ labels: { zone: 'late-category', topologyCategories: [] }, topologyCacheTtlMs: 200 });
    await waitFor(() => eventsFor(kube!, 'node-nocat').some((e) => e.reason === 'MissingTopologyTags'), 'MissingTopologyTags event');
    const ev = eventsFor(kube, 'node-nocat').find((e) => e.reason === 'MissingTopologyTags')!;
    expect(ev.message).toContain("tag category 'late-category' (labels.zone) does not exist in vCenter");
    expect(hasUninitTaint(getNode(kube, 'node-nocat'))).toBe(true);
    expect(getNode(kube, 'node-nocat')!.spec!.providerID).toBeUndefined();
    // The operator creates the category and tags the datacenter: the retry picks it up without a restart.
    const category = await env.admin.tags.createCategory('late-category');
    await env.admin.tags.attachTag(await env.admin.tags.createTag('late-zone', category), env.datacenter);
    const node = await waitForNode(kube, 'node-nocat', initialized);
    expect(node!.metadata!.labels!['topology.kubernetes.io/zone']).toBe('late-zone');
  });

  test('no VM at all: VMNotFound Event with what was searched', async () => {
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-ghost', '11111111-2222-3333-4444-555555555555'));
    await startController();
    await waitFor(() => eventsFor(kube!, 'node-ghost').some((e) => e.reason === 'VMNotFound'), 'VMNotFound event');
    const message = eventsFor(kube, 'node-ghost')[0]!.message!;
    expect(message).toContain('BIOS UUID 11111111-2222-3333-4444-555555555555, guest DNS name node-ghost');
    expect(hasUninitTaint(getNode(kube, 'node-ghost'))).toBe(true);
  });

  test('topology-categories give topology.csi.vmware.com/<category> labels', async () => {
    const vm = takeVm((v) => v.host?.value === env.taggedHost.value);
    await setGuest(env.admin, vm.ref, 'node-csitopo', '10.20.0.18');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-csitopo', vm.biosUuid));
    await startController({ labels: { topologyCategories: ['k8s-zone', 'k8s-region'] } });
    const node = await waitForNode(kube, 'node-csitopo', initialized);
    expect(node!.metadata!.labels).toMatchObject({ 'topology.csi.vmware.com/k8s-zone': 'zone-host', 'topology.csi.vmware.com/k8s-region': 'region-1' });
  });
});

describe('node lifecycle and drift', () => {
  test('drifted labels are fixed on resync; other labels and taints are kept', async () => {
    const vm = takeVm((v) => v.host?.value === env.taggedHost.value);
    await setGuest(env.admin, vm.ref, 'node-drift', '10.20.0.21');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-drift', vm.biosUuid));
    const c = await startController();
    const node = await waitForNode(kube, 'node-drift', initialized);
    kube.put({
      ...node!, apiVersion: 'v1', kind: 'Node',
      metadata: { ...node!.metadata, labels: { ...node!.metadata!.labels, 'topology.kubernetes.io/zone': 'wrong', mine: 'keep' } },
      spec: { ...node!.spec, taints: [{ key: 'example.com/dedicated', value: 'x', effect: 'NoSchedule' }] },
    });
    // Resync until the controller's informer has seen the drift (the watch event races with the first resync).
    const fixed = await waitForNode(kube, 'node-drift', (n) => {
      c.resync();
      return n?.metadata?.labels?.['topology.kubernetes.io/zone'] === 'zone-host';
    });
    expect(fixed!.metadata!.labels!.mine).toBe('keep');
    expect(fixed!.spec!.taints).toEqual([{ key: 'example.com/dedicated', value: 'x', effect: 'NoSchedule' }]);
  });

  test('a taint added by someone else while we patch is kept (409 → re-read → re-patch)', async () => {
    const vm = takeVm();
    await setGuest(env.admin, vm.ref, 'node-race', '10.20.0.25');
    kube = await startKubeApiServer();
    const server = kube;
    server.put(pendingNode('node-race', vm.biosUuid));
    let raced = false;
    server.setFault((req) => {
      if (!raced && req.method === 'PATCH' && req.path === '/api/v1/nodes/node-race') {
        raced = true;
        // Another controller adds a taint between our read and our write.
        const current = getNode(server, 'node-race')!;
        server.put({ ...current, apiVersion: 'v1', kind: 'Node', spec: { ...current.spec, taints: [...(current.spec?.taints ?? []), { key: 'example.com/maintenance', effect: 'NoSchedule' }] } });
      }
      return undefined;
    });
    await startController();
    const node = await waitForNode(kube, 'node-race', initialized);
    expect(raced).toBe(true);
    expect(node!.spec!.taints).toEqual([{ key: 'example.com/maintenance', effect: 'NoSchedule' }]);
    expect(kube.requests().filter((r) => r.method === 'PATCH' && r.path === '/api/v1/nodes/node-race')).toHaveLength(2);
  });

  test('VM powered off → shutdown taint and Event; powered on → taint removed', async () => {
    const vm = takeVm();
    await setGuest(env.admin, vm.ref, 'node-power', '10.20.0.22');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-power', vm.biosUuid));
    const c = await startController();
    await waitForNode(kube, 'node-power', initialized);
    await env.admin.inventory.powerOffVm(vm.ref);
    try {
      c.resync();
      const off = await waitForNode(kube, 'node-power', (n) => !!n?.spec?.taints?.some((t) => t.key === SHUTDOWN_TAINT));
      expect(off!.status!.addresses).toContainEqual({ type: 'InternalIP', address: '10.20.0.22' }); // left alone
      await waitFor(() => eventsFor(kube!, 'node-power').some((e) => e.reason === 'VMPoweredOff' && e.type === 'Warning'), 'VMPoweredOff event');
    } finally {
      await env.admin.inventory.powerOnVm(vm.ref);
    }
    c.resync();
    await waitForNode(kube, 'node-power', (n) => !n?.spec?.taints?.some((t) => t.key === SHUTDOWN_TAINT));
  });

  test('VM deleted → Node deleted (default), or only reported when deletion is disabled', async () => {
    const keep = takeVm();
    const gone = takeVm();
    await setGuest(env.admin, keep.ref, 'node-keep', '10.20.0.23');
    await setGuest(env.admin, gone.ref, 'node-gone', '10.20.0.24');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-keep', keep.biosUuid));
    kube.put(pendingNode('node-gone', gone.biosUuid));
    const c = await startController({ deleteNodesOfDeletedVms: false });
    await waitForNode(kube, 'node-gone', initialized);
    await waitForNode(kube, 'node-keep', initialized);
    await env.admin.inventory.powerOffVm(gone.ref);
    await env.admin.inventory.destroyVm(gone.ref);
    c.resync();
    await waitFor(() => eventsFor(kube!, 'node-gone').some((e) => e.reason === 'VMNotFound'), 'VMNotFound event');
    expect(getNode(kube, 'node-gone')).toBeDefined();
    await c.stop();
    await cpiClient?.close();
    const c2 = await startController({ deleteNodesOfDeletedVms: true });
    c2.resync();
    await waitForNode(kube, 'node-gone', (n) => n === undefined);
    expect(getNode(kube, 'node-keep')).toBeDefined();
    expect(eventsFor(kube, 'node-gone').some((e) => e.reason === 'DeletingNode')).toBe(true); // recorded before the delete
  });

  test('a zone re-tagged in vCenter is relabelled on resync once the cache TTL passes', async () => {
    const host = env.hostsOfCluster[2]!;
    const vm = takeVm((v) => v.host?.value === host.value);
    await setGuest(env.admin, vm.ref, 'node-retag', '10.20.0.26');
    kube = await startKubeApiServer();
    kube.put(pendingNode('node-retag', vm.biosUuid));
    const c = await startController({ topologyCacheTtlMs: 200 });
    const before = await waitForNode(kube, 'node-retag', initialized);
    expect(before!.metadata!.labels!['topology.kubernetes.io/zone']).toBe('zone-cluster');
    const zoneCategory = (await env.admin.tags.categories()).find((x) => x.name === 'k8s-zone')!;
    const tag = await env.admin.tags.createTag('zone-moved', zoneCategory.id);
    await env.admin.tags.attachTag(tag, host);
    try {
      const after = await waitForNode(kube, 'node-retag', (n) => {
        c.resync();
        return n?.metadata?.labels?.['topology.kubernetes.io/zone'] === 'zone-moved';
      });
      expect(after!.metadata!.labels!['failure-domain.beta.kubernetes.io/zone']).toBe('zone-moved');
    } finally {
      await env.admin.tags.detachTag(tag, host);
    }
  });
});

describe('several vCenters', () => {
  let second: Awaited<ReturnType<typeof startVcsim>> | undefined;
  let secondAdmin: VsphereClient | undefined;
  let secondCpi: VsphereClient | undefined;

  beforeAll(async () => {
    // Two datacenters: VMs of DC1 have BIOS UUIDs no VM of the first simulator has
    // (the simulator derives UUIDs from VM paths, so DC0's VMs exist in both).
    second = await startVcsim({ datacenters: 2, clusters: 1, hostsPerCluster: 1, standaloneHosts: 0, vmsPerPool: 1 });
    secondAdmin = newClient(second);
  }, 120000);

  afterAll(async () => {
    await secondCpi?.close().catch(() => undefined);
    await secondAdmin?.close().catch(() => undefined);
    await second?.stop();
  });

  test('nodes are found in whichever vCenter holds their VM; zones come from that vCenter', async () => {
    const dcs = await secondAdmin!.inventory.datacenters();
    const dc1 = dcs.find((d) => d.name === 'DC1')!;
    const zone = await secondAdmin!.tags.createCategory('k8s-zone');
    const region = await secondAdmin!.tags.createCategory('k8s-region');
    await secondAdmin!.tags.attachTag(await secondAdmin!.tags.createTag('zone-second', zone), dc1.ref);
    await secondAdmin!.tags.attachTag(await secondAdmin!.tags.createTag('region-second', region), dc1.ref);
    const vm2 = (await secondAdmin!.inventory.vms()).find((v) => v.name.startsWith('DC1_') && v.biosUuid)!;
    await setGuest(secondAdmin!, vm2.ref, 'node-vc2', '10.60.0.1');
    const vm1 = takeVm((v) => v.host?.value === env.taggedHost.value);
    await setGuest(env.admin, vm1.ref, 'node-vc1', '10.60.0.2');

    kube = await startKubeApiServer();
    kube.put(pendingNode('node-vc1', vm1.biosUuid));
    kube.put(pendingNode('node-vc2', vm2.biosUuid));
    secondCpi = newClient(second!);
    await startController({}, [secondCpi]);
    const n2 = await waitForNode(kube, 'node-vc2', initialized);
    expect(n2!.spec!.providerID).toBe(`vsphere://${vm2.biosUuid}`);
    expect(n2!.metadata!.labels).toMatchObject({ 'topology.kubernetes.io/zone': 'zone-second', 'topology.kubernetes.io/region': 'region-second' });

    const n1 = await waitForNode(kube, 'node-vc1', initialized);
    expect(n1!.metadata!.labels!['topology.kubernetes.io/zone']).toBe('zone-host');
  });
});
