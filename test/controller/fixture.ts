/**
 * Test fixture: the zoned vCenter simulator of src/harness/world.ts (tag
 * category "k8s-zone" with tags zone-a/zone-b on clusters DC0_C0/DC0_C1,
 * created through the real vAPI REST endpoint; a datastore shared by every
 * host plus one datastore local to each zone's hosts), node VMs with
 * disk.EnableUUID=TRUE (the last one left without it), and the controller
 * served over a real unix socket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from '@jest/globals';
import type { Vcsim } from '../../src/harness/vcsim.js';
import { ZONE_CATEGORY, startWorld as startZonedWorld, type WorldDatastoreCluster, type WorldOptions } from '../../src/harness/world.js';
import { createVsphereClient } from '../../src/vsphere/client.js';
import type { VmInfo, VsphereClient } from '../../src/vsphere/api.js';
import { startCsiServer, type CsiServer } from '../../src/csi/server.js';
import { createIdentityService } from '../../src/csi/identity.js';
import { silentLogger } from '../../src/log.js';
import { createControllerService, type ControllerService } from '../../src/controller/service.js';
import { sessionIsLive } from '../../src/controller/mode.js';
import type { BatchingOptions } from '../../src/controller/context.js';
import type { SnapshotConfig } from '../../src/config/types.js';
import type { CsiMetrics } from '../../src/csi/metrics.js';
import { csiClient, type CsiTestClient } from './csi-client.js';

export const ZONE_KEY = `topology.csi.vmware.com/${ZONE_CATEGORY}`;
export const CLUSTER_ID = 'test-cluster';

export interface Zone {
  name: string;
  segment: Record<string, string>;
  datastoreUrl: string;
  hosts: string[];
}

export interface World {
  sim: Vcsim;
  /** SHA-1 fingerprint of the simulator's certificate: clients pin it. */
  thumbprint: string;
  client: VsphereClient;
  zones: Zone[];
  sharedDatastoreUrl: string;
  /** Node VMs with disk.EnableUUID=TRUE, zone-a VMs first. */
  nodes: VmInfo[];
  /** A VM without disk.EnableUUID. */
  unfitNode: VmInfo;
  /** With WorldOptions.datastoreCluster: the cluster and its members. */
  datastoreCluster?: WorldDatastoreCluster;
  stop(): Promise<void>;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const w = await startZonedWorld({ vmsPerPool: 3, vmsWithoutEnableUuid: 1, ...options });
  return {
    sim: w.sim,
    thumbprint: w.thumbprint,
    client: w.client,
    zones: w.zones.map((z) => ({ name: z.name, segment: { [ZONE_KEY]: z.name }, datastoreUrl: z.datastoreUrl, hosts: z.hosts })),
    sharedDatastoreUrl: w.sharedDatastoreUrl,
    nodes: w.vms.slice(0, -1),
    unfitNode: w.vms[w.vms.length - 1]!,
    datastoreCluster: w.datastoreCluster,
    stop: () => w.stop(),
  };
}

export async function stopWorld(world: World | undefined): Promise<void> {
  await world?.stop();
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
export interface ServeExtras {
  /** `[Snapshot]` limits (default: the driver's, 3 per volume). */
  snapshot?: SnapshotConfig;
  /** Per-RPC metrics of the CSI server. */
  metrics?: CsiMetrics;
}

export async function serveController(world: World, batching: Partial<BatchingOptions> = {}, extras: ServeExtras = {}): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'ctrl-sock-'));
  const client = createVsphereClient({ host: world.sim.hostname, port: world.sim.port, user: world.sim.username, password: world.sim.password, thumbprint: world.thumbprint });
  const controller = createControllerService({
    client,
    clusterId: CLUSTER_ID,
    vSphereUser: world.sim.username,
    labels: { topologyCategories: ['k8s-zone'] },
    batching,
    inventoryTtlMs: 60_000,
    snapshot: extras.snapshot,
  });
  let server: CsiServer | undefined;
  try {
    server = await startCsiServer({
      endpoint: `unix://${join(dir, 'csi.sock')}`,
      logger: silentLogger,
      metrics: extras.metrics,
      services: {
        Identity: createIdentityService({ topology: true, probe: () => sessionIsLive(client, silentLogger) }),
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

/** A world and a controller served on it, for the tests of one file or describe block. */
export interface UsedController {
  readonly world: World;
  readonly served: Served;
}

/**
 * Registers a beforeAll that starts a world and serves a controller on it
 * (the arguments are startWorld's and serveController's) and an afterAll
 * that stops both. Read `world` and `served` inside tests and hooks: they
 * are set once the beforeAll has run.
 */
export function useController(worldOptions: WorldOptions = {}, batching: Partial<BatchingOptions> = {}, extras: ServeExtras = {}): UsedController {
  let world: World | undefined;
  let served: Served | undefined;
  beforeAll(async () => {
    world = await startWorld(worldOptions);
    served = await serveController(world, batching, extras);
  }, 90_000);
  afterAll(async () => {
    await served?.stop();
    await stopWorld(world);
  });
  return {
    get world() {
      return world!;
    },
    get served() {
      return served!;
    },
  };
}

export const MOUNT_RWO = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
export const BLOCK_RWO = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
export const GiB = 1024 ** 3;
