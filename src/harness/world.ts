/**
 * A vCenter simulator shaped like a small zoned vSphere estate, for the
 * demo and the benchmarks: one region tag on the datacenter, one zone tag on
 * each cluster (categories created through the real vAPI REST endpoint), a
 * datastore shared by every host plus one datastore local to each zone, and
 * every VM with disk.EnableUUID=TRUE (but the last `vmsWithoutEnableUuid`). Also reads the simulator's certificate
 * fingerprint so the driver can pin it (TLS verified, not skipped).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { VmInfo, VsphereClient } from '../vsphere/api.js';
import { createVsphereClient } from '../vsphere/client.js';
import { RawVim } from './vcsim-raw.js';
import { createDatastoreCluster } from './datastore-cluster.js';
import { multiSimCsiConfig } from './sim-config.js';
import { startVcsim, type Vcsim, type VcsimOptions } from './vcsim.js';

export const ZONE_CATEGORY = 'k8s-zone';
export const REGION_CATEGORY = 'k8s-region';

export interface WorldZone {
  name: string;
  clusterName: string;
  /** summary.url of the zone-local datastore. */
  datastoreUrl: string;
  hosts: string[];
  vms: VmInfo[];
}

/** A datastore cluster of the world (WorldOptions.datastoreCluster): two members local to each zone. */
export interface WorldDatastoreCluster {
  name: string;
  /** Inventory path, e.g. /DC0/datastore/pod-1. */
  path: string;
  members: { name: string; url: string; ref: string; zone: string }[];
}

export interface World {
  sim: Vcsim;
  /** SHA-1 fingerprint of the simulator's certificate, colon-separated (the config's `thumbprint`). */
  thumbprint: string;
  /** A client for set-up and inspection (pinned to the thumbprint). */
  client: VsphereClient;
  region: string;
  zones: WorldZone[];
  sharedDatastoreUrl: string;
  vms: VmInfo[];
  datastoreCluster?: WorldDatastoreCluster;
  stop(): Promise<void>;
}

/** The leaf certificate's SHA-1 fingerprint, as vCenter shows it. */
export function fetchThumbprint(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint;
      socket.end();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

export interface WorldOptions extends VcsimOptions {
  zones?: number;
  /** The last N VMs (by name) keep disk.EnableUUID unset, as an admin may forget it (default 0). */
  vmsWithoutEnableUuid?: number;
  /** Zone tag names, one per cluster (default zone-a, zone-b, ...): a second site names its own zones. */
  zoneNames?: string[];
  /** Region tag of the datacenter (default region-1). */
  region?: string;
  /** Guest host names are `<guestPrefix><i>` (default k8s-node-). */
  guestPrefix?: string;
  /** First two octets of the guest IPs (default 10.20). */
  ipPrefix?: string;
  /**
   * A second simulator is a second vCenter: its VMs get names prefixed with this and BIOS UUIDs
   * derived from it, since the simulator derives both from the VM's path, identical in every simulator.
   */
  site?: string;
  /** Also a datastore cluster of this name with members <zone>-pod-1 and <zone>-pod-2 on each zone's hosts (default: none). */
  datastoreCluster?: string;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const {
    zones: zoneCount = 2,
    vmsWithoutEnableUuid = 0,
    zoneNames = [],
    region = 'region-1',
    guestPrefix = 'k8s-node-',
    ipPrefix = '10.20',
    site,
    datastoreCluster,
    ...vcsimOptions
  } = options;
  const sim = await startVcsim({ clusters: zoneCount, hostsPerCluster: 2, vmsPerPool: 2, datastores: 1, standaloneHosts: 0, ...vcsimOptions });
  const dirs: string[] = [];
  let client: VsphereClient | undefined;
  try {
    const thumbprint = await fetchThumbprint(sim.hostname, sim.port);
    client = createVsphereClient({ host: sim.hostname, port: sim.port, user: sim.username, password: sim.password, insecure: false, thumbprint });
    const raw = new RawVim(sim);
    await raw.login();

    const regionCategory = await client.tags.createCategory(REGION_CATEGORY, { associableTypes: ['Datacenter'], cardinality: 'SINGLE' });
    const zoneCategory = await client.tags.createCategory(ZONE_CATEGORY, { associableTypes: ['ClusterComputeResource'], cardinality: 'SINGLE' });
    const regionTag = await client.tags.createTag(region, regionCategory);
    for (const dc of await client.inventory.datacenters()) await client.tags.attachTag(regionTag, dc.ref);

    if (site) await makeSiteVms(raw, client, site);
    const vms = (await client.inventory.vms()).sort((a, b) => a.name.localeCompare(b.name));
    // disk.EnableUUID as an admin sets it; guest host name and IP the way VMware
    // Tools would report them (the simulator's SET.guest.* extraConfig convention).
    for (const [i, vm] of vms.entries()) {
      await client.inventory.setExtraConfig(vm.ref, {
        ...(i < vms.length - vmsWithoutEnableUuid ? { 'disk.EnableUUID': 'TRUE' } : {}),
        'SET.guest.hostName': `${guestPrefix}${i}`,
        // 200 per /24 keeps the last octet valid for large worlds (the CPI benchmark uses 500 VMs).
        'SET.guest.ipAddress': `${ipPrefix}.${Math.floor(i / 200)}.${10 + (i % 200)}`,
      });
    }
    const guestVms = (await client.inventory.vms()).sort((a, b) => a.name.localeCompare(b.name));

    const clusters = (await client.inventory.clusters()).sort((a, b) => a.name.localeCompare(b.name));
    const zones: WorldZone[] = [];
    for (const [i, cluster] of clusters.entries()) {
      const name = zoneNames[i] ?? `zone-${String.fromCharCode(97 + i)}`;
      const tag = await client.tags.createTag(name, zoneCategory);
      await client.tags.attachTag(tag, cluster.ref);
      const dir = mkdtempSync(join(tmpdir(), `vcsim-ds-${name}-`));
      dirs.push(dir);
      const hosts = cluster.hosts.map((h) => h.value);
      await raw.createLocalDatastore(hosts, `${name}-ds`, dir);
      const zoneVms = guestVms.filter((vm) => vm.host && hosts.includes(vm.host.value));
      zones.push({ name, clusterName: cluster.name, datastoreUrl: '', hosts, vms: zoneVms });
    }
    const podMembers: { name: string; zone: string; ref: string }[] = [];
    if (datastoreCluster) {
      for (const zone of zones) {
        for (const n of [1, 2]) {
          const dir = mkdtempSync(join(tmpdir(), `vcsim-ds-${zone.name}-pod-`));
          dirs.push(dir);
          podMembers.push({ name: `${zone.name}-pod-${n}`, zone: zone.name, ref: await raw.createLocalDatastore(zone.hosts, `${zone.name}-pod-${n}`, dir) });
        }
      }
      await createDatastoreCluster(raw, client, datastoreCluster, podMembers.map((m) => m.ref));
    }
    client.tags.invalidate();
    const datastores = await client.inventory.datastores();
    for (const zone of zones) zone.datastoreUrl = datastores.find((d) => d.name === `${zone.name}-ds`)?.url ?? '';
    const shared = datastores.find((d) => d.name === 'LocalDS_0');

    const pods = datastoreCluster ? await client.inventory.datastoreClusters() : [];
    const pod = pods.find((p) => p.name === datastoreCluster);
    const setupClient = client;
    return {
      sim,
      thumbprint,
      client: setupClient,
      region,
      zones,
      sharedDatastoreUrl: shared?.url ?? '',
      vms: guestVms,
      datastoreCluster: pod && {
        name: pod.name,
        path: pod.path,
        members: podMembers.map((m) => ({ ...m, url: datastores.find((d) => d.ref.value === m.ref)?.url ?? '' })),
      },
      stop: async () => {
        await setupClient.close().catch(() => undefined);
        await sim.stop();
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await client?.close().catch(() => undefined);
    await sim.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    throw err;
  }
}

/** Renames every VM `<site>-<name>` and gives it a BIOS UUID derived from the new name (a real ReconfigVM_Task each). */
async function makeSiteVms(raw: RawVim, client: VsphereClient, site: string): Promise<void> {
  for (const vm of await client.inventory.vms()) {
    const name = `${site}-${vm.name}`;
    const task = await raw.reconfigure(vm.ref.value, { name, uuid: nameUuid(name) });
    await client.tasks.wait({ type: 'Task', value: task });
  }
}

/** A version-5-style UUID (lowercase, dashed) from a name: stable across runs, distinct per name. */
function nameUuid(name: string): string {
  const h = createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A csi-vsphere.conf for the modes under test: pinned thumbprint, the world's two tag categories. */
export function worldCsiConfig(world: World, clusterId: string): string {
  return worldsCsiConfig([world], clusterId);
}

/** The same for several worlds, each a vCenter of its own (a cluster spanning sites). */
export function worldsCsiConfig(worlds: World[], clusterId: string): string {
  return multiSimCsiConfig(
    worlds.map((w) => ({ sim: w.sim, thumbprint: w.thumbprint })),
    { clusterId, topologyCategories: [REGION_CATEGORY, ZONE_CATEGORY] },
  );
}
