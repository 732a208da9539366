/** CNS volume operations, batching and the shared task waiter, against the vCenter simulator. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import type { CnsCreateSpec, MoRef, VsphereClient } from '../../src/vsphere/api.js';
import { isFault } from '../../src/vsphere/faults.js';
import { clientFor } from './helpers.js';

let sim: Vcsim;
let client: VsphereClient;
let datastore: MoRef;
let vms: MoRef[];

const spec = (name: string, extra: Partial<CnsCreateSpec> = {}): CnsCreateSpec => ({
  name,
  capacityMb: 1024,
  datastores: [datastore],
  clusterId: 'cluster-1',
  vSphereUser: 'administrator@vsphere.local',
  ...extra,
});

beforeAll(async () => {
  sim = await startVcsim({ record: true });
  client = clientFor(sim);
  datastore = (await client.inventory.datastores())[0]!.ref;
  vms = (await client.inventory.vms()).map((v) => v.ref);
});

afterAll(async () => {
  await client?.close();
  await sim?.stop();
});

describe('CNS', () => {
  test('create → query → attach → detach → extend → update metadata → delete, each one CNS request plus one task read', async () => {
    await client.session.ensure();
    const cost = async <T>(fn: () => Promise<T>): Promise<[T, Record<string, number>]> => {
      client.resetStats();
      const value = await fn();
      return [value, client.stats().byMethod];
    };
    const [created, createCost] = await cost(() =>
      client.cns.createVolume(
        spec('pvc-1', {
          profileId: 'aa6d5a82-1c88-45da-85d3-3d74b91a5bad',
          entityMetadata: [
            { entityType: 'PERSISTENT_VOLUME', entityName: 'pv-1', labels: { app: 'db' } },
            { entityType: 'PERSISTENT_VOLUME_CLAIM', entityName: 'claim-1', namespace: 'ns', referredEntity: [{ entityType: 'PERSISTENT_VOLUME', entityName: 'pv-1' }] },
          ],
        }),
      ),
    );
    expect(created.volumeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.datastores).toEqual([datastore]);
    const taskReads = (c: Record<string, number>): number => (c['/sdk RetrievePropertiesEx'] ?? 0) + (c['/sdk WaitForUpdatesEx'] ?? 0);
    expect(createCost['/vsanHealth CnsCreateVolume']).toBe(1);
    expect(taskReads(createCost)).toBe(1);

    const [page] = await cost(() => client.cns.queryVolumes({ volumeIds: [created.volumeId] }));
    expect(page.volumes).toHaveLength(1);
    const v = page.volumes[0]!;
    expect(v).toMatchObject({ name: 'pvc-1', volumeType: 'BLOCK', capacityMb: 1024, storagePolicyId: 'aa6d5a82-1c88-45da-85d3-3d74b91a5bad' });
    expect(v.containerCluster).toEqual({ clusterType: 'KUBERNETES', clusterId: 'cluster-1', vSphereUser: 'administrator@vsphere.local', clusterFlavor: 'VANILLA' });
    expect(v.entityMetadata).toHaveLength(2);
    expect(v.entityMetadata[0]!.labels).toEqual({ app: 'db' });
    expect(v.entityMetadata[1]!.referredEntity).toEqual([{ entityType: 'PERSISTENT_VOLUME', entityName: 'pv-1' }]);

    const [attached, attachCost] = await cost(() => client.cns.attachVolume({ volumeId: created.volumeId, vm: vms[0]! }));
    expect(attached.diskUuid).toMatch(/^[0-9a-f]{32}$/);
    expect(attachCost['/vsanHealth CnsAttachVolume']).toBe(1);
    expect(taskReads(attachCost)).toBe(1);
    // The simulator faults ResourceInUse when the volume is attached anywhere.
    const again = await client.cns.attachVolume({ volumeId: created.volumeId, vm: vms[1]! }).catch((e: unknown) => e);
    expect(isFault(again, 'ResourceInUse')).toBe(true);

    const [, detachCost] = await cost(() => client.cns.detachVolume({ volumeId: created.volumeId, vm: vms[0]! }));
    expect(detachCost['/vsanHealth CnsDetachVolume']).toBe(1);
    expect(taskReads(detachCost)).toBe(1);

    await client.cns.extendVolume({ volumeId: created.volumeId, capacityMb: 2048 });
    expect((await client.cns.queryVolumes({ volumeIds: [created.volumeId] })).volumes[0]!.capacityMb).toBe(2048);

    await client.cns.updateOneVolumeMetadata({
      volumeId: created.volumeId,
      clusterId: 'cluster-1',
      vSphereUser: 'administrator@vsphere.local',
      entityMetadata: [{ entityType: 'POD', entityName: 'pod-1', namespace: 'ns' }],
    });
    expect((await client.cns.queryVolumes({ volumeIds: [created.volumeId] })).volumes[0]!.entityMetadata.map((e) => e.entityName)).toEqual(['pod-1']);

    const [, deleteCost] = await cost(() => client.cns.deleteVolume(created.volumeId));
    expect(deleteCost['/vsanHealth CnsDeleteVolume']).toBe(1);
    expect(taskReads(deleteCost)).toBe(1);
    const gone = await client.cns.deleteVolume(created.volumeId).catch((e: unknown) => e);
    expect(isFault(gone, 'NotFound')).toBe(true);
    console.log('requests per CNS op', { create: createCost, attach: attachCost, detach: detachCost, delete: deleteCost });
  });

  test('XML metacharacters and unicode in a volume name and labels round-trip exactly and reach vCenter escaped', async () => {
    const name = `pvc <a href="x">&amp;'quoted' — ünïcødé 😀 ]]>`;
    const created = await client.cns.createVolume(spec(name, { entityMetadata: [{ entityType: 'PERSISTENT_VOLUME', entityName: name, labels: { '<k>': '"v"&' } }] }));
    const [volume] = (await client.cns.queryVolumes({ names: [name] })).volumes;
    expect(volume?.volumeId).toBe(created.volumeId);
    expect(volume?.name).toBe(name);
    expect(volume?.entityMetadata[0]!.entityName).toBe(name);
    expect(volume?.entityMetadata[0]!.labels).toEqual({ '<k>': '"v"&' });
    const bodies = await sim.bodies();
    const sent = bodies.find((b) => b.includes('CnsCreateVolume') && b.includes('ünïcødé'));
    expect(sent).toContain('<name>pvc &lt;a href=&quot;x&quot;&gt;&amp;amp;&apos;quoted&apos; — ünïcødé 😀 ]]&gt;</name>');
    await client.cns.deleteVolume(created.volumeId);
  });

  test('batches: one request for many specs, results mapped to the right items, one bad item fails only itself', async () => {
    client.resetStats();
    const results = await client.cns.createVolumes([spec('batch-a'), spec('batch-b'), spec('batch-c')]);
    expect(client.stats().byMethod['/vsanHealth CnsCreateVolume']).toBe(1);
    const ids = results.map((r) => (r.ok ? r.value.volumeId : ''));
    expect(results.every((r) => r.ok)).toBe(true);
    const names = (await client.cns.queryVolumes({ volumeIds: ids })).volumes.map((v): [string, string] => [v.volumeId, v.name]);
    expect(new Map(names)).toEqual(new Map([[ids[0]!, 'batch-a'], [ids[1]!, 'batch-b'], [ids[2]!, 'batch-c']]));

    // Extend two real volumes and one unknown id in one call.
    const extended = await client.cns.extendVolumes([
      { volumeId: ids[0]!, capacityMb: 4096 },
      { volumeId: 'no-such-volume', capacityMb: 4096 },
      { volumeId: ids[2]!, capacityMb: 8192 },
    ]);
    expect(extended.map((r) => r.ok)).toEqual([true, false, true]);
    expect(!extended[1]!.ok && isFault(extended[1]!.error, 'NotFound')).toBe(true);
    const sizes = new Map((await client.cns.queryVolumes({ volumeIds: ids })).volumes.map((v) => [v.volumeId, v.capacityMb]));
    expect([sizes.get(ids[0]!), sizes.get(ids[1]!), sizes.get(ids[2]!)]).toEqual([4096, 1024, 8192]);

    // Attach two volumes to two VMs in one task; each gets its own result.
    const attached = await client.cns.attachVolumes([
      { volumeId: ids[0]!, vm: vms[0]! },
      { volumeId: ids[1]!, vm: vms[1]! },
    ]);
    expect(attached.map((r) => r.ok && r.value.volumeId)).toEqual([ids[0], ids[1]]);
    // The simulator fails a whole attach/detach task when one item is bad: every item gets that task fault.
    const mixed = await client.cns.detachVolumes([
      { volumeId: ids[0]!, vm: vms[0]! },
      { volumeId: ids[2]!, vm: vms[0]! },
    ]);
    expect(mixed.every((r) => !r.ok && isFault(r.error, 'InvalidArgument'))).toBe(true);

    const deleted = await client.cns.deleteVolumes([ids[0]!, 'missing-id', ids[1]!, ids[2]!]);
    expect(deleted.map((r) => r.ok)).toEqual([true, false, true, true]);
  });

  test('query: by names, all pages, query-all, cluster filter applied', async () => {
    const made = await client.cns.createVolumes(Array.from({ length: 12 }, (_, i) => spec(`page-${i}`)));
    const ids = made.map((r) => (r.ok ? r.value.volumeId : ''));
    const pages = await client.cns.queryAllPages({ containerClusterIds: ['cluster-1'] }, { pageSize: 5 });
    expect(pages.filter((v) => v.name.startsWith('page-'))).toHaveLength(12);
    expect((await client.cns.queryAllVolumes({ names: ['page-3', 'page-4'] })).map((v) => v.name).sort()).toEqual(['page-3', 'page-4']);
    expect((await client.cns.queryVolumes({ containerClusterIds: ['other-cluster'] })).volumes).toHaveLength(0);
    await client.cns.deleteVolumes(ids);
  });

  test('invalid specs are refused before anything is sent', async () => {
    client.resetStats();
    await expect(client.cns.createVolume(spec('x', { capacityMb: 1.5 }))).rejects.toThrow(/capacityMb must be a positive whole number/);
    await expect(client.cns.createVolume(spec('bad\u0000name'))).rejects.toThrow(/control character/);
    expect(client.stats().byMethod['/vsanHealth CnsCreateVolume']).toBeUndefined();
  });
});
