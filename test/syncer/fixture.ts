/**
 * Test fixture of the metadata syncer: the vCenter simulator, the test
 * Kubernetes API server, a controller (served over a real unix socket,
 * with its own vCenter client as in a real process) and MetadataSyncer
 * instances over them, plus helpers that make volumes the way the cluster
 * does (CreateVolume with the PV/PVC names, then the PV and the bound PVC).
 * SYNCER_TEST_LOG=1 prints the syncers' debug log (pino JSON on stdout).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from '@jest/globals';
import { Registry } from 'prom-client';
import { CoreV1Api, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { createControllerService, type ControllerService } from '../../src/controller/service.js';
import { MetadataSyncer } from '../../src/controller/syncer/syncer.js';
import { syncerSettings } from '../../src/controller/syncer/settings.js';
import { createIdentityService } from '../../src/csi/identity.js';
import { startCsiServer, type CsiServer } from '../../src/csi/server.js';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { boundClaim, volumePv } from '../../src/harness/kube-volumes.js';
import { startVcsim, vcsimClient, type Vcsim } from '../../src/harness/vcsim.js';
import { mergePatchOptions } from '../../src/kube/client.js';
import { createLogger, silentLogger, type Logger } from '../../src/log.js';
import type { CnsEntityMetadata, CnsVolume, VsphereClient } from '../../src/vsphere/api.js';
import { csiClient, type CsiTestClient } from '../controller/csi-client.js';
import { MOUNT_RWO } from '../controller/fixture.js';

export const CLUSTER_ID = 'sync-cluster';
export const NAMESPACE = 'vmware-system-csi';
export const WINDOW_MS = 150;

export interface SyncWorld {
  sim: Vcsim;
  kube: KubeApiServer;
  core: CoreV1Api;
  /** Inspection client (not the controller's). */
  inspect: VsphereClient;
  controller: ControllerService;
  csi: CsiTestClient;
  /** A syncer over the controller, leading once it wins the Lease. */
  startSyncer(identity: string, env?: Record<string, string>, log?: Logger): MetadataSyncer;
  stop(): Promise<void>;
}

export async function startSyncWorld(): Promise<SyncWorld> {
  const sim = await startVcsim({ clusters: 1, hostsPerCluster: 2, vmsPerPool: 2 });
  const kube = await startKubeApiServer();
  const dir = mkdtempSync(join(tmpdir(), 'syncer-'));
  const client = vcsimClient(sim);
  const inspect = vcsimClient(sim);
  const controller = createControllerService({ client, clusterId: CLUSTER_ID, vSphereUser: sim.username, labels: { topologyCategories: [] } });
  let server: CsiServer;
  try {
    server = await startCsiServer({ endpoint: `unix://${join(dir, 'csi.sock')}`, logger: silentLogger, services: { Identity: createIdentityService({ topology: false, probe: async () => true }), Controller: controller.service } });
  } catch (err) {
    await Promise.all([client.close(), inspect.close(), kube.stop(), sim.stop()]);
    throw err;
  }
  const csi = csiClient('Controller', server.socketPath);
  const syncers: MetadataSyncer[] = [];
  return {
    sim,
    kube,
    core: kube.kubeConfig().makeApiClient(CoreV1Api),
    inspect,
    controller,
    csi,
    startSyncer: (identity, env = {}, log = process.env.SYNCER_TEST_LOG ? createLogger({ level: 'debug' }) : silentLogger) => {
      const settings = syncerSettings(undefined, {
        VSPHERE_CSI_SYNC_WINDOW_MS: String(WINDOW_MS),
        VSPHERE_SYNCER_LEASE_DURATION_SECONDS: '3',
        FULL_SYNC_INTERVAL_MINUTES: '600',
        POD_NAMESPACE: NAMESPACE,
        ...env,
      });
      const syncer = new MetadataSyncer({ ctx: controller.context, kubeConfig: kube.kubeConfig(), settings, registry: new Registry(), log, identity });
      controller.context.onVolumePublished = (id, vc) => syncer.publishHealth.published(id, vc);
      syncers.push(syncer);
      return syncer;
    },
    stop: async () => {
      for (const s of syncers) await s.stop();
      csi.close();
      await server.close();
      await Promise.all([client.close(), inspect.close()]);
      await kube.stop();
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A sync world with one syncer over it, for the tests of one file. */
export interface LeadingSyncer {
  readonly w: SyncWorld;
  readonly syncer: MetadataSyncer;
}

/**
 * Registers a beforeAll that starts a sync world and a syncer `identity`
 * and waits for it to lead and finish its first full sync, and an afterAll
 * that stops the world (and with it the syncer). Read `w` and `syncer`
 * inside tests and hooks: they are set once the beforeAll has run.
 */
export function useLeadingSyncer(identity = 'replica-a'): LeadingSyncer {
  let w: SyncWorld | undefined;
  let syncer: MetadataSyncer | undefined;
  beforeAll(async () => {
    w = await startSyncWorld();
    syncer = w.startSyncer(identity);
    await leading(syncer);
  }, 60_000);
  afterAll(async () => {
    await w?.stop();
  });
  return {
    get w() {
      return w!;
    },
    get syncer() {
      return syncer!;
    },
  };
}

/** CreateVolume as external-provisioner sends it (--extra-create-metadata); returns the volume id. */
export async function createVolume(w: SyncWorld, pvName: string, claim: { namespace: string; name: string }): Promise<string> {
  const res = await w.csi.call<{ volume: { volume_id: string } }>('CreateVolume', {
    name: pvName,
    capacity_range: { required_bytes: String(64 * 1024 * 1024) },
    volume_capabilities: [MOUNT_RWO],
    parameters: { 'csi.storage.k8s.io/pv/name': pvName, 'csi.storage.k8s.io/pvc/name': claim.name, 'csi.storage.k8s.io/pvc/namespace': claim.namespace },
  });
  return res.volume.volume_id;
}

/** A provisioned, bound volume: CNS volume, PV and PVC. */
export async function boundVolume(w: SyncWorld, pvName: string, namespace: string, claimName: string, labels: Record<string, string> = {}): Promise<string> {
  const id = await createVolume(w, pvName, { namespace, name: claimName });
  w.kube.put(volumePv(pvName, id, { namespace, name: claimName }));
  w.kube.put(boundClaim(namespace, claimName, pvName, labels));
  return id;
}

export async function cnsVolume(w: SyncWorld, id: string): Promise<CnsVolume | undefined> {
  return (await w.inspect.cns.queryVolumes({ volumeIds: [id] })).volumes[0];
}

export async function entities(w: SyncWorld, id: string): Promise<CnsEntityMetadata[]> {
  return (await cnsVolume(w, id))?.entityMetadata ?? [];
}

export function entity(list: CnsEntityMetadata[], type: CnsEntityMetadata['entityType'], name: string): CnsEntityMetadata | undefined {
  return list.find((e) => e.entityType === type && e.entityName === name);
}

/** Labels a claim through the real API (merge patch), as kubectl label does. */
export function labelClaim(w: SyncWorld, namespace: string, name: string, labels: Record<string, string>): Promise<V1PersistentVolumeClaim> {
  return w.core.patchNamespacedPersistentVolumeClaim({ namespace, name, body: { metadata: { labels } } }, mergePatchOptions);
}

export async function cnsCalls(w: SyncWorld, method: string): Promise<number> {
  return (await w.sim.requests()).byMethod[`/vsanHealth ${method}`] ?? 0;
}

/** Polls an async condition; fails naming `what` (a string, or a function adding what was seen) after `limitMs`; returns the ms it took. */
export async function eventually(condition: () => Promise<boolean> | boolean, what: string | (() => string), limitMs = 15_000, everyMs = 20): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await condition()) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`gave up after ${limitMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits for `syncer` to lead and finish its first full sync. */
export async function leading(syncer: MetadataSyncer, limitMs = 15_000): Promise<void> {
  await eventually(() => syncer.term() !== undefined, 'the syncer to lead', limitMs);
  await syncer.term()!.ready;
}
