/**
 * Collaborators shared by the controller's RPC handlers: the configured
 * vCenters (each with its client and caches), where each volume lives,
 * locks, the attachment book, and the batching knobs.
 */
import type { Logger } from '../log.js';
import type { LabelsConfig, SnapshotConfig } from '../config/types.js';
import type { VsphereClient } from '../vsphere/api.js';
import { InFlightLocks } from '../csi/locks.js';
import { silentLogger } from '../log.js';
import { Attachments } from './attachments.js';
import { VcenterSet, type VcenterContext, type VcenterOptions } from './vcenters.js';
import { VolumeLocator } from './volume-locator.js';
import type { SnapshotNames } from './snapshot-names.js';
import { snapshotNamesFor } from './snapshot-reads.js';

export interface BatchingOptions {
  /** Coalesce concurrent CNS calls (default true). false: one CNS call per RPC, for comparisons. */
  enabled: boolean;
  /** How long the first request of a batch waits for others, ms (default 5). */
  windowMs: number;
  /** Largest batch sent in one CNS call (default 32). */
  maxBatch: number;
}

interface CommonControllerOptions {
  /** `[Global] cluster-id`: recorded on every volume, and the ListVolumes scope. */
  clusterId: string;
  /** `[Global] cluster-distribution`: recorded with the cluster id on every volume. */
  clusterDistribution?: string;
  labels: LabelsConfig;
  logger?: Logger;
  batching?: Partial<BatchingOptions>;
  /** Reuse of inventory/policy reads for placement, ms (default 30 s). */
  inventoryTtlMs?: number;
  /** Volume id → vCenter answers kept in memory (several vCenters only; default 50,000). */
  volumeCacheSize?: number;
  /** `[Snapshot]` limits (default: 3 per volume). */
  snapshot?: SnapshotConfig;
}

/** One vCenter (`client`, `vSphereUser`) or several (`vcenters`, in config order). */
export type ControllerOptions = CommonControllerOptions &
  ({ client: VsphereClient; vSphereUser: string; vcenters?: undefined } | { vcenters: VcenterOptions[]; client?: undefined; vSphereUser?: undefined });

export const VOLUME_TYPE_BLOCK = 'vSphere CNS Block Volume';

export class ControllerContext {
  readonly clusterId: string;
  readonly clusterDistribution?: string;
  readonly labels: LabelsConfig;
  readonly log: Logger;
  readonly batching: BatchingOptions;
  /** `[Snapshot]` limits of csi-vsphere.conf (undefined: the defaults). */
  readonly snapshotConfig?: SnapshotConfig;
  readonly volumeLocks = new InFlightLocks('volume');
  readonly attachments = new Attachments();
  /** Every configured vCenter; `vcenters.first` is the only one in a single-vCenter cluster. */
  readonly vcenters: VcenterSet;
  readonly locator: VolumeLocator;
  /** Snapshot names per vCenter, for CreateSnapshot's ALREADY_EXISTS check (snapshot-names.ts). */
  readonly snapshotNames: SnapshotNames;
  /** Told after each successful attach (the metadata syncer reads the volume's health then); set by controller mode. */
  onVolumePublished?: (volumeId: string, vc: VcenterContext) => void;

  constructor(options: ControllerOptions) {
    this.clusterId = options.clusterId;
    this.clusterDistribution = options.clusterDistribution;
    this.labels = options.labels;
    this.log = options.logger ?? silentLogger;
    this.batching = { enabled: true, windowMs: 5, maxBatch: 32, ...options.batching };
    this.snapshotConfig = options.snapshot;
    const list = options.vcenters ?? [{ client: options.client, vSphereUser: options.vSphereUser }];
    this.vcenters = new VcenterSet(list, { labels: options.labels, log: this.log, inventoryTtlMs: options.inventoryTtlMs }, this.log);
    this.locator = new VolumeLocator(this.vcenters, this.batching, options.volumeCacheSize);
    this.snapshotNames = snapshotNamesFor(this.log);
  }
}
