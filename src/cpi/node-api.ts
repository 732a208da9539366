/**
 * The Kubernetes calls the CPI makes on Nodes, over @kubernetes/client-node
 * and the patch helpers of src/kube (explicit merge-patch content types;
 * client-node defaults to JSON-Patch), plus Node Events.
 * Kept behind an interface so the controller reads as policy, not plumbing.
 */
import { CoreV1Api, type CoreV1Event, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { httpStatusOf, patchNodeMerge, patchNodeStatus } from '../kube/client.js';

export { httpStatusOf };

export const EVENT_SOURCE = 'vsphere-cpi';

export interface NodeApi {
  readNode(name: string): Promise<V1Node>;
  /** JSON merge patch of metadata/spec. */
  patchNode(name: string, body: object): Promise<V1Node>;
  /** JSON merge patch of the status subresource. */
  patchNodeStatus(name: string, body: object): Promise<V1Node>;
  deleteNode(name: string): Promise<void>;
  /** A core/v1 Event about the node (in the "default" namespace, as kubelet and the cloud-node-controller do). */
  recordEvent(node: V1Node, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export function createNodeApi(kubeConfig: KubeConfig): NodeApi {
  const core = kubeConfig.makeApiClient(CoreV1Api);
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
    recordEvent: async (node, type, reason, message) => {
      const now = new Date();
      const name = node.metadata?.name ?? 'unknown';
      const event: CoreV1Event = {
        metadata: { name: `${name}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`, namespace: 'default' },
        involvedObject: { apiVersion: 'v1', kind: 'Node', name, uid: node.metadata?.uid },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: EVENT_SOURCE },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        reportingComponent: EVENT_SOURCE,
      };
      await core.createNamespacedEvent({ namespace: 'default', body: event });
    },
  };
}
