/**
 * `vsphere-csi cpi`: the node-initialization controller. Loads the CPI
 * config (YAML, legacy INI or csi-vsphere.conf), resolves each vCenter's
 * credentials (config, secrets directory, or a Secret read with the kube
 * client), builds one vCenter client per vCenter, and runs the controller
 * only while this replica holds the Lease. close() stops the controller,
 * releases the Lease and logs out of every vCenter.
 *
 * Environment (beside the config's own overrides):
 *   CPI_LEADER_ELECT=false            run without leader election (single replica)
 *   CPI_LEASE_NAME / POD_NAMESPACE    Lease name (default vsphere-cpi) and namespace (default kube-system)
 *   CPI_LEASE_DURATION_SECONDS        lease duration (default 15; renew deadline and retry scale with it)
 *   CPI_RESYNC_SECONDS                full re-check period (default 300)
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { ModeHandle, ModeOptions } from '../cli/mode-types.js';
import { loadCpiConfig } from '../config/cpi-config.js';
import { resolveCpiVCenters, type ReadSecret } from '../config/credentials.js';
import type { Logger } from '../log.js';
import type { VsphereClient } from '../vsphere/api.js';
import { clientOptionsFromConfig, createVsphereClient } from '../vsphere/client.js';
import { CpiController } from './controller.js';
import { cpiHealth } from './health.js';
import { registerCpiMetrics } from './metrics.js';
import { httpStatusOf, kubeErrorMessage, loadKubeConfig, withRequestTimeout } from '../kube/client.js';
import { REQUEST_TIMEOUT_MS } from './node-api.js';
import { startLeaderElection, type LeaderElector } from '../kube/leader-election.js';

/** Reads a Secret's data, base64-decoded; undefined when it does not exist. Values are never logged. */
export function secretReader(kc: KubeConfig): ReadSecret {
  const core = kc.makeApiClient(CoreV1Api);
  return async (namespace, name) => {
    try {
      const secret = await core.readNamespacedSecret({ namespace, name }, withRequestTimeout(REQUEST_TIMEOUT_MS));
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
      for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] ??= v;
      return out;
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw new Error(`cannot read Secret ${namespace}/${name}: ${kubeErrorMessage(err)}`);
    }
  };
}

function envFlag(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return !['false', '0', 'no', 'off'].includes(value.toLowerCase());
}

export async function runCpiMode(opts: ModeOptions, logger: Logger): Promise<ModeHandle> {
  const log = logger.child({ component: 'cpi' });
  const config = await loadCpiConfig(opts.cloudConfigPath, { env: opts.env, logger: log });
  const kc = loadKubeConfig(opts.kubeconfig);
  const vcenters = await resolveCpiVCenters(config, { readSecret: secretReader(kc), logger: log });
  if (vcenters.length === 0) throw new Error(`${config.source}: no vCenter configured (vcenter: in YAML, [VirtualCenter "host"] in INI)`);
  log.info(
    { config: config.source, format: config.format, vcenters: vcenters.map((v) => v.host), nodeDeletion: config.nodeDeletion },
    'cpi configuration loaded',
  );

  const clients: VsphereClient[] = vcenters.map((vc) =>
    createVsphereClient(clientOptionsFromConfig(vc, { logger: logger.child({ component: 'vsphere', vcenter: vc.host }) })),
  );
  const resyncSeconds = Number(opts.env.CPI_RESYNC_SECONDS);
  const controller = new CpiController({
    kubeConfig: kc,
    vcenters: clients,
    labels: config.labels,
    nodes: config.nodes,
    ipFamilies: config.ipFamily,
    ipFamiliesByVcenter: Object.fromEntries(Object.values(config.vcenter).map((vc) => [vc.server, vc.ipFamily])),
    deleteNodesOfDeletedVms: config.nodeDeletion,
    resyncIntervalMs: Number.isFinite(resyncSeconds) && resyncSeconds > 0 ? resyncSeconds * 1000 : undefined,
    logger: log,
  });

  let elector: LeaderElector | undefined;
  const lease = `${opts.env.POD_NAMESPACE || 'kube-system'}/${opts.env.CPI_LEASE_NAME || 'vsphere-cpi'}`;
  if (envFlag(opts.env.CPI_LEADER_ELECT, true)) {
    const durationSeconds = Number(opts.env.CPI_LEASE_DURATION_SECONDS);
    const leaseDurationMs = Number.isFinite(durationSeconds) && durationSeconds >= 3 ? durationSeconds * 1000 : undefined;
    elector = startLeaderElection({
      kubeConfig: kc,
      namespace: opts.env.POD_NAMESPACE || 'kube-system',
      name: opts.env.CPI_LEASE_NAME || 'vsphere-cpi',
      leaseDurationMs,
      // client-go's ratios (15/10/2) scaled to the lease duration.
      renewDeadlineMs: leaseDurationMs && (leaseDurationMs * 2) / 3,
      retryPeriodMs: leaseDurationMs && leaseDurationMs / 7.5,
      log,
      onStartedLeading: async () => {
        log.info('became leader: starting the node controller');
        await controller.start();
      },
      onStoppedLeading: () => {
        log.warn('lost or released leadership: stopping the node controller');
        void controller.stop();
      },
    });
  } else {
    log.warn('leader election disabled (CPI_LEADER_ELECT=false): run exactly one replica');
    await controller.start();
  }

  registerCpiMetrics(opts.metricsRegistry, {
    stats: () => controller.stats(),
    isLeader: () => (elector ? elector.isLeader() : true),
    ...(elector ? { leaseHealth: () => elector.leaseHealth() } : {}),
    clients,
  });

  return {
    health: () => cpiHealth(elector, lease),
    close: async () => {
      await elector?.stop();
      await controller.stop();
      await Promise.allSettled(clients.map((c) => c.close()));
      log.info('cpi mode stopped; vCenter sessions logged out');
    },
  };
}
