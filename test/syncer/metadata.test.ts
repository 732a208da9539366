/**
 * The metadata syncer keeps CNS's entity metadata true to Kubernetes, with
 * the test API server and the vCenter simulator: PVC labels, Pods mounting
 * a claim, deletions; each change reaches CNS within one coalescing window
 * and one CnsUpdateVolumeMetadata call.
 */
import { describe, expect, test } from '@jest/globals';
import { claimPod } from '../../src/harness/kube-volumes.js';
import { mergePatchOptions } from '../../src/kube/client.js';
import {
  boundVolume,
  CLUSTER_ID,
  cnsCalls,
  entities,
  entity,
  eventually,
  labelClaim,
  useLeadingSyncer,
  WINDOW_MS,
} from './fixture.js';

const env = useLeadingSyncer();

describe('metadata syncer: Kubernetes changes reach CNS', () => {
  test('a PVC label change reaches its CNS entity within one window, in one CnsUpdateVolumeMetadata call', async () => {
    const id = await boundVolume(env.w, 'pvc-label-1', 'apps', 'data-web-0');
    // The syncer sees the new PV and claim: CreateVolume already wrote both entities, so nothing needs sending.
    await eventually(async () => entity(await entities(env.w, id), 'PERSISTENT_VOLUME_CLAIM', 'data-web-0') !== undefined, 'the PVC entity');
    await env.syncer.term()!.updater.flushNow();
    await env.w.sim.resetRequests();
    const started = Date.now();
    await labelClaim(env.w, 'apps', 'data-web-0', { app: 'web', tier: 'db' });
    await eventually(async () => entity(await entities(env.w, id), 'PERSISTENT_VOLUME_CLAIM', 'data-web-0')?.labels?.['tier'] === 'db', 'the label in CNS');
    const took = Date.now() - started;
    process.stdout.write(`syncer figures: PVC label → CNS in ${took} ms (window ${WINDOW_MS} ms)\n`);
    const pvc = entity(await entities(env.w, id), 'PERSISTENT_VOLUME_CLAIM', 'data-web-0')!;
    expect(pvc).toMatchObject({ namespace: 'apps', clusterId: CLUSTER_ID, labels: { app: 'web', tier: 'db' } });
    expect(pvc.referredEntity).toEqual([{ entityType: 'PERSISTENT_VOLUME', entityName: 'pvc-label-1', clusterId: CLUSTER_ID }]);
    expect(await cnsCalls(env.w, 'CnsUpdateVolumeMetadata')).toBe(1);
    // One window plus the API's watch delivery and the CNS task (the simulator's: ~5 ms).
    expect(took).toBeLessThan(WINDOW_MS + 1500);
    const volume = (await env.w.inspect.cns.queryVolumes({ volumeIds: [id] })).volumes[0]!;
    expect(volume.containerCluster).toMatchObject({ clusterId: CLUSTER_ID, vSphereUser: env.w.sim.username, clusterFlavor: 'VANILLA' });
  });

  test('a Pod mounting the claim becomes a POD entity referring to the PVC; deleting it removes the entity', async () => {
    const id = await boundVolume(env.w, 'pvc-pod-1', 'apps', 'data-db-0');
    env.w.kube.put(claimPod('apps', 'db-0', 'data-db-0', 'node-1'));
    await eventually(async () => entity(await entities(env.w, id), 'POD', 'db-0') !== undefined, 'the POD entity');
    expect(entity(await entities(env.w, id), 'POD', 'db-0')).toMatchObject({
      namespace: 'apps',
      clusterId: CLUSTER_ID,
      referredEntity: [{ entityType: 'PERSISTENT_VOLUME_CLAIM', entityName: 'data-db-0', namespace: 'apps', clusterId: CLUSTER_ID }],
    });
    await env.w.core.deleteNamespacedPod({ namespace: 'apps', name: 'db-0' });
    await eventually(async () => entity(await entities(env.w, id), 'POD', 'db-0') === undefined, 'the POD entity to go');
    expect(entity(await entities(env.w, id), 'PERSISTENT_VOLUME_CLAIM', 'data-db-0')).toBeDefined();
  });

  test('an unscheduled Pod is no POD entity until it is scheduled; a finished one is removed', async () => {
    const id = await boundVolume(env.w, 'pvc-pod-2', 'apps', 'data-job');
    env.w.kube.put(claimPod('apps', 'job-1', 'data-job'));
    await env.syncer.term()!.updater.flushNow();
    await new Promise((r) => setTimeout(r, WINDOW_MS * 3));
    expect(entity(await entities(env.w, id), 'POD', 'job-1')).toBeUndefined();
    env.w.kube.put(claimPod('apps', 'job-1', 'data-job', 'node-2'));
    await eventually(async () => entity(await entities(env.w, id), 'POD', 'job-1') !== undefined, 'the POD entity once scheduled');
    const finished = claimPod('apps', 'job-1', 'data-job', 'node-2');
    finished.status = { phase: 'Succeeded' };
    env.w.kube.put(finished);
    await eventually(async () => entity(await entities(env.w, id), 'POD', 'job-1') === undefined, 'the POD entity of the finished Pod to go');
  });

  test('PV labels reach the PERSISTENT_VOLUME entity; a deleted PVC loses its entity; a deleted PV loses all of ours', async () => {
    const id = await boundVolume(env.w, 'pvc-del-1', 'apps', 'data-del');
    await env.w.core.patchPersistentVolume({ name: 'pvc-del-1', body: { metadata: { labels: { backup: 'daily' } } } }, mergePatchOptions);
    await eventually(async () => entity(await entities(env.w, id), 'PERSISTENT_VOLUME', 'pvc-del-1')?.labels?.['backup'] === 'daily', 'the PV label');
    await env.w.core.deleteNamespacedPersistentVolumeClaim({ namespace: 'apps', name: 'data-del' });
    await eventually(async () => entity(await entities(env.w, id), 'PERSISTENT_VOLUME_CLAIM', 'data-del') === undefined, 'the PVC entity to go');
    expect(entity(await entities(env.w, id), 'PERSISTENT_VOLUME', 'pvc-del-1')).toBeDefined();
    // Retain: the volume stays in CNS, but this cluster no longer uses it.
    await env.w.core.deletePersistentVolume({ name: 'pvc-del-1' });
    await eventually(async () => (await entities(env.w, id)).length === 0, 'every entity of ours to go');
    expect((await env.w.inspect.cns.queryVolumes({ volumeIds: [id] })).volumes).toHaveLength(1);
  });

  test('watches that break and expire (410 on resume) are restarted and relisted: a change made meanwhile still reaches CNS', async () => {
    const id = await boundVolume(env.w, 'pvc-expiry', 'apps', 'data-expiry');
    await eventually(async () => entity(await entities(env.w, id), 'PERSISTENT_VOLUME_CLAIM', 'data-expiry') !== undefined, 'the PVC entity');
    env.w.kube.setFault((req) => (req.watch ? 503 : undefined));
    try {
      env.w.kube.closeWatches('destroy');
      await labelClaim(env.w, 'apps', 'data-expiry', { seen: 'after-relist' });
      // The history the informers would resume from is gone: their next watch gets 410 Expired.
      env.w.kube.compactHistory();
    } finally {
      env.w.kube.setFault(undefined);
    }
    await eventually(async () => entity(await entities(env.w, id), 'PERSISTENT_VOLUME_CLAIM', 'data-expiry')?.labels?.['seen'] === 'after-relist', 'the label after the relist', 30_000);
    await eventually(() => env.w.kube.watchCount() === 3, 'the three watches to be back', 15_000);
    const claimLists = env.w.kube.requests().filter((r) => r.path === '/api/v1/persistentvolumeclaims' && r.method === 'GET' && !r.watch);
    expect(claimLists.length).toBeGreaterThanOrEqual(2); // the first list, and the relist after 410
  });

  test('a burst of changes to one volume costs one update per window, not one per change', async () => {
    const id = await boundVolume(env.w, 'pvc-burst', 'apps', 'data-burst');
    await eventually(async () => entity(await entities(env.w, id), 'PERSISTENT_VOLUME_CLAIM', 'data-burst') !== undefined, 'the PVC entity');
    await env.syncer.term()!.updater.flushNow();
    await env.w.sim.resetRequests();
    // A rollout: 20 pods of one claim come and go, and the claim is relabelled 10 times, all at once.
    for (let i = 0; i < 20; i++) env.w.kube.put(claimPod('apps', `burst-${i}`, 'data-burst', 'node-1'));
    for (let i = 0; i < 10; i++) await labelClaim(env.w, 'apps', 'data-burst', { rev: String(i) });
    for (let i = 0; i < 10; i++) await env.w.core.deleteNamespacedPod({ namespace: 'apps', name: `burst-${i}` });
    await eventually(async () => {
      const list = await entities(env.w, id);
      return list.filter((e) => e.entityType === 'POD').length === 10 && entity(list, 'PERSISTENT_VOLUME_CLAIM', 'data-burst')?.labels?.['rev'] === '9';
    }, 'the final state in CNS');
    const calls = await cnsCalls(env.w, 'CnsUpdateVolumeMetadata');
    // 40 Kubernetes changes; the events arrive over a few windows.
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(6);
  });
});
