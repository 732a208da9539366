/**
 * Node mode's own Kubernetes client (src/kube/rest-config.ts, rest-client.ts)
 * against the test API server over real TLS: kubeconfig token and client
 * certificate logins, the in-cluster service account with a rotating token,
 * insecure-skip-tls-verify, and the 401/403/404/timeout/watch paths.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { createTestCertificate, createTestClientCertificate, type TestCertificate, type TestClientCertificate } from '../../src/harness/kube-tls.js';
import { httpStatusOf, kubeErrorMessage } from '../../src/kube/errors.js';
import { createRestClient, RestError, type RestClient } from '../../src/kube/rest-client.js';
import { loadInCluster, loadKubeconfigFile, loadRestConfig } from '../../src/kube/rest-config.js';

let dir: string;
let serverCert: TestCertificate;
let clientCert: TestClientCertificate;
/** HTTPS; accepts the token "node-token" or a client certificate signed by clientCert.ca. */
let kube: KubeApiServer;
let serial = 0;

const node = (name: string): V1Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'topology.kubernetes.io/zone': 'zone-a' } } });
const failureOf = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => new Error('expected a failure'), (error: unknown) => error);
const fromKubeconfig = async (text: string): Promise<RestClient> => {
  const path = join(dir, `kubeconfig-${++serial}`);
  writeFileSync(path, text);
  return createRestClient(await loadKubeconfigFile(path));
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rest-client-'));
  serverCert = await createTestCertificate(dir);
  clientCert = await createTestClientCertificate(dir);
  kube = await startKubeApiServer({ token: 'node-token', tls: { ...serverCert, clientCa: clientCert.ca }, clientCertificate: clientCert });
  kube.put(node('n1'));
});

afterAll(async () => {
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kubeconfig logins over TLS', () => {
  test('token and CA as the harness writes them (JSON, inline data)', async () => {
    // The harness's kubeconfig carries both the token and the client certificate; keep only the token.
    const withToken = await startKubeApiServer({ token: 'only-token', tls: serverCert });
    try {
      withToken.put(node('n1'));
      const client = createRestClient(await loadKubeconfigFile(withToken.writeKubeconfig(join(dir, `harness-${++serial}`))));
      const got = await client.getJson<V1Node>('/api/v1/nodes/n1', { timeoutMs: 5000 });
      expect(got.metadata?.labels?.['topology.kubernetes.io/zone']).toBe('zone-a');
      expect(withToken.requests().map((r) => `${r.method} ${r.path} ${r.auth}`)).toEqual(['GET /api/v1/nodes/n1 token']);
    } finally {
      await withToken.stop();
    }
  });

  test('client certificate and key from files relative to the kubeconfig (YAML), no token', async () => {
    const sub = join(dir, 'certs');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'ca.pem'), serverCert.cert);
    writeFileSync(join(sub, 'me.crt'), clientCert.cert);
    writeFileSync(join(sub, 'me.key'), clientCert.key);
    const client = await fromKubeconfig(
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: c',
        '  cluster:',
        `    server: ${kube.url}/`,
        '    certificate-authority: certs/ca.pem',
        'users:',
        '- name: u',
        '  user:',
        '    client-certificate: certs/me.crt',
        '    client-key: certs/me.key',
        'contexts:',
        '- name: x',
        '  context: {cluster: c, user: u}',
        'current-context: x',
        '',
      ].join('\n'),
    );
    kube.resetRequests();
    await client.getJson<V1Node>('/api/v1/nodes/n1', { timeoutMs: 5000 });
    expect(kube.requests().map((r) => r.auth)).toEqual(['certificate']);
  });

  test('client certificate inline (client-certificate-data), as the harness exports it', async () => {
    const noToken = await startKubeApiServer({ tls: { ...serverCert, clientCa: clientCert.ca }, clientCertificate: clientCert });
    try {
      noToken.put(node('n1'));
      const client = createRestClient(await loadKubeconfigFile(noToken.writeKubeconfig(join(dir, `harness-${++serial}`))));
      await client.getJson<V1Node>('/api/v1/nodes/n1', { timeoutMs: 5000 });
      expect(noToken.requests().map((r) => r.auth)).toEqual(['certificate']);
    } finally {
      await noToken.stop();
    }
  });

  const kubeconfig = (cluster: string[], user: string[]): string =>
    ['clusters:', '- name: c', '  cluster:', `    server: ${kube.url}`, ...cluster.map((l) => `    ${l}`), 'users:', '- name: u', '  user:', ...(user.length ? user.map((l) => `    ${l}`) : ['    {}']),
      'contexts:', '- name: x', '  context: {cluster: c, user: u}', 'current-context: x', ''].join('\n');

  test('the server certificate is verified: unknown CA fails, insecure-skip-tls-verify is the explicit opt-out', async () => {
    const untrusted = await fromKubeconfig(kubeconfig([], ['token: node-token']));
    const error = await failureOf(untrusted.getJson('/api/v1/nodes/n1', { timeoutMs: 5000 }));
    expect(String((error as Error).message)).toMatch(/self.signed certificate/);
    expect(httpStatusOf(error)).toBeUndefined();
    const insecure = await fromKubeconfig(kubeconfig(['insecure-skip-tls-verify: true'], ['token: node-token']));
    await expect(insecure.getJson<V1Node>('/api/v1/nodes/n1', { timeoutMs: 5000 })).resolves.toMatchObject({ metadata: { name: 'n1' } });
  });

  test('no credentials and a wrong token are 401 with the Status message', async () => {
    const ca = `certificate-authority-data: ${Buffer.from(serverCert.cert).toString('base64')}`;
    for (const user of [[], ['token: wrong']]) {
      const error = await failureOf((await fromKubeconfig(kubeconfig([ca], user))).getJson('/api/v1/nodes/n1', { timeoutMs: 5000 }));
      expect(error).toBeInstanceOf(RestError);
      expect(httpStatusOf(error)).toBe(401);
      expect(kubeErrorMessage(error)).toBe('Unauthorized');
    }
  });

  test('kubeconfig mistakes and logins we do not implement are refused by field name', async () => {
    const write = (text: string): string => {
      const path = join(dir, `bad-${++serial}`);
      writeFileSync(path, text);
      return path;
    };
    await expect(loadKubeconfigFile(write(kubeconfig([], ['exec: {command: aws}'])))).rejects.toThrow(/users\["u"\]\.user\.exec is not supported .*token/);
    await expect(loadKubeconfigFile(write(kubeconfig([], ['client-certificate-data: eA=='])))).rejects.toThrow(/client-certificate and client-key go together/);
    await expect(loadKubeconfigFile(write(kubeconfig(['proxy-url: http://proxy:3128'], [])))).rejects.toThrow(/proxy-url is not supported/);
    await expect(loadKubeconfigFile(write('clusters: []\n'))).rejects.toThrow('the kubeconfig has no current context with a cluster: set current-context in the kubeconfig');
    await expect(loadKubeconfigFile(write('current-context: x\ncontexts: []\n'))).rejects.toThrow(/contexts has no entry named "x"/);
    await expect(loadKubeconfigFile(write(kubeconfig(['certificate-authority: nowhere.pem'], [])))).rejects.toThrow(/nowhere\.pem: cannot read .*certificate-authority: ENOENT/);
    await expect(loadKubeconfigFile(write('a: [\n'))).rejects.toThrow(/not a valid kubeconfig \(YAML\)/);
    await expect(loadKubeconfigFile(join(dir, 'absent'))).rejects.toThrow(/absent: cannot read the kubeconfig: ENOENT/);
  });
});

describe('in-cluster service account', () => {
  const accountDir = (): { root: string; files: string } => {
    const root = join(dir, `sa-${++serial}`);
    const files = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(files, { recursive: true });
    writeFileSync(join(files, 'ca.crt'), serverCert.cert);
    return { root, files };
  };
  const env = (): NodeJS.ProcessEnv => ({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: new URL(kube.url).port });

  test('token and CA from the mounted files; a rotated token is used on the next request', async () => {
    const { root, files } = accountDir();
    writeFileSync(join(files, 'token'), 'expired-token\n');
    const config = await loadRestConfig(undefined, env(), { serviceAccountRoot: root });
    expect(config.server).toBe(kube.url);
    const client = createRestClient(config);
    expect(httpStatusOf(await failureOf(client.getJson('/api/v1/nodes/n1', { timeoutMs: 5000 })))).toBe(401);
    writeFileSync(join(files, 'token'), 'node-token\n'); // the kubelet rotates the projected token in place
    kube.resetRequests();
    await expect(client.getJson<V1Node>('/api/v1/nodes/n1', { timeoutMs: 5000 })).resolves.toMatchObject({ metadata: { name: 'n1' } });
    expect(kube.requests().map((r) => r.auth)).toEqual(['token']);
  });

  test('a missing token mount fails the request, naming the file and the fix; no service host is an error up front', async () => {
    const { root } = accountDir();
    const client = createRestClient(loadInCluster(env(), root));
    const error = await failureOf(client.getJson('/api/v1/nodes/n1', { timeoutMs: 5000 }));
    expect((error as Error).message).toMatch(/serviceaccount\/token: cannot read the service account's token .*automountServiceAccountToken.*ENOENT/);
    expect(() => loadInCluster({})).toThrow(/KUBERNETES_SERVICE_HOST.*--kubeconfig/);
    expect(loadInCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }).server).toBe('https://[fd00::1]:443');
  });
});

describe('request outcomes', () => {
  let client: RestClient;
  beforeAll(async () => {
    client = createRestClient(await loadKubeconfigFile(kube.writeKubeconfig(join(dir, 'outcomes'))));
  });

  test('404 and 403 keep the HTTP status and the Status message', async () => {
    const missing = await failureOf(client.getJson('/api/v1/nodes/ghost', { timeoutMs: 5000 }));
    expect(httpStatusOf(missing)).toBe(404);
    expect(kubeErrorMessage(missing)).toBe('nodes "ghost" not found');
    kube.setFault((r) => (r.path === '/api/v1/nodes/n1' ? 403 : undefined));
    try {
      const refused = await failureOf(client.getJson('/api/v1/nodes/n1', { timeoutMs: 5000 }));
      expect(httpStatusOf(refused)).toBe(403);
      expect(kubeErrorMessage(refused)).toBe('injected fault 403 for GET /api/v1/nodes/n1');
    } finally {
      kube.setFault(undefined);
    }
  });

  test('an API server that never answers is given up after the timeout, and the request is closed', async () => {
    kube.setFault((r) => (r.path === '/api/v1/nodes/n1' ? 'hang' : undefined));
    try {
      const started = Date.now();
      const error = await failureOf(client.getJson('/api/v1/nodes/n1', { timeoutMs: 300 }));
      expect(Date.now() - started).toBeLessThan(3000);
      expect((error as Error).message).toBe(`GET ${kube.url}/api/v1/nodes/n1: no answer within 0.3 s`);
      for (let i = 0; i < 100 && kube.hangingCount() > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(kube.hangingCount()).toBe(0);
    } finally {
      kube.setFault(undefined);
    }
  });

  test('a connection refused names the server', async () => {
    const gone = await startKubeApiServer();
    const url = gone.url;
    await gone.stop();
    const error = await failureOf(createRestClient({ server: url, credentials: async () => ({ tls: { rejectUnauthorized: true } }), source: 'test' }).getJson('/api/v1/nodes/n1', { timeoutMs: 5000 }));
    expect((error as Error).message).toMatch(new RegExp(`^GET ${url}/api/v1/nodes/n1: connect ECONNREFUSED`));
  });

  test('watch: events in order, resumed from a resourceVersion; ends on 410 Expired; rejects when refused', async () => {
    const start = kube.put(node('w1'));
    const seen: string[] = [];
    const stop = new AbortController();
    const watching = client.watch<V1Node>('/api/v1/nodes', { fieldSelector: 'metadata.name=w1', resourceVersion: start.metadata?.resourceVersion }, (type, object) => {
      seen.push(`${type} ${object.metadata?.labels?.['step'] ?? ''}`);
      if (object.metadata?.labels?.['step'] === '2') stop.abort();
    }, stop.signal);
    while (kube.watchCount() === 0) await new Promise((r) => setTimeout(r, 10));
    kube.put({ ...node('w1'), metadata: { name: 'w1', labels: { step: '1' } } });
    kube.put({ ...node('other'), metadata: { name: 'other', labels: { step: 'x' } } });
    kube.put({ ...node('w1'), metadata: { name: 'w1', labels: { step: '2' } } });
    await watching;
    expect(seen).toEqual(['MODIFIED 1', 'MODIFIED 2']);
    const watch = kube.requests().filter((r) => r.watch).at(-1);
    expect(watch?.query).toContain('watch=true');
    expect(watch?.query).toContain(`resourceVersion=${start.metadata?.resourceVersion}`);

    kube.compactHistory();
    const expired: string[] = [];
    await client.watch<{ code?: number }>('/api/v1/nodes', { resourceVersion: start.metadata?.resourceVersion }, (type, object) => expired.push(`${type} ${object.code}`), new AbortController().signal);
    expect(expired).toEqual(['ERROR 410']);

    kube.setFault((r) => (r.watch ? 403 : undefined));
    try {
      const refused = await failureOf(client.watch('/api/v1/nodes', {}, () => undefined, new AbortController().signal));
      expect(httpStatusOf(refused)).toBe(403);
    } finally {
      kube.setFault(undefined);
    }
    for (let i = 0; i < 100 && kube.watchCount() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(kube.watchCount()).toBe(0);
  });
});
