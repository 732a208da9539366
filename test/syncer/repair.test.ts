/**
 * What the syncer does beyond following events, with the test API server
 * and the vCenter simulator: static provisioning (a PV naming a disk CNS
 * does not know yet), full sync repairing metadata changed behind its back,
 * CNS volumes without a PV (reported after two full syncs, never deleted),
 * and volume health (the PVC annotation and ControllerGetVolume's
 * volume_condition, on a health pass and right after publish).
 */
import { describe, expect, test } from '@jest/globals';
import type { CoreV1Event, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { HEALTH_ANNOTATION } from '../../src/controller/syncer/health.js';
import { boundClaim, volumePv } from '../../src/harness/kube-volumes.js';
import { createFcd } from '../../src/harness/vcsim-fcd.js';
import { mergePatchOptions } from '../../src/kube/client.js';
import { MOUNT_RWO } from '../controller/fixture.js';
import {
  boundVolume,
  CLUSTER_ID,
  cnsCalls,
  cnsVolume,
  createVolume,
  entities,
  entity,
  eventually,
  useLeadingSyncer,
} from './fixture.js';

const env = useLeadingSyncer();

const events = (reason: string): CoreV1Event[] => env.w.kube.list<CoreV1Event>('Event').filter((e) => e.reason === reason);
/** For a failed wait on an Event: which Event requests the API server saw. */
const eventRequests = (what: string) => (): string =>
  `${what}; Event requests: ${JSON.stringify(env.w.kube.requests().filter((r) => r.path.includes('/events')).slice(-5))}; Events: ${env.w.kube.list<CoreV1Event>('Event').map((e) => e.reason).join(',')}`;
const claim = (namespace: string, name: string): V1PersistentVolumeClaim | undefined => env.w.kube.get<V1PersistentVolumeClaim>('v1', 'PersistentVolumeClaim', namespace, name);

describe('static provisioning', () => {
  test('a PV naming an existing first-class disk gets it registered into CNS, then kept in sync', async () => {
    const datastore = (await env.w.inspect.inventory.datastores())[0]!.ref;
    const disk = await createFcd(env.w.sim, env.w.inspect, { name: 'legacy-data', capacityMb: 256, datastore });
    expect(await cnsVolume(env.w, disk)).toBeUndefined();
    await env.w.sim.resetRequests();
    env.w.kube.put(volumePv('static-pv-1', disk, { namespace: 'legacy', name: 'old-data' }));
    env.w.kube.put(boundClaim('legacy', 'old-data', 'static-pv-1', { owner: 'ops' }));
    await eventually(async () => (await cnsVolume(env.w, disk)) !== undefined, 'the disk to be registered');
    const volume = (await cnsVolume(env.w, disk))!;
    expect(volume).toMatchObject({ volumeId: disk, name: 'static-pv-1', capacityMb: 256, containerCluster: { clusterId: CLUSTER_ID, clusterFlavor: 'VANILLA' } });
    expect(await cnsCalls(env.w, 'CnsCreateVolume')).toBe(1);
    await eventually(async () => entity(await entities(env.w, disk), 'PERSISTENT_VOLUME_CLAIM', 'old-data')?.labels?.['owner'] === 'ops', 'the PVC entity');
    await eventually(() => events('VolumeRegistered').some((e) => e.involvedObject?.name === 'static-pv-1'), eventRequests('a Normal Event on the PV'));
    // Then synced like any other volume.
    await env.w.core.patchNamespacedPersistentVolumeClaim({ namespace: 'legacy', name: 'old-data', body: { metadata: { labels: { owner: 'dev' } } } }, mergePatchOptions);
    await eventually(async () => entity(await entities(env.w, disk), 'PERSISTENT_VOLUME_CLAIM', 'old-data')?.labels?.['owner'] === 'dev', 'the new label');
    // The volume serves CSI calls now.
    const got = await env.w.csi.call<{ volume: { volume_id: string } }>('ControllerGetVolume', { volume_id: disk });
    expect(got.volume.volume_id).toBe(disk);
  });

  test('a PV whose handle is no disk gets a Warning Event saying so, once, and nothing is created', async () => {
    const handle = '0b7c3f52-1d2e-4f60-9a1b-2c3d4e5f6a7b';
    const before = (await env.w.sim.cnsCounts()).volumes;
    env.w.kube.put(volumePv('static-pv-bad', handle));
    await eventually(() => events('VolumeHandleNotFound').some((e) => e.involvedObject?.name === 'static-pv-bad'), eventRequests('the Warning Event'));
    const event = events('VolumeHandleNotFound').find((e) => e.involvedObject?.name === 'static-pv-bad')!;
    expect(event).toMatchObject({ type: 'Warning', involvedObject: { kind: 'PersistentVolume' } });
    expect(event.message).toContain(handle);
    expect(event.message).toContain('govc disk.ls');
    // Not a retry loop: while the PV does not change, it is not tried again until a full sync.
    await env.w.sim.resetRequests();
    env.syncer.term()!.updater.mark([handle]);
    await env.syncer.term()!.updater.flushNow();
    expect(await cnsCalls(env.w, 'CnsCreateVolume')).toBe(0);
    await env.syncer.term()!.sync('full');
    expect(await cnsCalls(env.w, 'CnsCreateVolume')).toBe(1);
    expect((await env.w.sim.cnsCounts()).volumes).toBe(before);
  });
});

describe('full sync', () => {
  test('repairs metadata changed behind the syncer\'s back (labels, a removed entity, a foreign extra entity of ours)', async () => {
    const id = await boundVolume(env.w, 'pvc-repair', 'apps', 'data-repair', { app: 'shop' });
    await eventually(async () => entity(await entities(env.w, id), 'PERSISTENT_VOLUME_CLAIM', 'data-repair')?.labels?.['app'] === 'shop', 'the first sync');
    // Someone edits CNS directly: wrong labels on the PVC entity, the PV entity gone, a stray POD entity of this cluster.
    await env.w.inspect.cns.updateOneVolumeMetadata({
      volumeId: id,
      clusterId: CLUSTER_ID,
      vSphereUser: env.w.sim.username,
      entityMetadata: [
        { entityType: 'PERSISTENT_VOLUME_CLAIM', entityName: 'data-repair', namespace: 'apps', clusterId: CLUSTER_ID, labels: { app: 'wrong' } },
        { entityType: 'PERSISTENT_VOLUME', entityName: 'pvc-repair', clusterId: CLUSTER_ID, delete: true },
        { entityType: 'POD', entityName: 'ghost', namespace: 'apps', clusterId: CLUSTER_ID },
        { entityType: 'POD', entityName: 'theirs', namespace: 'apps', clusterId: 'other-cluster' },
      ],
    });
    await env.syncer.term()!.sync('full');
    const list = await entities(env.w, id);
    expect(entity(list, 'PERSISTENT_VOLUME_CLAIM', 'data-repair')?.labels).toEqual({ app: 'shop' });
    expect(entity(list, 'PERSISTENT_VOLUME', 'pvc-repair')).toBeDefined();
    expect(entity(list, 'POD', 'ghost')).toBeUndefined();
    // Another cluster's entity on the same volume is not ours to touch.
    expect(entity(list, 'POD', 'theirs')).toMatchObject({ clusterId: 'other-cluster' });
  });

  test('a CNS volume of this cluster without a PV is reported after two full syncs, never deleted', async () => {
    const id = await createVolume(env.w, 'pvc-orphan', { namespace: 'apps', name: 'gone' });
    const first = (await env.syncer.term()!.sync('full')) as { orphans: string[] };
    expect(first.orphans).not.toContain(id);
    expect(events('OrphanCnsVolume').some((e) => e.message?.includes(id))).toBe(false);
    const second = (await env.syncer.term()!.sync('full')) as { orphans: string[] };
    expect(second.orphans).toContain(id);
    const event = events('OrphanCnsVolume').find((e) => e.message?.includes(id))!;
    expect(event).toMatchObject({ type: 'Warning', involvedObject: { kind: 'PersistentVolume', name: 'pvc-orphan' } });
    expect(event.message).toContain('not deleted');
    expect(await cnsVolume(env.w, id)).toBeDefined();
    expect((await env.syncer.metrics.orphans.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
    // A PV for it ends the report.
    env.w.kube.put(volumePv('pvc-orphan', id));
    await eventually(async () => entity(await entities(env.w, id), 'PERSISTENT_VOLUME', 'pvc-orphan') !== undefined, 'the PV to be seen');
    const third = (await env.syncer.term()!.sync('full')) as { orphans: string[] };
    expect(third.orphans).not.toContain(id);
  });
});

describe('volume health', () => {
  test('an unhealthy volume: the PVC annotation turns inaccessible on a health pass, and ControllerGetVolume reports an abnormal condition', async () => {
    const id = await boundVolume(env.w, 'pvc-health', 'apps', 'data-health');
    await eventually(async () => entity(await entities(env.w, id), 'PERSISTENT_VOLUME_CLAIM', 'data-health') !== undefined, 'the first sync');
    await env.syncer.term()!.sync('health');
    expect(claim('apps', 'data-health')?.metadata?.annotations?.[HEALTH_ANNOTATION]).toBe('accessible');
    await env.w.sim.setCnsHealth(id, 'red');
    await eventually(() => (env.syncer.term()!.view.claimOf(env.syncer.term()!.view.pvOf(id)!)?.metadata?.annotations?.[HEALTH_ANNOTATION] ?? '') === 'accessible', 'the informer to see the annotation');
    await env.syncer.term()!.sync('health');
    expect(claim('apps', 'data-health')?.metadata?.annotations?.[HEALTH_ANNOTATION]).toBe('inaccessible');
    const got = await env.w.csi.call<{ status: { volume_condition: { abnormal: boolean; message: string } } }>('ControllerGetVolume', { volume_id: id });
    expect(got.status.volume_condition.abnormal).toBe(true);
    expect(got.status.volume_condition.message).toContain('red');
    await env.w.sim.setCnsHealth(id, 'green');
    await eventually(() => env.syncer.term()!.view.claimOf(env.syncer.term()!.view.pvOf(id)!)?.metadata?.annotations?.[HEALTH_ANNOTATION] === 'inaccessible', 'the informer to see it');
    await env.syncer.term()!.sync('full');
    expect(claim('apps', 'data-health')?.metadata?.annotations?.[HEALTH_ANNOTATION]).toBe('accessible');
    const healthy = await env.w.csi.call<{ status: { volume_condition: { abnormal: boolean } } }>('ControllerGetVolume', { volume_id: id });
    expect(healthy.status.volume_condition.abnormal).toBe(false);
  });

  test('publishing a volume reads its health at once and annotates its claim, also on a replica that does not lead', async () => {
    const id = await boundVolume(env.w, 'pvc-publish', 'apps', 'data-publish');
    // The attacher talks to whichever replica it likes: here one without informers.
    const follower = env.w.startSyncer('replica-b');
    expect(follower.isLeader()).toBe(false);
    await env.w.sim.setCnsHealth(id, 'red');
    const vm = (await env.w.inspect.inventory.vms()).find((v) => v.biosUuid)!;
    await env.w.inspect.inventory.setExtraConfig(vm.ref, { 'disk.EnableUUID': 'TRUE' });
    await env.w.csi.call('ControllerPublishVolume', { volume_id: id, node_id: vm.biosUuid, volume_capability: MOUNT_RWO, readonly: false });
    await eventually(() => claim('apps', 'data-publish')?.metadata?.annotations?.[HEALTH_ANNOTATION] === 'inaccessible', 'the annotation after publish', 5000);
    expect(follower.term()).toBeUndefined();
    await env.w.csi.call('ControllerUnpublishVolume', { volume_id: id, node_id: vm.biosUuid });
  });
});
