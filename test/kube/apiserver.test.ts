/**
 * The test Kubernetes API server driven through @kubernetes/client-node 1.4
 * exactly as production code uses it.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  Watch,
  type V1Node,
} from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';

let server: KubeApiServer;
let core: CoreV1Api;
let coordination: CoordinationV1Api;

beforeAll(async () => {
  server = await startKubeApiServer();
  core = server.kubeConfig().makeApiClient(CoreV1Api);
  coordination = server.kubeConfig().makeApiClient(CoordinationV1Api);
});
afterAll(async () => {
  await server.stop();
});

async function expectStatus(promise: Promise<unknown>, code: number): Promise<ApiException<unknown>> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ApiException);
  expect((error as ApiException<unknown>).code).toBe(code);
  return error as ApiException<unknown>;
}

function node(name: string, labels: Record<string, string> = {}): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
    spec: { taints: [{ key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' }] },
    status: { addresses: [{ type: 'Hostname', address: name }] },
  };
}

describe('core/v1 nodes', () => {
  test('create, get, list with selectors, replace with 409 on a stale resourceVersion, delete', async () => {
    const created = await core.createNode({ body: node('crud-1', { pool: 'a' }) });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    await core.createNode({ body: node('crud-2', { pool: 'b' }) });
    await expectStatus(core.createNode({ body: node('crud-1') }), 409);

    const read = await core.readNode({ name: 'crud-1' });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    expect(read.spec?.taints?.[0]?.key).toBe('node.cloudprovider.kubernetes.io/uninitialized');

    const byLabel = await core.listNode({ labelSelector: 'pool=b' });
    expect(byLabel.items.map((n) => n.metadata?.name)).toEqual(['crud-2']);
    const byIn = await core.listNode({ labelSelector: 'pool in (a,b),pool!=b' });
    expect(byIn.items.map((n) => n.metadata?.name)).toEqual(['crud-1']);
    const byField = await core.listNode({ fieldSelector: 'metadata.name=crud-2' });
    expect(byField.items.map((n) => n.metadata?.name)).toEqual(['crud-2']);
    expect(Number(byField.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(created.metadata?.resourceVersion));

    read.metadata!.labels = { pool: 'c' };
    const replaced = await core.replaceNode({ name: 'crud-1', body: read });
    expect(replaced.metadata?.labels).toEqual({ pool: 'c' });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(read.metadata?.resourceVersion));
    const conflict = await expectStatus(core.replaceNode({ name: 'crud-1', body: read }), 409);
    expect(String(conflict.body)).toContain('"reason":"Conflict"');

    await core.deleteNode({ name: 'crud-1' });
    await core.deleteNode({ name: 'crud-2' });
    await expectStatus(core.readNode({ name: 'crud-1' }), 404);
    await expectStatus(core.deleteNode({ name: 'crud-1' }), 404);
  });

  test('merge patch replaces the taint list and merges labels; strategic merge merges addresses by type', async () => {
    await core.createNode({ body: node('patch-1', { keep: 'yes', drop: 'x' }) });
    const merged = await core.patchNode(
      { name: 'patch-1', body: { metadata: { labels: { drop: null, added: 'z' } }, spec: { taints: [], providerID: 'vsphere://abc' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels).toEqual({ keep: 'yes', added: 'z' });
    expect(merged.spec?.taints).toEqual([]);
    expect(merged.spec?.providerID).toBe('vsphere://abc');

    const strategic = await core.patchNodeStatus(
      { name: 'patch-1', body: { status: { addresses: [{ type: 'InternalIP', address: '10.0.0.5' }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(strategic.status?.addresses).toEqual([
      { type: 'Hostname', address: 'patch-1' },
      { type: 'InternalIP', address: '10.0.0.5' },
    ]);
    const replacedWhole = await core.patchNodeStatus(
      { name: 'patch-1', body: { status: { addresses: [{ type: 'InternalIP', address: '10.0.0.6' }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(replacedWhole.status?.addresses).toEqual([{ type: 'InternalIP', address: '10.0.0.6' }]);

    // The main endpoint cannot change status, /status cannot change labels or spec.
    const ignored = await core.patchNode(
      { name: 'patch-1', body: { status: { addresses: [] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(ignored.status?.addresses).toHaveLength(1);
    const statusOnly = await core.patchNodeStatus(
      { name: 'patch-1', body: { metadata: { labels: { sneaky: '1' } }, spec: { unschedulable: true } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(statusOnly.metadata?.labels?.['sneaky']).toBeUndefined();
    expect(statusOnly.spec?.unschedulable).toBeUndefined();

    // Default content type of client-node is JSON patch.
    const jsonPatched = await core.patchNode({
      name: 'patch-1',
      body: [
        { op: 'test', path: '/metadata/labels/keep', value: 'yes' },
        { op: 'add', path: '/metadata/labels/topology.kubernetes.io~1zone', value: 'zone-a' },
      ],
    });
    expect(jsonPatched.metadata?.labels?.['topology.kubernetes.io/zone']).toBe('zone-a');
    await expectStatus(core.patchNode({ name: 'patch-1', body: [{ op: 'test', path: '/metadata/labels/keep', value: 'no' }] }), 422);

    // A resourceVersion in a patch is a precondition.
    await expectStatus(
      core.patchNode(
        { name: 'patch-1', body: { metadata: { resourceVersion: '1', labels: { a: 'b' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
      409,
    );
    const types = server.requests().filter((r) => r.method === 'PATCH').map((r) => r.contentType);
    expect(types).toEqual(expect.arrayContaining([PatchStrategy.MergePatch, PatchStrategy.StrategicMergePatch, PatchStrategy.JsonPatch]));
    await core.deleteNode({ name: 'patch-1' });
  });

  test('unknown paths answer 404 with a Status object', async () => {
    const response = await fetch(`${server.url}/apis/example.com/v1/widgets`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound' });
  });
});

describe('watch', () => {
  test('streams ADDED/MODIFIED/DELETED and resumes from a resourceVersion; 410 for compacted versions', async () => {
    const start = await core.listNode();
    const events: string[] = [];
    const watch = new Watch(server.kubeConfig());
    let finished: (err: unknown) => void = () => {};
    const done = new Promise<unknown>((resolve) => (finished = resolve));
    const controller = await watch.watch(
      '/api/v1/nodes',
      { resourceVersion: start.metadata?.resourceVersion },
      (type: string, object: V1Node) => events.push(`${type} ${object.metadata?.name}`),
      (err: unknown) => finished(err),
    );
    await core.createNode({ body: node('watch-1') });
    const added = await core.patchNode(
      { name: 'watch-1', body: { metadata: { labels: { a: '1' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await core.deleteNode({ name: 'watch-1' });
    while (events.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(events).toEqual(['ADDED watch-1', 'MODIFIED watch-1', 'DELETED watch-1']);
    controller.abort();
    await done;

    // Resume after the MODIFIED: only the DELETED is replayed.
    const resumed: string[] = [];
    const again = await watch.watch(
      '/api/v1/nodes',
      { resourceVersion: added.metadata?.resourceVersion },
      (type: string) => resumed.push(type),
      () => {},
    );
    while (resumed.length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(resumed).toEqual(['DELETED']);
    again.abort();

    server.compactHistory();
    const expired: Array<{ type: string; code?: number }> = [];
    const gone = new Promise<void>((resolve) => {
      void watch.watch(
        '/api/v1/nodes',
        { resourceVersion: start.metadata?.resourceVersion },
        (type: string, object: { code?: number }) => expired.push({ type, code: object.code }),
        () => resolve(),
      );
    });
    await gone;
    expect(expired).toEqual([{ type: 'ERROR', code: 410 }]);
  });
});

describe('watch options', () => {
  test('timeoutSeconds ends the stream cleanly; a BOOKMARK carries the current resourceVersion; leaving a label selection is DELETED', async () => {
    const watch = new Watch(server.kubeConfig());
    const seen: string[] = [];
    let ended: (err: unknown) => void = () => {};
    const done = new Promise<unknown>((resolve) => (ended = resolve));
    const controller = await watch.watch(
      '/api/v1/nodes',
      { allowWatchBookmarks: true, labelSelector: 'watched=yes', resourceVersion: String(server.resourceVersion()), timeoutSeconds: 1 },
      (type: string, object: V1Node) => seen.push(`${type} ${object.metadata?.name ?? ''} ${object.metadata?.resourceVersion ?? ''}`),
      (err: unknown) => ended(err),
    );
    server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'ignored' } });
    server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'in', labels: { watched: 'yes' } } });
    // Leaving the selection is a DELETED for this watch.
    server.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'in', labels: { watched: 'no' } } });
    server.bookmark();
    expect(await done).toBeNull();
    controller.abort();
    const rv = String(server.resourceVersion());
    expect(seen.map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual(['ADDED in', 'DELETED in', 'BOOKMARK ']);
    expect(seen[2]).toBe(`BOOKMARK  ${rv}`);
    server.remove('v1', 'Node', undefined, 'ignored');
    server.remove('v1', 'Node', undefined, 'in');
  });
});

describe('events, secrets, leases', () => {
  test('events are created and listed per namespace and across namespaces', async () => {
    await core.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { generateName: 'n1.' },
        involvedObject: { kind: 'Node', name: 'n1' },
        reason: 'Testing',
        message: 'hello',
        type: 'Normal',
        firstTimestamp: new Date(),
        lastTimestamp: new Date(),
        count: 1,
      },
    });
    const inDefault = await core.listNamespacedEvent({ namespace: 'default' });
    expect(inDefault.items.map((e) => e.reason)).toEqual(['Testing']);
    expect(inDefault.items[0]?.metadata.name).toMatch(/^n1\./);
    const everywhere = await core.listEventForAllNamespaces({ fieldSelector: 'involvedObject.name=n1' });
    expect(everywhere.items).toHaveLength(1);
  });

  test('secrets are read per namespace', async () => {
    server.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vc', namespace: 'kube-system' }, data: { u: 'dXNlcg==' } });
    const secret = await core.readNamespacedSecret({ name: 'vc', namespace: 'kube-system' });
    expect(secret.data?.['u']).toBe('dXNlcg==');
    await expectStatus(core.readNamespacedSecret({ name: 'vc', namespace: 'default' }), 404);
  });

  test('leases: create, update with 409 on stale resourceVersion, MicroTime must carry six fraction digits', async () => {
    const lease = await coordination.createNamespacedLease({
      namespace: 'kube-system',
      body: { metadata: { name: 'lock' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new V1MicroTime() } },
    });
    // client-node does not know V1MicroTime when deserializing: it stays a string.
    expect(typeof lease.spec?.renewTime).toBe('string');
    const stale = structuredClone(lease);
    lease.spec!.holderIdentity = 'b';
    const updated = await coordination.replaceNamespacedLease({ name: 'lock', namespace: 'kube-system', body: lease });
    expect(updated.spec?.holderIdentity).toBe('b');
    await expectStatus(coordination.replaceNamespacedLease({ name: 'lock', namespace: 'kube-system', body: stale }), 409);
    await expectStatus(
      coordination.createNamespacedLease({
        namespace: 'kube-system',
        body: { metadata: { name: 'millis' }, spec: { renewTime: new Date() } },
      }),
      400,
    );
  });
});

describe('kubeconfig', () => {
  test('writeKubeconfig produces a file that KubeConfig.loadFromFile points at this server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-test-'));
    try {
      const path = server.writeKubeconfig(dir);
      expect(readFileSync(path, 'utf8')).toContain(server.url);
      const kc = new KubeConfig();
      kc.loadFromFile(path);
      const version = await kc.makeApiClient(CoreV1Api).listNode();
      expect(Array.isArray(version.items)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
