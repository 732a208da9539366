/**
 * Bursts at scale, with the test API server and the vCenter simulator:
 * 200 PVCs relabelled at once, and a rollout replacing 100 Pods, each cost
 * a handful of CnsUpdateVolumeMetadata calls (one entry per volume per
 * window, up to 32 volumes per call), not one call per Kubernetes change.
 * The figures are printed for docs/benchmarks.md.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { MetadataSyncer } from '../../src/controller/syncer/syncer.js';
import { boundClaim, claimPod, volumePv } from '../../src/harness/kube-volumes.js';
import { CLUSTER_ID, createVolume, eventually, labelClaim, leading, startSyncWorld, type SyncWorld } from './fixture.js';

const VOLUMES = 200;
const PODS = 100;
let w: SyncWorld;
let syncer: MetadataSyncer;
const ids: string[] = [];

async function updatesDone(): Promise<number> {
  return (await syncer.metrics.updates.get()).values.reduce((s, v) => s + v.value, 0);
}

beforeAll(async () => {
  w = await startSyncWorld();
  for (let i = 0; i < VOLUMES; i += 10) {
    const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => createVolume(w, `pvc-scale-${i + j}`, { namespace: 'scale', name: `data-${i + j}` })));
    ids.push(...batch);
  }
  ids.forEach((id, i) => {
    w.kube.put(volumePv(`pvc-scale-${i}`, id, { namespace: 'scale', name: `data-${i}` }));
    w.kube.put(boundClaim('scale', `data-${i}`, `pvc-scale-${i}`));
  });
  syncer = w.startSyncer('replica-a');
  await leading(syncer, 60_000);
}, 180_000);

afterAll(async () => {
  await w?.stop();
});

test(`${VOLUMES} PVCs relabelled at once cost a bounded number of CNS calls`, async () => {
  await w.sim.resetRequests();
  const before = await updatesDone();
  const started = Date.now();
  await Promise.all(ids.map((_, i) => labelClaim(w, 'scale', `data-${i}`, { team: 'payments' })));
  await eventually(async () => (await updatesDone()) - before >= VOLUMES, `${VOLUMES} volume updates`, 60_000, 50);
  const took = Date.now() - started;
  const counts = await w.sim.requests();
  const updates = counts.byMethod['/vsanHealth CnsUpdateVolumeMetadata'] ?? 0;
  const cns = Object.entries(counts.byMethod).filter(([k]) => k.startsWith('/vsanHealth')).reduce((s, [, n]) => s + n, 0);
  process.stdout.write(`syncer figures: ${VOLUMES} PVCs relabelled → ${updates} CnsUpdateVolumeMetadata calls, ${cns} CNS requests, ${counts.total} vCenter requests in all, ${took} ms until CNS had every label\n`);
  // At most 32 volumes per call; the patches' watch events reach the syncer over a few windows.
  expect(updates).toBeGreaterThanOrEqual(Math.ceil(VOLUMES / 32));
  expect(updates).toBeLessThanOrEqual(20);
  // No volume had to be looked up again: what CNS holds was known from the full sync.
  expect(counts.byMethod['/vsanHealth CnsQueryVolume'] ?? 0).toBe(0);
  const volumes = await w.inspect.cns.queryAllPages({ containerClusterIds: [CLUSTER_ID] });
  const labelled = volumes.filter((v) => v.entityMetadata.some((e) => e.entityType === 'PERSISTENT_VOLUME_CLAIM' && e.labels?.['team'] === 'payments'));
  expect(labelled).toHaveLength(VOLUMES);
}, 120_000);

test(`a rollout replacing ${PODS} Pods costs a bounded number of CNS calls`, async () => {
  for (let i = 0; i < PODS; i++) w.kube.put(claimPod('scale', `web-a-${i}`, `data-${i}`, `node-${i % 3}`));
  await eventually(async () => (await updatesDone()) >= VOLUMES + PODS, 'the first pods in CNS', 60_000, 50);
  await w.sim.resetRequests();
  const before = await updatesDone();
  // Old pods go, new ones (a new ReplicaSet hash) come: 200 Pod events.
  for (let i = 0; i < PODS; i++) {
    await w.core.deleteNamespacedPod({ namespace: 'scale', name: `web-a-${i}` });
    w.kube.put(claimPod('scale', `web-b-${i}`, `data-${i}`, `node-${(i + 1) % 3}`));
  }
  await eventually(async () => {
    const volumes = await w.inspect.cns.queryAllPages({ volumeIds: ids.slice(0, PODS) });
    return volumes.every((v) => v.entityMetadata.some((e) => e.entityType === 'POD' && e.entityName.startsWith('web-b-')) && !v.entityMetadata.some((e) => e.entityName.startsWith('web-a-')));
  }, 'every volume to show only its new pod', 60_000, 200);
  const counts = await w.sim.requests();
  const updates = counts.byMethod['/vsanHealth CnsUpdateVolumeMetadata'] ?? 0;
  process.stdout.write(`syncer figures: rollout of ${PODS} pods (${2 * PODS} Pod events) → ${updates} CnsUpdateVolumeMetadata calls for ${(await updatesDone()) - before} volume updates\n`);
  expect(updates).toBeLessThanOrEqual(40);
}, 120_000);
