/**
 * Prometheus metrics of the vCenter clients (one per configured vCenter, each
 * labelled with its host): requests and their latency by
 * method and outcome (from VsphereClient.onRequest), and the session
 * counters (logins, re-logins) read from stats() at scrape time, so the
 * client layer itself stays free of prom-client. Registered on the same
 * Registry the CLI serves at /metrics. Metric names: docs/metrics.md.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { RequestEvent, VsphereClient } from './api.js';

export interface VcenterMetrics {
  /** Stops observing the client (the metrics stay registered with their last values). */
  detach(): void;
}

type RequestLabels = 'vcenter' | 'endpoint' | 'method' | 'outcome';

/**
 * The label a request gets: the SOAP method ("CnsCreateVolume"), or for
 * vAPI REST the HTTP method and path with ids already replaced by {id}
 * (bounded label cardinality: never a query string or an object id).
 */
export function requestMethodLabel(event: RequestEvent): string {
  return event.endpoint === 'vapi' ? event.key : event.method;
}

/** Registers the vCenter metrics for every client on `registry`. Call once per registry (names are unique per registry). */
export function registerVcenterMetrics(clients: VsphereClient | VsphereClient[], registry: Registry): VcenterMetrics {
  const all = Array.isArray(clients) ? clients : [clients];
  const requests = new Counter<RequestLabels>({
    name: 'vsphere_csi_vcenter_requests_total',
    help: 'Requests sent to vCenter, by endpoint (vim25, cns, pbm, vapi), method and outcome (ok, fault, error)',
    labelNames: ['vcenter', 'endpoint', 'method', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram<'vcenter' | 'endpoint' | 'method'>({
    name: 'vsphere_csi_vcenter_request_duration_seconds',
    help: 'vCenter request latency, by endpoint and method',
    labelNames: ['vcenter', 'endpoint', 'method'],
    // A simulator answers in < 1 ms; a loaded vCenter takes seconds for WaitForUpdatesEx.
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  // Session counters live in the client (stats()); read them when scraped.
  new Counter<'vcenter'>({
    name: 'vsphere_csi_vcenter_sessions_created_total',
    help: 'vim25 sessions created (successful logins) by this process',
    labelNames: ['vcenter'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of all) this.inc({ vcenter: c.host }, c.stats().sessionsCreated);
    },
  });
  new Counter<'vcenter'>({
    name: 'vsphere_csi_vcenter_relogins_total',
    help: 'Transparent re-logins after vCenter ended the session (NotAuthenticated)',
    labelNames: ['vcenter'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of all) this.inc({ vcenter: c.host }, c.stats().relogins);
    },
  });
  const detachers = all.map((client) => {
    const vcenter = client.host;
    return client.onRequest((event) => {
      const method = requestMethodLabel(event);
      requests.inc({ vcenter, endpoint: event.endpoint, method, outcome: event.outcome });
      duration.observe({ vcenter, endpoint: event.endpoint, method }, event.durationMs / 1000);
    });
  });
  return { detach: () => detachers.forEach((d) => d()) };
}
