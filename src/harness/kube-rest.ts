/**
 * REST verbs of the test Kubernetes API server over KubeStore: get, list,
 * create, update, patch (three content types), delete, the status
 * subresource and the validations the real server applies that our clients
 * can trip over (resourceVersion preconditions, MicroTime format).
 */
import {
  isObject,
  jsonPatch,
  mergePatch,
  PatchError,
  strategicMergePatch,
  type Json,
  type JsonObject,
} from './kube-patch.js';
import { apiVersionOf, type ResourcePath, type ResourceType } from './kube-resources.js';
import { parseFieldSelector, parseLabelSelector } from './kube-selectors.js';
import { metadataOf, StoreError, type KubeStore } from './kube-store.js';

export interface RestResult {
  code: number;
  body: JsonObject;
}

/** metav1.MicroTime is parsed with layout 2006-01-02T15:04:05.000000Z07:00: exactly six fraction digits. */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

function validate(type: ResourceType, object: JsonObject): void {
  for (const field of type.microTimeFields ?? []) {
    let node: Json | undefined = object;
    for (const part of field.split('.')) node = isObject(node) ? node[part] : undefined;
    if (node === undefined || node === null) continue;
    if (typeof node !== 'string' || !MICRO_TIME.test(node)) {
      throw new StoreError(
        400,
        'BadRequest',
        `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: ` +
          `parsing time ${JSON.stringify(node)} as "2006-01-02T15:04:05.000000Z07:00" (field ${field})`,
      );
    }
  }
}

function requireObject(body: Json | undefined, type: ResourceType): JsonObject {
  if (!isObject(body)) throw new StoreError(400, 'BadRequest', `the body must be a ${type.kind} JSON object`);
  const apiVersion = body['apiVersion'];
  const kind = body['kind'];
  if ((apiVersion !== undefined && apiVersion !== apiVersionOf(type)) || (kind !== undefined && kind !== type.kind)) {
    throw new StoreError(400, 'BadRequest', `the body is ${String(apiVersion)}/${String(kind)}, expected ${apiVersionOf(type)}/${type.kind}`);
  }
  return body;
}

function mustGet(store: KubeStore, route: ResourcePath, name: string): JsonObject {
  const current = store.get(route.type, route.namespace, name);
  if (!current) {
    throw new StoreError(404, 'NotFound', `${route.type.plural}${route.type.group ? '.' + route.type.group : ''} "${name}" not found`);
  }
  return current;
}

/** Keep what the endpoint may not change: status on the main resource, everything but status on /status. */
function confine(route: ResourcePath, current: JsonObject, wanted: JsonObject): JsonObject {
  if (route.subresource === 'status') {
    const out = structuredClone(current);
    const status = wanted['status'];
    if (status === undefined) delete out['status'];
    else out['status'] = status;
    metadataOf(out)['resourceVersion'] = metadataOf(wanted)['resourceVersion'] ?? null;
    return out;
  }
  if (route.type.hasStatus) {
    const out = { ...wanted };
    const status = current['status'];
    if (status === undefined) delete out['status'];
    else out['status'] = status;
    return out;
  }
  return wanted;
}

function versionOf(object: JsonObject): string | undefined {
  const version = metadataOf(object)['resourceVersion'];
  return typeof version === 'string' ? version : undefined;
}

export function list(store: KubeStore, route: ResourcePath, query: URLSearchParams): RestResult {
  let labels;
  let fields;
  try {
    labels = parseLabelSelector(query.get('labelSelector'));
    fields = parseFieldSelector(query.get('fieldSelector'));
  } catch (error) {
    throw new StoreError(400, 'BadRequest', (error as Error).message);
  }
  // Real lists carry apiVersion/kind on the list, not on each item.
  const items = store
    .list(route.type, route.namespace)
    .filter((object) => labels(object) && fields(object))
    .map((object) => {
      const { apiVersion: _apiVersion, kind: _kind, ...item } = object;
      return item;
    });
  return {
    code: 200,
    body: {
      apiVersion: apiVersionOf(route.type),
      kind: `${route.type.kind}List`,
      metadata: { resourceVersion: String(store.resourceVersion) },
      items,
    },
  };
}

export function get(store: KubeStore, route: ResourcePath, name: string): RestResult {
  return { code: 200, body: mustGet(store, route, name) };
}

export function create(store: KubeStore, route: ResourcePath, body: Json | undefined): RestResult {
  const object = requireObject(body, route.type);
  const namespace = metadataOf(object)['namespace'];
  if (route.namespace !== undefined && namespace !== undefined && namespace !== route.namespace) {
    throw new StoreError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
  }
  if (versionOf(object)) {
    throw new StoreError(500, 'InternalError', 'resourceVersion should not be set on objects to be created');
  }
  validate(route.type, object);
  return { code: 201, body: store.create(route.type, route.namespace, object) };
}

export function replace(store: KubeStore, route: ResourcePath, name: string, body: Json | undefined): RestResult {
  const object = requireObject(body, route.type);
  const current = mustGet(store, route, name);
  const wanted = confine(route, current, object);
  validate(route.type, wanted);
  return { code: 200, body: store.update(route.type, route.namespace, name, wanted, versionOf(object)) };
}

export const PATCH_TYPES = [
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
] as const;

export function patch(store: KubeStore, route: ResourcePath, name: string, contentType: string, body: Json | undefined): RestResult {
  const current = mustGet(store, route, name);
  let patched: Json;
  try {
    if (contentType === 'application/merge-patch+json') patched = mergePatch(current, body ?? null);
    else if (contentType === 'application/strategic-merge-patch+json') patched = strategicMergePatch(current, body ?? null);
    else if (contentType === 'application/json-patch+json') patched = jsonPatch(current, body ?? null);
    else {
      throw new StoreError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`);
    }
  } catch (error) {
    if (error instanceof PatchError) throw new StoreError(error.code, error.code === 422 ? 'Invalid' : 'BadRequest', error.message);
    throw error;
  }
  const object = requireObject(patched, route.type);
  // A resourceVersion inside the patch is a precondition, exactly like on PUT.
  const wanted = confine(route, current, object);
  validate(route.type, wanted);
  return { code: 200, body: store.update(route.type, route.namespace, name, wanted, versionOf(object)) };
}

export function remove(store: KubeStore, route: ResourcePath, name: string): RestResult {
  mustGet(store, route, name);
  return { code: 200, body: store.delete(route.type, route.namespace, name) };
}
