/**
 * core/v1 Events, deduplicated like client-go's EventCorrelator: the same
 * (object, type, reason, message) within the window bumps `count` and
 * `lastTimestamp` of the existing Event with a merge patch instead of
 * creating a new object, so a retry loop cannot flood etcd. Events are
 * best effort: failures are logged, never thrown.
 * An Event lives in its object's namespace; events about cluster-scoped
 * objects (Nodes, PersistentVolumes) in the "default" namespace, as kubelet
 * and the cloud node controller put them.
 */
import type { CoreV1Api, CoreV1Event, V1Node } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../log.js';
import { httpStatusOf, kubeErrorMessage, mergePatchOptions, withRequestTimeout } from './client.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  core: CoreV1Api;
  /** source.component and reportingComponent, e.g. "vsphere-cpi". */
  component: string;
  /** source.host / reportingInstance, e.g. the pod or node name. */
  host?: string;
  /** Where events about cluster-scoped objects go. Default "default". */
  namespace?: string;
  /** Identical events within this window are aggregated. Default 10 minutes (client-go). */
  dedupWindowMs?: number;
  /** Most distinct events remembered for aggregation. Default 4096 (client-go's cache size). */
  maxTracked?: number;
  /** Aborts an event write the server never answers (callers may await it); default none. */
  requestTimeoutMs?: number;
  log?: Logger;
}

/** What we need to know about the Node; a V1Node fits. */
export type NodeRef = Pick<V1Node, 'metadata'>;

/** The Event's involvedObject. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  /** Namespaced objects only; the Event is written there. */
  namespace?: string;
  uid?: string;
}

interface Tracked {
  name: string;
  namespace: string;
  count: number;
  lastSeen: number;
  /** Serializes writes of one aggregated event (create, then patches). */
  chain: Promise<void>;
}

/** Kubernetes caps event messages at 1 KiB. */
const MAX_MESSAGE = 1024;

export class EventRecorder {
  private readonly tracked = new Map<string, Tracked>();
  private readonly namespace: string;
  private readonly windowMs: number;
  private readonly maxTracked: number;
  private readonly log: Logger;
  private sequence = 0;

  constructor(private readonly options: EventRecorderOptions) {
    this.namespace = options.namespace ?? 'default';
    this.windowMs = options.dedupWindowMs ?? 10 * 60_000;
    this.maxTracked = options.maxTracked ?? 4096;
    this.log = options.log ?? silentLogger;
  }

  /** Resolves once the Event is written (or the write failed and was logged). */
  recordNodeEvent(node: NodeRef, type: EventType, reason: string, message: string): Promise<void> {
    return this.recordEvent({ apiVersion: 'v1', kind: 'Node', name: node.metadata?.name ?? '', uid: node.metadata?.uid }, type, reason, message);
  }

  /** An Event about any object; resolves once it is written (or the write failed and was logged). */
  recordEvent(object: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const key = JSON.stringify([object.kind, object.namespace ?? '', object.name, object.uid ?? '', type, reason, text]);
    const now = Date.now();
    const known = this.tracked.get(key);
    const namespace = object.namespace ?? this.namespace;
    const entry =
      known && now - known.lastSeen < this.windowMs
        ? known
        : { name: this.eventName(object.name, now), namespace, count: 0, lastSeen: now, chain: Promise.resolve() };
    entry.count += 1;
    entry.lastSeen = now;
    this.remember(key, entry);
    const count = entry.count;
    const write = entry.chain.then(() =>
      count === 1 ? this.create(entry, object, type, reason, text) : this.bump(entry, object, type, reason, text, count),
    );
    entry.chain = write.catch(() => undefined);
    return entry.chain;
  }

  /** client-go's `<object>.<unix nanos in hex>`; the sequence keeps names unique within one millisecond. */
  private eventName(nodeName: string, nowMs: number): string {
    this.sequence = (this.sequence + 1) % 1_000_000;
    return `${nodeName}.${(BigInt(nowMs) * 1_000_000n + BigInt(this.sequence)).toString(16)}`;
  }

  private remember(key: string, entry: Tracked): void {
    this.tracked.delete(key); // re-insert: Map order doubles as least-recently-used order
    this.tracked.set(key, entry);
    while (this.tracked.size > this.maxTracked) {
      const oldest = this.tracked.keys().next().value;
      if (oldest === undefined) break;
      this.tracked.delete(oldest);
    }
  }

  private async create(entry: Tracked, object: InvolvedObject, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date();
    const body: CoreV1Event = {
      metadata: { name: entry.name, namespace: entry.namespace },
      involvedObject: { ...object },
      type,
      reason,
      message,
      count: entry.count,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.options.component, ...(this.options.host ? { host: this.options.host } : {}) },
      reportingComponent: this.options.component,
      reportingInstance: this.options.host ?? '',
    };
    try {
      const t = this.options.requestTimeoutMs;
      await this.options.core.createNamespacedEvent({ namespace: entry.namespace, body }, t ? withRequestTimeout(t) : undefined);
    } catch (err) {
      this.log.warn({ err: kubeErrorMessage(err), [object.kind.toLowerCase()]: object.name, reason }, 'could not record event');
    }
  }

  private async bump(entry: Tracked, object: InvolvedObject, type: EventType, reason: string, message: string, count: number): Promise<void> {
    try {
      await this.options.core.patchNamespacedEvent(
        { name: entry.name, namespace: entry.namespace, body: { count, lastTimestamp: new Date().toISOString() } },
        this.options.requestTimeoutMs ? withRequestTimeout(this.options.requestTimeoutMs, mergePatchOptions) : mergePatchOptions,
      );
    } catch (err) {
      // The first write failed or the event expired (events have a TTL): start a fresh one.
      if (httpStatusOf(err) === 404) {
        entry.count = 1;
        await this.create(entry, object, type, reason, message);
        return;
      }
      this.log.warn({ err: kubeErrorMessage(err), [object.kind.toLowerCase()]: object.name, reason }, 'could not update event');
    }
  }
}

export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  return new EventRecorder(options);
}
