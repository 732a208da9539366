/**
 * Informers: client-node 1.4's ListWatch (list, then watch from the list's
 * resourceVersion, resume after a cleanly ended watch, relist after 410
 * Expired) plus what it lacks:
 * - it does NOT restart after a watch error (connection reset, 5xx, failed
 *   list): it emits 'error' and stays stopped. We restart it with capped
 *   exponential backoff; it then resumes from its last resourceVersion;
 * - it has no resync: we replay every cached object every resyncIntervalMs
 *   so handlers can repair drift, as client-go's resync does;
 * - its start() resolves when the first watch is set up, not necessarily
 *   when handlers have run; `synced` resolves after the first list;
 * - its stop() does not stop a reconnect already in flight (the list or the
 *   watch request): the watch opens after stop() and leaks. Our Watch
 *   subclass refuses to open, or aborts, any watch once stopped.
 * startInformer serves any resource (the controller's metadata syncer
 * watches PersistentVolumes, claims and Pods); startNodeInformer is the CPI's.
 */
import { CoreV1Api, ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1Node } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../log.js';
import { kubeErrorMessage, withRequestTimeout } from './client.js';

/** What every informer takes besides the resource: selector, timing, handlers. */
export interface InformerTuning<T> {
  /** Only objects matching this label selector (server-side filtering of list and watch). */
  labelSelector?: string;
  /** Replay the cache to onResync (or onUpdate) this often; 0 disables. Default 0. */
  resyncIntervalMs?: number;
  /** First restart delay after a watch error; doubles up to maxRestartDelayMs. Default 1000. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /**
   * Ask the server to end each watch after this long (client-go picks 5-10
   * minutes at random); the informer then resumes from its resourceVersion.
   * This recycles connections that died silently. Default random 300-600.
   */
  watchTimeoutSeconds?: number;
  /** Abort the list request after this long (client-node has no timeout). Default 60000. */
  listTimeoutMs?: number;
  log?: Logger;
  onAdd?(object: T): void;
  onUpdate?(object: T): void;
  onDelete?(object: T): void;
  /** Periodic replay of every cached object; defaults to onUpdate. */
  onResync?(object: T): void;
}

export interface InformerOptions<T extends KubernetesObject> extends InformerTuning<T> {
  kubeConfig: KubeConfig;
  /** Collection path, e.g. "/api/v1/persistentvolumes" or "/api/v1/pods" (all namespaces). */
  path: string;
  /** "node", "pod", ...: names the resource in log lines. */
  kind: string;
  /** The list call for `path` (a typed client-node method), given the selector and the per-call options. */
  list(labelSelector: string | undefined, options: ReturnType<typeof withRequestTimeout>): Promise<KubernetesListObject<T>>;
}

export interface Informer<T> {
  /** Resolves after the first successful list (handlers have seen every object as added). */
  readonly synced: Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(): T[];
  /** How many times the informer was restarted after an error (for tests and metrics). */
  restarts(): number;
  stop(): Promise<void>;
}

export type NodeInformerOptions = InformerTuning<V1Node> & { kubeConfig: KubeConfig };
export type NodeInformer = Informer<V1Node>;

/**
 * A Watch that can be shut for good (no watch opens after close(), the
 * open one is aborted) and that asks the server to end each watch after
 * timeoutSeconds, which ListWatch cannot pass itself.
 */
class ClosableWatch extends Watch {
  private closed = false;
  private current: AbortController | undefined;
  private opening: Promise<AbortController> | undefined;

  constructor(
    kubeConfig: KubeConfig,
    private readonly timeoutSeconds: () => number,
  ) {
    super(kubeConfig);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: KubernetesObject) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    if (this.closed) return new AbortController();
    const query = { ...queryParams, timeoutSeconds: this.timeoutSeconds() };
    const opening = super.watch(path, query, callback, done);
    this.opening = opening;
    const controller = await opening;
    if (this.closed) controller.abort();
    this.current = controller;
    return controller;
  }

  /**
   * Aborts the open watch. A watch still opening cannot be aborted before
   * client-node returns its controller, so wait (bounded) for that too:
   * once this resolves, no watch of ours is open on the server.
   */
  async close(waitMs = 2000): Promise<void> {
    this.closed = true;
    this.current?.abort();
    if (!this.opening) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.opening.then(
        (controller) => controller.abort(),
        () => undefined,
      ),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs))),
    ]);
    clearTimeout(timer);
  }
}

export function startInformer<T extends KubernetesObject>(options: InformerOptions<T>): Informer<T> {
  const log = options.log ?? silentLogger;
  const firstDelay = options.restartDelayMs ?? 1000;
  const maxDelay = options.maxRestartDelayMs ?? 30_000;
  const selector = options.labelSelector;
  let stopped = false;
  let delay = firstDelay;
  let restartCount = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  const list = async (): Promise<KubernetesListObject<T>> => {
    const objects = await options.list(selector, withRequestTimeout(options.listTimeoutMs ?? 60_000));
    // Handlers run synchronously inside the informer right after this returns.
    setImmediate(markSynced);
    delay = firstDelay;
    return objects;
  };
  const fixedTimeout = options.watchTimeoutSeconds;
  const watch = new ClosableWatch(options.kubeConfig, () => fixedTimeout ?? 300 + Math.floor(Math.random() * 300));
  // What makeInformer builds, with our Watch.
  const informer = new ListWatch<T>(options.path, watch, list, false, selector);

  const guard = (handler: ((object: T) => void) | undefined) => (object: T) => {
    if (stopped) return;
    delay = firstDelay; // events flow again: the next failure starts a fresh backoff
    if (!handler) return;
    // client-node swallows handler exceptions in its watch loop and lets them escape from its list path.
    try {
      handler(object);
    } catch (err) {
      log.error({ err: String(err), [options.kind]: object.metadata?.name }, `${options.kind} informer handler failed`);
    }
  };
  informer.on('add', guard(options.onAdd));
  informer.on('update', guard(options.onUpdate));
  informer.on('delete', guard(options.onDelete));
  informer.on('error', (err: unknown) => {
    if (stopped || restartTimer !== undefined) return;
    log.warn({ err: kubeErrorMessage(err), retryInMs: delay }, `${options.kind} watch failed; restarting`);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopped) return;
      restartCount += 1;
      informer.start().catch((startErr: unknown) => log.warn({ err: kubeErrorMessage(startErr) }, `${options.kind} watch restart failed`));
    }, delay);
    delay = Math.min(delay * 2, maxDelay);
  });
  informer.start().catch((err: unknown) => log.warn({ err: kubeErrorMessage(err) }, `${options.kind} watch start failed`));

  const resyncEvery = options.resyncIntervalMs ?? 0;
  if (resyncEvery > 0) {
    const replay = guard(options.onResync ?? options.onUpdate);
    resyncTimer = setInterval(() => {
      for (const object of informer.list()) replay(object);
    }, resyncEvery);
    resyncTimer.unref();
  }

  return {
    synced,
    get: (name, namespace) => informer.get(name, namespace),
    list: () => [...informer.list()],
    restarts: () => restartCount,
    stop: async () => {
      stopped = true;
      clearTimeout(restartTimer);
      clearInterval(resyncTimer);
      const closing = watch.close(); // first, so a reconnect in flight cannot open a new watch
      await informer.stop();
      await closing;
    },
  };
}

export function startNodeInformer(options: NodeInformerOptions): NodeInformer {
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  return startInformer<V1Node>({
    ...options,
    path: '/api/v1/nodes',
    kind: 'node',
    list: (labelSelector, callOptions) => core.listNode(labelSelector ? { labelSelector } : {}, callOptions),
  });
}
