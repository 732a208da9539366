/** CNS volume operations, attach/detach batching and the shared task waiter, against the (vCenter-strict) simulator. */
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
  test('create → query → attach → detach → extend → update metadata → delete, each one CNS request plus its task wait', async () => {
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
    // The task runs after the call returns: its queued → running → success steps reach us through
    // WaitForUpdatesEx (one to three long polls, depending on how the steps fall into update batches), never a RetrievePropertiesEx.
    const taskReads = (c: Record<string, number>): number => (c['/sdk RetrievePropertiesEx'] ?? 0) + (c['/sdk WaitForUpdatesEx'] ?? 0);
    const waitCost = (c: Record<string, number>): void => {
      expect(c['/sdk RetrievePropertiesEx']).toBeUndefined();
      expect(taskReads(c)).toBeGreaterThanOrEqual(1);
      expect(taskReads(c)).toBeLessThanOrEqual(3);
    };
    expect(createCost['/vsanHealth CnsCreateVolume']).toBe(1);
    waitCost(createCost);

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
    waitCost(attachCost);
    // vCenter faults ResourceInUse when the volume is attached anywhere.
    const again = await client.cns.attachVolume({ volumeId: created.volumeId, vm: vms[1]! }).catch((e: unknown) => e);
    expect(isFault(again, 'ResourceInUse')).toBe(true);

    const [, detachCost] = await cost(() => client.cns.detachVolume({ volumeId: created.volumeId, vm: vms[0]! }));
    expect(detachCost['/vsanHealth CnsDetachVolume']).toBe(1);
    waitCost(detachCost);

    await client.cns.extendVolume({ volumeId: created.volumeId, capacityMb: 2048 });
    expect((await client.cns.queryVolumes({ volumeIds: [created.volumeId] })).volumes[0]!.capacityMb).toBe(2048);

    await client.cns.updateOneVolumeMetadata({
      volumeId: created.volumeId,
      clusterId: 'cluster-1',
      vSphereUser: 'administrator@vsphere.local',
      entityMetadata: [{ entityType: 'POD', entityName: 'pod-1', namespace: 'ns' }],
    });
    // vCenter merges entity metadata: the POD is added beside the PV and PVC; an entity marked delete is removed.
    const entities = async (): Promise<string[]> => (await client.cns.queryVolumes({ volumeIds: [created.volumeId] })).volumes[0]!.entityMetadata.map((e) => e.entityName);
    expect(await entities()).toEqual(['pv-1', 'claim-1', 'pod-1']);
    await client.cns.updateOneVolumeMetadata({
      volumeId: created.volumeId,
      clusterId: 'cluster-1',
      vSphereUser: 'administrator@vsphere.local',
      entityMetadata: [{ entityType: 'PERSISTENT_VOLUME_CLAIM', entityName: 'claim-1', namespace: 'ns', delete: true }],
    });
    expect(await entities()).toEqual(['pv-1', 'pod-1']);

    const [, deleteCost] = await cost(() => client.cns.deleteVolume(created.volumeId));
    expect(deleteCost['/vsanHealth CnsDeleteVolume']).toBe(1);
    waitCost(deleteCost);
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

  test('attach/detach batches: one request for many specs, each item its own result and fault', async () => {
    const ids = [];
    for (const n of ['batch-a', 'batch-b', 'batch-c']) ids.push((await client.cns.createVolume(spec(n))).volumeId);
    client.resetStats();
    const attached = await client.cns.attachVolumes([
      { volumeId: ids[0]!, vm: vms[0]! },
      { volumeId: 'no-such-volume', vm: vms[0]! },
      { volumeId: ids[1]!, vm: vms[1]! },
      { volumeId: ids[2]!, vm: vms[0]! },
    ]);
    expect(client.stats().byMethod['/vsanHealth CnsAttachVolume']).toBe(1);
    expect(attached.map((r) => r.ok && r.value.volumeId)).toEqual([ids[0], false, ids[1], ids[2]]);
    expect(!attached[1]!.ok && isFault(attached[1]!.error, 'NotFound')).toBe(true);
    const uuids = attached.filter((r) => r.ok).map((r) => (r.ok ? r.value.diskUuid : ''));
    expect(new Set(uuids).size).toBe(3);

    // Detach one attached volume and one attached elsewhere: only the second fails.
    const mixed = await client.cns.detachVolumes([
      { volumeId: ids[0]!, vm: vms[0]! },
      { volumeId: ids[1]!, vm: vms[0]! },
    ]);
    expect(mixed.map((r) => r.ok)).toEqual([true, false]);
    expect(!mixed[1]!.ok && isFault(mixed[1]!.error, 'NotFound')).toBe(true);
    await client.cns.detachVolumes([
      { volumeId: ids[1]!, vm: vms[1]! },
      { volumeId: ids[2]!, vm: vms[0]! },
    ]);

    // Extend and delete take one volume per call; an unknown id is NotFound.
    await client.cns.extendVolume({ volumeId: ids[0]!, capacityMb: 4096 });
    expect(isFault(await client.cns.extendVolume({ volumeId: 'no-such-volume', capacityMb: 4096 }).catch((e: unknown) => e), 'NotFound')).toBe(true);
    expect((await client.cns.queryVolumes({ volumeIds: [ids[0]!] })).volumes[0]!.capacityMb).toBe(4096);
    for (const id of ids) await client.cns.deleteVolume(id);
  });

  test('metadata updates take many volumes per call; a vCenter refusing that gets one per call from then on', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await client.cns.createVolume(spec(`md-${i}`))).volumeId);
    const updates = (tag: string) => ids.map((volumeId) => ({ volumeId, clusterId: 'cluster-1', vSphereUser: 'u', entityMetadata: [{ entityType: 'POD' as const, entityName: `pod-${tag}`, namespace: 'ns' }] }));
    client.resetStats();
    expect((await client.cns.updateVolumeMetadata(updates('a'))).every((r) => r.ok)).toBe(true);
    expect(client.stats().byMethod['/vsanHealth CnsUpdateVolumeMetadata']).toBe(1);
    await sim.failNextCns('CnsUpdateVolumeMetadata', 'InvalidArgument', { property: 'InputSpec' });
    client.resetStats();
    expect((await client.cns.updateVolumeMetadata(updates('b'))).every((r) => r.ok)).toBe(true);
    // The refused list, then one call per volume; and the next list goes one per call at once.
    expect(client.stats().byMethod['/vsanHealth CnsUpdateVolumeMetadata']).toBe(4);
    client.resetStats();
    await client.cns.updateVolumeMetadata(updates('c'));
    expect(client.stats().byMethod['/vsanHealth CnsUpdateVolumeMetadata']).toBe(3);
    const pods = (await client.cns.queryVolumes({ volumeIds: ids })).volumes.map((v) => v.entityMetadata.map((e) => e.entityName).sort());
    expect(pods).toEqual(ids.map(() => ['pod-a', 'pod-b', 'pod-c']));
    for (const id of ids) await client.cns.deleteVolume(id);
  });

  test('query: by names, all pages with the cursor, query-all, cluster filter', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await client.cns.createVolume(spec(`page-${i}`))).volumeId);
    client.resetStats();
    const pages = await client.cns.queryAllPages({ containerClusterIds: ['cluster-1'], names: ids.map((_, i) => `page-${i}`) }, { pageSize: 5 });
    expect(pages.map((v) => v.name)).toEqual(ids.map((_, i) => `page-${i}`));
    // 12 volumes in pages of 5: three queries, each one page.
    expect(client.stats().byMethod['/vsanHealth CnsQueryVolume']).toBe(3);
    expect((await client.cns.queryAllVolumes({ names: ['page-3', 'page-4'] })).map((v) => v.name).sort()).toEqual(['page-3', 'page-4']);
    expect((await client.cns.queryVolumes({ containerClusterIds: ['other-cluster'] })).volumes).toHaveLength(0);
    for (const id of ids) await client.cns.deleteVolume(id);
  });

  test('a query by ids without a cursor answers every id, also past the default page of 100 (one request)', async () => {
    const ids: string[] = [];
    for (let round = 0; round < 5; round++) {
      ids.push(...(await Promise.all(Array.from({ length: 30 }, (_, i) => client.cns.createVolume(spec(`many-${round}-${i}`))))).map((c) => c.volumeId));
    }
    client.resetStats();
    const page = await client.cns.queryVolumes({ volumeIds: ids });
    expect(page.volumes.map((v) => v.volumeId).sort()).toEqual([...ids].sort());
    expect(client.stats().byMethod['/vsanHealth CnsQueryVolume']).toBe(1);
    for (const id of ids) await client.cns.deleteVolume(id);
  });

  test('invalid specs are refused before anything is sent', async () => {
    client.resetStats();
    await expect(client.cns.createVolume(spec('x', { capacityMb: 1.5 }))).rejects.toThrow(/capacityMb must be a positive whole number/);
    await expect(client.cns.createVolume(spec('bad\u0000name'))).rejects.toThrow(/control character/);
    expect(client.stats().byMethod['/vsanHealth CnsCreateVolume']).toBeUndefined();
  });
});
