/**
 * Shared fixtures for the CPI integration tests: a vCenter simulator with
 * zone/region tags created through its real vAPI REST endpoint, guest data
 * set through ReconfigVM_Task extraConfig (the simulator's SET.guest.*
 * convention), and Node objects in the test Kubernetes API server.
 */
import type { V1Node } from '@kubernetes/client-node';
import { startVcsim, vcsimClient, type Vcsim } from '../../src/harness/vcsim.js';
import type { KubeApiServer } from '../../src/harness/kube-apiserver.js';
import type { MoRef, VmInfo, VsphereClient } from '../../src/vsphere/api.js';
import { UNINITIALIZED_TAINT } from '../../src/contract/taints.js';

export interface TaggedSim {
  sim: Vcsim;
  /** Test-side client (setup and inspection). */
  admin: VsphereClient;
  vms: VmInfo[];
  hostsOfCluster: MoRef[];
  cluster: MoRef;
  datacenter: MoRef;
  standaloneHost?: MoRef;
  /** Host that carries its own zone tag (overriding the cluster's). */
  taggedHost: MoRef;
}

export const newClient = vcsimClient;

/**
 * Tags: categories k8s-zone/k8s-region; datacenter → region-1 and zone-dc;
 * cluster → zone-cluster; one cluster host → zone-host. So VMs on that host
 * are in zone-host, other cluster VMs in zone-cluster, standalone-host VMs in zone-dc.
 */
export async function startTaggedSim(vmsPerPool: number): Promise<TaggedSim> {
  const sim = await startVcsim({ clusters: 1, hostsPerCluster: 3, standaloneHosts: 1, vmsPerPool });
  const admin = newClient(sim);
  try {
    const [dc] = await admin.inventory.datacenters();
    const [cluster] = await admin.inventory.clusters();
    const hosts = await admin.inventory.hosts();
    const clusterHosts = hosts.filter((h) => h.parent?.value === cluster!.ref.value).map((h) => h.ref);
    const standalone = hosts.find((h) => h.parent?.value !== cluster!.ref.value)?.ref;
    const zone = await admin.tags.createCategory('k8s-zone', { cardinality: 'SINGLE' });
    const region = await admin.tags.createCategory('k8s-region', { cardinality: 'SINGLE' });
    const t = async (name: string, cat: string, on: MoRef): Promise<void> => admin.tags.attachTag(await admin.tags.createTag(name, cat), on);
    await t('region-1', region, dc!.ref);
    await t('zone-dc', zone, dc!.ref);
    await t('zone-cluster', zone, cluster!.ref);
    await t('zone-host', zone, clusterHosts[0]!);
    admin.tags.invalidate();
    const vms = await admin.inventory.vms();
    return {
      sim, admin, vms, cluster: cluster!.ref, datacenter: dc!.ref, hostsOfCluster: clusterHosts,
      standaloneHost: standalone, taggedHost: clusterHosts[0]!,
    };
  } catch (err) {
    await admin.close().catch(() => undefined);
    await sim.stop();
    throw err;
  }
}

/** Sets guest host name and IP the way VMware Tools would report them (simulator convention). */
export async function setGuest(admin: VsphereClient, vm: MoRef, hostName: string | undefined, ip: string | undefined): Promise<void> {
  const entries: Record<string, string> = {};
  if (hostName !== undefined) entries['SET.guest.hostName'] = hostName;
  if (ip !== undefined) entries['SET.guest.ipAddress'] = ip;
  await admin.inventory.setExtraConfig(vm, entries);
}

/** Runs `fn` over items with bounded concurrency (test setup of many VMs). */
export async function eachLimited<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

export function pendingNode(name: string, systemUUID?: string, extra: { ip?: string } = {}): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name }, ...(extra.ip ? { annotations: { 'alpha.kubernetes.io/provided-node-ip': extra.ip } } : {}) },
    spec: { taints: [{ key: UNINITIALIZED_TAINT, value: 'true', effect: 'NoSchedule' }] },
    status: { nodeInfo: systemUUID ? ({ systemUUID } as never) : undefined, addresses: [] },
  };
}

export function getNode(kube: KubeApiServer, name: string): V1Node | undefined {
  return kube.get<V1Node>('v1', 'Node', undefined, name);
}

/** Waits (bounded) until `predicate` holds for the stored node; returns it. Not a timing assertion. */
export async function waitForNode(kube: KubeApiServer, name: string, predicate: (n: V1Node | undefined) => boolean, timeoutMs = 15000): Promise<V1Node | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const node = getNode(kube, name);
    if (predicate(node)) return node;
    if (Date.now() > deadline) throw new Error(`node ${name} did not reach the expected state: ${JSON.stringify(node)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function eventsFor(kube: KubeApiServer, node: string): { reason?: string; message?: string; type?: string }[] {
  return kube
    .list<{ apiVersion: string; kind: string; reason?: string; message?: string; type?: string; involvedObject?: { name?: string } }>('Event', 'default')
    .filter((e) => e.involvedObject?.name === node);
}

export const hasUninitTaint = (n: V1Node | undefined): boolean => !!n?.spec?.taints?.some((t) => t.key === UNINITIALIZED_TAINT);
