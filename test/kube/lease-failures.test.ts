/**
 * A replica that cannot read or write its Lease says so: each distinct
 * failure is warned about once (then rate-limited) with its cause and fix,
 * counted, and reported by leaseHealth(), for RBAC refusals, an API server
 * that is down, and one whose certificate is not trusted. Against the test
 * API server (and a closed port) through client-node, as in production.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { createTestCertificate } from '../../src/harness/kube-tls.js';
import { startLeaderElection, type LeaderElector } from '../../src/kube/leader-election.js';
import { createLogger } from '../../src/log.js';
import { waitFor } from '../support/wait-for.js';

let server: KubeApiServer;
let dir: string;
const electors: LeaderElector[] = [];

beforeAll(async () => {
  server = await startKubeApiServer();
  dir = mkdtempSync(join(tmpdir(), 'lease-failures-'));
});
afterEach(async () => {
  server.setFault(undefined);
  await Promise.all(electors.splice(0).map((e) => e.stop()));
});
afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});


interface LogLine {
  level: string;
  msg: string;
  reason?: string;
  repeatedSinceLastWarning?: number;
}

function elect(kubeConfig: KubeConfig, name: string, failureWarnIntervalMs?: number): { elector: LeaderElector; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } });
  const elector = startLeaderElection({
    kubeConfig, namespace: 'kube-system', name, log, leaseDurationMs: 3000, renewDeadlineMs: 1500, retryPeriodMs: 200,
    ...(failureWarnIntervalMs !== undefined ? { failureWarnIntervalMs } : {}),
    onStartedLeading: () => {},
  });
  electors.push(elector);
  return { elector, lines };
}

const WARN = 'warn';
const warnings = (lines: LogLine[]): LogLine[] => lines.filter((l) => l.level === WARN && l.msg.startsWith('cannot '));

describe('Lease failures are visible', () => {
  test('RBAC forbidden: one warning with cause and fix, however often it retries; counted; recovers', async () => {
    server.setFault((r) => (r.path.includes('/leases/') ? 403 : undefined));
    const { elector, lines } = elect(server.kubeConfig(), 'forbidden');
    await waitFor(() => (elector.leaseHealth().failures.get('read:forbidden') ?? 0) >= 4, 'four refused reads');
    expect(warnings(lines)).toHaveLength(1);
    expect(warnings(lines)[0]!.msg).toMatch(/^cannot read the Lease kube-system\/forbidden: .*; grant the CPI's ServiceAccount get, create and update on leases\.coordination\.k8s\.io in namespace kube-system/);
    expect(elector.leaseHealth()).toMatchObject({ reachable: false, lastFailure: { operation: 'read', reason: 'forbidden' } });
    expect(elector.isLeader()).toBe(false);

    server.setFault(undefined);
    await waitFor(() => elector.isLeader(), 'leadership once the Lease is readable');
    expect(elector.leaseHealth().reachable).toBe(true);
    expect(elector.leaseHealth().lastFailure).toBeUndefined();
    expect(lines.some((l) => l.msg === 'the Lease kube-system/forbidden is reachable again')).toBe(true);
  });

  test('a distinct failure is warned about at once; a lasting one again after the interval, with the count in between', async () => {
    server.setFault((r) => (r.path.includes('/leases/') ? 503 : undefined));
    const { elector, lines } = elect(server.kubeConfig(), 'flapping', 600);
    await waitFor(() => warnings(lines).length >= 2, 'the repeated warning', 5000);
    const [first, second] = warnings(lines);
    expect(first).toMatchObject({ reason: 'server-error', repeatedSinceLastWarning: 0 });
    expect(second!.repeatedSinceLastWarning).toBeGreaterThan(0);
    server.setFault((r) => (r.path.includes('/leases/') ? 401 : undefined));
    await waitFor(() => warnings(lines).some((l) => l.reason === 'unauthorized'), 'the new failure', 3000);
    expect(warnings(lines).find((l) => l.reason === 'unauthorized')!.msg).toContain('rejected the credentials');
    expect(elector.leaseHealth().failures.get('read:server-error')).toBeGreaterThan(1);
  });

  test('API server down (connection refused) and an untrusted certificate name their cause', async () => {
    const closed = new KubeConfig();
    closed.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: false }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const down = elect(closed, 'down');
    await waitFor(() => warnings(down.lines).length === 1, 'the warning');
    expect(down.elector.leaseHealth().lastFailure).toMatchObject({ reason: 'unreachable' });
    expect(warnings(down.lines)[0]!.msg).toContain('cannot connect to https://127.0.0.1:1 (ECONNREFUSED)');

    const [served, other] = await Promise.all([createTestCertificate(mkdtempSync(join(dir, 'a-'))), createTestCertificate(mkdtempSync(join(dir, 'b-')))]);
    const tlsServer = await startKubeApiServer({ tls: { cert: served.cert, key: served.key } });
    try {
      const wrongCa = tlsServer.kubeConfig();
      wrongCa.clusters[0] = { ...wrongCa.clusters[0]!, caData: Buffer.from(other.cert).toString('base64') };
      const untrusted = elect(wrongCa, 'tls');
      await waitFor(() => warnings(untrusted.lines).length === 1, 'the warning');
      expect(untrusted.elector.leaseHealth().lastFailure).toMatchObject({ reason: 'tls' });
      expect(warnings(untrusted.lines)[0]!.msg).toContain("certificate was not accepted");
    } finally {
      await Promise.all(electors.splice(0).map((e) => e.stop()));
      await tlsServer.stop();
    }
  });
});
