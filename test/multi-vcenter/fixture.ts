/**
 * The controller mode as the CLI runs it, over a csi-vsphere.conf naming
 * two vCenters (two simulators, src/harness/sites.ts), on a real unix
 * socket, with its log lines and its metrics registry kept for assertions.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll } from '@jest/globals';
import { Registry } from 'prom-client';
import { runControllerMode, type ControllerModeHandle } from '../../src/controller/mode.js';
import { startCsiServer, type CsiServer } from '../../src/csi/server.js';
import { createLogger } from '../../src/log.js';
import { startSites, type Site, type Sites } from '../../src/harness/sites.js';
import { ZONE_CATEGORY, REGION_CATEGORY } from '../../src/harness/world.js';
import { csiClient, type CsiTestClient } from '../controller/csi-client.js';

export const CLUSTER_ID = 'two-sites';
export const MOUNT_RWO = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

export function segmentOf(site: Site): Record<string, string> {
  return { [`topology.csi.vmware.com/${REGION_CATEGORY}`]: site.region, [`topology.csi.vmware.com/${ZONE_CATEGORY}`]: site.zone };
}

export interface Controller {
  handle: ControllerModeHandle;
  server: CsiServer;
  csi: CsiTestClient;
  identity: CsiTestClient;
  registry: Registry;
  /** JSON log lines, parsed. */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Writes `config` to a fresh directory and serves controller mode from it. */
export async function startController(config: string): Promise<Controller> {
  const dir = mkdtempSync(join(tmpdir(), 'multi-vc-'));
  const configPath = join(dir, 'csi-vsphere.conf');
  writeFileSync(configPath, config, { mode: 0o600 });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const registry = new Registry();
  const endpoint = `unix://${join(dir, 'csi.sock')}`;
  const logger = createLogger({ level: 'info', destination: sink });
  const handle = await runControllerMode(
    { mode: 'controller', endpoint, configPath, cloudConfigPath: '', logLevel: 'info', output: 'text', env: {}, metricsRegistry: registry },
    logger,
  );
  const server = await startCsiServer({ endpoint, logger, services: handle.services! });
  const csi = csiClient('Controller', server.socketPath);
  const identity = csiClient('Identity', server.socketPath);
  return {
    handle,
    server,
    csi,
    identity,
    registry,
    logs,
    stop: async () => {
      csi.close();
      identity.close();
      await server.close();
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Both sites and a controller over them, for the tests of one file. */
export interface TwoSites {
  readonly sites: Sites;
  /** Replaceable by a test that restarts the controller: the afterAll stops the one set last. */
  ctl: Controller;
}

/**
 * Registers a beforeAll that starts both sites and the controller mode over
 * a config naming them, and waits for it to warm up, and an afterAll that
 * stops them. Read `sites` and `ctl` inside tests and hooks: they are set
 * once the beforeAll has run.
 */
export function useTwoSites(): TwoSites {
  let sites: Sites | undefined;
  let ctl: Controller | undefined;
  beforeAll(async () => {
    sites = await startSites();
    ctl = await startController(sites.config(CLUSTER_ID));
    await ctl.handle.warmedUp;
  }, 120_000);
  afterAll(async () => {
    await ctl?.stop();
    await sites?.stop();
  });
  return {
    get sites() {
      return sites!;
    },
    get ctl() {
      return ctl!;
    },
    set ctl(c: Controller) {
      ctl = c;
    },
  };
}

export interface Created {
  volume: { volume_id: string; accessible_topology: { segments: Record<string, string> }[] };
}

/** A CreateVolume as external-provisioner sends it with WaitForFirstConsumer: every zone allowed, the pod's zone preferred. */
export function createIn(c: Controller, name: string, preferred: Site, all: Site[]): Promise<Created> {
  return c.csi.call<Created>('CreateVolume', {
    name,
    volume_capabilities: [MOUNT_RWO],
    capacity_range: { required_bytes: String(1024 ** 3) },
    accessibility_requirements: {
      requisite: all.map((s) => ({ segments: segmentOf(s) })),
      preferred: [preferred, ...all.filter((s) => s !== preferred)].map((s) => ({ segments: segmentOf(s) })),
    },
  });
}

/** Volume ids of this cluster that a site's CNS holds (asked directly, not through the driver). */
export async function cnsVolumes(site: Site): Promise<Map<string, string>> {
  const all = await site.world.client.cns.queryAllVolumes({ containerClusterIds: [CLUSTER_ID] });
  return new Map(all.filter((v) => v.containerCluster?.clusterId === CLUSTER_ID).map((v) => [v.volumeId, v.name]));
}

/** Requests the driver sent to each site's simulator during fn. */
export async function requestsDuring(sites: Site[], fn: () => Promise<unknown>): Promise<Record<string, number>[]> {
  await Promise.all(sites.map((s) => s.world.sim.resetRequests()));
  await fn();
  return Promise.all(sites.map(async (s) => (await s.world.sim.requests()).byMethod));
}

export const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);
