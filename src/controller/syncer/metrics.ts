/**
 * Prometheus metrics of the metadata syncer (controller mode), served with
 * the rest at /metrics. Names and meanings: docs/metrics.md.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class SyncerMetrics {
  readonly leader: Gauge;
  /** Kubernetes change observed → CNS update confirmed. */
  readonly lag: Histogram;
  /** Volumes whose CNS metadata an update changed, by vCenter. */
  readonly updates: Counter<'vcenter'>;
  /** CNS requests the syncer sent, by vCenter and method. */
  readonly cnsCalls: Counter<'vcenter' | 'method'>;
  readonly failures: Counter<'operation'>;
  readonly registered: Counter;
  readonly orphans: Gauge;
  readonly lastFullSync: Gauge;
  readonly fullSyncDuration: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.leader = new Gauge({ name: 'vsphere_csi_syncer_leader', help: '1 while this replica holds the syncer Lease and runs the metadata syncer.', registers });
    this.lag = new Histogram({
      name: 'vsphere_csi_syncer_lag_seconds',
      help: 'Time from a PV/PVC/Pod change seen by the syncer to its CNS metadata update confirmed.',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
    this.updates = new Counter({ name: 'vsphere_csi_syncer_updates_total', help: 'Volumes whose CNS entity metadata the syncer updated, by vCenter.', labelNames: ['vcenter'], registers });
    this.cnsCalls = new Counter({ name: 'vsphere_csi_syncer_cns_calls_total', help: 'CNS requests sent by the syncer, by vCenter and method.', labelNames: ['vcenter', 'method'], registers });
    this.failures = new Counter({ name: 'vsphere_csi_syncer_failures_total', help: 'Syncer operations that failed, by operation (update, query, register, full_sync, health_annotation).', labelNames: ['operation'], registers });
    this.registered = new Counter({ name: 'vsphere_csi_syncer_registered_volumes_total', help: 'Statically provisioned PVs whose disk the syncer registered as a CNS volume.', registers });
    this.orphans = new Gauge({ name: 'vsphere_csi_syncer_orphan_volumes', help: 'CNS volumes of this cluster without a PV for two or more consecutive full syncs (reported, never deleted).', registers });
    this.lastFullSync = new Gauge({ name: 'vsphere_csi_syncer_last_full_sync_timestamp_seconds', help: 'When the last full sync finished (Unix time).', registers });
    this.fullSyncDuration = new Gauge({ name: 'vsphere_csi_syncer_full_sync_duration_seconds', help: 'How long the last full sync took.', registers });
  }
}
