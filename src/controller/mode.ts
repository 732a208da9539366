/**
 * `vsphere-csi controller`: CSI Identity + Controller beside
 * external-provisioner/-attacher/-resizer. Builds the vCenter client from
 * the loaded csi-vsphere.conf, serves Identity whose Probe is ready only
 * while a vCenter session is live, and the Controller service; close()
 * logs out of vCenter.
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
import type { BatchingOptions } from './context.js';
import { createControllerService } from './service.js';

/** How long Probe waits for vCenter before answering not-ready (a hung vCenter must not hang the liveness probe). */
const PROBE_TIMEOUT_MS = 2_000;

export async function runControllerMode(opts: ModeOptions, logger: Logger): Promise<ModeHandle> {
  const config = await loadCsiConfig(opts.configPath, { env: opts.env, logger });
  logger.info(
    { config: config.source, cluster_id: config.clusterId, vcenters: config.vcenters.map((vc) => vc.host) },
    'controller configuration loaded',
  );
  const vc = config.vcenters[0];
  if (!vc) throw new Error(`${config.source}: no [VirtualCenter] section; the controller needs one vCenter`);
  if (config.vcenters.length > 1) {
    logger.warn({ used: vc.host, ignored: config.vcenters.slice(1).map((v) => v.host) }, 'several vCenters configured; the controller provisions on the first one only');
  }
  const client = createVsphereClient(clientOptionsFromConfig(vc, { logger: logger.child({ component: 'vsphere' }) }));
  const vcenterMetrics = registerVcenterMetrics(client, opts.metricsRegistry);
  const controller = createControllerService({
    client,
    clusterId: config.clusterId,
    vSphereUser: vc.user,
    labels: config.labels,
    logger,
    batching: batchingFromEnv(opts.env),
  });
  return {
    services: {
      Identity: createIdentityService({ topology: topologyConfigured(config.labels), probe: () => sessionIsLive(client, logger) }),
      Controller: controller.service,
    },
    close: async () => {
      // Logout still counts; then stop observing.
      await client.close();
      vcenterMetrics.detach();
    },
  };
}

/** Ready = logged in and vCenter answers. Not-ready (false) rather than an error: the sidecars retry. */
export async function sessionIsLive(client: VsphereClient, logger: Logger): Promise<boolean> {
  try {
    const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
    await client.session.ensure({ signal });
    await client.session.currentTime({ signal });
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
  if (env.VSPHERE_CSI_BATCH_MAX && Number.isInteger(max) && max >= 1) out.maxBatch = max;
  return out;
}
