/**
 * The syncer in a cluster spanning two vCenters, through controller mode as
 * the CLI runs it (config file, --kubeconfig, environment): each volume's
 * metadata goes to the vCenter that holds it and only there; a static PV
 * whose disk lives in the second vCenter is registered there.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { runControllerMode, type ControllerModeHandle } from '../../src/controller/mode.js';
import { startCsiServer, type CsiServer } from '../../src/csi/server.js';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { boundClaim, volumePv } from '../../src/harness/kube-volumes.js';
import { startSites, type Site, type Sites } from '../../src/harness/sites.js';
import { createFcd } from '../../src/harness/vcsim-fcd.js';
import { mergePatchOptions } from '../../src/kube/client.js';
import { silentLogger } from '../../src/log.js';
import { csiClient, type CsiTestClient } from '../controller/csi-client.js';
import { CLUSTER_ID, createIn } from '../multi-vcenter/fixture.js';
import { eventually } from './fixture.js';

let sites: Sites;
let kube: KubeApiServer;
let dir: string;
let handle: ControllerModeHandle;
let server: CsiServer;
let csi: CsiTestClient;

beforeAll(async () => {
  sites = await startSites();
  kube = await startKubeApiServer();
  dir = mkdtempSync(join(tmpdir(), 'syncer-multi-'));
  const configPath = join(dir, 'csi-vsphere.conf');
  writeFileSync(configPath, sites.config(CLUSTER_ID), { mode: 0o600 });
  const endpoint = `unix://${join(dir, 'csi.sock')}`;
  handle = await runControllerMode(
    {
      mode: 'controller', endpoint, configPath, cloudConfigPath: '', logLevel: 'silent', output: 'text',
      kubeconfig: kube.writeKubeconfig(dir),
      env: { POD_NAMESPACE: 'vmware-system-csi', VSPHERE_SYNCER_LEASE_DURATION_SECONDS: '3', VSPHERE_CSI_SYNC_WINDOW_MS: '100' },
      metricsRegistry: new Registry(),
    },
    silentLogger,
  );
  server = await startCsiServer({ endpoint, logger: silentLogger, services: handle.services! });
  csi = csiClient('Controller', server.socketPath);
}, 120_000);

afterAll(async () => {
  csi?.close();
  await server?.close();
  await handle?.close();
  await kube?.stop();
  await sites?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function claimLabel(site: Site, id: string, key: string): Promise<string | undefined> {
  const v = (await site.world.client.cns.queryVolumes({ volumeIds: [id] })).volumes[0];
  return v?.entityMetadata.find((e) => e.entityType === 'PERSISTENT_VOLUME_CLAIM')?.labels?.[key];
}

const updates = async (site: Site): Promise<number> => (await site.world.sim.requests()).byMethod['/vsanHealth CnsUpdateVolumeMetadata'] ?? 0;

test('each volume\'s metadata goes to the vCenter that holds it, and only there', async () => {
  const both = [sites.a, sites.b];
  const ctl = { csi } as Parameters<typeof createIn>[0];
  const ids: Record<'a' | 'b', string> = {
    a: (await createIn(ctl, 'pvc-site-a', sites.a, both)).volume.volume_id,
    b: (await createIn(ctl, 'pvc-site-b', sites.b, both)).volume.volume_id,
  };
  for (const s of ['a', 'b'] as const) {
    kube.put(volumePv(`pvc-site-${s}`, ids[s], { namespace: 'apps', name: `data-${s}` }));
    kube.put(boundClaim('apps', `data-${s}`, `pvc-site-${s}`));
  }
  const core = kube.kubeConfig().makeApiClient(CoreV1Api);
  const label = (s: 'a' | 'b', value: string) =>
    core.patchNamespacedPersistentVolumeClaim({ namespace: 'apps', name: `data-${s}`, body: { metadata: { labels: { site: value } } } }, mergePatchOptions);
  await label('a', 'one');
  await label('b', 'one');
  await eventually(async () => (await claimLabel(sites.a, ids.a, 'site')) === 'one' && (await claimLabel(sites.b, ids.b, 'site')) === 'one', 'both labels', 30_000);
  await Promise.all(both.map((s) => s.world.sim.resetRequests()));
  await label('b', 'two');
  await eventually(async () => (await claimLabel(sites.b, ids.b, 'site')) === 'two', 'the label in vCenter B');
  expect(await updates(sites.b)).toBe(1);
  expect(await updates(sites.a)).toBe(0);
}, 60_000);

test('a static PV whose disk is in the second vCenter is registered there', async () => {
  const datastore = (await sites.b.world.client.inventory.datastores())[0]!.ref;
  const disk = await createFcd(sites.b.world.sim, sites.b.world.client, { name: 'site-b-disk', capacityMb: 128, datastore });
  kube.put(volumePv('static-site-b', disk, { namespace: 'apps', name: 'static-b' }));
  kube.put(boundClaim('apps', 'static-b', 'static-site-b'));
  await eventually(async () => (await sites.b.world.client.cns.queryVolumes({ volumeIds: [disk] })).volumes.length === 1, 'the registration in vCenter B', 30_000);
  expect((await sites.a.world.client.cns.queryVolumes({ volumeIds: [disk] })).volumes).toHaveLength(0);
  const got = await csi.call<{ volume: { volume_id: string } }>('ControllerGetVolume', { volume_id: disk });
  expect(got.volume.volume_id).toBe(disk);
}, 60_000);
