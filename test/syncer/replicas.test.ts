/**
 * Controller mode as the Deployment runs it: two replicas (real processes
 * of dist/main.js) against one test API server and one simulator. Both serve
 * the CSI RPCs; exactly one runs the syncer (one set of watches); when the
 * leader is killed (SIGKILL: no Lease release) the other takes over within
 * the lease duration and keeps syncing.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Lease } from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { boundClaim, volumePv } from '../../src/harness/kube-volumes.js';
import { startVcsim, vcsimClient, type Vcsim } from '../../src/harness/vcsim.js';
import { mergePatchOptions } from '../../src/kube/client.js';
import type { VsphereClient } from '../../src/vsphere/api.js';
import { csiClient } from '../controller/csi-client.js';
import { MOUNT_RWO } from '../controller/fixture.js';
import { controllerConfig, spawnDriver, waitReady, type DriverProcess } from '../faults/driver-process.js';
import { builtMain } from '../support/built-main.js';
import { eventually } from './fixture.js';

const NS = 'vmware-system-csi';
const LEASE_SECONDS = 3;
let sim: Vcsim;
let kube: KubeApiServer;
let inspect: VsphereClient;
let dir: string;
const procs: DriverProcess[] = [];

beforeAll(async () => {
  builtMain();
  sim = await startVcsim({ clusters: 1, hostsPerCluster: 2, vmsPerPool: 1 });
  kube = await startKubeApiServer();
  inspect = vcsimClient(sim);
  dir = mkdtempSync(join(tmpdir(), 'syncer-replicas-'));
}, 60_000);

afterAll(async () => {
  for (const p of procs) await p.stop();
  await inspect?.close();
  await kube?.stop();
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function startReplica(name: string, config: string, kubeconfig: string): { proc: DriverProcess; socket: string } {
  const socket = join(dir, `${name}.sock`);
  const proc = spawnDriver(builtMain(), ['controller', '--endpoint', `unix://${socket}`, '--config', config, '--kubeconfig', kubeconfig], {
    POD_NAME: name,
    POD_NAMESPACE: NS,
    VSPHERE_SYNCER_LEASE_DURATION_SECONDS: String(LEASE_SECONDS),
    VSPHERE_CSI_SYNC_WINDOW_MS: '100',
  });
  procs.push(proc);
  return { proc, socket };
}

const holder = (): string => kube.get<V1Lease>('coordination.k8s.io/v1', 'Lease', NS, 'vsphere-syncer')?.spec?.holderIdentity ?? '';

async function pvcLabel(id: string, key: string): Promise<string | undefined> {
  const v = (await inspect.cns.queryVolumes({ volumeIds: [id] })).volumes[0];
  return v?.entityMetadata.find((e) => e.entityType === 'PERSISTENT_VOLUME_CLAIM')?.labels?.[key];
}

test('two replicas: CSI on both, one syncer; kill the leader and the other takes over within the lease duration', async () => {
  const config = join(dir, 'csi-vsphere.conf');
  writeFileSync(config, controllerConfig(sim, 'replicas'), { mode: 0o600 });
  const kubeconfig = kube.writeKubeconfig(dir);
  const a = startReplica('ctrl-a', config, kubeconfig);
  const b = startReplica('ctrl-b', config, kubeconfig);
  await Promise.all([waitReady(`unix://${a.socket}`, a.proc), waitReady(`unix://${b.socket}`, b.proc)]);
  await eventually(() => holder() !== '', 'a Lease holder', 20_000);
  const [leader, follower] = holder().startsWith('ctrl-a_') ? [a, b] : [b, a];
  await leader.proc.waitForOutput(/metadata syncer started/);
  // One syncer: its three watches (PVs, claims, Pods), none from the follower.
  await eventually(() => kube.watchCount() === 3, 'three watches', 10_000);
  await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1000));
  expect(kube.watchCount()).toBe(3);
  expect(follower.proc.output()).not.toMatch(/metadata syncer started/);

  // The follower serves CSI calls; the leader syncs what they made.
  const csi = csiClient('Controller', follower.socket);
  const core = kube.kubeConfig().makeApiClient(CoreV1Api);
  try {
    const created = await csi.call<{ volume: { volume_id: string } }>('CreateVolume', {
      name: 'pvc-replicas-1',
      volume_capabilities: [MOUNT_RWO],
      parameters: { 'csi.storage.k8s.io/pv/name': 'pvc-replicas-1', 'csi.storage.k8s.io/pvc/name': 'data', 'csi.storage.k8s.io/pvc/namespace': 'apps' },
    });
    const id = created.volume.volume_id;
    kube.put(volumePv('pvc-replicas-1', id, { namespace: 'apps', name: 'data' }));
    kube.put(boundClaim('apps', 'data', 'pvc-replicas-1'));
    await core.patchNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'data', body: { metadata: { labels: { step: 'one' } } } }, mergePatchOptions);
    await eventually(async () => (await pvcLabel(id, 'step')) === 'one', 'the leader to sync the label');

    leader.proc.child.kill('SIGKILL');
    const killed = Date.now();
    await leader.proc.exited;
    await eventually(() => holder().startsWith(follower === a ? 'ctrl-a_' : 'ctrl-b_'), 'the follower to take the Lease', 20_000, 10);
    const takeover = Date.now() - killed;
    await follower.proc.waitForOutput(/metadata syncer started/);
    process.stdout.write(`syncer figures: takeover ${takeover} ms after SIGKILL of the leader (lease ${LEASE_SECONDS} s)\n`);
    // The follower waits a full lease duration after the last renewal it saw (at most one retry period, lease/7.5, before the kill),
    // then takes the Lease on its next attempt (every retry period, +20 % jitter); 500 ms more for a loaded 2-core machine.
    const retryMs = (LEASE_SECONDS * 1000) / 7.5;
    expect(takeover).toBeLessThanOrEqual(LEASE_SECONDS * 1000 + 1.2 * retryMs + 500);

    await core.patchNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'data', body: { metadata: { labels: { step: 'two' } } } }, mergePatchOptions);
    await eventually(async () => (await pvcLabel(id, 'step')) === 'two', 'the new leader to sync the label');
    await eventually(() => kube.watchCount() === 3, 'the new leader\'s three watches (the dead one\'s closed)', 10_000);
  } finally {
    csi.close();
  }
}, 120_000);
