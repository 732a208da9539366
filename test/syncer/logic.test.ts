/**
 * The syncer's pure parts: which entities Kubernetes implies (ClusterView),
 * the update that makes CNS match (entities.ts), the health mapping, and
 * the settings from [Global] and the environment.
 */
import { describe, expect, test } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { ClusterView, claimsOf } from '../../src/controller/syncer/cluster-view.js';
import { applyChanges, entityChanges } from '../../src/controller/syncer/entities.js';
import { healthAnnotation } from '../../src/controller/syncer/health.js';
import { syncerSettings } from '../../src/controller/syncer/settings.js';
import { FULL_NAME_LABEL } from '../../src/controller/volume-name.js';
import { boundClaim, claimPod, volumePv } from '../../src/harness/kube-volumes.js';
import type { CnsEntityMetadata } from '../../src/vsphere/api.js';

const C = 'c1';
const pvEntity = (labels: Record<string, string> = {}): CnsEntityMetadata => ({ entityType: 'PERSISTENT_VOLUME', entityName: 'pv-1', labels, clusterId: C });
const podEntity = (name: string): CnsEntityMetadata => ({
  entityType: 'POD',
  entityName: name,
  namespace: 'ns',
  labels: {},
  clusterId: C,
  referredEntity: [{ entityType: 'PERSISTENT_VOLUME_CLAIM', entityName: 'claim', namespace: 'ns', clusterId: C }],
});

describe('entity changes', () => {
  test('nothing to send when CNS already matches, whatever the order and empty labels', () => {
    expect(entityChanges([pvEntity(), podEntity('a')], [{ ...podEntity('a'), labels: undefined }, pvEntity()])).toEqual([]);
  });

  test('changed labels and new entities are sent whole; entities Kubernetes no longer has get a delete entry', () => {
    const changes = entityChanges([pvEntity({ a: '2' }), podEntity('new')], [pvEntity({ a: '1' }), podEntity('old')]);
    expect(changes).toEqual([pvEntity({ a: '2' }), podEntity('new'), { entityType: 'POD', entityName: 'old', namespace: 'ns', clusterId: C, delete: true }]);
    expect(applyChanges([pvEntity({ a: '1' }), podEntity('old')], changes)).toEqual([pvEntity({ a: '2' }), podEntity('new')]);
  });

  test('a changed reference counts as a change; the full-name label CreateVolume recorded is kept', () => {
    const moved = { ...podEntity('a'), referredEntity: [{ entityType: 'PERSISTENT_VOLUME_CLAIM' as const, entityName: 'other', namespace: 'ns', clusterId: C }] };
    expect(entityChanges([moved], [podEntity('a')])).toEqual([moved]);
    const long = 'x'.repeat(100);
    expect(entityChanges([pvEntity()], [pvEntity({ [FULL_NAME_LABEL]: long })])).toEqual([]);
    expect(entityChanges([pvEntity({ b: '1' })], [pvEntity({ [FULL_NAME_LABEL]: long })])).toEqual([pvEntity({ b: '1', [FULL_NAME_LABEL]: long })]);
  });
});

describe('cluster view', () => {
  test('PV, bound claim and scheduled pod make three entities; each change names the volume it touches', () => {
    const view = new ClusterView(C);
    expect(view.setPv(volumePv('pv-1', 'vol-1', { namespace: 'ns', name: 'claim' }, { tier: 'gold' }))).toEqual(['vol-1']);
    expect(view.setClaim(boundClaim('ns', 'claim', 'pv-1', { app: 'web' }))).toEqual(['vol-1']);
    expect(view.setPod(claimPod('ns', 'web-0', 'claim', 'node-1'))).toEqual(['vol-1']);
    expect(view.setPod(claimPod('ns', 'other', 'unrelated', 'node-1'))).toEqual([]);
    expect(view.desired('vol-1')).toEqual([
      pvEntity({ tier: 'gold' }),
      { entityType: 'PERSISTENT_VOLUME_CLAIM', entityName: 'claim', namespace: 'ns', labels: { app: 'web' }, clusterId: C, referredEntity: [{ entityType: 'PERSISTENT_VOLUME', entityName: 'pv-1', clusterId: C }] },
      podEntity('web-0'),
    ]);
    expect(view.removePod(claimPod('ns', 'web-0', 'claim', 'node-1'))).toEqual(['vol-1']);
    expect(view.desired('vol-1')).toHaveLength(2);
    expect(view.removeClaim(boundClaim('ns', 'claim', 'pv-1'))).toEqual(['vol-1']);
    expect(view.desired('vol-1')).toEqual([pvEntity({ tier: 'gold' })]);
    expect(view.removePv(volumePv('pv-1', 'vol-1'))).toEqual(['vol-1']);
    expect(view.desired('vol-1')).toEqual([]);
  });

  test('a claim is only an entity while it is bound to the PV (same name, same uid); PVs of other drivers are ignored', () => {
    const view = new ClusterView(C);
    view.setPv(volumePv('pv-1', 'vol-1', { namespace: 'ns', name: 'claim', uid: 'u-1' }));
    view.setClaim(boundClaim('ns', 'claim', undefined));
    expect(view.desired('vol-1')).toHaveLength(1);
    const recreated = boundClaim('ns', 'claim', 'pv-1');
    recreated.metadata!.uid = 'u-2';
    view.setClaim(recreated);
    expect(view.desired('vol-1')).toHaveLength(1);
    recreated.metadata!.uid = 'u-1';
    view.setClaim(recreated);
    expect(view.desired('vol-1')).toHaveLength(2);
    const foreign = volumePv('pv-nfs', 'h');
    foreign.spec!.csi!.driver = 'nfs.csi.k8s.io';
    expect(view.setPv(foreign)).toEqual([]);
    expect(view.handles()).toEqual(['vol-1']);
  });

  test('pods: generic ephemeral volumes name their claim <pod>-<volume>; unscheduled or finished pods are no entity', () => {
    const pod: V1Pod = { metadata: { namespace: 'ns', name: 'job' }, spec: { containers: [], volumes: [{ name: 'scratch', ephemeral: {} }, { name: 'cfg', configMap: { name: 'x' } }] } };
    expect(claimsOf(pod)).toEqual(['ns/job-scratch']);
    const view = new ClusterView(C);
    view.setPv(volumePv('pv-1', 'vol-1', { namespace: 'ns', name: 'claim' }));
    view.setClaim(boundClaim('ns', 'claim', 'pv-1'));
    view.setPod(claimPod('ns', 'p', 'claim'));
    expect(view.desired('vol-1').filter((e) => e.entityType === 'POD')).toEqual([]);
    const done = claimPod('ns', 'p', 'claim', 'node-1');
    done.status = { phase: 'Failed' };
    view.setPod(done);
    expect(view.desired('vol-1').filter((e) => e.entityType === 'POD')).toEqual([]);
  });
});

test('health: red is inaccessible, green and yellow accessible, anything else leaves the annotation alone (as the reference)', () => {
  expect(['red', 'green', 'yellow', 'unknown', undefined, 'RED'].map(healthAnnotation)).toEqual(['inaccessible', 'accessible', 'accessible', undefined, undefined, 'inaccessible']);
});

test('settings: defaults, [Global] keys, and the environment (the reference\'s names) winning', () => {
  expect(syncerSettings(undefined, {})).toMatchObject({ enabled: true, fullSyncIntervalMs: 30 * 60_000, healthIntervalMs: 5 * 60_000, windowMs: 1000, leaseNamespace: 'vmware-system-csi', leaseName: 'vsphere-syncer', leaseDurationMs: 15_000 });
  const global = { metadataSyncer: false, fullSyncIntervalMinutes: 10, volumeHealthIntervalMinutes: 2, clusterDistribution: 'OpenShift' } as Parameters<typeof syncerSettings>[0];
  expect(syncerSettings(global, {})).toMatchObject({ enabled: false, fullSyncIntervalMs: 600_000, healthIntervalMs: 120_000, clusterDistribution: 'OpenShift' });
  expect(syncerSettings(global, { VSPHERE_CSI_METADATA_SYNCER: 'true', FULL_SYNC_INTERVAL_MINUTES: '45', VOLUME_HEALTH_INTERVAL_MINUTES: '0.5', POD_NAMESPACE: 'kube-system' })).toMatchObject({
    enabled: true,
    fullSyncIntervalMs: 45 * 60_000,
    healthIntervalMs: 30_000,
    leaseNamespace: 'kube-system',
  });
  // Nonsense in the environment falls back, it does not turn the interval into 0.
  expect(syncerSettings(undefined, { FULL_SYNC_INTERVAL_MINUTES: 'x', VSPHERE_CSI_SYNC_WINDOW_MS: '-5', VSPHERE_SYNCER_LEASE_DURATION_SECONDS: '1' })).toMatchObject({ fullSyncIntervalMs: 30 * 60_000, windowMs: 1000, leaseDurationMs: 15_000 });
});
