/** Inventory reads and VM changes against the vCenter simulator. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { refKey, type VsphereClient } from '../../src/vsphere/api.js';
import { isFault } from '../../src/vsphere/faults.js';
import { clientFor } from './helpers.js';

// 2 clusters × 4 hosts + 2 standalone hosts; 50 VMs per resource pool (4 pools) = 200 VMs.
let sim: Vcsim;
let client: VsphereClient;

beforeAll(async () => {
  sim = await startVcsim({ datacenters: 1, clusters: 2, hostsPerCluster: 4, standaloneHosts: 2, vmsPerPool: 50, datastores: 2 });
  client = clientFor(sim);
});

afterAll(async () => {
  await client?.close();
  await sim?.stop();
});

describe('inventory', () => {
  test('datacenters: all, and a configured list by name or path; unknown name is a clear NotFound', async () => {
    const all = await client.inventory.datacenters();
    expect(all.map((d) => d.path)).toEqual(['/DC0']);
    const scoped = clientFor(sim, { datacenters: ['/DC0'] });
    try {
      expect((await scoped.inventory.datacenters())[0]!.name).toBe('DC0');
      expect((await scoped.inventory.vms()).length).toBe((await client.inventory.vms()).length);
    } finally {
      await scoped.close();
    }
    const wrong = clientFor(sim, { datacenters: ['nope'] });
    try {
      await expect(wrong.inventory.datacenters()).rejects.toThrow(/datacenter "nope" from the configuration does not exist on vCenter \(found: \/DC0\)/);
    } finally {
      await wrong.close();
    }
  });

  test('reads 200 VMs with all CPI/CSI properties in at most 3 requests (1 once the view is cached)', async () => {
    const fresh = clientFor(sim);
    let first: number;
    let second: number;
    let vms: Awaited<ReturnType<VsphereClient['inventory']['vms']>>;
    let again: typeof vms;
    try {
      await fresh.session.ensure();
      fresh.resetStats();
      vms = await fresh.inventory.vms();
      first = fresh.stats().total;
      fresh.resetStats();
      again = await fresh.inventory.vms();
      second = fresh.stats().total;
    } finally {
      await fresh.close();
    }
    // The simulator places 50 VMs in each of 4 resource pools (2 clusters + 2 standalone hosts).
    expect(vms.length).toBe(200);
    expect(again.length).toBe(200);
    expect(first).toBeLessThanOrEqual(3);
    expect(second).toBe(1);
    console.log(`200 VMs: ${first} requests cold (CreateContainerView + RetrievePropertiesEx), ${second} warm`);
    const vm = vms[0]!;
    expect(vm.biosUuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(vm.host?.type).toBe('HostSystem');
    expect(vm.resourcePool?.type).toBe('ResourcePool');
    expect(vm.powerState).toBe('poweredOn');
    expect(vm.numCpu).toBeGreaterThan(0);
    expect(vm.memoryMb).toBeGreaterThan(0);
    expect(vm.guestId).toBeTruthy();
    expect(vm.guestNics.length).toBeGreaterThan(0);
  });

  test('hosts, clusters, datastores with URLs, capacity as bigint and host mounts; hosts of one cluster', async () => {
    const [hosts, clusters, datastores] = await Promise.all([client.inventory.hosts(), client.inventory.clusters(), client.inventory.datastores()]);
    expect(hosts).toHaveLength(10);
    expect(clusters).toHaveLength(2);
    expect(datastores).toHaveLength(2);
    for (const ds of datastores) {
      expect(ds.url).not.toBe('');
      expect(typeof ds.capacity).toBe('bigint');
      expect(ds.capacity).toBeGreaterThan(0n);
      expect(ds.freeSpace).toBeLessThanOrEqual(ds.capacity);
      expect(ds.accessible).toBe(true);
      // The simulator lists only some mounts on the datastore side (HostSystem.datastore is complete).
      expect(ds.hostMounts.length).toBeGreaterThanOrEqual(1);
      expect(ds.hostMounts.every((m) => m.host.type === 'HostSystem' && m.mounted)).toBe(true);
    }
    expect(hosts[0]!.datastores).toHaveLength(2);
    const cluster = clusters[0]!;
    expect(cluster.hosts).toHaveLength(4);
    const inCluster = await client.inventory.hostsOfCluster(cluster.ref);
    expect(inCluster.map((h) => h.ref.value).sort()).toEqual(cluster.hosts.map((h) => h.value).sort());
    expect(inCluster.every((h) => refKey(h.parent!) === refKey(cluster.ref))).toBe(true);
  });

  test('ancestors: host → cluster → folder → datacenter → root, many objects in one request', async () => {
    const clusters = await client.inventory.clusters();
    const host = clusters[0]!.hosts[0]!;
    const chain = await client.inventory.ancestors(host);
    expect(chain.map((o) => o.ref.type)).toEqual(['ClusterComputeResource', 'Folder', 'Datacenter', 'Folder']);
    expect(chain[0]!.name).toBe(clusters[0]!.name);
    const vms = (await client.inventory.vms()).slice(0, 5);
    client.resetStats();
    const many = await client.inventory.ancestorsOfMany([host, ...vms.map((v) => v.ref)]);
    expect(client.stats().total).toBe(1);
    expect(many.size).toBe(6);
    expect(many.get(refKey(vms[0]!.ref))!.some((o) => o.ref.type === 'Datacenter')).toBe(true);
  });

  test('find a VM by BIOS UUID, DNS name and IP (guest info set through ReconfigVM extraConfig)', async () => {
    const vm = (await client.inventory.vms())[3]!;
    expect(await client.inventory.findVmByUuid(vm.biosUuid!.toUpperCase())).toEqual(vm.ref);
    expect(await client.inventory.findVmByUuid('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    await client.inventory.setExtraConfig(vm.ref, { 'SET.guest.hostName': 'node-3.example', 'SET.guest.ipAddress': '10.1.2.3', 'disk.EnableUUID': 'TRUE' });
    expect(await client.inventory.findVmByDnsName('node-3.example')).toEqual(vm.ref);
    expect(await client.inventory.findVmByIp('10.1.2.3')).toEqual(vm.ref);
    const info = await client.inventory.vm(vm.ref);
    expect(info.guestHostName).toBe('node-3.example');
    expect(info.guestNics[0]!.ipAddresses).toContain('10.1.2.3');
    expect(info.diskEnableUuid).toBe(true);
    expect((await client.inventory.vmsByRef([vm.ref, (await client.inventory.vms())[4]!.ref])).length).toBe(2);
  });

  test('power off, destroy; a destroyed VM is ManagedObjectNotFound and left out of bulk reads', async () => {
    const vm = (await client.inventory.vms())[7]!;
    await client.inventory.powerOffVm(vm.ref);
    expect((await client.inventory.vm(vm.ref)).powerState).toBe('poweredOff');
    await client.inventory.destroyVm(vm.ref);
    const err = await client.inventory.vm(vm.ref).catch((e: unknown) => e);
    expect(isFault(err, 'ManagedObjectNotFound')).toBe(true);
    expect(await client.inventory.vmsByRef([vm.ref])).toEqual([]);
    expect((await client.inventory.vms()).some((v) => v.ref.value === vm.ref.value)).toBe(false);
    // Destroying a powered-on VM fails with the task's own fault type.
    const on = (await client.inventory.vms())[8]!;
    const taskErr = await client.inventory.destroyVm(on.ref).catch((e: unknown) => e);
    expect(isFault(taskErr, 'InvalidPowerState')).toBe(true);
  });
});
