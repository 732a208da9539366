/**
 * Test fixture: a vCenter simulator shaped as two zones (a tag category
 * "k8s-zone" with tags zone-a/zone-b on clusters DC0_C0/DC0_C1, created
 * through the real vAPI REST endpoint), a datastore shared by every host
 * plus one datastore local to each zone's hosts, node VMs with
 * disk.EnableUUID=TRUE (one VM left without it), and the controller served
 * over a real unix socket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { createVsphereClient } from '../../src/vsphere/client.js';
import type { VmInfo, VsphereClient } from '../../src/vsphere/api.js';
import { startCsiServer, type CsiServer } from '../../src/csi/server.js';
import { createIdentityService } from '../../src/csi/identity.js';
import { silentLogger } from '../../src/log.js';
import { createControllerService, type ControllerService } from '../../src/controller/service.js';
import { sessionIsLive } from '../../src/controller/mode.js';
import type { BatchingOptions } from '../../src/controller/context.js';
import { csiClient, type CsiTestClient } from './csi-client.js';
import { RawVim } from './vcsim-soap.js';

export const ZONE_KEY = 'topology.csi.vmware.com/k8s-zone';
export const CLUSTER_ID = 'test-cluster';

export interface Zone {
  name: string;
  segment: Record<string, string>;
  datastoreUrl: string;
  hosts: string[];
}

export interface World {
  sim: Vcsim;
  client: VsphereClient;
  zones: Zone[];
  sharedDatastoreUrl: string;
  /** Node VMs with disk.EnableUUID=TRUE, zone-a VMs first. */
  nodes: VmInfo[];
  /** A VM without disk.EnableUUID. */
  unfitNode: VmInfo;
  dirs: string[];
}

export async function startWorld(): Promise<World> {
  const dirs: string[] = [];
  const sim = await startVcsim({ clusters: 2, hostsPerCluster: 2, vmsPerPool: 3, datastores: 1, standaloneHosts: 0 });
  const client = createVsphereClient({ host: sim.hostname, port: sim.port, user: sim.username, password: sim.password, insecure: true });
  try {
    const clusters = (await client.inventory.clusters()).sort((a, b) => (a.name < b.name ? -1 : 1));
    const raw = new RawVim(sim);
    await raw.login();
    const category = await client.tags.createCategory('k8s-zone', { associableTypes: ['ClusterComputeResource'], cardinality: 'SINGLE' });
    const zones: Zone[] = [];
    for (const [i, cluster] of clusters.entries()) {
      const name = `zone-${String.fromCharCode(97 + i)}`;
      const tag = await client.tags.createTag(name, category);
      await client.tags.attachTag(tag, cluster.ref);
      const dir = mkdtempSync(join(tmpdir(), `ctrl-ds-${name}-`));
      dirs.push(dir);
      await raw.createLocalDatastore(cluster.hosts.map((h) => h.value), `${name}-ds`, dir);
      zones.push({ name, segment: { [ZONE_KEY]: name }, datastoreUrl: dir, hosts: cluster.hosts.map((h) => h.value) });
    }
    client.tags.invalidate();
    const datastores = await client.inventory.datastores();
    const shared = datastores.find((d) => d.name === 'LocalDS_0')!;
    const vms = (await client.inventory.vms()).sort((a, b) => (a.name < b.name ? -1 : 1));
    const unfitNode = vms[vms.length - 1]!;
    for (const vm of vms.slice(0, -1)) await client.inventory.setExtraConfig(vm.ref, { 'disk.EnableUUID': 'TRUE' });
    return { sim, client, zones, sharedDatastoreUrl: shared.url, nodes: vms.slice(0, -1), unfitNode, dirs };
  } catch (err) {
    await client.close();
    await sim.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    throw err;
  }
}

export async function stopWorld(world: World | undefined): Promise<void> {
  if (!world) return;
  await world.client.close().catch(() => undefined);
  await world.sim.stop();
  for (const d of world.dirs) rmSync(d, { recursive: true, force: true });
}

export interface Served {
  controller: ControllerService;
  server: CsiServer;
  csi: CsiTestClient;
  identity: CsiTestClient;
  dir: string;
  stop(): Promise<void>;
}

/** The controller on its own socket, over its own vCenter client (like a real process). */
export async function serveController(world: World, batching: Partial<BatchingOptions> = {}): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'ctrl-sock-'));
  const client = createVsphereClient({ host: world.sim.hostname, port: world.sim.port, user: world.sim.username, password: world.sim.password, insecure: true });
  const controller = createControllerService({
    client,
    clusterId: CLUSTER_ID,
    vSphereUser: world.sim.username,
    labels: { topologyCategories: ['k8s-zone'] },
    batching,
    inventoryTtlMs: 60_000,
  });
  let server: CsiServer | undefined;
  try {
    server = await startCsiServer({
      endpoint: `unix://${join(dir, 'csi.sock')}`,
      logger: silentLogger,
      services: {
        Identity: createIdentityService({ mode: 'controller', probe: () => sessionIsLive(client, silentLogger) }),
        Controller: controller.service,
      },
    });
  } catch (err) {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const csi = csiClient('Controller', server.socketPath);
  const identity = csiClient('Identity', server.socketPath);
  const srv = server;
  return {
    controller,
    server: srv,
    csi,
    identity,
    dir,
    stop: async () => {
      csi.close();
      identity.close();
      await srv.close();
      await client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const MOUNT_RWO = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
export const BLOCK_RWO = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
export const GiB = 1024 ** 3;
