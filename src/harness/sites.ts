/**
 * A Kubernetes cluster spanning two vCenters, as the simulator can shape
 * it: two simulators ("sites") started side by side, each a zoned world of
 * its own (world.ts) with one cluster tagged as its zone, a region tag on
 * its datacenter, its own datastores, and VMs whose names, BIOS UUIDs,
 * guest host names and IPs do not repeat the other site's. Site B listens
 * on 127.0.0.2, so the two vCenters have different host names, as two real
 * vCenters do (the config names a vCenter by host), and has 3 ESXi hosts to
 * site A's 2 (so the two rank differently for a volume without topology).
 */
import { startWorld, worldsCsiConfig, type World } from './world.js';

export interface Site {
  world: World;
  /** The vCenter's name: its host in the config. */
  vcenter: string;
  zone: string;
  region: string;
}

export interface Sites {
  a: Site;
  b: Site;
  /** A csi-vsphere.conf with both vCenters (A first) and topology-categories for region and zone. */
  config(clusterId: string): string;
  stop(): Promise<void>;
}

export interface SitesOptions {
  /** VMs per site (default 3). */
  vmsPerSite?: number;
}

export async function startSites(options: SitesOptions = {}): Promise<Sites> {
  const vmsPerPool = options.vmsPerSite ?? 3;
  const [a, b] = await Promise.allSettled([
    startWorld({ zones: 1, zoneNames: ['zone-a'], region: 'region-a', vmsPerPool, guestPrefix: 'site-a-node-', ipPrefix: '10.20' }),
    startWorld({ zones: 1, zoneNames: ['zone-b'], region: 'region-b', vmsPerPool, guestPrefix: 'site-b-node-', ipPrefix: '10.21', site: 'site-b', listen: '127.0.0.2:0', hostsPerCluster: 3 }),
  ]);
  if (a.status === 'rejected' || b.status === 'rejected') {
    await Promise.all([a, b].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
  }
  const site = (world: World, zone: string, region: string): Site => ({ world, vcenter: world.sim.hostname, zone, region });
  return {
    a: site(a.value, 'zone-a', 'region-a'),
    b: site(b.value, 'zone-b', 'region-b'),
    config: (clusterId) => worldsCsiConfig([a.value, b.value], clusterId),
    stop: async () => {
      await Promise.all([a.value.stop(), b.value.stop()]);
    },
  };
}
