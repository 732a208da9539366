/**
 * This node's accessible topology, from the labels the CPI put on its
 * Node object. Until the CPI has initialized the node (the uninitialized
 * taint is still there, or a label the config asks for is missing) the
 * answer would be wrong, and node-driver-registrar records it once in the
 * CSINode object; so we watch the Node for a bounded time and, failing
 * that, refuse with a message naming the label and pointing at the CPI.
 */
import { setTimeout as sleep } from 'node:timers/promises';
// Types only: node mode never loads @kubernetes/client-node (see ../kube/rest-client.ts).
import type { V1Node } from '@kubernetes/client-node';
import { CsiError, failedPrecondition, GrpcCode, unavailable } from '../csi/errors.js';
import type { LabelsConfig } from '../config/types.js';
import { httpStatusOf, kubeErrorMessage } from '../kube/errors.js';
import type { RestClient } from '../kube/rest-client.js';
import type { Logger } from '../log.js';
import type { TopologySource } from './info.js';
// The labels and the taint the CPI (this project's `cpi` mode or another) puts on Nodes: read here as it writes them.
import { UNINITIALIZED_TAINT } from '../contract/taints.js';
import { CSI_TOPOLOGY_PREFIX, REGION_KEYS, ZONE_KEYS } from '../contract/topology-keys.js';

const WATCH_RETRY_MS = 1000;
const DEADLINE_MARGIN_MS = 1000;
/** An API server that stops answering must not hold NodeGetInfo until the caller gives up. */
export const NODE_READ_TIMEOUT_MS = 10_000;


export interface KubeTopologyOptions {
  kube: RestClient;
  nodeName: string;
  /** `[Labels]` of csi-vsphere.conf; node mode reads topology only when they configure some. */
  labels: LabelsConfig;
  /** How long to wait for the CPI; default 90 s (kubelet gives NodeGetInfo 2 minutes at plugin registration). */
  waitMs?: number;
  logger: Logger;
  /** Bound on each Node read; default NODE_READ_TIMEOUT_MS. */
  readTimeoutMs?: number;
}

/** What the node's labels say: the segments, or why they are not ready yet. */
export type TopologyVerdict = { ready: true; segments: Record<string, string> } | { ready: false; missing: string };

/** Pure decision from a Node object and the configured labels. */
export function topologyFromNode(node: V1Node, labels: LabelsConfig): TopologyVerdict {
  const nodeLabels = node.metadata?.labels ?? {};
  if ((node.spec?.taints ?? []).some((t) => t.key === UNINITIALIZED_TAINT)) {
    return { ready: false, missing: `taint ${UNINITIALIZED_TAINT} to be removed` };
  }
  const segments: Record<string, string> = {};
  const categories = labels.topologyCategories;
  if (categories.length > 0) {
    for (const category of categories) {
      const key = CSI_TOPOLOGY_PREFIX + category;
      const value = nodeLabels[key];
      if (!value) return { ready: false, missing: `label ${key}` };
      segments[key] = value;
    }
    return { ready: true, segments };
  }
  // Legacy zone/region config: each configured one is required, under its current or its legacy key.
  const required = [...(labels.zone ? [ZONE_KEYS] : []), ...(labels.region ? [REGION_KEYS] : [])];
  for (const keys of required) {
    if (!keys.some((k) => nodeLabels[k])) return { ready: false, missing: `label ${keys[0]}` };
  }
  for (const key of [...ZONE_KEYS, ...REGION_KEYS]) {
    if (nodeLabels[key]) segments[key] = nodeLabels[key];
  }
  return { ready: true, segments };
}

function kubeFailure(nodeName: string, error: unknown): CsiError {
  const code = httpStatusOf(error);
  if (code === 404) {
    return failedPrecondition(`Node ${nodeName} does not exist in the Kubernetes API: set NODE_NAME from the downward API (spec.nodeName)`);
  }
  if (code === 401 || code === 403) {
    return failedPrecondition(`reading Node ${nodeName} was refused (HTTP ${code}): the node plugin's ServiceAccount needs get, list and watch on nodes`);
  }
  return unavailable(`reading Node ${nodeName} from the Kubernetes API failed: ${kubeErrorMessage(error)}`);
}

export function createKubeTopology(options: KubeTopologyOptions): TopologySource {
  const { kube, nodeName, labels, logger } = options;
  const waitMs = options.waitMs ?? 90_000;
  const readTimeoutMs = options.readTimeoutMs ?? NODE_READ_TIMEOUT_MS;
  const path = `/api/v1/nodes/${encodeURIComponent(nodeName)}`;

  const readNode = async (): Promise<V1Node> => {
    try {
      return await kube.getJson<V1Node>(path, { timeoutMs: readTimeoutMs });
    } catch (error) {
      throw kubeFailure(nodeName, error);
    }
  };

  return async (signal, callerDeadline) => {
    let node = await readNode();
    let verdict = topologyFromNode(node, labels);
    if (verdict.ready) return verdict.segments;
    logger.info({ node: nodeName, waitingFor: verdict.missing }, 'node not initialized by the CPI yet: watching it');
    const started = Date.now();
    // Answer a little before the caller's deadline so it gets the reason, not DEADLINE_EXCEEDED.
    const deadline = Math.min(started + waitMs, (callerDeadline ?? Infinity) - DEADLINE_MARGIN_MS);
    while (!verdict.ready && Date.now() < deadline) {
      if (signal.aborted) throw new CsiError(GrpcCode.CANCELLED, 'NodeGetInfo was cancelled while waiting for the CPI');
      const watchStarted = Date.now();
      node = await watchUntilReady(kube, node, labels, deadline, signal).catch((error: unknown) => {
        throw kubeFailure(nodeName, error);
      });
      verdict = topologyFromNode(node, labels);
      if (verdict.ready || Date.now() >= deadline || signal.aborted) break;
      // The watch ended early (e.g. 410 Gone): re-read for a fresh resourceVersion, without spinning.
      if (Date.now() - watchStarted < WATCH_RETRY_MS) await sleep(WATCH_RETRY_MS).catch(() => undefined);
      node = await readNode();
      verdict = topologyFromNode(node, labels);
    }
    if (verdict.ready) return verdict.segments;
    if (signal.aborted) throw new CsiError(GrpcCode.CANCELLED, 'NodeGetInfo was cancelled while waiting for the CPI');
    throw failedPrecondition(
      `Node ${nodeName} is not initialized after ${Math.round((Date.now() - started) / 1000)} s: waiting for ${verdict.missing}. ` +
        'Check that the vSphere cloud provider (CPI) runs and that the VM (or its host, cluster, datacenter) carries a tag in each configured category',
    );
  };
}

/**
 * Watch one Node from the resourceVersion we last saw until it is ready,
 * the deadline passes, the call is cancelled or the watch ends (the caller
 * re-reads and watches again). Resolves with the newest copy seen.
 */
async function watchUntilReady(kube: RestClient, node: V1Node, labels: LabelsConfig, deadline: number, signal: AbortSignal): Promise<V1Node> {
  let latest = node;
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), Math.max(0, deadline - Date.now()));
  const onAbort = (): void => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const query = { fieldSelector: `metadata.name=${node.metadata?.name ?? ''}`, resourceVersion: latest.metadata?.resourceVersion, allowWatchBookmarks: 'true' };
    await kube.watch<V1Node>('/api/v1/nodes', query, (phase, object) => {
      if (phase !== 'ADDED' && phase !== 'MODIFIED') return;
      latest = object;
      if (topologyFromNode(object, labels).ready) stop.abort();
    }, stop.signal);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
  return latest;
}
