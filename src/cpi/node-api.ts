/**
 * The Kubernetes calls the CPI makes on Nodes, over @kubernetes/client-node
 * and the patch helpers of src/kube (explicit merge-patch content types;
 * client-node defaults to JSON-Patch), plus Node Events.
 * Kept behind an interface so the controller reads as policy, not plumbing.
 */
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { httpStatusOf, patchNodeMerge, patchNodeStatus } from '../kube/client.js';
import { EventRecorder } from '../kube/events.js';
import type { Logger } from '../log.js';

export { httpStatusOf };

export const EVENT_SOURCE = 'vsphere-cpi';

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
  const events = new EventRecorder({ core, component: EVENT_SOURCE, host: process.env['POD_NAME'] || undefined, log });
  return {
    readNode: (name) => core.readNode({ name }),
    patchNode: (name, body) => patchNodeMerge(core, name, body),
    patchNodeStatus: (name, body) => patchNodeStatus(core, name, body, 'merge'),
    deleteNode: async (name) => {
      try {
        await core.deleteNode({ name });
      } catch (err) {
        if (httpStatusOf(err) !== 404) throw err; // already gone is what we wanted
      }
    },
    recordEvent: (node, type, reason, message) => events.recordNodeEvent(node, type, reason, message),
  };
}
