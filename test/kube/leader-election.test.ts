/**
 * Lease-based leader election with two electors in one process against the
 * test API server, with short durations (lease 3 s, renew deadline 1.5 s,
 * retry 0.3 s).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import type { V1Lease } from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { startLeaderElection, type LeaderElector } from '../../src/kube/leader-election.js';
import { waitFor } from '../support/wait-for.js';

let server: KubeApiServer;
const electors: LeaderElector[] = [];

beforeAll(async () => {
  server = await startKubeApiServer();
});
afterEach(async () => {
  server.setFault(undefined);
  await Promise.all(electors.splice(0).map((elector) => elector.stop()));
});
afterAll(async () => {
  await server.stop();
});


interface Tracked {
  elector: LeaderElector;
  terms: number;
  stopped: number;
  signals: AbortSignal[];
}

/** Starts electors that record their terms; `leading` counts concurrent leaders to catch split brain. */
function startPair(lease: string): { a: Tracked; b: Tracked; maxConcurrent: () => number } {
  let leading = 0;
  let maxConcurrent = 0;
  const make = (identity: string): Tracked => {
    const tracked: Tracked = { elector: undefined as unknown as LeaderElector, terms: 0, stopped: 0, signals: [] };
    tracked.elector = startLeaderElection({
      kubeConfig: server.kubeConfig(),
      namespace: 'kube-system',
      name: lease,
      identity,
      leaseDurationMs: 3000,
      renewDeadlineMs: 1500,
      retryPeriodMs: 300,
      onStartedLeading: (signal) => {
        tracked.terms += 1;
        tracked.signals.push(signal);
        leading += 1;
        maxConcurrent = Math.max(maxConcurrent, leading);
      },
      onStoppedLeading: () => {
        tracked.stopped += 1;
        leading -= 1;
      },
    });
    electors.push(tracked.elector);
    return tracked;
  };
  return { a: make(`${lease}-a`), b: make(`${lease}-b`), maxConcurrent: () => maxConcurrent };
}

function leaseOf(name: string): V1Lease | undefined {
  return server.get<V1Lease>('coordination.k8s.io/v1', 'Lease', 'kube-system', name);
}

describe('leader election', () => {
  test('exactly one of two electors leads, and the lease names it', async () => {
    const { a, b, maxConcurrent } = startPair('one-leader');
    await waitFor(() => a.elector.isLeader() || b.elector.isLeader(), 'a leader');
    // Several retry periods later, still exactly one.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const leaders = [a, b].filter((t) => t.elector.isLeader());
    expect(leaders).toHaveLength(1);
    expect(maxConcurrent()).toBe(1);
    const lease = leaseOf('one-leader');
    expect(lease?.spec?.holderIdentity).toBe(leaders[0]?.elector.identity);
    expect(lease?.spec?.leaseDurationSeconds).toBe(3);
    expect(lease?.spec?.renewTime).toMatch(/\.\d{6}Z$/);
    const follower = [a, b].find((t) => !t.elector.isLeader());
    expect(follower?.elector.observedLeader()).toBe(leaders[0]?.elector.identity);
  });

  test('the follower takes over when the leader cannot renew; the old leader steps down first', async () => {
    const { a, b, maxConcurrent } = startPair('failover');
    await waitFor(() => a.elector.isLeader() || b.elector.isLeader(), 'a leader');
    const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
    const transitionsBefore = leaseOf('failover')?.spec?.leaseTransitions ?? 0;
    // Every write by the leader fails from now on, as if its API connection broke.
    server.setFault((request) => {
      const body = request.body as { spec?: { holderIdentity?: string } } | undefined;
      return request.method === 'PUT' && body?.spec?.holderIdentity === leader.elector.identity ? 503 : undefined;
    });
    const started = Date.now();
    await waitFor(() => follower.elector.isLeader(), 'the follower to take over');
    console.log(`failover took ${Date.now() - started} ms (lease 3000 ms, renew deadline 1500 ms)`);
    expect(leader.elector.isLeader()).toBe(false);
    expect(leader.stopped).toBe(1);
    expect(leader.signals[0]?.aborted).toBe(true);
    expect(maxConcurrent()).toBe(1);
    const lease = leaseOf('failover');
    expect(lease?.spec?.holderIdentity).toBe(follower.elector.identity);
    expect(lease?.spec?.leaseTransitions).toBe(transitionsBefore + 1);
  });

  test('a leader whose API requests hang steps down at the renew deadline; leadership resumes when the API does', async () => {
    const { a, b, maxConcurrent } = startPair('hang');
    await waitFor(() => a.elector.isLeader() || b.elector.isLeader(), 'a leader');
    const leader = a.elector.isLeader() ? a : b;
    server.setFault((request) => (request.path.includes('/leases/hang') ? 'hang' : undefined));
    await waitFor(() => !leader.elector.isLeader(), 'the leader to step down');
    expect(leader.signals[0]?.aborted).toBe(true);
    // Nobody could write: the lease still names the old leader, and nobody leads.
    expect(leaseOf('hang')?.spec?.holderIdentity).toBe(leader.elector.identity);
    expect(a.elector.isLeader() || b.elector.isLeader()).toBe(false);
    expect(server.hangingCount()).toBeGreaterThan(0);
    server.setFault(undefined);
    await waitFor(() => a.elector.isLeader() || b.elector.isLeader(), 'a new term');
    expect(maxConcurrent()).toBe(1);
    // Every hung request was aborted by its per-request timeout (client-node has none of its own).
    await waitFor(() => server.hangingCount() === 0, 'hung requests to be aborted');
  });

  test('stop() releases the lease so the other elector takes over without waiting for expiry', async () => {
    const { a, b, maxConcurrent } = startPair('release');
    await waitFor(() => a.elector.isLeader() || b.elector.isLeader(), 'a leader');
    const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
    const started = Date.now();
    await leader.elector.stop();
    const afterStop = leaseOf('release');
    expect([
      '',
      follower.elector.identity,
    ]).toContain(afterStop?.spec?.holderIdentity);
    expect(leader.stopped).toBe(1);
    expect(leader.signals[0]?.aborted).toBe(true);
    await waitFor(() => follower.elector.isLeader(), 'the follower to take over');
    console.log(`takeover after release took ${Date.now() - started} ms (lease 3000 ms)`);
    expect(maxConcurrent()).toBe(1);
  });

  test('rejects durations that cannot work', () => {
    expect(() =>
      startLeaderElection({
        kubeConfig: server.kubeConfig(),
        namespace: 'kube-system',
        name: 'bad',
        leaseDurationMs: 1000,
        renewDeadlineMs: 2000,
        onStartedLeading: () => {},
      }),
    ).toThrow(/leaseDurationMs > renewDeadlineMs/);
  });
});
