/**
 * The Kubernetes calls the CPI makes on Nodes, over @kubernetes/client-node
 * and the patch helpers of src/kube (explicit merge-patch content types;
 * client-node defaults to JSON-Patch), plus Node Events.
 * Kept behind an interface so the controller reads as policy, not plumbing.
 */
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { httpStatusOf, patchNodeMerge, patchNodeStatus, withRequestTimeout } from '../kube/client.js';
import { EventRecorder } from '../kube/events.js';
import type { Logger } from '../log.js';

export { httpStatusOf };

export const EVENT_SOURCE = 'vsphere-cpi';
/**
 * Bound on every call: client-node sets none, and the controller's stop()
 * waits for the batch in flight, so one unanswered request would hang
 * shutdown and leadership hand-over.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface NodeApi {
  readNode(name: string): Promise<V1Node>;
  /** JSON merge patch of metadata/spec. */
  patchNode(name: string, body: object): Promise<V1Node>;
  /** JSON merge patch of the status subresource. */
  patchNodeStatus(name: string, body: object): Promise<V1Node>;
  deleteNode(name: string): Promise<void>;
  /** A core/v1 Event about the node (in the "default" namespace, as kubelet and the cloud-node-controller do). Never throws. */
  recordEvent(node: V1Node, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export function createNodeApi(kubeConfig: KubeConfig, log?: Logger): NodeApi {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  // Aggregates repeats into one Event with a count, like client-go; best effort (never throws).
  const events = new EventRecorder({ core, component: EVENT_SOURCE, host: process.env['POD_NAME'] || undefined, log, requestTimeoutMs: REQUEST_TIMEOUT_MS });
  const timeout = (): ReturnType<typeof withRequestTimeout> => withRequestTimeout(REQUEST_TIMEOUT_MS);
  return {
    readNode: (name) => core.readNode({ name }, timeout()),
    patchNode: (name, body) => patchNodeMerge(core, name, body, REQUEST_TIMEOUT_MS),
    patchNodeStatus: (name, body) => patchNodeStatus(core, name, body, 'merge', REQUEST_TIMEOUT_MS),
    deleteNode: async (name) => {
      try {
        await core.deleteNode({ name }, timeout());
      } catch (err) {
        if (httpStatusOf(err) !== 404) throw err; // already gone is what we wanted
      }
    },
    recordEvent: (node, type, reason, message) => events.recordNodeEvent(node, type, reason, message),
  };
}
