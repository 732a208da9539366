/**
 * The simulator's vCenter rules (test/vcsim/cns_*.go, docs/vsphere-client.md
 * "Simulator rules"), each checked with raw SOAP so the test does not depend
 * on how our client happens to call: what the driver is proven against must
 * itself be proven to behave like vCenter.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { RawVim } from '../../src/harness/vcsim-raw.js';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import type { MoRef, VsphereClient } from '../../src/vsphere/api.js';
import { refKey } from '../../src/vsphere/api.js';
import { escapeXml as esc } from '../../src/vsphere/soap/xml.js';
import { clientFor } from './helpers.js';
import { CNS_THIS, RawCns, type RawTaskInfo } from './raw-cns.js';

let sim: Vcsim;
let raw: RawVim;
let client: VsphereClient;
let datastore: MoRef;
let vm: MoRef;

const CNS = CNS_THIS;
let cns: RawCns;

function createSpec(name: string, cluster = 'rules'): string {
  return (
    `<createSpecs><name>${esc(name)}</name><volumeType>BLOCK</volumeType><datastores type="Datastore">${esc(datastore.value)}</datastores>` +
    `<metadata><containerCluster><clusterType>KUBERNETES</clusterType><clusterId>${cluster}</clusterId><vSphereUser>u</vSphereUser></containerCluster></metadata>` +
    `<backingObjectDetails xsi:type="CnsBlockBackingDetails"><capacityInMb>16</capacityInMb></backingObjectDetails></createSpecs>`
  );
}

const startTask = (method: string, inner: string): Promise<string> => cns.startTask(method, inner);
const taskInfo = (task: string): Promise<RawTaskInfo> => cns.taskInfo(task);
const settled = (task: string): Promise<RawTaskInfo> => cns.settled(task);

beforeAll(async () => {
  sim = await startVcsim({ version: '7.0.3' });
  raw = new RawVim(sim);
  await raw.login();
  cns = new RawCns(raw);
  client = clientFor(sim);
  datastore = (await client.inventory.datastores())[0]!.ref;
  vm = (await client.inventory.vms())[0]!.ref;
});

afterAll(async () => {
  await client?.close();
  await sim?.stop();
});

describe('simulator rules (vCenter behaviour)', () => {
  test('CnsCreateVolume with two specs (or none) fails the whole task with InvalidArgument "InputSpec" and creates nothing', async () => {
    const before = await sim.cnsCounts();
    for (const inner of [createSpec('two-a') + createSpec('two-b'), '']) {
      const info = await settled(await startTask('CnsCreateVolume', inner));
      expect(info).toMatchObject({ state: 'error', fault: 'InvalidArgument', property: 'InputSpec' });
    }
    expect(await sim.cnsCounts()).toEqual(before);
    const one = await settled(await startTask('CnsCreateVolume', createSpec('just-one')));
    expect(one.state).toBe('success');
    expect((await sim.cnsCounts()).volumes).toBe(before.volumes + 1);
  });

  test('CnsDeleteVolume and CnsExtendVolume take exactly one volume too', async () => {
    const ids = [];
    for (const n of ['d-1', 'd-2']) ids.push((await client.cns.createVolume({ name: n, capacityMb: 16, datastores: [datastore], clusterId: 'rules', vSphereUser: 'u' })).volumeId);
    const twoIds = ids.map((id) => `<volumeIds><id>${id}</id></volumeIds>`).join('') + '<deleteDisk>true</deleteDisk>';
    expect(await settled(await startTask('CnsDeleteVolume', twoIds))).toMatchObject({ state: 'error', fault: 'InvalidArgument', property: 'InputSpec' });
    const twoExtends = ids.map((id) => `<extendSpecs><volumeId><id>${id}</id></volumeId><capacityInMb>32</capacityInMb></extendSpecs>`).join('');
    expect(await settled(await startTask('CnsExtendVolume', twoExtends))).toMatchObject({ state: 'error', fault: 'InvalidArgument', property: 'InputSpec' });
    expect((await client.cns.queryVolumes({ volumeIds: ids })).volumes.map((v) => v.capacityMb)).toEqual([16, 16]);
    for (const id of ids) await client.cns.deleteVolume(id);
  });

  test('a CNS task is answered queued, then runs, then succeeds: asynchronously, as on vCenter', async () => {
    await sim.setCnsTiming(300, 300);
    try {
      const task = await startTask('CnsCreateVolume', createSpec('slow-one'));
      expect((await taskInfo(task)).state).toBe('queued');
      const seen = new Set<string>();
      let info = await taskInfo(task);
      while (info.state !== 'success' && info.state !== 'error') {
        seen.add(info.state);
        await new Promise((r) => setTimeout(r, 20));
        info = await taskInfo(task);
      }
      expect([...seen]).toEqual(['queued', 'running']);
      expect(info.state).toBe('success');
      expect(info.result).toContain('CnsVolumeCreateResult');
    } finally {
      await sim.setCnsTiming(2, 3);
    }
  });

  test('CnsQueryVolume honours the names and volumeIds filters and pages with the cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await client.cns.createVolume({ name: `q-${i}`, capacityMb: 16, datastores: [datastore], clusterId: 'paged', vSphereUser: 'u' })).volumeId);
    }
    const query = async (filter: string): Promise<{ names: string[]; offset: number; limit: number; total: number }> => {
      const text = await raw.call(`<CnsQueryVolume xmlns="urn:vsan">${CNS}<filter>${filter}</filter></CnsQueryVolume>`, '/vsanHealth');
      const cursor = /<cursor>([\s\S]*?)<\/cursor>/.exec(text)?.[1] ?? '';
      const num = (k: string): number => Number(new RegExp(`<${k}>(\\d+)</${k}>`).exec(cursor)?.[1] ?? NaN);
      return { names: [...text.matchAll(/<volumes>[\s\S]*?<name>([^<]+)<\/name>/g)].map((m) => m[1]!), offset: num('offset'), limit: num('limit'), total: num('totalRecords') };
    };
    expect((await query('<names>q-1</names><names>q-3</names>')).names).toEqual(['q-1', 'q-3']);
    expect((await query(`<volumeIds><id>${ids[4]}</id></volumeIds>`)).names).toEqual(['q-4']);
    expect(await query('<containerClusterIds>paged</containerClusterIds><cursor><offset>1</offset><limit>2</limit></cursor>')).toEqual({ names: ['q-1', 'q-2'], offset: 3, limit: 2, total: 5 });
    expect(await query('<containerClusterIds>paged</containerClusterIds><cursor><offset>4</offset><limit>2</limit></cursor>')).toEqual({ names: ['q-4'], offset: 5, limit: 2, total: 5 });
    // Without a cursor: offset 0, limit 100 (the API reference's defaults); a limit above 1000 is capped.
    expect(await query('<containerClusterIds>paged</containerClusterIds>')).toMatchObject({ offset: 5, limit: 100, total: 5 });
    expect(await query('<containerClusterIds>paged</containerClusterIds><cursor><offset>0</offset><limit>5000</limit></cursor>')).toMatchObject({ limit: 1000 });
    for (const id of ids) await client.cns.deleteVolume(id);
  });

  test('attach gives each volume its own disk UUID and a disk device on the VM; detach removes it', async () => {
    const ids: string[] = [];
    for (const n of ['a-1', 'a-2']) ids.push((await client.cns.createVolume({ name: n, capacityMb: 64, datastores: [datastore], clusterId: 'rules', vSphereUser: 'u' })).volumeId);
    const attached = await client.cns.attachVolumes(ids.map((volumeId) => ({ volumeId, vm })));
    const uuids = attached.map((r) => (r.ok ? r.value.diskUuid : ''));
    expect(uuids.every((u) => /^[0-9a-f]{32}$/.test(u))).toBe(true);
    expect(new Set(uuids).size).toBe(2);
    const disks = (await client.inventory.vmDisks([vm])).get(refKey(vm)) ?? [];
    for (const [i, id] of ids.entries()) {
      const disk = disks.find((d) => d.volumeId === id);
      expect(disk).toMatchObject({ diskUuid: uuids[i], capacityBytes: 64n * 1024n * 1024n });
      expect(disk?.fileName).toContain(`fcd/${id}.vmdk`);
    }
    await client.cns.detachVolumes(ids.map((volumeId) => ({ volumeId, vm })));
    const after = (await client.inventory.vmDisks([vm])).get(refKey(vm)) ?? [];
    expect(after.filter((d) => d.volumeId && ids.includes(d.volumeId))).toEqual([]);
    for (const id of ids) await client.cns.deleteVolume(id);
  });

  test('the advertised vCenter version is settable', async () => {
    expect(await client.session.about()).toMatchObject({ version: '7.0.3', apiVersion: '7.0.3.0' });
    const old = await startVcsim({ version: '6.7.3' });
    const oldClient = clientFor(old);
    try {
      expect(await oldClient.session.about()).toMatchObject({ version: '6.7.3', apiVersion: '6.7.3' });
    } finally {
      await oldClient.close();
      await old.stop();
    }
  });
});
