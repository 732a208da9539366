/**
 * client-node's makeInformer (through startNodeInformer) against the test
 * API server: list then watch, resume from resourceVersion after a cleanly
 * ended watch, restart after a dropped connection, relist after 410.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { patchNodeMerge } from '../../src/kube/client.js';
import { startNodeInformer, type NodeInformer } from '../../src/kube/informer.js';

let server: KubeApiServer;
let core: CoreV1Api;
let informer: NodeInformer | undefined;
let seen: string[] = [];

beforeAll(async () => {
  server = await startKubeApiServer();
  core = server.kubeConfig().makeApiClient(CoreV1Api);
});
afterEach(async () => {
  await informer?.stop();
  informer = undefined;
  // The server notices the client's abort a moment later; a stale watch must not satisfy the next test.
  await waitFor(() => server.watchCount() === 0, 'watches to close');
  for (const node of server.list<V1Node>('Node')) server.remove('v1', 'Node', undefined, node.metadata?.name ?? '');
  server.setFault(undefined);
  server.resetRequests();
  seen = [];
});
afterAll(async () => {
  await server.stop();
});

async function waitFor(condition: () => boolean, what: string, limitMs = 15_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}; seen: ${seen.join(', ')}; requests: ${JSON.stringify(server.requests())} open ${server.watchCount()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function start(extra: { labelSelector?: string; resyncIntervalMs?: number; watchTimeoutSeconds?: number } = {}): NodeInformer {
  informer = startNodeInformer({
    kubeConfig: server.kubeConfig(),
    restartDelayMs: 50,
    ...extra,
    onAdd: (node) => seen.push(`add ${node.metadata?.name}`),
    onUpdate: (node) => seen.push(`update ${node.metadata?.name} ${node.metadata?.labels?.['v'] ?? ''}`),
    onDelete: (node) => seen.push(`delete ${node.metadata?.name}`),
    onResync: (node) => seen.push(`resync ${node.metadata?.name}`),
  });
  return informer;
}

const counts = (): { lists: number; watches: number } => {
  const nodeRequests = server.requests().filter((r) => r.path === '/api/v1/nodes' && r.method === 'GET');
  return { lists: nodeRequests.filter((r) => !r.watch).length, watches: nodeRequests.filter((r) => r.watch).length };
};

describe('node informer', () => {
  test('lists existing nodes, then sees add, update and delete through the watch', async () => {
    server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'pre' } });
    const nodes = start();
    await nodes.synced;
    expect(seen).toEqual(['add pre']);
    await waitFor(() => server.watchCount() === 1 && counts().watches === 1, 'the watch');
    await core.createNode({ body: { metadata: { name: 'n1' } } });
    await patchNodeMerge(core, 'n1', { metadata: { labels: { v: '2' } } });
    await core.deleteNode({ name: 'pre' });
    await waitFor(() => seen.length === 4, 'three watch events');
    expect(seen).toEqual(['add pre', 'add n1', 'update n1 2', 'delete pre']);
    expect(nodes.get('n1')?.metadata?.labels?.['v']).toBe('2');
    expect(nodes.list().map((n) => n.metadata?.name)).toEqual(['n1']);
    expect(counts()).toEqual({ lists: 1, watches: 1 });
  });

  test('a cleanly ended watch is resumed from its resourceVersion without a relist', async () => {
    start();
    await waitFor(() => server.watchCount() === 1 && counts().watches === 1, 'the watch');
    expect(server.closeWatches('end')).toBe(1);
    await core.createNode({ body: { metadata: { name: 'during-gap' } } });
    await waitFor(() => seen.includes('add during-gap'), 'the node created while disconnected');
    expect(counts().lists).toBe(1);
    expect(counts().watches).toBeGreaterThanOrEqual(2);
    expect(nodes().restarts()).toBe(0);
  });

  test('watches carry timeoutSeconds; when the server ends them the informer resumes without a relist', async () => {
    start({ watchTimeoutSeconds: 1 });
    await waitFor(() => counts().watches >= 3, 'two server-side watch timeouts');
    await core.createNode({ body: { metadata: { name: 'after-timeouts' } } });
    await waitFor(() => seen.includes('add after-timeouts'), 'the node created after the timeouts');
    expect(counts().lists).toBe(1);
    expect(server.requests().filter((r) => r.watch).every((r) => r.query.includes('timeoutSeconds=1'))).toBe(true);
    expect(nodes().restarts()).toBe(0);
  });

  test('a dropped connection is an error client-node does not recover from; the wrapper restarts it', async () => {
    start();
    await waitFor(() => server.watchCount() === 1 && counts().watches === 1, 'the watch');
    server.closeWatches('destroy');
    await core.createNode({ body: { metadata: { name: 'after-drop' } } });
    await waitFor(() => seen.includes('add after-drop'), 'the node created after the drop');
    expect(nodes().restarts()).toBeGreaterThanOrEqual(1);
    // Resumed from the resourceVersion: still a single list.
    expect(counts().lists).toBe(1);
  });

  test('a failing list is retried with backoff', async () => {
    let failures = 0;
    server.setFault((request) => (request.method === 'GET' && !request.watch && failures++ < 2 ? 500 : undefined));
    server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'eventually' } });
    const nodes = start();
    await nodes.synced;
    expect(seen).toEqual(['add eventually']);
    expect(nodes.restarts()).toBe(2);
  });

  test('after 410 Expired the informer relists and reports deletions it missed', async () => {
    server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'old' } });
    start();
    await waitFor(() => server.watchCount() === 1 && counts().watches === 1, 'the watch');
    // While the client is disconnected: a deletion, a creation, and history compaction.
    server.setFault((request) => (request.watch ? 503 : undefined));
    server.closeWatches('destroy');
    server.remove('v1', 'Node', undefined, 'old');
    server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'new' } });
    server.compactHistory();
    server.setFault(undefined);
    await waitFor(() => seen.includes('delete old') && seen.includes('add new'), 'relist results');
    expect(counts().lists).toBe(2);
  });

  test('label selectors filter server-side; resync replays the cache', async () => {
    server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'mine', labels: { role: 'worker' } } });
    server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'other', labels: { role: 'control' } } });
    const nodes = start({ labelSelector: 'role=worker', resyncIntervalMs: 100 });
    await nodes.synced;
    await waitFor(() => seen.filter((s) => s === 'resync mine').length >= 2, 'two resyncs');
    expect(seen.some((s) => s.includes('other'))).toBe(false);
    expect(server.requests().some((r) => r.query.includes('labelSelector=role%3Dworker'))).toBe(true);

  });
});

function nodes(): NodeInformer {
  if (!informer) throw new Error('no informer started');
  return informer;
}
