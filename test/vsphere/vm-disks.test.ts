/**
 * Inventory.vmDisks / allVmDisks against the simulator: VirtualDisk devices
 * given to VMs with ReconfigVM_Task (with and without vDiskId), other device
 * types skipped, several VMs in one request.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { RawVim } from '../../src/harness/vcsim-raw.js';
import { VcsimDisks, vsphereDiskUuid } from '../../src/harness/vcsim-disks.js';
import { refKey, type VmInfo, type VsphereClient } from '../../src/vsphere/api.js';
import { normalizeDiskUuid } from '../../src/vsphere/vm-disks.js';
import { clientFor } from './helpers.js';

const VOLUME_ID = '3f1c2b7a-9d8e-4c6b-8a5f-0e1d2c3b4a59';
const UUID_A = '6000c2912345678990abcdef01234567';
const UUID_B = '6000c29fedcba9876543210fedcba987';

let sim: Vcsim;
let client: VsphereClient;
let disks: VcsimDisks;
let vms: VmInfo[];

beforeAll(async () => {
  sim = await startVcsim({ clusters: 1, hostsPerCluster: 1, standaloneHosts: 0, vmsPerPool: 3, datastores: 1 });
  client = clientFor(sim);
  disks = new VcsimDisks(sim, client);
  vms = (await client.inventory.vms()).sort((a, b) => (a.name < b.name ? -1 : 1));
}, 60_000);

afterAll(async () => {
  await client?.close();
  await sim?.stop();
});

describe('VM disk devices', () => {
  test('normalizes vSphere disk UUIDs to the publish-context form', () => {
    expect(normalizeDiskUuid('6000C298-595b-f457-5739-e9105b2c0c2d')).toBe('6000c298595bf4575739e9105b2c0c2d');
    expect(normalizeDiskUuid('')).toBeUndefined();
    expect(normalizeDiskUuid(undefined)).toBeUndefined();
    expect(vsphereDiskUuid('6000c298595bf4575739e9105b2c0c2d')).toBe('6000C298-595b-f457-5739-e9105b2c0c2d');
  });

  test('a disk with vDiskId, a disk without, the built-in disk; several VMs in one request; other devices skipped', async () => {
    const [vm0, vm1, vm2] = vms;
    const withId = await disks.addDisk(vm0!.ref, { volumeId: VOLUME_ID, uuid: vsphereDiskUuid(UUID_A), capacityKb: 2048 });
    const plain = await disks.addDisk(vm1!.ref, { uuid: vsphereDiskUuid(UUID_B) });
    expect(withId).toMatchObject({ volumeId: VOLUME_ID, diskUuid: UUID_A, capacityBytes: 2048n * 1024n });
    expect(withId.fileName).toMatch(new RegExp(`^\\[.+\\] .*${VOLUME_ID}-\\d+\\.vmdk$`));
    expect(plain.volumeId).toBeUndefined();
    expect(plain.diskUuid).toBe(UUID_B);

    const gone = { type: 'VirtualMachine', value: 'vm-does-not-exist' };
    client.resetStats();
    const byVm = await client.inventory.vmDisks([vm0!.ref, vm1!.ref, vm2!.ref, gone]);
    expect(client.stats().byMethod).toEqual({ '/sdk RetrievePropertiesEx': 1 });
    expect(byVm.has(refKey(gone))).toBe(false);
    // Each simulated VM is created with one disk (disk1.vmdk, no uuid, no vDiskId).
    expect(byVm.get(refKey(vm0!.ref))!.map((d) => d.volumeId)).toEqual([undefined, VOLUME_ID]);
    expect(byVm.get(refKey(vm1!.ref))!.map((d) => d.diskUuid)).toEqual([undefined, UUID_B]);
    const builtIn = byVm.get(refKey(vm2!.ref))!;
    expect(builtIn).toHaveLength(1);
    expect(builtIn[0]).toMatchObject({ volumeId: undefined, diskUuid: undefined, capacityBytes: 1024n * 1024n, unitNumber: 0 });
    expect(builtIn[0]!.fileName).toMatch(/disk1\.vmdk$/);

    // The wire really carries controllers, NICs and a CD-ROM next to the disks: only the disks are decoded.
    const raw = new RawVim(sim);
    await raw.login();
    const xml = await raw.call(
      `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>config.hardware.device</pathSet></propSet><objectSet><obj type="VirtualMachine">${vm0!.ref.value}</obj></objectSet></specSet><options></options></RetrievePropertiesEx>`,
    );
    const devices = xml.match(/<VirtualDevice /g)?.length ?? 0;
    const diskDevices = xml.match(/<VirtualDevice [^>]*type="VirtualDisk"/g)?.length ?? 0;
    expect(diskDevices).toBe(2);
    expect(devices).toBeGreaterThan(diskDevices + 2);
  });

  test('every VM with its node id and disks: one request once the VM view is cached', async () => {
    await client.inventory.vms(); // the VM ContainerView is shared with vms()
    client.resetStats();
    const t0 = performance.now();
    const all = await client.inventory.allVmDisks();
    const ms = performance.now() - t0;
    expect(client.stats().byMethod).toEqual({ '/sdk RetrievePropertiesEx': 1 });
    console.log(`allVmDisks over ${all.length} VMs: 1 request, ${ms.toFixed(0)} ms`);
    expect(all).toHaveLength(vms.length);
    const holder = all.filter((v) => v.disks.some((d) => d.volumeId === VOLUME_ID));
    expect(holder.map((v) => [v.name, v.biosUuid])).toEqual([[vms[0]!.name, vms[0]!.biosUuid]]);

    await disks.mirrorCnsDetach(vms[0]!.ref, VOLUME_ID);
    const after = await client.inventory.allVmDisks();
    expect(after.some((v) => v.disks.some((d) => d.volumeId === VOLUME_ID))).toBe(false);
  });
});
