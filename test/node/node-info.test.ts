/**
 * NodeGetInfo over gRPC: node id from a fake DMI folder, topology from the
 * Node's labels in the in-process Kubernetes API server, including the
 * bounded wait for the CPI to initialize the node.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { startCsiServer, type CsiServer } from '../../src/csi/server.js';
import type { LabelsConfig } from '../../src/config/types.js';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { createRestClient, type RestClient } from '../../src/kube/rest-client.js';
import { loadKubeconfigFile } from '../../src/kube/rest-config.js';
import { silentLogger } from '../../src/log.js';
import { createNodeOs } from '../../src/node/os/index.js';
import { createNodeService } from '../../src/node/service.js';
import { UNINITIALIZED_TAINT } from '../../src/contract/taints.js';
import { createKubeTopology, NODE_READ_TIMEOUT_MS, topologyFromNode } from '../../src/node/topology.js';
import { connectNodeClient, grpc, statusOf, type NodeClient } from './node-client.js';

const ZONE_ONLY: LabelsConfig = { topologyCategories: [], zone: 'k8s-zone' };

const nodeObject = (name: string, labels: Record<string, string>, tainted = false): V1Node => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels },
  spec: tainted ? { taints: [{ key: UNINITIALIZED_TAINT, value: 'true', effect: 'NoSchedule' }] } : {},
});

describe('topology from Node labels', () => {
  test('categories: every configured key is required', () => {
    const labels = { topologyCategories: ['k8s-zone', 'k8s-region'] };
    expect(topologyFromNode(nodeObject('n', { 'topology.csi.vmware.com/k8s-zone': 'z1', 'topology.csi.vmware.com/k8s-region': 'r1', other: 'x' }), labels)).toEqual({
      ready: true,
      segments: { 'topology.csi.vmware.com/k8s-zone': 'z1', 'topology.csi.vmware.com/k8s-region': 'r1' },
    });
    expect(topologyFromNode(nodeObject('n', { 'topology.csi.vmware.com/k8s-zone': 'z1' }), labels)).toEqual({ ready: false, missing: 'label topology.csi.vmware.com/k8s-region' });
  });
  test('legacy zone config: zone/region and legacy keys when present', () => {
    expect(topologyFromNode(nodeObject('n', { 'topology.kubernetes.io/zone': 'z', 'failure-domain.beta.kubernetes.io/zone': 'z' }), ZONE_ONLY)).toEqual({
      ready: true,
      segments: { 'topology.kubernetes.io/zone': 'z', 'failure-domain.beta.kubernetes.io/zone': 'z' },
    });
  });
  test('legacy zone/region config requires the labels; the uninitialized taint always waits', () => {
    expect(topologyFromNode(nodeObject('n', {}), { topologyCategories: [], zone: 'k8s-zone' })).toEqual({ ready: false, missing: 'label topology.kubernetes.io/zone' });
    expect(topologyFromNode(nodeObject('n', { 'failure-domain.beta.kubernetes.io/zone': 'z' }), { topologyCategories: [], zone: 'k8s-zone' })).toMatchObject({ ready: true });
    expect(topologyFromNode(nodeObject('n', { 'topology.kubernetes.io/zone': 'z' }, true), ZONE_ONLY)).toEqual({ ready: false, missing: `taint ${UNINITIALIZED_TAINT} to be removed` });
  });
});

describe('NodeGetInfo over gRPC', () => {
  let root: string;
  let kube: KubeApiServer;
  let rest: RestClient;
  const servers: Array<{ server: CsiServer; client: NodeClient }> = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'csi-node-info-'));
    kube = await startKubeApiServer();
    rest = createRestClient(await loadKubeconfigFile(kube.writeKubeconfig(root)));
  });

  afterAll(async () => {
    for (const { server, client } of servers) {
      client.close();
      await server.close();
    }
    await kube?.stop();
    await rm(root, { recursive: true, force: true });
  });

  /** A Node service with its own DMI folder and socket; topology when labels are given. */
  const serve = async (name: string, dmi: Record<string, string>, topology?: { labels: LabelsConfig; waitMs: number; readTimeoutMs?: number }): Promise<NodeClient> => {
    const dmiDir = join(root, name, 'dmi');
    await mkdir(dmiDir, { recursive: true });
    for (const [file, text] of Object.entries(dmi)) await writeFile(join(dmiDir, file), text);
    const node = createNodeService({
      os: createNodeOs({ deviceDir: join(root, name, 'by-id') }),
      nodeName: name,
      dmiDir,
      maxVolumesPerNode: 30,
      ...(topology
        ? {
            topology: createKubeTopology({
              kube: rest, nodeName: name, logger: silentLogger, waitMs: topology.waitMs, labels: topology.labels,
              ...(topology.readTimeoutMs ? { readTimeoutMs: topology.readTimeoutMs } : {}),
            }),
          }
        : {}),
    });
    const server = await startCsiServer({ endpoint: `unix://${join(root, name, 'csi.sock')}`, logger: silentLogger, services: { Identity: {}, Node: node } });
    const client = connectNodeClient(server.socketPath);
    servers.push({ server, client });
    return client;
  };

  type Info = { node_id: string; max_volumes_per_node: string; accessible_topology: { segments: Record<string, string> } | null };

  test('product_uuid is the fallback when the serial is not in VMware form; no topology without Kubernetes', async () => {
    const client = await serve('plain', { product_serial: 'None\n', product_uuid: '421E8C4A-2B3C-4D5E-6F70-8192A3B4C5D6\n' });
    const info = await client.call<Info>('NodeGetInfo', {});
    expect(info).toEqual({ node_id: '421e8c4a-2b3c-4d5e-6f70-8192a3b4c5d6', max_volumes_per_node: '30', accessible_topology: null });
  });

  test('an unreadable DMI folder is an error that says how to fix it', async () => {
    const client = await serve('nodmi', {});
    const status = await statusOf(client.call('NodeGetInfo', {}));
    expect(status.code).toBe(grpc.status.INTERNAL);
    expect(status.details).toContain('product_serial');
  });

  test('zone/region labels become the accessible topology', async () => {
    kube.put(nodeObject('zoned', { 'topology.kubernetes.io/zone': 'zone-a', 'topology.kubernetes.io/region': 'region-1' }));
    const client = await serve('zoned', { product_serial: 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6' }, { labels: { ...ZONE_ONLY, region: 'k8s-region' }, waitMs: 1000 });
    const info = await client.call<Info>('NodeGetInfo', {});
    expect(info.accessible_topology).toEqual({ segments: { 'topology.kubernetes.io/zone': 'zone-a', 'topology.kubernetes.io/region': 'region-1' } });
  });

  test('waits (watch) until the CPI removes the taint and labels the node', async () => {
    const labels = { topologyCategories: ['k8s-zone'] };
    kube.put(nodeObject('late', {}, true));
    const client = await serve('late', { product_serial: 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6' }, { labels, waitMs: 20_000 });
    const pending = client.call<Info>('NodeGetInfo', {});
    await new Promise((r) => setTimeout(r, 300));
    kube.put(nodeObject('late', {}, false)); // taint gone, label not yet there: keeps waiting
    await new Promise((r) => setTimeout(r, 200));
    kube.put(nodeObject('late', { 'topology.csi.vmware.com/k8s-zone': 'zone-b' }, false));
    const info = await pending;
    expect(info.accessible_topology).toEqual({ segments: { 'topology.csi.vmware.com/k8s-zone': 'zone-b' } });
    expect(kube.requests().some((r) => r.watch && r.path === '/api/v1/nodes')).toBe(true);
  });

  test('a label that never appears fails after the bound, naming the label and the CPI', async () => {
    kube.put(nodeObject('never', {}));
    const client = await serve('never', { product_serial: 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6' }, { labels: { topologyCategories: ['k8s-zone'] }, waitMs: 500 });
    const status = await statusOf(client.call('NodeGetInfo', {}));
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toContain('label topology.csi.vmware.com/k8s-zone');
    expect(status.details).toContain('CPI');
  });

  test('the wait ends before the caller\'s deadline, with the reason instead of DEADLINE_EXCEEDED', async () => {
    kube.put(nodeObject('slow', {}, true));
    const client = await serve('slow', { product_serial: 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6' }, { labels: ZONE_ONLY, waitMs: 60_000 });
    const status = await statusOf(client.call('NodeGetInfo', {}, 2500));
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toContain(`taint ${UNINITIALIZED_TAINT}`);
  });

  test('a Node missing from the API points at NODE_NAME', async () => {
    const client = await serve('ghost', { product_serial: 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6' }, { labels: ZONE_ONLY, waitMs: 500 });
    const status = await statusOf(client.call('NodeGetInfo', {}));
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toContain('NODE_NAME');
  });

  const SERIAL = { product_serial: 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6' };

  /** NodeGetInfo of Node `name` while the API server answers its read with `fault`. */
  const infoDuringFault = async (name: string, fault: number | 'hang', readTimeoutMs?: number): Promise<{ code: number; details: string }> => {
    kube.put(nodeObject(name, {}));
    const client = await serve(name, SERIAL, { labels: ZONE_ONLY, waitMs: 500, ...(readTimeoutMs ? { readTimeoutMs } : {}) });
    kube.setFault((r) => (r.path === `/api/v1/nodes/${name}` ? fault : undefined));
    try {
      return await statusOf(client.call('NodeGetInfo', {}, 10_000));
    } finally {
      kube.setFault(undefined);
    }
  };

  test('a refused read (403) names the RBAC the node plugin needs', async () => {
    expect(await infoDuringFault('forbidden', 403)).toEqual({
      code: grpc.status.FAILED_PRECONDITION,
      details: "reading Node forbidden was refused (HTTP 403): the node plugin's ServiceAccount needs get, list and watch on nodes",
    });
  });

  test('an API server that never answers fails the read after its bound (10 s by default) as UNAVAILABLE', async () => {
    expect(NODE_READ_TIMEOUT_MS).toBe(10_000);
    expect(await infoDuringFault('hung', 'hang', 300)).toEqual({
      code: grpc.status.UNAVAILABLE,
      details: `reading Node hung from the Kubernetes API failed: GET ${kube.url}/api/v1/nodes/hung: no answer within 0.3 s`,
    });
  });

  test('other API failures are UNAVAILABLE with the Status message', async () => {
    expect(await infoDuringFault('broken', 500)).toEqual({
      code: grpc.status.UNAVAILABLE,
      details: 'reading Node broken from the Kubernetes API failed: injected fault 500 for GET /api/v1/nodes/broken',
    });
  });
});
