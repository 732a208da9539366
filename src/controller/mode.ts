/**
 * `vsphere-csi controller`: CSI Identity + Controller beside
 * external-provisioner/-attacher/-resizer. Builds one vCenter client per
 * configured vCenter (1 to 5) from the loaded csi-vsphere.conf, logs in to
 * each and reads its inventory at start, all at once and without holding
 * up the socket; serves Identity, whose Probe is ready while at least one
 * vCenter session is live, and the Controller service; close() logs out of
 * every vCenter. The metadata syncer (syncer/) runs beside them on the
 * replica that holds its Lease.
 *
 * Batching knobs (environment, for operators and benchmarks):
 *   VSPHERE_CSI_BATCHING=false        one CNS call per RPC
 *   VSPHERE_CSI_BATCH_WINDOW_MS=5     how long a batch waits for company
 *   VSPHERE_CSI_BATCH_MAX=32          largest CNS batch
 */
import { loadCsiConfig } from '../config/csi-config.js';
import { topologyConfigured } from '../contract/topology-keys.js';
import { createIdentityService } from '../csi/identity.js';
import type { Logger } from '../log.js';
import type { ModeHandle, ModeOptions } from '../cli/mode-types.js';
import { clientOptionsFromConfig, createVsphereClient } from '../vsphere/client.js';
import type { VsphereClient } from '../vsphere/api.js';
import { registerVcenterMetrics } from '../vsphere/metrics.js';
import { CNS_QUERY_MAX_LIMIT } from '../vsphere/cns-codec.js';
import type { BatchingOptions } from './context.js';
import { createControllerService } from './service.js';
import { launchMetadataSyncer } from './syncer/launch.js';
import { registerVcenterHealthMetric } from './vcenter-health.js';
import { assertSessionLive } from './vcenters.js';

export interface ControllerModeHandle extends ModeHandle {
  /** Settles when the start-up logins and inventory reads of every vCenter have finished (or failed). */
  warmedUp: Promise<void>;
}

export async function runControllerMode(opts: ModeOptions, logger: Logger): Promise<ControllerModeHandle> {
  const config = await loadCsiConfig(opts.configPath, { env: opts.env, logger });
  logger.info(
    { config: config.source, cluster_id: config.clusterId, vcenters: config.vcenters.map((vc) => vc.host) },
    'controller configuration loaded',
  );
  const clients = config.vcenters.map((vc) =>
    createVsphereClient(clientOptionsFromConfig(vc, { logger: logger.child({ component: 'vsphere', vcenter: vc.host }) })),
  );
  const vcenterMetrics = registerVcenterMetrics(clients, opts.metricsRegistry);
  const controller = createControllerService({
    vcenters: config.vcenters.map((vc, i) => ({ client: clients[i]!, vSphereUser: vc.user })),
    clusterId: config.clusterId,
    clusterDistribution: config.global?.clusterDistribution,
    labels: config.labels,
    logger,
    batching: batchingFromEnv(opts.env),
    snapshot: config.snapshot,
  });
  const { vcenters } = controller.context;
  registerVcenterHealthMetric(opts.metricsRegistry, vcenters.all.map((vc) => vc.health));
  const warmedUp = vcenters.warmUp();
  // Leader-only metadata syncer (syncer/): the RPCs above serve on every replica regardless.
  const syncer = launchMetadataSyncer(controller.context, config.global, opts, logger);
  return {
    services: {
      Identity: createIdentityService({ topology: topologyConfigured(config.labels), probe: () => vcenters.probe() }),
      Controller: controller.service,
    },
    warmedUp,
    close: async () => {
      await syncer.close();
      // Logouts still count; then stop observing.
      await Promise.allSettled(clients.map((c) => c.close()));
      vcenters.detach();
      vcenterMetrics.detach();
    },
  };
}

/** Ready = logged in and vCenter answers. Not-ready (false) rather than an error: the sidecars retry. */
export async function sessionIsLive(client: VsphereClient, logger: Logger): Promise<boolean> {
  try {
    await assertSessionLive(client);
    return true;
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'vCenter session is not live; Probe answers not ready');
    return false;
  }
}

export function batchingFromEnv(env: NodeJS.ProcessEnv): Partial<BatchingOptions> {
  const out: Partial<BatchingOptions> = {};
  const flag = env.VSPHERE_CSI_BATCHING?.toLowerCase();
  if (flag === 'false' || flag === '0' || flag === 'off') out.enabled = false;
  const windowMs = Number(env.VSPHERE_CSI_BATCH_WINDOW_MS);
  if (env.VSPHERE_CSI_BATCH_WINDOW_MS && Number.isFinite(windowMs) && windowMs >= 0) out.windowMs = windowMs;
  const max = Number(env.VSPHERE_CSI_BATCH_MAX);
  // A batch's volume lookup is one CnsQueryVolume, which answers at most 1,000 volumes.
  if (env.VSPHERE_CSI_BATCH_MAX && Number.isInteger(max) && max >= 1) out.maxBatch = Math.min(max, CNS_QUERY_MAX_LIMIT);
  return out;
}
