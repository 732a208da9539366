/**
 * Prometheus metrics of the CSI server: per-RPC counters and latency
 * histograms by gRPC code, plus calls in flight. Other layers (vCenter
 * client, node OS) register their own metrics on the same Registry, which
 * the CLI creates once per process and serves at /metrics when a port is given.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface CsiMetrics {
  registry: Registry;
  rpcTotal: Counter<'method' | 'code'>;
  rpcDuration: Histogram<'method' | 'code'>;
  rpcInFlight: Gauge<'method'>;
}

export function createCsiMetrics(registry: Registry = new Registry(), opts: { processMetrics?: boolean } = {}): CsiMetrics {
  if (opts.processMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    rpcTotal: new Counter({
      name: 'vsphere_csi_rpc_total',
      help: 'CSI RPCs handled, by method and gRPC code',
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
    rpcDuration: new Histogram({
      name: 'vsphere_csi_rpc_duration_seconds',
      help: 'CSI RPC latency, by method and gRPC code',
      labelNames: ['method', 'code'],
      // CNS tasks take seconds; Identity calls take well under a millisecond.
      buckets: [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    rpcInFlight: new Gauge({
      name: 'vsphere_csi_rpc_in_flight',
      help: 'CSI RPCs currently running, by method',
      labelNames: ['method'],
      registers: [registry],
    }),
  };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** What GET /healthz answers: 200 with the message when ok, else 503 with it. */
export interface HealthReport {
  ok: boolean;
  message: string;
}

/**
 * Serves GET /metrics from the registry, and GET /healthz from `health`
 * (a mode without one is healthy while it serves); port 0 picks a free port (tests).
 */
export function startMetricsServer(port: number, registry: Registry, options: { host?: string; health?: () => HealthReport } = {}): Promise<MetricsServer> {
  const { host = '0.0.0.0', health } = options;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      const report = health?.() ?? { ok: true, message: 'serving' };
      res.writeHead(report.ok ? 200 : 503, { 'content-type': 'text/plain' }).end(`${report.message}\n`);
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics or GET /healthz\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n'),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
