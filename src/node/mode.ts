/**
 * `vsphere-csi node`: CSI Identity + Node on the kubelet plugin socket.
 * Needs no vCenter and no config file; reads `[Labels]` when a config file
 * exists, and, when those configure topology, the Kubernetes API
 * (in-cluster or --kubeconfig) for the node's topology labels.
 */
import { failedPrecondition } from '../csi/errors.js';
import { topologyConfigured } from '../contract/topology-keys.js';
import { createIdentityService } from '../csi/identity.js';
import type { LabelsConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { ModeHandle, ModeOptions } from '../cli/mode-types.js';
import { createRestClient, type RestClient } from '../kube/rest-client.js';
import { loadRestConfig } from '../kube/rest-config.js';
import type { TopologySource } from './info.js';
import { readNodeLabels } from './labels-config.js';
import { createNodeOs, DEFAULT_DEVICE_DIR } from './os/index.js';
import { missingTools } from './os/tools.js';
import { DEFAULT_KUBELET_ROOT } from './path-root.js';
import { createNodeService } from './service.js';
import { createKubeTopology } from './topology.js';

/**
 * The Kubernetes API of --kubeconfig (which args.ts already fills from
 * KUBECONFIG), else of the pod's service account, or undefined when there
 * is no cluster to talk to. Node mode reads one object (its Node), so it
 * uses ../kube/rest-client.ts, not @kubernetes/client-node (~57 MiB of RSS
 * and ~0.5 s of start-up once imported: README, dependency table).
 */
async function kubeAccess(opts: ModeOptions, logger: Logger): Promise<RestClient | undefined> {
  if (!opts.kubeconfig && !opts.env.KUBERNETES_SERVICE_HOST) return undefined;
  const config = await loadRestConfig(opts.kubeconfig, opts.env);
  logger.debug({ server: config.server, credentials: config.source }, 'Kubernetes API');
  return createRestClient(config);
}

/**
 * Where NodeGetInfo's segments come from. Only called when `[Labels]`
 * configures topology: otherwise VOLUME_ACCESSIBILITY_CONSTRAINTS is not
 * advertised, NodeGetInfo reports no segments, and the node needs no
 * Kubernetes access at all.
 */
async function topologySource(opts: ModeOptions, labels: LabelsConfig, nodeName: string, logger: Logger): Promise<TopologySource> {
  const kube = nodeName ? await kubeAccess(opts, logger) : undefined;
  if (kube) return createKubeTopology({ kube, nodeName, logger, labels });
  // Topology is configured but cannot be read: reporting none would place volumes anywhere.
  const why = nodeName ? 'no Kubernetes access (not in a cluster and no --kubeconfig)' : 'NODE_NAME is not set';
  return async () => {
    throw failedPrecondition(`[Labels] in ${opts.configPath} asks for topology, but ${why}: the node's topology labels cannot be read`);
  };
}

export async function runNodeMode(opts: ModeOptions, logger: Logger): Promise<ModeHandle> {
  const nodeName = opts.nodeName ?? '';
  if (!nodeName) logger.warn('NODE_NAME is not set: NodeGetInfo needs it (set it from the downward API spec.nodeName)');
  const deviceDir = opts.deviceDir ?? DEFAULT_DEVICE_DIR;
  const labels = await readNodeLabels(opts.configPath, logger, opts.env);
  const configured = topologyConfigured(labels);
  const topology = labels && configured ? await topologySource(opts, labels, nodeName, logger) : undefined;

  const node = createNodeService({
    os: createNodeOs({ deviceDir }),
    nodeName,
    ...(opts.dmiDir ? { dmiDir: opts.dmiDir } : {}),
    pathRoot: opts.kubeletRootDir ?? DEFAULT_KUBELET_ROOT,
    ...(opts.maxVolumesPerNode !== undefined ? { maxVolumesPerNode: opts.maxVolumesPerNode } : {}),
    ...(topology ? { topology } : {}),
  });
  const missing = await missingTools(opts.env.PATH);
  if (missing.length > 0) {
    logger.warn({ missing }, `programs missing from PATH: ${missing.join(', ')}; install e2fsprogs, xfsprogs and util-linux in the image`);
  }
  logger.info({ nodeName, deviceDir, topology: topology ? 'kubernetes node labels' : 'none' }, 'node service ready');
  const probe = async (): Promise<boolean> => true;
  return {
    services: { Identity: createIdentityService({ topology: configured, probe }), Node: node },
    close: async () => undefined,
  };
}
