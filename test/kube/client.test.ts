/** Kubeconfig loading, patch helpers and the Event recorder against the test API server. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type CoreV1Event, type V1Node } from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { createTestCertificate } from '../../src/harness/kube-tls.js';
import {
  createKubeClients,
  httpStatusOf,
  kubeErrorMessage,
  loadKubeConfig,
  patchNodeMerge,
  patchNodeStatus,
  patchNodeStrategic,
  withRequestTimeout,
  mergePatchOptions,
} from '../../src/kube/client.js';
import { createEventRecorder } from '../../src/kube/events.js';

let server: KubeApiServer;
let core: CoreV1Api;
let dir: string;

beforeAll(async () => {
  server = await startKubeApiServer({ token: 'test-token' });
  core = server.kubeConfig().makeApiClient(CoreV1Api);
  dir = mkdtempSync(join(tmpdir(), 'kube-client-'));
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `body` with some environment variables replaced, restoring them even when it throws. */
function withEnv<T>(vars: Record<string, string | undefined>, body: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(vars);
  try {
    return body();
  } finally {
    apply(saved);
  }
}

async function waitForZero(count: () => number): Promise<void> {
  const until = Date.now() + 10_000;
  while (count() !== 0) {
    if (Date.now() > until) throw new Error('gave up waiting for hung requests to close');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('loadKubeConfig', () => {
  test('an explicit path and KUBECONFIG both reach the server (with the bearer token)', async () => {
    const path = server.writeKubeconfig(dir);
    const explicit = loadKubeConfig(path);
    expect(explicit.getCurrentCluster()?.server).toBe(server.url);
    await createKubeClients(explicit).core.listNode();
    const fromEnv = withEnv({ KUBECONFIG: path, KUBERNETES_SERVICE_HOST: '10.0.0.1' }, () => loadKubeConfig());
    expect(fromEnv.getCurrentCluster()?.server).toBe(server.url);
  });

  test('in a pod without KUBECONFIG the service account is used', () => {
    const kc = withEnv({ KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, () =>
      loadKubeConfig(),
    );
    expect(kc.getCurrentCluster()?.server).toBe('https://10.96.0.1:443');
  });

  test('in-cluster end to end: service account token and CA over HTTPS', async () => {
    const certificate = await createTestCertificate(dir);
    const tlsServer = await startKubeApiServer({ token: 'sa-token', tls: certificate });
    try {
      const accountDir = join(dir, 'sa', 'var/run/secrets/kubernetes.io/serviceaccount');
      mkdirSync(accountDir, { recursive: true });
      writeFileSync(join(accountDir, 'token'), 'sa-token');
      writeFileSync(join(accountDir, 'ca.crt'), certificate.cert);
      writeFileSync(join(accountDir, 'namespace'), 'kube-system');
      const port = new URL(tlsServer.url).port;
      const kc = withEnv({ KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port }, () =>
        loadKubeConfig(undefined, { serviceAccountRoot: join(dir, 'sa') }),
      );
      expect(kc.getCurrentCluster()?.server).toBe(tlsServer.url);
      expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('kube-system');
      const nodes = await createKubeClients(kc).core.listNode();
      expect(nodes.items).toEqual([]);
      // The harness's own kubeconfig trusts exactly this certificate too.
      await createKubeClients(tlsServer.kubeConfig()).core.listNode();
      expect(tlsServer.requests().map((r) => r.path)).toEqual(['/api/v1/nodes', '/api/v1/nodes']);
    } finally {
      await tlsServer.stop();
    }
  });

  test('with nothing configured the error says what to set', () => {
    expect(() =>
      withEnv({ KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: undefined, HOME: dir }, () => loadKubeConfig()),
    ).toThrow(/set KUBECONFIG/);
  });

  test('requests without the token are refused', async () => {
    const response = await fetch(`${server.url}/api/v1/nodes`);
    expect(response.status).toBe(401);
  });
});

describe('node patch helpers', () => {
  test('merge replaces taints whole, strategic merges addresses by type, content types are explicit', async () => {
    server.put<V1Node>({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'p1', labels: { a: '1' } },
      spec: {
        taints: [
          { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' },
          { key: 'other', effect: 'NoExecute' },
        ],
      },
      status: { addresses: [{ type: 'Hostname', address: 'p1' }] },
    });
    server.resetRequests();
    const merged = await patchNodeMerge(core, 'p1', {
      metadata: { labels: { 'topology.kubernetes.io/zone': 'z1' } },
      spec: { providerID: 'vsphere://42', taints: [{ key: 'other', effect: 'NoExecute' }] },
    });
    expect(merged.metadata?.labels).toEqual({ a: '1', 'topology.kubernetes.io/zone': 'z1' });
    expect(merged.spec?.taints?.map((t) => t.key)).toEqual(['other']);

    const strategic = await patchNodeStrategic(core, 'p1', { metadata: { labels: { b: '2' } } });
    expect(strategic.metadata?.labels?.['b']).toBe('2');

    const merging = await patchNodeStatus(core, 'p1', { status: { addresses: [{ type: 'InternalIP', address: '10.0.0.9' }] } }, 'strategic');
    expect(merging.status?.addresses?.map((a) => a.type)).toEqual(['Hostname', 'InternalIP']);
    const replacing = await patchNodeStatus(core, 'p1', {
      status: {
        addresses: [
          { type: 'InternalIP', address: '10.0.0.9' },
          { type: 'InternalIP', address: '10.0.0.10' },
          { type: 'Hostname', address: 'p1' },
        ],
      },
    });
    expect(replacing.status?.addresses).toHaveLength(3);

    // A resourceVersion in the patch makes it conditional: someone else's change is not overwritten.
    const stale = merged.metadata?.resourceVersion ?? '';
    const conflict = await patchNodeMerge(core, 'p1', { metadata: { resourceVersion: stale, labels: { c: '3' } } }).catch((e: unknown) => e);
    expect(httpStatusOf(conflict)).toBe(409);
    expect(kubeErrorMessage(conflict)).toContain('the object has been modified');

    expect(server.requests().map((r) => `${r.method} ${r.path} ${r.contentType}`)).toEqual([
      'PATCH /api/v1/nodes/p1 application/merge-patch+json',
      'PATCH /api/v1/nodes/p1 application/strategic-merge-patch+json',
      'PATCH /api/v1/nodes/p1/status application/strategic-merge-patch+json',
      'PATCH /api/v1/nodes/p1/status application/merge-patch+json',
      'PATCH /api/v1/nodes/p1 application/merge-patch+json',
    ]);
  });

  test('withRequestTimeout aborts a request the server never answers, and combines with patch options', async () => {
    server.put<V1Node>({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'slow' } });
    server.resetRequests();
    server.setFault((request) => (request.path.startsWith('/api/v1/nodes/slow') ? 'hang' : undefined));
    try {
      const read = await core.readNode({ name: 'slow' }, withRequestTimeout(200)).catch((e: unknown) => e);
      expect((read as Error).name).toBe('AbortError');
      const patched = await core
        .patchNode({ name: 'slow', body: { metadata: { labels: { x: '1' } } } }, withRequestTimeout(200, mergePatchOptions))
        .catch((e: unknown) => e);
      expect((patched as Error).name).toBe('AbortError');
      // The Node patch helpers take the same bound (the CPI passes one on every write).
      const merged = await patchNodeMerge(core, 'slow', { metadata: { labels: { x: '1' } } }, 200).catch((e: unknown) => e);
      expect((merged as Error).name).toBe('AbortError');
      const status = await patchNodeStatus(core, 'slow', { status: { addresses: [] } }, 'merge', 200).catch((e: unknown) => e);
      expect((status as Error).name).toBe('AbortError');
      await waitForZero(() => server.hangingCount());
    } finally {
      server.setFault(undefined);
    }
    const patched = await core.patchNode({ name: 'slow', body: { metadata: { labels: { x: '1' } } } }, withRequestTimeout(5000, mergePatchOptions));
    expect(patched.metadata?.labels).toEqual({ x: '1' });
    expect(server.requests().filter((r) => r.method === 'PATCH').every((r) => r.contentType === 'application/merge-patch+json')).toBe(true);
  });

  test('kubeErrorMessage extracts the Status message of a 404', async () => {
    const missing = await core.readNode({ name: 'missing' }).catch((e: unknown) => e);
    expect(httpStatusOf(missing)).toBe(404);
    expect(kubeErrorMessage(missing)).toBe('nodes "missing" not found');
  });
});

describe('event recorder', () => {
  const events = (): CoreV1Event[] => server.list<CoreV1Event>('Event', 'default');

  test('identical events are aggregated into one with a count; different ones are separate', async () => {
    const node = server.put<V1Node>({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'e1' } });
    const recorder = createEventRecorder({ core, component: 'vsphere-cpi', host: 'cpi-0' });
    await Promise.all([
      recorder.recordNodeEvent(node, 'Warning', 'MissingTag', 'no zone tag on host h1'),
      recorder.recordNodeEvent(node, 'Warning', 'MissingTag', 'no zone tag on host h1'),
    ]);
    await recorder.recordNodeEvent(node, 'Warning', 'MissingTag', 'no zone tag on host h1');
    await recorder.recordNodeEvent(node, 'Normal', 'Initialized', 'node initialized');
    const stored = events().filter((e) => e.involvedObject.name === 'e1');
    expect(stored).toHaveLength(2);
    const warning = stored.find((e) => e.reason === 'MissingTag');
    expect(warning).toMatchObject({
      type: 'Warning',
      count: 3,
      message: 'no zone tag on host h1',
      involvedObject: { apiVersion: 'v1', kind: 'Node', name: 'e1', uid: node.metadata?.uid },
      source: { component: 'vsphere-cpi', host: 'cpi-0' },
      reportingComponent: 'vsphere-cpi',
    });
    expect(String(warning?.lastTimestamp) >= String(warning?.firstTimestamp)).toBe(true);
    expect(warning?.metadata.name).toMatch(/^e1\.[0-9a-f]+$/);
  });

  test('an expired (deleted) event is recreated, and failures never throw', async () => {
    const node = server.put<V1Node>({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'e2' } });
    const recorder = createEventRecorder({ core, component: 'vsphere-cpi', dedupWindowMs: 60_000 });
    await recorder.recordNodeEvent(node, 'Warning', 'VMNotFound', 'no VM');
    const first = events().find((e) => e.involvedObject.name === 'e2');
    server.remove('v1', 'Event', 'default', first?.metadata.name ?? '');
    await recorder.recordNodeEvent(node, 'Warning', 'VMNotFound', 'no VM');
    expect(events().filter((e) => e.involvedObject.name === 'e2')).toHaveLength(1);

    server.setFault((request) => (request.path.includes('/events') ? 500 : undefined));
    try {
      await expect(recorder.recordNodeEvent(node, 'Warning', 'Other', 'x'.repeat(5000))).resolves.toBeUndefined();
    } finally {
      server.setFault(undefined);
    }
    const bounded = createEventRecorder({ core, component: 'vsphere-cpi', requestTimeoutMs: 200 });
    server.setFault((request) => (request.path.includes('/events') ? 'hang' : undefined));
    try {
      await expect(bounded.recordNodeEvent(node, 'Warning', 'Hung', 'the API server never answers')).resolves.toBeUndefined();
      await waitForZero(() => server.hangingCount());
    } finally {
      server.setFault(undefined);
    }
    await recorder.recordNodeEvent(node, 'Normal', 'Long', 'y'.repeat(5000));
    const long = events().find((e) => e.reason === 'Long');
    expect(long?.message?.length).toBe(1024);
  });
});
