/**
 * Datastore clusters (StoragePods) of one vCenter, read when a request names
 * one (`datastorecluster`) and kept for the inventory TTL: a StorageClass
 * that uses the key asks the same question on every CreateVolume, one that
 * does not never pays for it.
 */
import { invalidArgument } from '../csi/errors.js';
import type { CallOptions, DatastoreClusterInfo, VsphereClient } from '../vsphere/api.js';
import { describeClusters, findDatastoreCluster } from '../contract/datastore-cluster.js';
import { awaitShared } from './abandon.js';

export interface ResolvedCluster {
  name: string;
  path: string;
  /** Datastore moref values of the members. */
  members: ReadonlySet<string>;
}

export class DatastoreClusters {
  private cached?: { at: number; value: Promise<DatastoreClusterInfo[]> };

  constructor(
    private readonly client: VsphereClient,
    private readonly vcenter: string,
    private readonly ttlMs = 30_000,
  ) {}

  /** The cluster `wanted` names (name or inventory path), or INVALID_ARGUMENT naming what this vCenter has. */
  async resolve(wanted: string, options: CallOptions = {}): Promise<ResolvedCluster> {
    const clusters = await this.list(options);
    const match = findDatastoreCluster(clusters, wanted);
    if (match && 'cluster' in match) {
      return { name: match.cluster.name, path: match.cluster.path, members: new Set(match.cluster.datastores.map((d) => d.value)) };
    }
    if (match) {
      throw invalidArgument(`parameters.datastorecluster "${wanted}" names ${match.ambiguous.length} datastore clusters in vCenter ${this.vcenter}: ${describeClusters(match.ambiguous)}; use its inventory path`);
    }
    throw invalidArgument(`parameters.datastorecluster "${wanted}" matches no datastore cluster in vCenter ${this.vcenter} (it has: ${describeClusters(clusters)}); fix the StorageClass`);
  }

  /** Shared by concurrent callers (no one caller's signal on the read); a failed read is not kept. */
  private list(options: CallOptions): Promise<DatastoreClusterInfo[]> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at >= this.ttlMs) {
      const entry = { at: now, value: this.client.inventory.datastoreClusters() };
      this.cached = entry;
      entry.value.catch(() => {
        if (this.cached === entry) this.cached = undefined;
      });
    }
    return awaitShared(this.cached.value, options.signal, 'datastore cluster read');
  }
}
