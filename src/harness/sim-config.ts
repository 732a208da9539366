/** A csi-vsphere.conf pointing at running simulators, for the demo, benchmarks and process tests. */
import type { Vcsim } from './vcsim.js';

export interface SimConfigOptions {
  clusterId: string;
  /** Pin the simulator's certificate; without it the file opts out of TLS verification (insecure-flag). */
  thumbprint?: string;
  /** `[Labels] topology-categories`. */
  topologyCategories?: string[];
}

/** One simulator as one vCenter of the file (its own credentials and TLS settings). */
export interface SimVcenter {
  sim: Vcsim;
  thumbprint?: string;
}

export function simCsiConfig(sim: Vcsim, opts: SimConfigOptions): string {
  return multiSimCsiConfig([{ sim, thumbprint: opts.thumbprint }], opts);
}

/** One `[VirtualCenter "host"]` section per simulator, in order. */
export function multiSimCsiConfig(vcenters: SimVcenter[], opts: Omit<SimConfigOptions, 'thumbprint'>): string {
  const lines = ['[Global]', `cluster-id = "${opts.clusterId}"`, ''];
  for (const { sim, thumbprint } of vcenters) {
    lines.push(
      `[VirtualCenter "${sim.hostname}"]`,
      `user = "${sim.username}"`,
      `password = "${sim.password}"`,
      `port = "${sim.port}"`,
      thumbprint ? `thumbprint = "${thumbprint}"` : 'insecure-flag = "true"',
      'datacenters = "DC0"',
      '',
    );
  }
  if (opts.topologyCategories?.length) lines.push('[Labels]', `topology-categories = "${opts.topologyCategories.join(',')}"`, '');
  return lines.join('\n');
}
