/**
 * Collaborators shared by the controller's RPC handlers: the vCenter client,
 * caches over it, locks, the attachment book, and the batching knobs.
 */
import type { Logger } from '../log.js';
import type { LabelsConfig } from '../config/types.js';
import type { VsphereClient } from '../vsphere/api.js';
import { InFlightLocks } from '../csi/locks.js';
import { silentLogger } from '../log.js';
import { Attachments } from './attachments.js';
import { InventorySnapshots } from './inventory-snapshot.js';
import { NodeVms } from './node-vms.js';
import { PolicyCache } from './policies.js';
import { VolumeDisks } from './volume-disks.js';

export interface BatchingOptions {
  /** Coalesce concurrent CNS calls (default true). false: one CNS call per RPC, for comparisons. */
  enabled: boolean;
  /** How long the first request of a batch waits for others, ms (default 5). */
  windowMs: number;
  /** Largest batch sent in one CNS call (default 32). */
  maxBatch: number;
}

export interface ControllerOptions {
  client: VsphereClient;
  /** `[Global] cluster-id`: recorded on every volume, and the ListVolumes scope. */
  clusterId: string;
  /** The vCenter user, recorded as CNS container cluster metadata. */
  vSphereUser: string;
  labels: LabelsConfig;
  logger?: Logger;
  batching?: Partial<BatchingOptions>;
  /** Reuse of inventory/policy reads for placement, ms (default 30 s). */
  inventoryTtlMs?: number;
}

export const VOLUME_TYPE_BLOCK = 'vSphere CNS Block Volume';

export class ControllerContext {
  readonly client: VsphereClient;
  readonly clusterId: string;
  readonly vSphereUser: string;
  readonly labels: LabelsConfig;
  readonly log: Logger;
  readonly batching: BatchingOptions;
  readonly volumeLocks = new InFlightLocks('volume');
  readonly attachments = new Attachments();
  readonly inventory: InventorySnapshots;
  readonly nodeVms: NodeVms;
  readonly policies: PolicyCache;
  /** What the VMs' disk devices say is attached where (the truth after a restart). */
  readonly volumeDisks: VolumeDisks;

  constructor(options: ControllerOptions) {
    this.client = options.client;
    this.clusterId = options.clusterId;
    this.vSphereUser = options.vSphereUser;
    this.labels = options.labels;
    this.log = options.logger ?? silentLogger;
    this.batching = { enabled: true, windowMs: 5, maxBatch: 32, ...options.batching };
    this.inventory = new InventorySnapshots(options.client, options.labels, { ttlMs: options.inventoryTtlMs });
    this.nodeVms = new NodeVms(options.client);
    this.policies = new PolicyCache(options.client, { ttlMs: options.inventoryTtlMs });
    this.volumeDisks = new VolumeDisks(options.client);
  }
}
