/** Shared setup for the vsphere client tests: a client pointed at a simulator. */
import { createVsphereClient, type InternalClientOptions } from '../../src/vsphere/client.js';
import type { VsphereClient, VsphereClientOptions } from '../../src/vsphere/api.js';
import type { Vcsim } from '../../src/harness/vcsim.js';

export function clientFor(sim: Vcsim, extra: Partial<VsphereClientOptions> & InternalClientOptions = {}): VsphereClient {
  return createVsphereClient({
    host: sim.hostname,
    port: sim.port,
    user: sim.username,
    password: sim.password,
    insecure: true,
    keepAliveMs: 0,
    ...extra,
  });
}

/** Requests the client sent, by key, minus keys with zero counts. */
export function requestsOf(client: VsphereClient): Record<string, number> {
  return client.stats().byMethod;
}
