/**
 * Preflight's datastore-clusters check against a simulator world with a
 * datastore cluster (pod-1: two members local to each zone) and
 * StorageClasses in the test Kubernetes API: per cluster a StorageClass
 * names, which members a volume could go to and why the others cannot.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runPreflight } from '../../src/preflight/run.js';
import type { CheckResult } from '../../src/preflight/types.js';
import { startPreflightFixture, type PreflightFixture } from './fixture.js';

let fx: PreflightFixture;

const storageClass = (name: string, parameters: Record<string, string>, provisioner = 'csi.vsphere.vmware.com') => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name },
  provisioner,
  parameters,
});

beforeAll(async () => {
  fx = await startPreflightFixture({ datastoreCluster: 'pod-1' });
  await fx.world.sim.setDatastoreState('zone-b-pod-1', { maintenanceMode: 'inMaintenance' });
}, 90_000);

afterAll(async () => {
  await fx?.stop();
});

async function clusterCheck(name: string): Promise<CheckResult> {
  const report = await runPreflight({ configPath: await fx.writeConfig(name), kubeconfig: fx.kubeconfig, env: {}, callTimeoutMs: 10_000 });
  return report.checks.find((c) => c.name === 'datastore-clusters')!;
}

describe('datastore-clusters', () => {
  test('lists the qualifying members of each cluster a StorageClass names, with the zone they serve, and why the others do not qualify', async () => {
    fx.kube.put(storageClass('pod-zonal', { DatastoreCluster: 'pod-1' }));
    fx.kube.put(storageClass('other-driver', { datastorecluster: 'elsewhere' }, 'example.com/csi'));
    const c = await clusterCheck('pod-good.conf');
    expect(c.status).toBe('pass');
    expect(c.finding).toContain('/DC0/datastore/pod-1 (StorageClass pod-zonal): 3 of 4 members qualify');
    expect(c.finding).toMatch(/zone-a-pod-1 \([^)]*k8s-zone=zone-a\)/);
    expect(c.finding).toMatch(/zone-b-pod-2 \([^)]*k8s-zone=zone-b\)/);
    expect(c.finding).toContain('not: zone-b-pod-1 (inMaintenance)');
    expect(c.finding).not.toContain('elsewhere');
  }, 60_000);

  test('a cluster that does not exist, or whose members the policy all excludes, fails with the fix', async () => {
    const policy = (await fx.world.client.pbm.policyIdByName('VM Encryption Policy'))!;
    const zoneA = (await fx.world.client.inventory.datastores()).find((d) => d.name === 'zone-a-ds')!;
    await fx.world.sim.setPolicyDatastores(policy, [zoneA.ref.value]);
    fx.kube.put(storageClass('pod-encrypted', { datastorecluster: '/DC0/datastore/pod-1', storagepolicyname: 'VM Encryption Policy' }));
    fx.kube.put(storageClass('gold', { datastorecluster: 'gold' }));
    try {
      const c = await clusterCheck('pod-bad.conf');
      expect(c.status).toBe('fail');
      expect(c.finding).toContain('(StorageClass pod-encrypted, policy "VM Encryption Policy"): 0 of 4 members qualify');
      expect(c.finding).toContain('zone-a-pod-1 (not allowed by the storage policy)');
      expect(c.finding).toContain('not in this vCenter: "gold" (StorageClass gold)');
      expect(c.fix).toContain('datastore cluster');
    } finally {
      await fx.world.sim.setPolicyDatastores(policy, undefined);
    }
  }, 60_000);
});
