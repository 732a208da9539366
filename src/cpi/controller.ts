/**
 * The node initialization controller. Watches Nodes through a client-node
 * informer; nodes that need initialization are queued and handled in
 * batches (one vCenter listing per batch, not one search per node); a
 * periodic resync re-checks every node for drifted labels, powered-off and
 * deleted VMs. Failures are retried per node with exponential backoff.
 * It acts whenever started: leader election (mode.ts) decides when.
 */
import type { KubeConfig, V1Node } from '@kubernetes/client-node';
import { startNodeInformer, type NodeInformer } from '../kube/informer.js';
import type { LabelsConfig } from '../config/types.js';
import { silentLogger, type Logger } from '../log.js';
import type { VsphereClient } from '../vsphere/api.js';
import { compileAddressRules, type AddressRules, type IpFamily } from './addresses.js';
import { BatchResolver, messageOf, type ResolvedNode } from './batch-resolver.js';
import { createNodeApi, httpStatusOf, type NodeApi } from './node-api.js';
import { buildAddressPatch, buildNodePatch, needsInitialization } from './node-patch.js';
import { planNode, type NodePlan, type NodeProblem } from './node-plan.js';
import { RetryBackoff } from './retry-backoff.js';
import { wantedCategories } from './topology.js';
import { uuidFromProviderId } from '../contract/uuid.js';

export interface CpiControllerOptions {
  kubeConfig: KubeConfig;
  /** One client per configured vCenter; `host` names it in events. */
  vcenters: VsphereClient[];
  labels: LabelsConfig;
  nodes?: AddressRules;
  /** Address families in priority order; default ['ipv4']. */
  ipFamilies?: IpFamily[];
  /** Per-vCenter override of ipFamilies, keyed by the client's host (the config's per-vCenter ipFamily). */
  ipFamiliesByVcenter?: Record<string, IpFamily[]>;
  /** Delete a Node whose VM no longer exists (default true, as upstream). */
  deleteNodesOfDeletedVms?: boolean;
  /** Full re-check of every node; default 5 min. */
  resyncIntervalMs?: number;
  /** How long to gather pending nodes before resolving them together; default 100 ms. */
  batchWindowMs?: number;
  /** Retry backoff for nodes that cannot be initialized yet; default 5 s doubling to 5 min. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** TTL of cached host ancestors and attached tags; default 5 min. */
  topologyCacheTtlMs?: number;
  /** Parallel Node writes within a batch; default 16. */
  writeConcurrency?: number;
  logger?: Logger;
  /** For tests: replaces the client-node based Node API. */
  nodeApi?: NodeApi;
}

export interface CpiControllerStats {
  batches: number;
  nodesInitialized: number;
  nodesUpdated: number;
  nodesDeleted: number;
  retriesScheduled: number;
  eventsRecorded: number;
  /** The last batch: nodes, time resolving against vCenter, time writing to Kubernetes. */
  lastBatch?: { nodes: number; resolveMs: number; writeMs: number };
}

export class CpiController {
  private readonly log: Logger;
  private readonly api: NodeApi;
  private readonly resolver: BatchResolver;
  private readonly backoff: RetryBackoff;
  private readonly addressRules: ReturnType<typeof compileAddressRules>;
  private informer?: NodeInformer;
  private readonly pending = new Set<string>();
  private flushTimer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;
  private abort = new AbortController();
  /** Last event message per node+reason: repeated problems are not re-announced on every retry. */
  private readonly lastEvent = new Map<string, string>();
  private readonly idleWaiters: (() => void)[] = [];
  /** resourceVersions our own patches produced: their watch events are echoes, not news. */
  private readonly ownWrites = new Map<string, string[]>();
  /** Nodes of the batch being processed: their events during the batch are (mostly) our own writes. */
  private readonly inFlight = new Set<string>();
  private readonly counters: CpiControllerStats = { batches: 0, nodesInitialized: 0, nodesUpdated: 0, nodesDeleted: 0, retriesScheduled: 0, eventsRecorded: 0 };

  constructor(private readonly options: CpiControllerOptions) {
    this.log = (options.logger ?? silentLogger).child({ component: 'cpi' });
    this.api = options.nodeApi ?? createNodeApi(options.kubeConfig, this.log);
    this.addressRules = compileAddressRules(options.nodes ?? {});
    this.resolver = new BatchResolver(options.vcenters, wantedCategories(options.labels), options.topologyCacheTtlMs ?? 300_000, this.log);
    this.backoff = new RetryBackoff(
      { initialMs: options.retryInitialMs ?? 5_000, maxMs: options.retryMaxMs ?? 300_000 },
      (name) => this.enqueue(name),
    );
  }

  /** Starts watching; resolves once the initial node list is in the cache. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.abort = new AbortController();
    // The informer restarts itself after watch errors (with backoff) and resumes from its resourceVersion.
    const informer = startNodeInformer({
      kubeConfig: this.options.kubeConfig,
      log: this.log,
      onAdd: (n) => this.onNode(n),
      onUpdate: (n) => this.onNode(n),
      onDelete: (n) => this.forget(n.metadata?.name),
    });
    this.informer = informer;
    const aborted = new Promise<void>((resolve) => this.abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([informer.synced, aborted]); // stop() during a long first list must not hang start()
    if (this.stopped) return;
    const every = this.options.resyncIntervalMs ?? 300_000;
    this.resyncTimer = setInterval(() => this.resync(), every);
    this.resyncTimer.unref();
    this.log.info({ vcenters: this.options.vcenters.map((c) => c.host), resyncMs: every }, 'cpi controller started');
  }

  /** Stops watching and timers; waits for the batch in flight. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    clearTimeout(this.flushTimer);
    clearInterval(this.resyncTimer);
    this.backoff.clear();
    this.pending.clear();
    await this.informer?.stop();
    await this.running?.catch(() => undefined);
    this.wakeIdle();
    this.log.info('cpi controller stopped');
  }

  stats(): CpiControllerStats {
    return { ...this.counters, lastBatch: this.counters.lastBatch && { ...this.counters.lastBatch } };
  }

  /** Queues every known node for a full re-check (drift, power state, deleted VMs). */
  resync(): void {
    for (const node of this.informer?.list() ?? []) {
      const name = node.metadata?.name;
      if (!name || this.backoff.waiting(name)) continue;
      if (needsInitialization(node) || uuidFromProviderId(node.spec?.providerID)) this.enqueue(name);
    }
  }

  /** Drops cached host ancestors and tags, e.g. after re-tagging. */
  invalidateTopology(): void {
    this.resolver.invalidateTopology();
  }

  /** Resolves when no batch is queued or running (for tests and benchmarks). */
  idle(): Promise<void> {
    if (!this.running && this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private onNode(node: V1Node): void {
    const name = node.metadata?.name;
    if (!name || !needsInitialization(node) || this.backoff.waiting(name)) return;
    const rv = node.metadata?.resourceVersion;
    if (this.inFlight.has(name) || (rv && this.ownWrites.get(name)?.includes(rv))) return;
    this.enqueue(name);
  }

  private forget(name: string | undefined): void {
    if (!name) return;
    this.pending.delete(name);
    this.backoff.reset(name);
    this.ownWrites.delete(name);
    for (const key of [...this.lastEvent.keys()]) if (key.startsWith(`${name}/`)) this.lastEvent.delete(key);
  }

  private enqueue(name: string): void {
    if (this.stopped) return;
    this.pending.add(name);
    if (!this.flushTimer && !this.running) {
      this.flushTimer = setTimeout(() => this.flush(), this.options.batchWindowMs ?? 100);
    }
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.stopped || this.running || this.pending.size === 0) return this.wakeIdle();
    const names = [...this.pending];
    this.pending.clear();
    for (const n of names) this.inFlight.add(n);
    this.running = this.processBatch(names)
      .catch((err: unknown) => {
        this.log.error({ err: messageOf(err) }, 'batch failed; pending nodes are retried');
        for (const n of names) {
          const node = this.informer?.get(n);
          if (node && needsInitialization(node) && !this.stopped) this.backoff.schedule(n);
        }
      })
      .finally(() => {
        this.running = undefined;
        this.inFlight.clear();
        if (this.pending.size > 0 && !this.stopped) this.flushTimer = setTimeout(() => this.flush(), this.options.batchWindowMs ?? 100);
        else this.wakeIdle();
      });
  }

  private wakeIdle(): void {
    if (this.running || (this.pending.size > 0 && !this.stopped)) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private async processBatch(names: string[]): Promise<void> {
    const nodes = names.map((n) => this.informer?.get(n)).filter((n): n is V1Node => !!n);
    if (!nodes.length) return;
    this.counters.batches++;
    const started = Date.now();
    const batch = await this.resolver.resolve(nodes, this.abort.signal);
    const resolved = Date.now();
    for (const f of batch.failures) this.log.warn(f, 'vCenter listing failed; nodes there are retried');
    const ctxBase = {
      labels: this.options.labels,
      addressRules: this.addressRules,
      ipFamilies: this.options.ipFamilies ?? (['ipv4'] as IpFamily[]),
      deleteNodesOfDeletedVms: this.options.deleteNodesOfDeletedVms ?? true,
      inventoryComplete: batch.inventoryComplete,
    };
    const work = batch.nodes.map((r) => () => this.handle(r, planFor(r, ctxBase, this.options.ipFamiliesByVcenter)));
    await runLimited(work, this.options.writeConcurrency ?? 16);
    this.counters.lastBatch = { nodes: nodes.length, resolveMs: resolved - started, writeMs: Date.now() - resolved };
    this.log.debug(this.counters.lastBatch, 'batch done');
  }

  private async handle(r: ResolvedNode, plan: NodePlan): Promise<void> {
    const name = r.node.metadata!.name!;
    if (this.stopped) return;
    try {
      switch (plan.action) {
        case 'skip':
          if (needsInitialization(r.node)) this.retry(r.node, undefined);
          return;
        case 'retry':
          return this.retry(r.node, plan.problem);
        case 'report':
          return void (await this.event(r.node, 'Warning', plan.problem));
        case 'delete':
          this.log.warn({ node: name }, plan.problem.message);
          await this.event(r.node, 'Warning', plan.problem);
          await this.api.deleteNode(name);
          this.counters.nodesDeleted++;
          return;
        case 'apply':
          await this.apply(r.node, plan);
          this.backoff.reset(name);
          this.lastEvent.delete(`${name}/retry`);
          for (const n of plan.notices) await this.event(r.node, 'Warning', n);
          return;
      }
    } catch (err) {
      this.log.warn({ node: name, err: messageOf(err) }, 'node update failed; will retry');
      if (needsInitialization(r.node)) this.retry(r.node, undefined);
    }
  }

  private async apply(node: V1Node, plan: Extract<NodePlan, { action: 'apply' }>): Promise<void> {
    const name = node.metadata!.name!;
    // Addresses first: once the taint is gone, workloads may land and need them.
    let current = node;
    if (plan.addresses) {
      const body = buildAddressPatch(node, plan.addresses);
      // The answer carries the new resourceVersion, which the taint patch below must use.
      if (body) current = this.remember(await this.api.patchNodeStatus(name, body));
    }
    const changes = { providerID: plan.providerID, labels: plan.labels, removeTaints: plan.removeTaints, addTaints: plan.addTaints };
    for (let attempt = 0; ; attempt++) {
      const body = buildNodePatch(current, changes);
      if (!body) break;
      try {
        this.remember(await this.api.patchNode(name, body));
        break;
      } catch (err) {
        // 409: someone changed the node (taints) since we read it; re-read and re-plan the patch.
        if (httpStatusOf(err) !== 409 || attempt >= 2) throw err;
        current = await this.api.readNode(name);
      }
    }
    if (plan.initializing) {
      this.counters.nodesInitialized++;
      this.log.info({ node: name, vm: plan.vm.vm.name, vcenter: plan.vm.vcenter, matchedBy: plan.matchedBy, providerID: plan.providerID }, 'node initialized');
    } else if (buildNodePatch(node, changes) || current !== node) {
      this.counters.nodesUpdated++;
    }
  }

  private remember(node: V1Node): V1Node {
    const name = node.metadata?.name;
    const rv = node.metadata?.resourceVersion;
    if (name && rv) this.ownWrites.set(name, [...(this.ownWrites.get(name) ?? []).slice(-3), rv]);
    return node;
  }

  private retry(node: V1Node, problem: NodeProblem | undefined): void {
    const name = node.metadata!.name!;
    const delay = this.backoff.schedule(name);
    this.counters.retriesScheduled++;
    if (problem) {
      this.log.warn({ node: name, reason: problem.reason, retryInMs: delay }, problem.message);
      void this.event(node, 'Warning', problem, 'retry');
    }
  }

  /** Records an Event unless the same message was the last one for this node and slot. */
  private async event(node: V1Node, type: 'Normal' | 'Warning', problem: NodeProblem, slot: string = problem.reason): Promise<void> {
    const key = `${node.metadata?.name}/${slot}`;
    if (this.lastEvent.get(key) === problem.message) return;
    this.lastEvent.set(key, problem.message);
    try {
      await this.api.recordEvent(node, type, problem.reason, problem.message);
      this.counters.eventsRecorded++;
    } catch (err) {
      this.log.warn({ node: node.metadata?.name, err: messageOf(err) }, 'could not record event');
    }
  }
}

function planFor(
  r: ResolvedNode,
  base: Omit<Parameters<typeof planNode>[2], 'chain' | 'facts'>,
  familiesByVcenter: Record<string, IpFamily[]> | undefined,
): NodePlan {
  if (r.topologyError && r.match && needsInitialization(r.node)) {
    return { action: 'retry', problem: { reason: 'MissingTopologyTags', message: r.topologyError } };
  }
  const ipFamilies = (r.match && familiesByVcenter?.[r.match.vcenter]) || base.ipFamilies;
  return planNode(r.node, r.match, { ...base, ipFamilies, chain: r.chain, facts: r.facts });
}

async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}
