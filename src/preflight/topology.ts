/**
 * Checks 6 and 7. The topology categories are [Labels] topology-categories,
 * or the legacy zone/region pair. A node VM's value in a category is the tag
 * of that category nearest to it on the path host → cluster → folders →
 * datacenter (as the CPI labels it). Node VMs with the same values in every
 * category form one topology domain ("zone"); each domain needs a datastore
 * mounted on all hosts of its node VMs, or zonal volumes cannot be placed.
 */
import type { LabelsConfig } from '../config/types.js';
import type { DatastoreInfo, HostInfo, InventoryObject, Tag, VmInfo, VsphereClient } from '../vsphere/api.js';
import { refKey } from '../vsphere/api.js';
import { fail, pass, skip, type CheckResult } from './types.js';

export function configuredCategories(labels: LabelsConfig): string[] {
  if (labels.topologyCategories.length > 0) return labels.topologyCategories;
  return [labels.region, labels.zone].filter((c): c is string => !!c);
}

export interface TopologyResult {
  categories: CheckResult;
  tags: CheckResult;
  datastores: CheckResult;
  /** Datastores mounted on every host of some domain (privilege targets). */
  shared: DatastoreInfo[];
  /** Every ancestor of the node VMs' hosts, and the hosts (privilege targets). */
  ancestors: InventoryObject[];
  /** Topology domains of the node VMs ("k8s-zone=a", or "all node VMs") with their hosts; every datastore read. */
  domains: Map<string, HostInfo[]>;
  allDatastores: DatastoreInfo[];
}

/** Pure: the domain of a VM, given its host's chain (host first) ("k8s-region=r1, k8s-zone=a"); a missing value shows as "<none>". */
export function domainOf(categories: string[], chain: InventoryObject[], tagsOf: Map<string, Tag[]>): { key: string; missing: string[] } {
  const values: string[] = [];
  const missing: string[] = [];
  for (const category of categories) {
    const tag = chain.map((o) => (tagsOf.get(refKey(o.ref)) ?? []).find((t) => t.categoryName === category)).find((t) => t !== undefined);
    if (!tag) missing.push(category);
    values.push(`${category}=${tag?.name ?? '<none>'}`);
  }
  return { key: values.join(', '), missing };
}

/** Pure: datastores mounted (and accessible) on every one of `hosts`. */
export function sharedDatastores(hosts: HostInfo[], datastores: DatastoreInfo[]): DatastoreInfo[] {
  if (hosts.length === 0) return [];
  const byKey = new Map(datastores.map((d) => [refKey(d.ref), d]));
  let common = new Set(hosts[0]!.datastores.map(refKey));
  for (const h of hosts.slice(1)) {
    const mine = new Set(h.datastores.map(refKey));
    common = new Set([...common].filter((k) => mine.has(k)));
  }
  return [...common].map((k) => byKey.get(k)).filter((d): d is DatastoreInfo => d !== undefined && d.accessible);
}

export async function checkTopology(client: VsphereClient, labels: LabelsConfig, vms: VmInfo[], timeoutMs: number): Promise<TopologyResult> {
  const signal = (): AbortSignal => AbortSignal.timeout(timeoutMs);
  const wanted = configuredCategories(labels);
  const [hosts, datastores] = await Promise.all([client.inventory.hosts({ signal: signal() }), client.inventory.datastores({ signal: signal() })]);
  const hostByKey = new Map(hosts.map((h) => [refKey(h.ref), h]));
  const hostRefs = [...new Map(vms.filter((v) => v.host).map((v) => [refKey(v.host!), v.host!])).values()];
  const ancestorsOf = await client.inventory.ancestorsOfMany(hostRefs, { signal: signal() });
  const chainOf = (vm: VmInfo): InventoryObject[] => {
    if (!vm.host) return [];
    const host = hostByKey.get(refKey(vm.host));
    return [...(host ? [{ ref: host.ref, name: host.name, parent: host.parent }] : []), ...(ancestorsOf.get(refKey(vm.host)) ?? [])];
  };
  const ancestors = [...new Map(vms.flatMap(chainOf).map((o) => [refKey(o.ref), o])).values()];

  let categories: CheckResult;
  let tags: CheckResult;
  let present: string[] = [];
  let tagsOf = new Map<string, Tag[]>();
  if (wanted.length === 0) {
    categories = skip('tag-categories', 'no [Labels] topology-categories (or zone/region) configured: topology is off');
    tags = skip('node-topology-tags', 'topology is off');
  } else {
    const known = new Set((await client.tags.categories({ signal: signal() })).map((c) => c.name));
    present = wanted.filter((c) => known.has(c));
    const absent = wanted.filter((c) => !known.has(c));
    categories = absent.length
      ? fail('tag-categories', `tag categor${absent.length === 1 ? 'y' : 'ies'} ${absent.map((c) => `"${c}"`).join(', ')} configured in [Labels] but not found in vCenter (it has: ${[...known].sort().join(', ') || 'none'})`, 'create the category in vCenter (Tags & Custom Attributes) and tag the hosts/clusters/datacenters, or correct the names in [Labels] topology-categories (or zone/region)')
      : pass('tag-categories', `categories ${wanted.map((c) => `"${c}"`).join(', ')} exist`);
    tagsOf = present.length ? await client.tags.attachedTags(ancestors.map((o) => o.ref), { signal: signal() }) : new Map();
    const untagged = vms
      .map((vm) => ({ vm, missing: domainOf(present, chainOf(vm), tagsOf).missing }))
      .filter((x) => x.missing.length > 0)
      .map((x) => `${x.vm.name} (${x.missing.join(', ')})`)
      .sort();
    if (present.length === 0) tags = skip('node-topology-tags', 'none of the configured categories exists');
    else if (vms.length === 0) tags = skip('node-topology-tags', 'no node VMs');
    else if (untagged.length) {
      tags = fail('node-topology-tags', `${untagged.length} of ${vms.length} node VMs have no tag of a category on their host or its ancestors: ${untagged.join(', ')}`, 'attach a tag of each listed category to the VM\'s host, cluster or datacenter (zone tags usually on the cluster, region tags on the datacenter)');
    } else tags = pass('node-topology-tags', `all ${vms.length} node VMs have a tag of ${present.map((c) => `"${c}"`).join(', ')} on their host or an ancestor`);
  }

  // Domains by the categories that exist; without topology all node VMs are one domain.
  const domains = new Map<string, Map<string, HostInfo>>();
  for (const vm of vms) {
    const key = present.length ? domainOf(present, chainOf(vm), tagsOf).key : 'all node VMs';
    const host = vm.host && hostByKey.get(refKey(vm.host));
    if (!host) continue;
    if (!domains.has(key)) domains.set(key, new Map());
    domains.get(key)!.set(refKey(host.ref), host);
  }
  const shared = new Map<string, DatastoreInfo>();
  const found: string[] = [];
  const lacking: string[] = [];
  for (const [key, domainHosts] of [...domains].sort(([a], [b]) => a.localeCompare(b))) {
    const common = sharedDatastores([...domainHosts.values()], datastores);
    for (const d of common) shared.set(refKey(d.ref), d);
    const hostNames = [...domainHosts.values()].map((h) => h.name).sort().join(', ');
    if (common.length === 0) lacking.push(`${key} (hosts ${hostNames})`);
    else found.push(`${key}: ${common.map((d) => d.name).sort().join(', ')}`);
  }
  let datastoreCheck: CheckResult;
  if (domains.size === 0) datastoreCheck = skip('shared-datastores', 'no node VMs with a known host');
  else if (lacking.length) {
    datastoreCheck = fail('shared-datastores', `no datastore is mounted on all hosts of ${lacking.join('; ')}`, 'mount one datastore (vSAN, NFS or shared VMFS) on every host that runs node VMs of that zone, or move the node VMs onto hosts that share one');
  } else datastoreCheck = pass('shared-datastores', found.join('; '));
  const domainHosts = new Map([...domains].map(([key, hosts]) => [key, [...hosts.values()]]));
  return { categories, tags, datastores: datastoreCheck, shared: [...shared.values()], ancestors, domains: domainHosts, allDatastores: datastores };
}
