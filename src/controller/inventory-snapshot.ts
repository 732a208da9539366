/**
 * A cached snapshot of what placement needs from vCenter: hosts with their
 * topology labels (tags on the host or its nearest tagged ancestor) and
 * datastores with the hosts that mount them. Reading it costs a handful of
 * requests; the TTL keeps CreateVolume at its CNS calls in steady state.
 */
import type { LabelsConfig } from '../config/types.js';
import type { CallOptions, MoRef, VsphereClient } from '../vsphere/api.js';
import { refKey } from '../vsphere/api.js';
import { awaitShared } from './abandon.js';
import type { PlacementDatastore, PlacementHost, PlacementInventory } from './placement.js';
import { topologyKeysByCategory } from '../contract/topology-keys.js';

export interface InventorySnapshotOptions {
  /** How long a snapshot is reused; default 30 s. 0 = read every time. */
  ttlMs?: number;
  now?: () => number;
}

export interface Snapshot extends PlacementInventory {
  /** Datastore moref value → its MoRef, to hand to CNS. */
  datastoreRefs: Map<string, MoRef>;
}

export class InventorySnapshots {
  private cached?: { at: number; value: Promise<Snapshot> };
  /** The latest snapshot read, kept past its TTL and past failures: what a vCenter that went down last looked like. */
  private last?: Snapshot;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly client: VsphereClient,
    private readonly labels: LabelsConfig,
    options: InventorySnapshotOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * The current snapshot (shared by concurrent callers; a failed read is not cached).
   * The read carries no one caller's signal (the layer's request timeout bounds it):
   * each caller's signal ends only its own wait.
   */
  get(options: CallOptions = {}): Promise<Snapshot> {
    const at = this.now();
    if (!this.cached || at - this.cached.at >= this.ttlMs) {
      const value = this.read({});
      const entry = { at, value };
      this.cached = entry;
      value.then(
        (snapshot) => {
          this.last = snapshot;
        },
        () => {
          if (this.cached === entry) this.cached = undefined;
        },
      );
    }
    return awaitShared(this.cached.value, options.signal, 'inventory read for placement');
  }

  /** The latest snapshot read, however old (no request); undefined before the first read succeeded. */
  lastKnown(): Snapshot | undefined {
    return this.last;
  }

  /** Forget the snapshot (after a placement failure, so the retry sees fresh state). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async read(options: CallOptions): Promise<Snapshot> {
    const [hosts, datastores] = await Promise.all([
      this.client.inventory.hosts(options),
      this.client.inventory.datastores(options),
    ]);
    const labelsByHost = await this.hostLabels(hosts.map((h) => h.ref), options);
    const placementHosts: PlacementHost[] = hosts
      .filter((h) => h.connectionState === undefined || h.connectionState === 'connected')
      .filter((h) => !h.inMaintenanceMode)
      .map((h) => ({ id: h.ref.value, name: h.name, labels: labelsByHost.get(refKey(h.ref)) ?? {} }));
    // Mounts come from both sides: the datastore's host list (with mount state) and each
    // host's datastore list. The simulator keeps only the last host in a shared
    // datastore's host list, while every host lists the datastore.
    const listedByHosts = new Map<string, Set<string>>();
    for (const h of hosts) {
      for (const ds of h.datastores) {
        const set = listedByHosts.get(ds.value) ?? new Set<string>();
        set.add(h.ref.value);
        listedByHosts.set(ds.value, set);
      }
    }
    const datastoreRefs = new Map<string, MoRef>();
    const placementDatastores: PlacementDatastore[] = datastores
      .filter((ds) => ds.accessible)
      .map((ds) => {
        datastoreRefs.set(ds.ref.value, ds.ref);
        const reachable = new Set(listedByHosts.get(ds.ref.value) ?? []);
        for (const m of ds.hostMounts) {
          if (m.mounted && m.accessible) reachable.add(m.host.value);
          else reachable.delete(m.host.value);
        }
        return { id: ds.ref.value, name: ds.name, url: ds.url, freeSpace: ds.freeSpace, hosts: reachable, maintenanceMode: ds.maintenanceMode, type: ds.type };
      });
    return { hosts: placementHosts, datastores: placementDatastores, datastoreRefs };
  }

  /** Topology labels per host: for each configured category the tag on the host or its nearest ancestor. */
  private async hostLabels(hostRefs: MoRef[], options: CallOptions): Promise<Map<string, Record<string, string>>> {
    const keysByCategory = topologyKeysByCategory(this.labels);
    const out = new Map<string, Record<string, string>>();
    if (keysByCategory.size === 0 || hostRefs.length === 0) return out;
    const ancestors = await this.client.inventory.ancestorsOfMany(hostRefs, options);
    const everything = new Map<string, MoRef>();
    for (const ref of hostRefs) everything.set(refKey(ref), ref);
    for (const chain of ancestors.values()) for (const a of chain) everything.set(refKey(a.ref), a.ref);
    const attached = await this.client.tags.attachedTags([...everything.values()], options);
    for (const host of hostRefs) {
      const labels: Record<string, string> = {};
      const chain = [host, ...(ancestors.get(refKey(host)) ?? []).map((a) => a.ref)];
      for (const [category, keys] of keysByCategory) {
        // Nearest object in the chain carrying a tag of this category wins.
        for (const obj of chain) {
          const tag = (attached.get(refKey(obj)) ?? []).find((t) => t.categoryName === category);
          if (tag) {
            for (const key of keys) labels[key] = tag.name;
            break;
          }
        }
      }
      out.set(refKey(host), labels);
    }
    return out;
  }
}
