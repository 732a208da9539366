/** A csi-vsphere.conf pointing at a running simulator, for the demo, benchmarks and process tests. */
import type { Vcsim } from './vcsim.js';

export interface SimConfigOptions {
  clusterId: string;
  /** Pin the simulator's certificate; without it the file opts out of TLS verification (insecure-flag). */
  thumbprint?: string;
  /** `[Labels] topology-categories`. */
  topologyCategories?: string[];
}

export function simCsiConfig(sim: Vcsim, opts: SimConfigOptions): string {
  const lines = [
    '[Global]',
    `cluster-id = "${opts.clusterId}"`,
    '',
    `[VirtualCenter "${sim.hostname}"]`,
    `user = "${sim.username}"`,
    `password = "${sim.password}"`,
    `port = "${sim.port}"`,
    opts.thumbprint ? `thumbprint = "${opts.thumbprint}"` : 'insecure-flag = "true"',
    'datacenters = "DC0"',
    '',
  ];
  if (opts.topologyCategories?.length) lines.push('[Labels]', `topology-categories = "${opts.topologyCategories.join(',')}"`, '');
  return lines.join('\n');
}
