/**
 * Resolves a batch of Nodes against vCenter with a request count that does
 * not grow with the batch: per vCenter one bulk VM property retrieval over
 * a ContainerView, one ancestors retrieval for uncached hosts, and one
 * attached-tags call for uncached objects (see TopologySource).
 */
import type { V1Node } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { refKey, type MoRef, type VsphereClient } from '../vsphere/api.js';
import type { AncestorEntry, TagFacts } from './topology.js';
import { TopologySource } from './topology-source.js';
import { VmIndex, type LocatedVm, type VmMatch } from './vm-matcher.js';

export interface ResolvedNode {
  node: V1Node;
  match?: VmMatch;
  chain?: AncestorEntry[];
  facts?: TagFacts;
  /** Set when tags were wanted but could not be read for this node's vCenter. */
  topologyError?: string;
}

export interface ResolvedBatch {
  nodes: ResolvedNode[];
  /** False when a vCenter could not be listed (then a missing VM proves nothing). */
  inventoryComplete: boolean;
  /** vCenters that failed, with the error message, for logs. */
  failures: { vcenter: string; error: string }[];
}

export class BatchResolver {
  /** One per client, by position: two vCenters may share a host name (different ports). */
  private readonly sources: TopologySource[];

  constructor(
    private readonly clients: VsphereClient[],
    /** Tag categories the labels need; empty: tags are never read. */
    private readonly categories: readonly string[],
    cacheTtlMs: number,
    private readonly logger: Logger,
  ) {
    this.sources = clients.map((c) => new TopologySource(c, cacheTtlMs));
  }

  invalidateTopology(): void {
    for (const s of this.sources) s.invalidate();
  }

  async resolve(nodes: V1Node[], signal?: AbortSignal): Promise<ResolvedBatch> {
    const failures: { vcenter: string; error: string }[] = [];
    const listings = await Promise.allSettled(this.clients.map((c) => c.inventory.vms({ signal })));
    const located: LocatedVm[] = [];
    listings.forEach((r, i) => {
      const vcenter = this.clients[i]!.host;
      if (r.status === 'fulfilled') for (const vm of r.value) located.push({ vcenter, vcenterIndex: i, vm });
      else failures.push({ vcenter, error: messageOf(r.reason) });
    });
    const index = new VmIndex(located);
    const resolved: ResolvedNode[] = nodes.map((node) => ({ node, match: index.match(node) }));

    // Group matched VMs' hosts per vCenter, then one topology lookup per vCenter.
    const hostsByVc = new Map<number, MoRef[]>();
    for (const r of resolved) {
      const host = r.match?.vm.host;
      if (!r.match || !host) continue;
      const list = hostsByVc.get(r.match.vcenterIndex) ?? [];
      list.push(host);
      hostsByVc.set(r.match.vcenterIndex, list);
    }
    await Promise.all(
      [...hostsByVc.entries()].map(async ([index, hosts]) => {
        const source = this.sources[index]!;
        const vcenter = this.clients[index]!.host;
        try {
          const topo = await source.forHosts(hosts, this.categories, { signal });
          for (const r of resolved) {
            if (r.match?.vcenterIndex !== index || !r.match.vm.host) continue;
            r.chain = topo.chains.get(refKey(r.match.vm.host));
            if (this.categories.length) r.facts = topo.facts;
          }
        } catch (err) {
          const error = `could not read inventory ancestors or tags from vCenter ${vcenter}: ${messageOf(err)}`;
          this.logger.warn({ vcenter, err: messageOf(err) }, 'topology lookup failed');
          for (const r of resolved) if (r.match?.vcenterIndex === index) r.topologyError = error;
        }
      }),
    );
    for (const r of resolved) {
      if (this.categories.length && r.match && !r.match.vm.host && !r.topologyError) {
        r.topologyError = `VM ${r.match.vm.name} reports no host (runtime.host), so its zone cannot be found`;
      }
    }
    return { nodes: resolved, inventoryComplete: failures.length === 0, failures };
  }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
