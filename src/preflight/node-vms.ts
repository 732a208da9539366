/**
 * Which VMs are the Kubernetes nodes (check 5's population and the
 * "kubernetes-nodes" check), and check 5 itself: disk.EnableUUID=TRUE on
 * each. Nodes are matched to VMs by BIOS UUID from spec.providerID
 * (vsphere://<uuid>) or status.nodeInfo.systemUUID, in both byte orders
 * because some guests report the first three groups byte-swapped.
 */
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { candidateUuids, uuidFromProviderId } from '../contract/uuid.js';
import { loadKubeConfig, kubeErrorMessage } from '../kube/client.js';
import type { VmInfo } from '../vsphere/api.js';
import { withDeadline } from './kube-read.js';
import { fail, pass, skip, warn, type CheckResult } from './types.js';

export interface KubeNode {
  name: string;
  /** Candidate BIOS UUIDs (lowercase, dashed): providerID's, systemUUID, systemUUID byte-swapped. */
  uuids: string[];
}

export type KubeNodes = { ok: true; nodes: KubeNode[]; source: string } | { ok: false; check: CheckResult };

/** A Node's candidate BIOS UUIDs, matched the way the CPI matches them (src/contract/uuid.ts). */
export function nodeUuids(node: V1Node): string[] {
  const provider = uuidFromProviderId(node.spec?.providerID?.trim().toLowerCase());
  return [...new Set([...(provider ? [provider] : []), ...candidateUuids(node.status?.nodeInfo?.systemUUID)])];
}

/** Lists the Nodes through --kubeconfig / KUBECONFIG / in-cluster; a failure becomes the check's finding. */
export async function listKubeNodes(kubeconfig: string | undefined, timeoutMs: number): Promise<KubeNodes> {
  const name = 'kubernetes-nodes';
  let kc;
  try {
    kc = loadKubeConfig(kubeconfig);
  } catch (err) {
    return { ok: false, check: skip(name, `Kubernetes not used (${(err as Error).message}): checking every VM in the configured datacenters instead`) };
  }
  const server = kc.getCurrentCluster()?.server ?? 'the API server';
  try {
    const list = await withDeadline(kc.makeApiClient(CoreV1Api).listNode(), timeoutMs);
    const nodes = list.items.map((n) => ({ name: n.metadata?.name ?? '', uuids: nodeUuids(n) }));
    return { ok: true, nodes, source: server };
  } catch (err) {
    return {
      ok: false,
      check: warn(name, `cannot list Nodes at ${server} (${kubeErrorMessage(err)}): checking every VM in the configured datacenters instead`, 'pass --kubeconfig with a user allowed to list nodes, or run preflight in the cluster'),
    };
  }
}

/** Nodes whose VM is in `vms` → those VMs (one per node); the rest are left for other vCenters. */
export function matchNodes(nodes: KubeNode[], vms: VmInfo[]): Map<string, VmInfo> {
  const byUuid = new Map(vms.filter((v) => v.biosUuid).map((v) => [v.biosUuid!.toLowerCase(), v]));
  const matched = new Map<string, VmInfo>();
  for (const node of nodes) {
    const vm = node.uuids.map((u) => byUuid.get(u)).find((v) => v !== undefined);
    if (vm) matched.set(node.name, vm);
  }
  return matched;
}

export function nodesCheck(nodes: KubeNode[], source: string, matched: Set<string>): CheckResult {
  const name = 'kubernetes-nodes';
  if (nodes.length === 0) return warn(name, `${source} has no Nodes: checking every VM in the configured datacenters instead`);
  const missing = nodes.filter((n) => !matched.has(n.name)).map((n) => n.name);
  if (missing.length > 0) {
    const noId = nodes.filter((n) => missing.includes(n.name) && n.uuids.length === 0).map((n) => n.name);
    return fail(
      name,
      `${missing.length} of ${nodes.length} Nodes have no VM in the configured datacenters: ${missing.join(', ')}${noId.length ? ` (no providerID or systemUUID: ${noId.join(', ')})` : ''}`,
      'list every datacenter holding node VMs in the [VirtualCenter] datacenters key; Nodes must run on vSphere VMs of the configured vCenter(s)',
    );
  }
  return pass(name, `all ${nodes.length} Nodes of ${source} matched to VMs`);
}

export function diskUuidCheck(vms: VmInfo[], population: string): CheckResult {
  const name = 'disk-enable-uuid';
  if (vms.length === 0) return skip(name, `no node VMs to check (${population})`);
  const bad = vms.filter((v) => v.diskEnableUuid !== true).map((v) => v.name).sort();
  if (bad.length > 0) {
    return fail(
      name,
      `disk.EnableUUID is not TRUE on ${bad.length} of ${vms.length} node VMs (${population}): ${bad.join(', ')}`,
      'power off each listed VM and set the advanced setting disk.EnableUUID = TRUE (govc vm.change -vm <name> -e disk.enableUUID=TRUE), then power it on',
    );
  }
  return pass(name, `disk.EnableUUID=TRUE on all ${vms.length} node VMs (${population})`);
}
