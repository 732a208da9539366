/**
 * The configured vCenters (1 to 5), each with its own client (session, task
 * waiter, property reader) and the caches over it: inventory snapshot, node
 * VMs, storage policies, VM disk devices, and its health. Nothing is shared
 * between vCenters: managed object ids (vm-42, datastore-11) repeat across
 * vCenters and mean different objects.
 *
 * One vCenter is the plain single-vCenter driver: callers check `size` and
 * take `first`, so that case costs no request beyond what it always did.
 */
import type { LabelsConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { VsphereTimeoutError } from '../vsphere/faults.js';
import type { VsphereClient } from '../vsphere/api.js';
import { DatastoreClusters } from './datastore-clusters.js';
import { InventorySnapshots } from './inventory-snapshot.js';
import { NodeVms } from './node-vms.js';
import { PolicyCache } from './policies.js';
import { VcenterHealth } from './vcenter-health.js';
import { VolumeDisks } from './volume-disks.js';

/** How long Probe waits for a vCenter before counting it not live (a hung vCenter must not hang the liveness probe). */
export const PROBE_TIMEOUT_MS = 2_000;

/** Resolves when the client is logged in and vCenter answers within PROBE_TIMEOUT_MS; rejects with why not. */
export async function assertSessionLive(client: VsphereClient): Promise<void> {
  const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  await client.session.ensure({ signal });
  await client.session.currentTime({ signal });
}

export interface VcenterOptions {
  client: VsphereClient;
  /** The vCenter user, recorded as CNS container cluster metadata of volumes made there. */
  vSphereUser: string;
}

export interface VcenterShared {
  labels: LabelsConfig;
  log: Logger;
  /** Reuse of inventory/policy reads, ms (default 30 s). */
  inventoryTtlMs?: number;
}

export class VcenterContext {
  /** The configured host: the vCenter's name in messages, logs, metrics and list tokens. */
  readonly name: string;
  readonly client: VsphereClient;
  readonly vSphereUser: string;
  readonly inventory: InventorySnapshots;
  readonly nodeVms: NodeVms;
  readonly policies: PolicyCache;
  /** Datastore clusters, read only for requests that name one (`datastorecluster`). */
  readonly datastoreClusters: DatastoreClusters;
  /** What this vCenter's VMs' disk devices say is attached where (the truth after a restart). */
  readonly volumeDisks: VolumeDisks;
  readonly health: VcenterHealth;
  private readonly unobserve: () => void;

  constructor(options: VcenterOptions, shared: VcenterShared) {
    this.client = options.client;
    this.name = options.client.host;
    this.vSphereUser = options.vSphereUser;
    this.inventory = new InventorySnapshots(options.client, shared.labels, { ttlMs: shared.inventoryTtlMs });
    this.nodeVms = new NodeVms(options.client);
    this.policies = new PolicyCache(options.client, { ttlMs: shared.inventoryTtlMs });
    this.datastoreClusters = new DatastoreClusters(options.client, this.name, shared.inventoryTtlMs);
    this.volumeDisks = new VolumeDisks(options.client);
    this.health = new VcenterHealth(this.name, shared.log);
    this.unobserve = options.client.onRequest((event) => this.health.observe(event));
  }

  /** Logged in and answering within the probe timeout: undefined, else why not. Updates the health. */
  async liveness(): Promise<string | undefined> {
    try {
      await assertSessionLive(this.client);
      this.health.up();
      return undefined;
    } catch (err) {
      const reason = (err as Error).message;
      if (err instanceof VsphereTimeoutError) this.health.timedOut(reason);
      else this.health.down(reason);
      return reason;
    }
  }

  detach(): void {
    this.unobserve();
  }
}

export class VcenterSet {
  readonly all: readonly VcenterContext[];
  private readonly byName: Map<string, VcenterContext>;

  constructor(
    vcenters: VcenterOptions[],
    shared: VcenterShared,
    private readonly log: Logger,
  ) {
    if (vcenters.length === 0) throw new Error('the controller needs at least one vCenter');
    this.all = vcenters.map((v) => new VcenterContext(v, shared));
    this.byName = new Map(this.all.map((v) => [v.name, v]));
    if (this.byName.size !== this.all.length) throw new Error(`vCenters must be configured once each: ${this.names()}`);
  }

  get size(): number {
    return this.all.length;
  }

  /** The first configured vCenter: the only one in a single-vCenter cluster. */
  get first(): VcenterContext {
    return this.all[0]!;
  }

  get(name: string): VcenterContext | undefined {
    return this.byName.get(name);
  }

  /** "vc-a, vc-b" for messages. */
  names(list: readonly VcenterContext[] = this.all): string {
    return list.map((v) => v.name).join(', ');
  }

  /**
   * Logs in to every vCenter and reads its inventory snapshot, all at once,
   * so the first CreateVolume finds them ready and a vCenter that is down is
   * known (and logged) from the start. Never rejects: failures are logged
   * and marked in each vCenter's health.
   */
  async warmUp(): Promise<void> {
    await Promise.all(
      this.all.map(async (vc) => {
        try {
          await vc.client.session.ensure();
          await vc.inventory.get();
        } catch (err) {
          this.log.warn({ vcenter: vc.name, err: (err as Error).message }, `vCenter ${vc.name}: could not log in and read the inventory at start; retried on demand`);
        }
      }),
    );
  }

  /**
   * Probe: ready while at least one vCenter session is live, so the
   * livenessprobe does not restart a controller that still serves the other
   * sites. Every vCenter is checked, in parallel, each within the probe timeout.
   */
  async probe(): Promise<boolean> {
    const reasons = await Promise.all(this.all.map((vc) => vc.liveness()));
    const live = reasons.filter((r) => r === undefined).length;
    if (live === 0) {
      this.log.warn(
        { vcenters: Object.fromEntries(this.all.map((vc, i) => [vc.name, reasons[i]])) },
        'no vCenter session is live; Probe answers not ready',
      );
    }
    return live > 0;
  }

  detach(): void {
    for (const vc of this.all) vc.detach();
  }
}
