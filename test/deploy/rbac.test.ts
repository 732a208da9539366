/**
 * RBAC against reality: the CPI, the node plugin and the controller (its
 * metadata syncer) run as real processes against the test Kubernetes API
 * server (one server each, so every request is attributed to its mode), and
 * every request they make must be allowed by that mode's ClusterRole/Role in
 * deploy/. The controller is driven through every syncer path that calls
 * the API: Lease, informers, Events (a static PV naming no disk), the
 * health annotation (publish of an unhealthy volume).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { createCsiClient } from '../../src/csi/client.js';
import { startKubeApiServer, type KubeApiRequest, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { boundClaim, claimPod, volumePv } from '../../src/harness/kube-volumes.js';
import { startWorld, worldCsiConfig, type World } from '../../src/harness/world.js';
import { kubeletNode, UNINITIALIZED_TAINT, vmwareProductSerial } from '../../src/demo/node-objects.js';
import { startMode, waitReady, type ModeProcess } from '../../src/demo/processes.js';
import { loadManifests, type Manifest } from './manifests.js';
import { builtMain } from '../support/built-main.js';

const NAMESPACE = 'vmware-system-csi';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
interface Access {
  group: string;
  resource: string;
  verb: string;
  namespace?: string;
}

/** Maps a REST request to the RBAC attributes the API server would check. */
export function accessOf(req: Pick<KubeApiRequest, 'method' | 'path' | 'watch'>): Access {
  const parts = req.path.split('/').filter(Boolean);
  const [group, rest] = parts[0] === 'api' ? ['', parts.slice(2)] : [parts[1]!, parts.slice(3)];
  let namespace: string | undefined;
  let i = 0;
  if (rest[0] === 'namespaces' && rest.length > 2) {
    namespace = rest[1];
    i = 2;
  }
  const resource = rest[i]!;
  const name = rest[i + 1];
  const sub = rest[i + 2];
  const verbs: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  const verb = req.method === 'GET' ? (req.watch ? 'watch' : name ? 'get' : 'list') : verbs[req.method]!;
  return { group, resource: sub ? `${resource}/${sub}` : resource, verb, namespace };
}

function rulesFor(manifests: Manifest[], serviceAccount: string): { cluster: Rule[]; namespaced: Rule[] } {
  const roles = (bindingKind: string, roleKind: string): Rule[] =>
    manifests
      .filter((m) => m.kind === bindingKind && m.subjects.some((s: { name: string }) => s.name === serviceAccount))
      .flatMap((b) => manifests.filter((m) => m.kind === roleKind && m.metadata.name === b.roleRef.name).flatMap((r) => r.rules as Rule[]));
  return { cluster: roles('ClusterRoleBinding', 'ClusterRole'), namespaced: roles('RoleBinding', 'Role') };
}

function allowed(rules: { cluster: Rule[]; namespaced: Rule[] }, a: Access): boolean {
  const match = (r: Rule): boolean => r.apiGroups.includes(a.group) && r.resources.includes(a.resource) && r.verbs.includes(a.verb);
  return rules.cluster.some(match) || (a.namespace === NAMESPACE && rules.namespaced.some(match));
}

function denied(rules: { cluster: Rule[]; namespaced: Rule[] }, requests: KubeApiRequest[]): string[] {
  return [...new Set(requests.map(accessOf).filter((a) => !allowed(rules, a)).map((a) => `${a.verb} ${a.group || 'core'}/${a.resource}${a.namespace ? ` in ${a.namespace}` : ''}`))];
}

const manifests = loadManifests();

/** What the controller's syncer must have called once exerciseController is done ("(ns)": in the controller's namespace). */
const CONTROLLER_CALLS = [
  'list persistentvolumes', 'watch persistentvolumes', 'list persistentvolumeclaims', 'watch persistentvolumeclaims', 'list pods', 'watch pods',
  'get persistentvolumeclaims', 'patch persistentvolumeclaims', 'create events', 'get leases (ns)', 'create leases (ns)', 'update leases (ns)',
];
const callsSeen = (requests: KubeApiRequest[]): Set<string> =>
  new Set(requests.map(accessOf).map((a) => `${a.verb} ${a.resource}${a.namespace === NAMESPACE ? ' (ns)' : ''}`));

describe('RBAC in deploy/ covers every Kubernetes call each mode makes', () => {
  let world: World;
  let kubeCpi: KubeApiServer;
  let kubeNode: KubeApiServer;
  let kubeController: KubeApiServer;
  let dir: string;
  const procs: ModeProcess[] = [];

  beforeAll(async () => {
    builtMain(); // fails clearly when dist/ is stale
    dir = mkdtempSync(path.join(tmpdir(), 'rbac-'));
    world = await startWorld();
    kubeCpi = await startKubeApiServer();
    kubeNode = await startKubeApiServer();
    kubeController = await startKubeApiServer();
    for (const [i, vm] of world.vms.entries()) {
      kubeCpi.put(kubeletNode(`node-${i}`, vm.biosUuid!));
      const labelled = kubeletNode(`node-${i}`, vm.biosUuid!);
      labelled.spec = {};
      labelled.metadata!.labels = { ...labelled.metadata!.labels, 'topology.kubernetes.io/zone': 'zone-a' };
      kubeNode.put(labelled);
    }
    // Credentials from a Secret, so the CPI's Secret read is exercised too.
    kubeCpi.put({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vsphere-creds', namespace: NAMESPACE },
      data: {
        [`${world.sim.hostname}.username`]: Buffer.from(world.sim.username).toString('base64'),
        [`${world.sim.hostname}.password`]: Buffer.from(world.sim.password).toString('base64'),
      },
    } as never);
    const cpiConfig = path.join(dir, 'vsphere.yaml');
    writeFileSync(cpiConfig, [
      'global:',
      `  port: ${world.sim.port}`,
      `  thumbprint: "${world.thumbprint}"`,
      '  secretName: vsphere-creds',
      `  secretNamespace: ${NAMESPACE}`,
      'vcenter:',
      `  ${world.sim.hostname}:`,
      `    server: ${world.sim.hostname}`,
      '    datacenters: [DC0]',
      'labels:',
      '  zone: k8s-zone',
      '  region: k8s-region',
      '',
    ].join('\n'));
    const logs = path.join(dir, 'logs');
    mkdirSync(logs);
    procs.push(startMode('cpi', ['cpi', '--cloud-config', cpiConfig, '--kubeconfig', kubeCpi.writeKubeconfig(path.join(dir))],
      { POD_NAMESPACE: NAMESPACE, POD_NAME: 'vsphere-cpi-0', CPI_LEASE_DURATION_SECONDS: '3' }, logs));
    const nodeKubeDir = mkdtempSync(path.join(dir, 'node-'));
    const endpoint = `unix://${path.join(dir, 'node.sock')}`;
    const dmi = mkdtempSync(path.join(dir, 'dmi-'));
    writeFileSync(path.join(dmi, 'product_serial'), vmwareProductSerial(world.vms[0]!.biosUuid!));
    // The node plugin reads topology labels only when [Labels] configures topology (its Node here carries a zone).
    const nodeConfig = path.join(dir, 'csi-vsphere.conf');
    writeFileSync(nodeConfig, '[Labels]\nzone = k8s-zone\n');
    const node = startMode('node', ['node', '--endpoint', endpoint, '--kubeconfig', kubeNode.writeKubeconfig(nodeKubeDir), '--node-name', 'node-0', '--dmi-dir', dmi, '--config', nodeConfig], {}, logs);
    procs.push(node);
    await waitReady(endpoint, node);
    const client = createCsiClient(endpoint);
    try {
      const info = await client.call<{ accessible_topology: { segments: Record<string, string> } }>('Node', 'NodeGetInfo', {});
      expect(info.accessible_topology.segments['topology.kubernetes.io/zone']).toBe('zone-a');
    } finally {
      client.close();
    }
    const started = Date.now();
    for (;;) {
      const nodes = kubeCpi.list<V1Node>('Node');
      if (nodes.every((n) => n.spec?.providerID && !(n.spec.taints ?? []).some((t) => t.key === UNINITIALIZED_TAINT))) break;
      if (Date.now() - started > 60_000) {
        const log = readdirSync(logs).map((f) => readFileSync(path.join(logs, f), 'utf8').slice(-2000)).join('\n');
        throw new Error(`CPI did not initialize the nodes: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await exerciseController(logs);
    for (const p of procs) await p.stop();
  }, 180_000);

  /** Controller mode with its syncer: a provisioned, bound, mounted volume; a static PV naming no disk; publish of an unhealthy volume. */
  async function exerciseController(logs: string): Promise<void> {
    const config = path.join(dir, 'controller.conf');
    writeFileSync(config, worldCsiConfig(world, 'rbac-cluster'), { mode: 0o600 });
    const endpoint = `unix://${path.join(dir, 'controller.sock')}`;
    const kubeconfig = kubeController.writeKubeconfig(mkdtempSync(path.join(dir, 'controller-')));
    const controller = startMode('controller', ['controller', '--endpoint', endpoint, '--config', config, '--kubeconfig', kubeconfig], {
      POD_NAMESPACE: NAMESPACE, POD_NAME: 'vsphere-csi-controller-0', VSPHERE_SYNCER_LEASE_DURATION_SECONDS: '3', VSPHERE_CSI_SYNC_WINDOW_MS: '50',
    }, logs);
    procs.push(controller);
    await waitReady(endpoint, controller);
    const client = createCsiClient(endpoint);
    const mount = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
    try {
      const created = await client.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', {
        name: 'pvc-rbac-1', volume_capabilities: [mount],
        parameters: { 'csi.storage.k8s.io/pv/name': 'pvc-rbac-1', 'csi.storage.k8s.io/pvc/name': 'data', 'csi.storage.k8s.io/pvc/namespace': 'apps' },
      });
      const id = created.volume.volume_id;
      kubeController.put(volumePv('pvc-rbac-1', id, { namespace: 'apps', name: 'data' }));
      kubeController.put(boundClaim('apps', 'data', 'pvc-rbac-1', { app: 'rbac' }));
      kubeController.put(claimPod('apps', 'web-0', 'data', 'node-0'));
      kubeController.put(volumePv('pvc-rbac-static', '5f0e9a3c-0000-4000-8000-00000000dead'));
      await world.sim.setCnsHealth(id, 'red');
      await client.call('Controller', 'ControllerPublishVolume', { volume_id: id, node_id: world.vms[0]!.biosUuid, volume_capability: mount, readonly: false });
      const started = Date.now();
      // The publish-time health check (GET, then PATCH of the claim) runs after a short window, in the background.
      const done = (): boolean => {
        const seen = callsSeen(kubeController.requests());
        return CONTROLLER_CALLS.every((x) => seen.has(x));
      };
      while (!done()) {
        if (Date.now() - started > 30_000) throw new Error(`the controller's syncer did not make its calls: ${readFileSync(controller.logFile, 'utf8').slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await client.call('Controller', 'ControllerUnpublishVolume', { volume_id: id, node_id: world.vms[0]!.biosUuid });
    } finally {
      client.close();
    }
  }

  afterAll(async () => {
    for (const p of procs) await p.stop();
    await kubeCpi?.stop();
    await kubeNode?.stop();
    await kubeController?.stop();
    await world?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the request-to-permission mapping follows the API server', () => {
    expect(accessOf({ method: 'GET', path: '/api/v1/nodes', watch: true })).toEqual({ group: '', resource: 'nodes', verb: 'watch', namespace: undefined });
    expect(accessOf({ method: 'PATCH', path: '/api/v1/nodes/n1/status', watch: false })).toMatchObject({ resource: 'nodes/status', verb: 'patch' });
    expect(accessOf({ method: 'PUT', path: '/apis/coordination.k8s.io/v1/namespaces/ns/leases/l', watch: false })).toEqual({ group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: 'ns' });
    // The check is live: a call the node role does not grant is reported.
    expect(denied(rulesFor(manifests, 'vsphere-csi-node'), [{ method: 'DELETE', path: '/api/v1/nodes/n1', watch: false, query: '', contentType: undefined }])).toEqual(['delete core/nodes']);
  });

  test('cpi: every call is granted to the vsphere-cpi service account', () => {
    const requests = kubeCpi.requests();
    const seen = new Set(requests.map(accessOf).map((a) => `${a.verb} ${a.resource}`));
    for (const expected of ['list nodes', 'watch nodes', 'patch nodes', 'get secrets', 'create leases']) expect(seen).toContain(expected);
    expect(denied(rulesFor(manifests, 'vsphere-cpi'), requests)).toEqual([]);
  });

  test('node: every call is granted to the vsphere-csi-node service account', () => {
    const requests = kubeNode.requests();
    expect(requests.map(accessOf).some((a) => a.resource === 'nodes' && a.verb === 'get')).toBe(true);
    expect(denied(rulesFor(manifests, 'vsphere-csi-node'), requests)).toEqual([]);
  });

  test('controller: every call of its metadata syncer is granted to the vsphere-csi-controller service account', () => {
    const requests = kubeController.requests();
    const seen = callsSeen(requests);
    for (const expected of CONTROLLER_CALLS) expect(seen).toContain(expected);
    expect(denied(rulesFor(manifests, 'vsphere-csi-controller'), requests)).toEqual([]);
  });
});
