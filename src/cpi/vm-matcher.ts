/**
 * Matches Nodes to VMs from one bulk listing per vCenter, in the reference
 * cloud provider's order: providerID, systemUUID (as reported, then
 * byte-swapped), node name as guest DNS name, node IP. Doing this over an
 * in-memory index is what keeps vCenter requests flat in the node count.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { VmInfo } from '../vsphere/api.js';
import { candidateUuids, normalizeUuid, uuidFromProviderId } from '../contract/uuid.js';

export interface LocatedVm {
  /** vCenter host the VM lives in (for messages and per-vCenter settings). */
  vcenter: string;
  /** Position of that vCenter's client in the configured list: the identity used for follow-up calls. */
  vcenterIndex: number;
  vm: VmInfo;
}

export type MatchedBy = 'providerID' | 'uuid' | 'swapped-uuid' | 'dns-name' | 'ip';

export interface VmMatch extends LocatedVm {
  by: MatchedBy;
}

const PROVIDED_NODE_IP_ANNOTATION = 'alpha.kubernetes.io/provided-node-ip';

export class VmIndex {
  private readonly byUuid = new Map<string, LocatedVm>();
  private readonly byDnsName = new Map<string, LocatedVm>();
  private readonly byShortName = new Map<string, LocatedVm>();
  private readonly byIp = new Map<string, LocatedVm>();

  constructor(vms: Iterable<LocatedVm>) {
    for (const located of vms) {
      const { vm } = located;
      const uuid = normalizeUuid(vm.biosUuid);
      if (uuid && !this.byUuid.has(uuid)) this.byUuid.set(uuid, located);
      const host = vm.guestHostName?.trim().toLowerCase();
      if (host) {
        if (!this.byDnsName.has(host)) this.byDnsName.set(host, located);
        const short = host.split('.')[0]!;
        if (!this.byShortName.has(short)) this.byShortName.set(short, located);
      }
      const ips = new Set([vm.guestIpAddress, ...vm.guestNics.flatMap((n) => n.ipAddresses)].filter((x): x is string => !!x));
      for (const ip of ips) if (!this.byIp.has(ip)) this.byIp.set(ip, located);
    }
  }

  get size(): number {
    return this.byUuid.size;
  }

  hasUuid(uuid: string): boolean {
    return this.byUuid.has(uuid.toLowerCase());
  }

  match(node: V1Node): VmMatch | undefined {
    const fromProvider = uuidFromProviderId(node.spec?.providerID);
    if (fromProvider) {
      const hit = this.byUuid.get(fromProvider);
      // A node initialized once stays bound to its VM: never re-match it by name or IP.
      return hit ? { ...hit, by: 'providerID' } : undefined;
    }
    const [asReported, swapped] = candidateUuids(node.status?.nodeInfo?.systemUUID);
    if (asReported && this.byUuid.has(asReported)) return { ...this.byUuid.get(asReported)!, by: 'uuid' };
    if (swapped && this.byUuid.has(swapped)) return { ...this.byUuid.get(swapped)!, by: 'swapped-uuid' };
    const name = node.metadata?.name?.toLowerCase();
    if (name) {
      const hit = this.byDnsName.get(name) ?? (name.includes('.') ? undefined : this.byShortName.get(name));
      if (hit) return { ...hit, by: 'dns-name' };
    }
    for (const ip of nodeIps(node)) {
      const hit = this.byIp.get(ip);
      if (hit) return { ...hit, by: 'ip' };
    }
    return undefined;
  }
}

/** IPs the node itself claims: kubelet's --node-ip annotation and any reported addresses. */
export function nodeIps(node: V1Node): string[] {
  const out: string[] = [];
  const provided = node.metadata?.annotations?.[PROVIDED_NODE_IP_ANNOTATION];
  if (provided) out.push(...provided.split(',').map((s) => s.trim()).filter(Boolean));
  for (const a of node.status?.addresses ?? []) {
    if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && !out.includes(a.address)) out.push(a.address);
  }
  return out;
}

/** What was searched for, for the "no VM found" event. */
export function describeSearch(node: V1Node): string {
  const parts: string[] = [];
  const fromProvider = uuidFromProviderId(node.spec?.providerID);
  if (fromProvider) return `BIOS UUID ${fromProvider} (from spec.providerID)`;
  const uuids = candidateUuids(node.status?.nodeInfo?.systemUUID);
  if (uuids.length) parts.push(`BIOS UUID ${uuids.join(' or ')}`);
  else parts.push('no usable status.nodeInfo.systemUUID');
  parts.push(`guest DNS name ${node.metadata?.name ?? '?'}`);
  const ips = nodeIps(node);
  if (ips.length) parts.push(`IP ${ips.join(', ')}`);
  return parts.join(', ');
}
