/**
 * `vsphere-csi cpi` mode end to end, in process: CPI YAML config with the
 * credentials in a Kubernetes Secret, two replicas on one Lease, exactly one
 * acting; when the leader goes away the other takes over and initializes
 * nodes; close() logs out of vCenter.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { V1Lease } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { createLogger } from '../../src/log.js';
import { runCpiMode } from '../../src/cpi/mode.js';
import type { ModeHandle } from '../../src/cli/mode-types.js';
import { hasUninitTaint, pendingNode, setGuest, startTaggedSim, waitFor, waitForNode, type TaggedSim } from './helpers.js';

let env: TaggedSim;
let kube: KubeApiServer;
let dir: string;

beforeAll(async () => {
  env = await startTaggedSim(2);
  kube = await startKubeApiServer();
  dir = mkdtempSync(join(tmpdir(), 'cpi-mode-'));
}, 120000);

afterAll(async () => {
  await kube?.stop();
  await env?.admin.close().catch(() => undefined);
  await env?.sim.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Replica {
  handle: ModeHandle;
  lines: string[];
  registry: Registry;
}

async function startReplica(configPath: string, kubeconfig: string, lease = 'vsphere-cpi'): Promise<Replica> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger({ level: 'info', destination: sink });
  const registry = new Registry();
  const handle = await runCpiMode(
    {
      mode: 'cpi', endpoint: '', configPath: '', cloudConfigPath: configPath, logLevel: 'info', output: 'text', kubeconfig,
      env: { POD_NAMESPACE: 'kube-system', CPI_LEASE_DURATION_SECONDS: '3', CPI_LEASE_NAME: lease },
      metricsRegistry: registry,
    },
    logger,
  );
  return { handle, lines, registry };
}

const initializedBy = (r: Replica, node: string): boolean =>
  r.lines.some((l) => l.includes('"node initialized"') && l.includes(`"node":"${node}"`));

/** Writes the CPI YAML (credentials in a Secret) and a kubeconfig; returns their paths. */
function writeConfig(): { configPath: string; kubeconfig: string } {
  const server = env.sim.hostname;
  kube.put({
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vsphere-cpi-creds', namespace: 'kube-system' },
    data: {
      [`${server}.username`]: Buffer.from(env.sim.username).toString('base64'),
      [`${server}.password`]: Buffer.from(env.sim.password).toString('base64'),
    },
  } as never);
  const configPath = join(dir, 'vsphere.conf');
  writeFileSync(configPath, [
    'global:',
    `  port: ${env.sim.port}`,
    '  insecureFlag: true',
    '  secretName: vsphere-cpi-creds',
    '  secretNamespace: kube-system',
    'vcenter:',
    '  sim:',
    `    server: ${server}`,
    '    datacenters:',
    '      - DC0',
    'labels:',
    '  zone: k8s-zone',
    '  region: k8s-region',
    '',
  ].join('\n'));
  return { configPath, kubeconfig: kube.writeKubeconfig(dir) };
}

test('two replicas: one leader initializes nodes; failover when it stops; credentials from a Secret; logout on close', async () => {
  const [vmA, vmB] = env.vms.filter((v) => v.biosUuid);
  await setGuest(env.admin, vmA!.ref, 'mode-a', '10.40.0.1');
  await setGuest(env.admin, vmB!.ref, 'mode-b', '10.40.0.2');
  const { configPath, kubeconfig } = writeConfig();

  const first = await startReplica(configPath, kubeconfig);
  const second = await startReplica(configPath, kubeconfig);
  let stopped: Replica | undefined;
  try {
    kube.put(pendingNode('mode-a', vmA!.biosUuid));
    const a = await waitForNode(kube, 'mode-a', (n) => !!n && !hasUninitTaint(n), 20000);
    expect(a!.spec!.providerID).toBe(`vsphere://${vmA!.biosUuid}`);
    expect(a!.metadata!.labels!['topology.kubernetes.io/region']).toBe('region-1');

    await waitFor(() => initializedBy(first, 'mode-a') || initializedBy(second, 'mode-a'), 'the initialization to be logged');
    const leader = initializedBy(first, 'mode-a') ? first : second;
    const follower = leader === first ? second : first;
    expect(initializedBy(follower, 'mode-a')).toBe(false); // only the lease holder acts
    const lease = kube.get<V1Lease>('coordination.k8s.io/v1', 'Lease', 'kube-system', 'vsphere-cpi');
    expect(lease?.spec?.holderIdentity).toBeTruthy();
    const leaderMetrics = await leader.registry.metrics();
    expect(leaderMetrics).toMatch(/^vsphere_cpi_nodes_initialized_total 1$/m);
    expect(leaderMetrics).toMatch(/^vsphere_cpi_leader 1$/m);
    expect(leaderMetrics).toMatch(/^vsphere_cpi_vcenter_requests_total\{vcenter="127\.0\.0\.1"\} \d+$/m);
    expect(await follower.registry.metrics()).toMatch(/^vsphere_cpi_leader 0$/m);

    await env.sim.resetRequests();
    await leader.handle.close();
    stopped = leader;
    const afterClose = await env.sim.requests();
    expect(Object.keys(afterClose.byMethod).some((k) => k.includes('Logout'))).toBe(true);

    kube.put(pendingNode('mode-b', vmB!.biosUuid));
    await waitForNode(kube, 'mode-b', (n) => !!n && !hasUninitTaint(n), 20000);
    await waitFor(() => initializedBy(follower, 'mode-b'), 'the new leader to log the initialization');
    expect(initializedBy(leader, 'mode-b')).toBe(false);
  } finally {
    for (const r of [first, second]) if (r !== stopped) await r.handle.close();
  }
}, 90000);

test('a leader cut off from the API server stops acting; the other replica takes over after the lease expires', async () => {
  const vms = env.vms.filter((v) => v.biosUuid);
  const vmC = vms[2]!;
  await setGuest(env.admin, vmC.ref, 'mode-c', '10.40.0.3');
  const { configPath, kubeconfig } = writeConfig();
  const first = await startReplica(configPath, kubeconfig, 'cutoff');
  const second = await startReplica(configPath, kubeconfig, 'cutoff');
  try {
    const holder = (): string | undefined => kube.get<V1Lease>('coordination.k8s.io/v1', 'Lease', 'kube-system', 'cutoff')?.spec?.holderIdentity;
    await waitFor(() => !!holder(), 'a leader');
    const oldLeader = holder()!;
    // Every lease write by the old leader now fails, as if it lost its connection to the API server.
    kube.setFault((req) => {
      const spec = (req.body as { spec?: { holderIdentity?: string } } | undefined)?.spec;
      return req.path.includes('/leases/') && req.method !== 'GET' && spec?.holderIdentity === oldLeader ? 503 : undefined;
    });
    await waitFor(() => !!holder() && holder() !== oldLeader, 'a new lease holder', 20000);
    const leader = [first, second].find((r) => r.lines.some((l) => l.includes('became leader')) && r.lines.some((l) => l.includes('lost or released leadership')));
    expect(leader).toBeDefined(); // the old leader stepped down
    const follower = leader === first ? second : first;
    kube.put(pendingNode('mode-c', vmC.biosUuid));
    await waitForNode(kube, 'mode-c', (n) => !!n && !hasUninitTaint(n), 20000);
    await waitFor(() => initializedBy(follower, 'mode-c'), 'the new leader to initialize the node');
    expect(initializedBy(leader!, 'mode-c')).toBe(false);
  } finally {
    kube.setFault(undefined);
    await first.handle.close();
    await second.handle.close();
  }
}, 90000);
