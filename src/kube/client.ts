/**
 * Kubernetes client setup shared by the modes, over @kubernetes/client-node
 * 1.4. Two things about that library shape this file:
 * - its generated patch methods default to `application/json-patch+json`;
 *   merge and strategic-merge patches need the Content-Type set per call
 *   with `setHeaderOptions` (the body is serialized the same either way);
 * - its errors are `ApiException`s whose `code` is the HTTP status and whose
 *   `body` is the raw response text (a JSON Status), not a parsed object.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  Observable,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type V1Node,
} from '@kubernetes/client-node';

/**
 * Where the Kubernetes credentials come from, in this order: an explicit
 * kubeconfig file (a --kubeconfig flag); KUBECONFIG (a path list, merged
 * like kubectl does); the pod's service account when KUBERNETES_SERVICE_HOST
 * is set; ~/.kube/config. Anything else is an error that says what to set,
 * rather than client-node's silent fallback to http://localhost:8080.
 */
export interface LoadKubeConfigOptions {
  /** Prefix of /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}; tests point it at a temp dir. */
  serviceAccountRoot?: string;
}

export function loadKubeConfig(kubeconfigPath?: string, options: LoadKubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  const fromEnv = process.env['KUBECONFIG'];
  const home = process.env['HOME'];
  if (kubeconfigPath) {
    kc.loadFromFile(kubeconfigPath);
  } else if (fromEnv) {
    kc.loadFromDefault();
  } else if (process.env['KUBERNETES_SERVICE_HOST']) {
    kc.loadFromCluster(options.serviceAccountRoot);
  } else if (home && existsSync(join(home, '.kube', 'config'))) {
    kc.loadFromFile(join(home, '.kube', 'config'));
  } else {
    throw new Error(
      'no Kubernetes credentials: run in a pod with a service account, or set KUBECONFIG to a kubeconfig file',
    );
  }
  if (!kc.getCurrentCluster()) {
    throw new Error('the kubeconfig has no current context with a cluster: set current-context in the kubeconfig');
  }
  return kc;
}

export interface KubeClients {
  core: CoreV1Api;
  coordination: CoordinationV1Api;
}

export function createKubeClients(kc: KubeConfig): KubeClients {
  return { core: kc.makeApiClient(CoreV1Api), coordination: kc.makeApiClient(CoordinationV1Api) };
}

export { httpStatusOf, kubeErrorMessage } from './errors.js';

/**
 * Per-call options that abort the request after `ms`. client-node sets no
 * timeout of its own: a request to an API server that stops answering
 * hangs forever. Combine with other options through `base`
 * (e.g. `withRequestTimeout(5000, mergePatchOptions)`).
 */
export function withRequestTimeout(
  ms: number,
  base?: ConfigurationOptions<ObservableMiddleware>,
): ConfigurationOptions<ObservableMiddleware> {
  const timeout: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(AbortSignal.timeout(ms));
      return new Observable(Promise.resolve(context));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return { ...base, middleware: [...(base?.middleware ?? []), timeout], middlewareMergeStrategy: 'append' };
}

export const mergePatchOptions = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const strategicMergePatchOptions = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/**
 * JSON merge patch (RFC 7386) of a Node's metadata/spec: maps merge, `null`
 * deletes a key, lists (taints!) are replaced whole. Put
 * `metadata.resourceVersion` in the patch to make it conditional (409 when
 * someone else changed the node since). `timeoutMs` aborts a request the
 * server never answers (see withRequestTimeout).
 */
export function patchNodeMerge(core: CoreV1Api, name: string, patch: object, timeoutMs?: number): Promise<V1Node> {
  return core.patchNode({ name, body: patch }, timeoutMs ? withRequestTimeout(timeoutMs, mergePatchOptions) : mergePatchOptions);
}

/** Strategic merge patch of a Node's metadata/spec (taints are still replaced whole: NodeSpec gives them no merge key). */
export function patchNodeStrategic(core: CoreV1Api, name: string, patch: object): Promise<V1Node> {
  return core.patchNode({ name, body: patch }, strategicMergePatchOptions);
}

/**
 * Patch of the Node's status subresource (addresses, conditions). `strategy`
 * 'merge' (default) replaces `status.addresses` whole, which is what a
 * cloud provider setting the full address list wants; 'strategic' merges
 * addresses by `type`, which cannot express two addresses of one type.
 */
export function patchNodeStatus(
  core: CoreV1Api,
  name: string,
  patch: object,
  strategy: 'merge' | 'strategic' = 'merge',
  timeoutMs?: number,
): Promise<V1Node> {
  const options = strategy === 'merge' ? mergePatchOptions : strategicMergePatchOptions;
  return core.patchNodeStatus({ name, body: patch }, timeoutMs ? withRequestTimeout(timeoutMs, options) : options);
}
