/**
 * The test API server under the load CPI tests put on it (hundreds of
 * nodes). Prints figures; asserts only counts.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { patchNodeMerge } from '../../src/kube/client.js';
import { startNodeInformer } from '../../src/kube/informer.js';

let server: KubeApiServer;

beforeAll(async () => {
  server = await startKubeApiServer();
});
afterAll(async () => {
  await server.stop();
});

test('300 nodes: create, list, informer sync and patch through client-node', async () => {
  const core = server.kubeConfig().makeApiClient(CoreV1Api);
  const count = 300;
  const figures: Record<string, string> = {};
  let started = performance.now();
  for (let i = 0; i < count / 2; i += 1) {
    await core.createNode({ body: { metadata: { name: `seq-${i}`, labels: { pool: 'seq' } } } });
  }
  figures['sequential create (ms/node)'] = ((performance.now() - started) / (count / 2)).toFixed(2);
  started = performance.now();
  await Promise.all(
    Array.from({ length: count / 2 }, (_, i) => core.createNode({ body: { metadata: { name: `par-${i}`, labels: { pool: 'par' } } } })),
  );
  figures['parallel create, 150 at once (ms total)'] = (performance.now() - started).toFixed(0);
  started = performance.now();
  const listed = await core.listNode();
  figures['list 300 (ms)'] = (performance.now() - started).toFixed(1);
  expect(listed.items).toHaveLength(count);

  let added = 0;
  let updated = 0;
  started = performance.now();
  const informer = startNodeInformer({ kubeConfig: server.kubeConfig(), onAdd: () => (added += 1), onUpdate: () => (updated += 1) });
  try {
    await informer.synced;
    figures['informer initial sync (ms)'] = (performance.now() - started).toFixed(1);
    expect(added).toBe(count);
    started = performance.now();
    await Promise.all(listed.items.map((n: V1Node) => patchNodeMerge(core, n.metadata?.name ?? '', { metadata: { labels: { done: 'yes' } } })));
    figures['300 merge patches in parallel (ms)'] = (performance.now() - started).toFixed(0);
    while (updated < count) await new Promise((resolve) => setTimeout(resolve, 10));
    figures['patches seen by the informer (ms)'] = (performance.now() - started).toFixed(0);
  } finally {
    await informer.stop();
  }
  console.log(Object.entries(figures).map(([k, v]) => `${k}: ${v}`).join('\n'));
});
