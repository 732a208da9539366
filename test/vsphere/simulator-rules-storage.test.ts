/**
 * The simulator's rules for changing a volume's storage (test/vcsim/
 * cns_modify.go, storage_pbm.go) and for datastore clusters, each checked
 * with raw SOAP as in simulator-rules.test.ts: CnsRelocateVolume and
 * CnsReconfigVolumePolicy as vCenter documents them, storage-policy
 * compatibility per datastore, StoragePods with member datastores.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { RawVim } from '../../src/harness/vcsim-raw.js';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { createDatastoreCluster } from '../../src/harness/datastore-cluster.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatastoreInfo, MoRef, VsphereClient } from '../../src/vsphere/api.js';
import { refKey } from '../../src/vsphere/api.js';
import { escapeXml as esc } from '../../src/vsphere/soap/xml.js';
import { clientFor } from './helpers.js';
import { RawCns } from './raw-cns.js';

let sim: Vcsim;
let raw: RawVim;
let cns: RawCns;
let client: VsphereClient;
let shared: DatastoreInfo;
let other: DatastoreInfo;
let vm: MoRef;
let policyId: string;
const dirs: string[] = [];

const relocateSpec = (id: string, ds: string, profile?: string): string =>
  `<relocateSpecs xsi:type="CnsBlockVolumeRelocateSpec"><volumeId><id>${esc(id)}</id></volumeId><datastore type="Datastore">${esc(ds)}</datastore>` +
  (profile ? `<profile xsi:type="VirtualMachineDefinedProfileSpec"><profileId>${esc(profile)}</profileId></profile>` : '') +
  '</relocateSpecs>';
const reconfigSpec = (id: string, profile: string): string =>
  `<volumePolicyReconfigSpecs><volumeId><id>${esc(id)}</id></volumeId><profile xsi:type="VirtualMachineDefinedProfileSpec"><profileId>${esc(profile)}</profileId></profile></volumePolicyReconfigSpecs>`;
/** The fault type in the task's one volume result, if any. */
const resultFault = (result: string): string | undefined => /<fault>[\s\S]*?<fault [^>]*type="(?:[A-Za-z0-9]+:)?([^"]+)"/.exec(result)?.[1];

async function volume(id: string): Promise<{ datastoreUrl?: string; storagePolicyId?: string }> {
  const [v] = (await client.cns.queryVolumes({ volumeIds: [id] })).volumes;
  if (!v) throw new Error(`no volume ${id}`);
  return v;
}

async function newVolume(name: string, ds = shared): Promise<string> {
  return (await client.cns.createVolume({ name, capacityMb: 16, datastores: [ds.ref], clusterId: 'rules', vSphereUser: 'u' })).volumeId;
}

beforeAll(async () => {
  sim = await startVcsim();
  raw = new RawVim(sim);
  await raw.login();
  cns = new RawCns(raw);
  client = clientFor(sim);
  const hosts = (await client.inventory.hosts()).map((h) => h.ref.value);
  for (const name of ['second-ds', 'pod-m1', 'pod-m2']) {
    const dir = mkdtempSync(join(tmpdir(), `rules-${name}-`));
    dirs.push(dir);
    await raw.createLocalDatastore(hosts, name, dir);
  }
  const datastores = await client.inventory.datastores();
  shared = datastores.find((d) => d.name === 'LocalDS_0')!;
  other = datastores.find((d) => d.name === 'second-ds')!;
  vm = (await client.inventory.vms())[0]!.ref;
  policyId = (await client.pbm.policyIdByName('VM Encryption Policy'))!;
}, 60_000);

afterAll(async () => {
  await client?.close();
  await sim?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('CnsRelocateVolume', () => {
  test('moves a detached volume and its disk file to the datastore, keeping the volume id; the profile is the policy it keeps', async () => {
    const id = await newVolume('move-me');
    const info = await cns.settled(await cns.startTask('CnsRelocateVolume', relocateSpec(id, other.ref.value, policyId)));
    expect(info.state).toBe('success');
    expect(resultFault(info.result)).toBeUndefined();
    expect(await volume(id)).toMatchObject({ datastoreUrl: other.url, storagePolicyId: policyId });
    const [v] = (await client.cns.queryVolumes({ volumeIds: [id] })).volumes;
    expect(v?.backingDiskId).toBe(id);
    // The FCD record moved too: deleting the volume deletes the disk on the new datastore.
    await client.cns.deleteVolume(id);
  });

  test('an attached volume is relocated and the VM disk device follows it', async () => {
    const id = await newVolume('move-attached');
    await client.cns.attachVolume({ volumeId: id, vm });
    const info = await cns.settled(await cns.startTask('CnsRelocateVolume', relocateSpec(id, other.ref.value)));
    expect(resultFault(info.result)).toBeUndefined();
    const disk = ((await client.inventory.vmDisks([vm])).get(refKey(vm)) ?? []).find((d) => d.volumeId === id);
    expect(disk?.fileName).toBe(`[second-ds] fcd/${id}.vmdk`);
    expect(await volume(id)).toMatchObject({ datastoreUrl: other.url });
    await client.cns.detachVolume({ volumeId: id, vm });
    await client.cns.deleteVolume(id);
  });

  test('one spec per call; unknown datastore NotFound; its own datastore AlreadyExists; an incompatible policy CnsFault', async () => {
    const id = await newVolume('refusals');
    const two = relocateSpec(id, other.ref.value) + relocateSpec(id, other.ref.value);
    expect(await cns.settled(await cns.startTask('CnsRelocateVolume', two))).toMatchObject({ state: 'error', fault: 'InvalidArgument', property: 'InputSpec' });
    expect(resultFault((await cns.settled(await cns.startTask('CnsRelocateVolume', relocateSpec(id, 'datastore-404')))).result)).toBe('NotFound');
    expect(resultFault((await cns.settled(await cns.startTask('CnsRelocateVolume', relocateSpec(id, shared.ref.value)))).result)).toBe('AlreadyExists');
    await sim.setPolicyDatastores(policyId, [shared.ref.value]);
    try {
      expect(resultFault((await cns.settled(await cns.startTask('CnsRelocateVolume', relocateSpec(id, other.ref.value, policyId)))).result)).toBe('CnsFault');
    } finally {
      await sim.setPolicyDatastores(policyId, undefined);
    }
    expect(await volume(id)).toMatchObject({ datastoreUrl: shared.url });
    await client.cns.deleteVolume(id);
  });

  test('a relocation takes -cns-relocate-time while the task runs; meanwhile the volume refuses another relocation or policy change (CnsFault)', async () => {
    const id = await newVolume('slow-move');
    await sim.setRelocateTime(600);
    try {
      const started = Date.now();
      const task = await cns.startTask('CnsRelocateVolume', relocateSpec(id, other.ref.value));
      await new Promise((r) => setTimeout(r, 150));
      expect((await cns.taskInfo(task)).state).toBe('running');
      const second = await cns.settled(await cns.startTask('CnsRelocateVolume', relocateSpec(id, other.ref.value)));
      expect(resultFault(second.result)).toBe('CnsFault');
      expect(resultFault((await cns.settled(await cns.startTask('CnsReconfigVolumePolicy', reconfigSpec(id, policyId)))).result)).toBe('CnsFault');
      // Other CNS calls are served meanwhile.
      expect((await client.cns.queryVolumes({ volumeIds: [id] })).volumes).toHaveLength(1);
      expect((await cns.settled(task)).state).toBe('success');
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    } finally {
      await sim.setRelocateTime(0);
    }
    expect(await volume(id)).toMatchObject({ datastoreUrl: other.url });
    await client.cns.deleteVolume(id);
  });
});

describe('CnsReconfigVolumePolicy', () => {
  test('sets the policy; an unknown policy or one the datastore does not satisfy is a CnsFault; one spec per call', async () => {
    const id = await newVolume('repolicy');
    expect(resultFault((await cns.settled(await cns.startTask('CnsReconfigVolumePolicy', reconfigSpec(id, policyId)))).result)).toBeUndefined();
    expect(await volume(id)).toMatchObject({ storagePolicyId: policyId });
    expect(resultFault((await cns.settled(await cns.startTask('CnsReconfigVolumePolicy', reconfigSpec(id, 'no-such-policy')))).result)).toBe('CnsFault');
    const gold = (await client.pbm.policyIdByName('vSAN Default Storage Policy'))!;
    await sim.setPolicyDatastores(gold, [other.ref.value]);
    try {
      expect(resultFault((await cns.settled(await cns.startTask('CnsReconfigVolumePolicy', reconfigSpec(id, gold)))).result)).toBe('CnsFault');
    } finally {
      await sim.setPolicyDatastores(gold, undefined);
    }
    expect(await cns.settled(await cns.startTask('CnsReconfigVolumePolicy', ''))).toMatchObject({ state: 'error', fault: 'InvalidArgument' });
    expect(await volume(id)).toMatchObject({ storagePolicyId: policyId });
    await client.cns.deleteVolume(id);
  });

  test('a vCenter older than the API answers MethodNotFound (reconfigure before 8.0 U2, relocate before 7.0 U3)', async () => {
    for (const [version, method, inner] of [
      ['8.0.1', 'CnsReconfigVolumePolicy', reconfigSpec('x', 'y')],
      ['7.0.2', 'CnsRelocateVolume', relocateSpec('x', 'y')],
    ] as const) {
      const old = await startVcsim({ version });
      try {
        const oldRaw = new RawVim(old);
        await oldRaw.login();
        await expect(new RawCns(oldRaw).startTask(method, inner)).rejects.toThrow(/MethodNotFound/);
      } finally {
        await old.stop();
      }
    }
  });
});

describe('storage policy compatibility and datastore clusters', () => {
  test('PbmCheckRequirements answers the hubs asked about, with an error for a datastore the policy does not match', async () => {
    await sim.setPolicyDatastores(policyId, [other.ref.value]);
    try {
      expect((await client.pbm.compatibleDatastores(policyId)).map((r) => r.value)).toEqual([other.ref.value]);
      const answer = await raw.call(
        `<PbmCheckRequirements xmlns="urn:pbm"><_this type="PbmPlacementSolver">placementSolver</_this><hubsToSearch><hubType>Datastore</hubType><hubId>${shared.ref.value}</hubId></hubsToSearch>` +
          `<placementSubjectRequirement xsi:type="PbmPlacementCapabilityProfileRequirement"><profileId><uniqueId>${policyId}</uniqueId></profileId></placementSubjectRequirement></PbmCheckRequirements>`,
        '/pbm',
      );
      const results = [...answer.matchAll(/<returnval>\s*<hub>\s*<hubType>[^<]*<\/hubType>\s*<hubId>([^<]+)<\/hubId>/g)].map((m) => m[1]);
      expect(results).toEqual([shared.ref.value]);
      expect(answer).toContain('PbmCompatibilityCheckFault');
    } finally {
      await sim.setPolicyDatastores(policyId, undefined);
    }
    expect((await client.pbm.compatibleDatastores(policyId)).length).toBeGreaterThan(2);
  });

  test('a StoragePod made with CreateStoragePod and MoveIntoFolder_Task lists its members; a datastore reports maintenance mode and free space', async () => {
    const datastores = await client.inventory.datastores();
    const members = datastores.filter((d) => d.name.startsWith('pod-m')).map((d) => d.ref.value);
    await createDatastoreCluster(raw, client, 'rules-pod', members);
    const [pod] = await client.inventory.datastoreClusters();
    expect(pod).toMatchObject({ name: 'rules-pod', path: '/DC0/datastore/rules-pod' });
    expect(pod!.datastores.map((d) => d.value).sort()).toEqual([...members].sort());
    await sim.setDatastoreState('pod-m1', { freeSpace: 5n * 1024n ** 3n, maintenanceMode: 'inMaintenance' });
    const m1 = (await client.inventory.datastores()).find((d) => d.name === 'pod-m1');
    expect(m1).toMatchObject({ freeSpace: 5n * 1024n ** 3n, maintenanceMode: 'inMaintenance' });
    expect((await client.inventory.datastores()).find((d) => d.name === 'pod-m2')?.maintenanceMode).toBe('normal');
    // A volume can live on a member (CNS finds the datastore inside the pod).
    const id = await newVolume('in-pod', m1);
    expect(await volume(id)).toMatchObject({ datastoreUrl: m1!.url });
    await client.cns.deleteVolume(id);
  });
});
