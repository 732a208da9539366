/**
 * Prometheus metrics of cpi mode, read from the controller's counters and
 * the vCenter clients' request counts at scrape time (no bookkeeping on the
 * hot path). Served by the CLI at /metrics when --metrics-port is set.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { LeaseHealth } from '../kube/lease-health.js';
import type { VsphereClient } from '../vsphere/api.js';
import type { CpiControllerStats } from './controller.js';

export interface CpiMetricSources {
  stats(): CpiControllerStats;
  isLeader(): boolean;
  /** Absent without leader election. */
  leaseHealth?(): LeaseHealth;
  clients: VsphereClient[];
}

export function registerCpiMetrics(registry: Registry, src: CpiMetricSources): void {
  const fromStats = (name: string, help: string, pick: (s: CpiControllerStats) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(pick(src.stats()));
      },
    });
  };
  fromStats('vsphere_cpi_nodes_initialized_total', 'Nodes initialized (providerID set, uninitialized taint removed).', (s) => s.nodesInitialized);
  fromStats('vsphere_cpi_nodes_updated_total', 'Initialized nodes whose labels or taints were corrected on resync.', (s) => s.nodesUpdated);
  fromStats('vsphere_cpi_nodes_deleted_total', 'Nodes deleted because their VM no longer exists.', (s) => s.nodesDeleted);
  fromStats('vsphere_cpi_batches_total', 'Batches of nodes resolved against vCenter together.', (s) => s.batches);
  fromStats('vsphere_cpi_retries_total', 'Node initializations scheduled for retry (missing VM, Tools data or tags).', (s) => s.retriesScheduled);
  fromStats('vsphere_cpi_events_total', 'Kubernetes Events recorded on Nodes.', (s) => s.eventsRecorded);
  new Gauge({
    name: 'vsphere_cpi_leader',
    help: '1 while this replica holds the lease and runs the controller.',
    registers: [registry],
    collect() {
      this.set(src.isLeader() ? 1 : 0);
    },
  });
  const leaseHealth = src.leaseHealth;
  if (leaseHealth) {
    new Gauge({
      name: 'vsphere_cpi_lease_reachable',
      help: '1 while the last read/write of the leader-election Lease worked, 0 while it fails (see vsphere_cpi_lease_failures_total and the warn log).',
      registers: [registry],
      collect() {
        this.set(leaseHealth().reachable ? 1 : 0);
      },
    });
    new Counter({
      name: 'vsphere_cpi_lease_failures_total',
      help: 'Failed reads/writes of the leader-election Lease, by operation and reason (forbidden, unauthorized, unreachable, tls, timeout, ...).',
      labelNames: ['operation', 'reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [key, n] of leaseHealth().failures) {
          const [operation = '', reason = ''] = key.split(':');
          this.inc({ operation, reason }, n);
        }
      },
    });
  }
  new Counter({
    name: 'vsphere_cpi_vcenter_requests_total',
    help: 'Requests sent to each vCenter by this process.',
    labelNames: ['vcenter'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of src.clients) this.inc({ vcenter: c.host }, c.stats().total);
    },
  });
}
