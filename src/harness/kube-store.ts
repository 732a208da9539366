/**
 * Object storage of the test Kubernetes API server: one global
 * resourceVersion counter (like etcd's revision), a bounded history of
 * changes for watch resumption, and the set of open watches.
 */
import { randomUUID } from 'node:crypto';
import { isObject, type JsonObject } from './kube-patch.js';
import { apiVersionOf, type ResourceType } from './kube-resources.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredChange {
  resourceVersion: number;
  type: WatchEventType;
  resource: ResourceType;
  object: JsonObject;
  /** The object before a MODIFIED change, so selector watches can turn "left the selection" into DELETED. */
  previous?: JsonObject;
}

export interface WatchListener {
  resource: ResourceType;
  namespace?: string;
  deliver(change: StoredChange): void;
}

/** Thrown by store operations; the server turns it into a Status object. */
export class StoreError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export function metadataOf(object: JsonObject): JsonObject {
  const metadata = object['metadata'];
  if (isObject(metadata)) return metadata;
  const created: JsonObject = {};
  object['metadata'] = created;
  return created;
}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** Seconds-precision RFC 3339, the format of metav1.Time. */
export function kubeTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class KubeStore {
  private revision = 0;
  private readonly objects = new Map<ResourceType, Map<string, JsonObject>>();
  private readonly history: StoredChange[] = [];
  private readonly listeners = new Set<WatchListener>();

  constructor(private readonly historyLimit: number) {}

  get resourceVersion(): number {
    return this.revision;
  }

  /** The oldest resourceVersion a watch may resume from; older ones get 410 Expired. */
  get oldestResumable(): number {
    const first = this.history[0];
    return first ? first.resourceVersion - 1 : this.revision;
  }

  private bucket(type: ResourceType): Map<string, JsonObject> {
    let bucket = this.objects.get(type);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(type, bucket);
    }
    return bucket;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.bucket(type).get(keyOf(namespace, name));
  }

  /** Sorted by namespace/name, the etcd key order in which the real server lists. */
  list(type: ResourceType, namespace?: string): JsonObject[] {
    const entries = [...this.bucket(type).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const all = entries.map(([, object]) => object);
    if (namespace === undefined) return all;
    return all.filter((object) => metadataOf(object)['namespace'] === namespace);
  }

  create(type: ResourceType, namespace: string | undefined, input: JsonObject): JsonObject {
    const object = structuredClone(input);
    const metadata = metadataOf(object);
    if (typeof metadata['name'] !== 'string' || metadata['name'] === '') {
      if (typeof metadata['generateName'] === 'string' && metadata['generateName'] !== '') {
        metadata['name'] = metadata['generateName'] + randomUUID().slice(0, 5);
      } else {
        throw new StoreError(422, 'Invalid', `${type.kind} "": metadata.name: Required value: name or generateName is required`);
      }
    }
    const name = String(metadata['name']);
    if (type.namespaced) metadata['namespace'] = namespace ?? 'default';
    else delete metadata['namespace'];
    const bucket = this.bucket(type);
    const key = keyOf(type.namespaced ? String(metadata['namespace']) : undefined, name);
    if (bucket.has(key)) {
      throw new StoreError(409, 'AlreadyExists', `${type.plural} "${name}" already exists`);
    }
    metadata['uid'] = randomUUID();
    metadata['creationTimestamp'] = kubeTime();
    delete metadata['deletionTimestamp'];
    object['apiVersion'] = apiVersionOf(type);
    object['kind'] = type.kind;
    return this.commit(type, key, 'ADDED', object);
  }

  /**
   * Replace a stored object. `expectedVersion` (the client's
   * metadata.resourceVersion) must match when given, else 409 Conflict.
   */
  update(type: ResourceType, namespace: string | undefined, name: string, input: JsonObject, expectedVersion?: string): JsonObject {
    const key = keyOf(namespace, name);
    const current = this.bucket(type).get(key);
    if (!current) throw new StoreError(404, 'NotFound', `${type.plural} "${name}" not found`);
    const currentMeta = metadataOf(current);
    if (expectedVersion !== undefined && expectedVersion !== '' && expectedVersion !== currentMeta['resourceVersion']) {
      throw new StoreError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${type.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const object = structuredClone(input);
    const metadata = metadataOf(object);
    if (metadata['name'] !== undefined && metadata['name'] !== name) {
      throw new StoreError(400, 'BadRequest', `the name of the object (${String(metadata['name'])}) does not match the name on the URL (${name})`);
    }
    // Identity fields are owned by the server, whatever the client sends.
    metadata['name'] = name;
    if (type.namespaced) metadata['namespace'] = namespace ?? 'default';
    metadata['uid'] = currentMeta['uid'] ?? null;
    metadata['creationTimestamp'] = currentMeta['creationTimestamp'] ?? null;
    object['apiVersion'] = apiVersionOf(type);
    object['kind'] = type.kind;
    return this.commit(type, key, 'MODIFIED', object, current);
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): JsonObject {
    const key = keyOf(namespace, name);
    const bucket = this.bucket(type);
    const current = bucket.get(key);
    if (!current) throw new StoreError(404, 'NotFound', `${type.plural} "${name}" not found`);
    bucket.delete(key);
    const gone = structuredClone(current);
    this.revision += 1;
    metadataOf(gone)['resourceVersion'] = String(this.revision);
    this.record({ resourceVersion: this.revision, type: 'DELETED', resource: type, object: gone });
    return gone;
  }

  private commit(type: ResourceType, key: string, kind: WatchEventType, object: JsonObject, previous?: JsonObject): JsonObject {
    this.revision += 1;
    metadataOf(object)['resourceVersion'] = String(this.revision);
    this.bucket(type).set(key, object);
    this.record({ resourceVersion: this.revision, type: kind, resource: type, object, previous });
    return object;
  }

  private record(change: StoredChange): void {
    this.history.push(change);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    for (const listener of this.listeners) {
      if (listener.resource !== change.resource) continue;
      if (listener.namespace !== undefined && metadataOf(change.object)['namespace'] !== listener.namespace) continue;
      listener.deliver(change);
    }
  }

  /** Changes after `resourceVersion` for one resource type, oldest first. */
  changesSince(type: ResourceType, resourceVersion: number): StoredChange[] {
    return this.history.filter((change) => change.resource === type && change.resourceVersion > resourceVersion);
  }

  /** Forget the change history so that any resume from an older version gets 410 Expired. */
  compact(): void {
    this.history.length = 0;
  }

  subscribe(listener: WatchListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
