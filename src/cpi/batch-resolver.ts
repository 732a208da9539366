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
  private readonly sources = new Map<string, TopologySource>();

  constructor(
    private readonly clients: VsphereClient[],
    /** Tag categories the labels need; empty: tags are never read. */
    private readonly categories: readonly string[],
    cacheTtlMs: number,
    private readonly logger: Logger,
  ) {
    for (const c of clients) this.sources.set(c.host, new TopologySource(c, cacheTtlMs));
  }

  invalidateTopology(): void {
    for (const s of this.sources.values()) s.invalidate();
  }

  async resolve(nodes: V1Node[], signal?: AbortSignal): Promise<ResolvedBatch> {
    const failures: { vcenter: string; error: string }[] = [];
    const listings = await Promise.allSettled(this.clients.map((c) => c.inventory.vms({ signal })));
    const located: LocatedVm[] = [];
    listings.forEach((r, i) => {
      const vcenter = this.clients[i]!.host;
      if (r.status === 'fulfilled') for (const vm of r.value) located.push({ vcenter, vm });
      else failures.push({ vcenter, error: messageOf(r.reason) });
    });
    const index = new VmIndex(located);
    const resolved: ResolvedNode[] = nodes.map((node) => ({ node, match: index.match(node) }));

    // Group matched VMs' hosts per vCenter, then one topology lookup per vCenter.
    const hostsByVc = new Map<string, MoRef[]>();
    for (const r of resolved) {
      const host = r.match?.vm.host;
      if (!r.match || !host) continue;
      const list = hostsByVc.get(r.match.vcenter) ?? [];
      list.push(host);
      hostsByVc.set(r.match.vcenter, list);
    }
    await Promise.all(
      [...hostsByVc.entries()].map(async ([vcenter, hosts]) => {
        const source = this.sources.get(vcenter)!;
        try {
          const topo = await source.forHosts(hosts, this.categories, { signal });
          for (const r of resolved) {
            if (r.match?.vcenter !== vcenter || !r.match.vm.host) continue;
            r.chain = topo.chains.get(refKey(r.match.vm.host));
            if (this.categories.length) r.facts = topo.facts;
          }
        } catch (err) {
          const error = `could not read inventory ancestors or tags from vCenter ${vcenter}: ${messageOf(err)}`;
          this.logger.warn({ vcenter, err: messageOf(err) }, 'topology lookup failed');
          for (const r of resolved) if (r.match?.vcenter === vcenter) r.topologyError = error;
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
