/**
 * Patch semantics of the test Kubernetes API server: JSON merge patch
 * (RFC 7386), JSON patch (RFC 6902) and the subset of strategic merge patch
 * that our controllers send.
 *
 * Strategic merge subset (documented because it is deliberately partial):
 * - maps merge recursively, `null` deletes a key, `$patch: replace` inside a
 *   map replaces it, `$patch: delete` removes it;
 * - lists listed in STRATEGIC_LIST_KEYS merge by their key (a patch element
 *   updates the element with the same key or is appended; an element with
 *   `$patch: delete` removes it);
 * - every other list, notably `spec.taints` (which has no patch strategy in
 *   the real NodeSpec either), is replaced whole;
 * - `$setElementOrder/<list>` reorders a merged list, `$retainKeys` keeps only
 *   the named keys, `$deleteFromPrimitiveList/<list>` removes primitives;
 * - `metadata.finalizers`, `spec.podCIDRs`, `status.volumesInUse` merge as sets.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Thrown for malformed patches or failed `test` operations; the server maps it to a Status. */
export class PatchError extends Error {
  constructor(message: string, readonly code: number = 422) {
    super(message);
    this.name = 'PatchError';
  }
}

/** Lists that real Kubernetes types merge by key (path from the object root, dot-joined). */
export const STRATEGIC_LIST_KEYS: Readonly<Record<string, string>> = {
  'status.addresses': 'type',
  'status.conditions': 'type',
  'status.images': 'names',
  'status.volumesAttached': 'name',
  'metadata.ownerReferences': 'uid',
  'metadata.managedFields': 'manager',
  'spec.containers': 'name',
  'spec.initContainers': 'name',
  'spec.volumes': 'name',
};
const STRATEGIC_SET_LISTS = new Set(['metadata.finalizers', 'spec.podCIDRs', 'status.volumesInUse']);

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T extends Json>(value: T): T {
  return structuredClone(value);
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key] ?? null, value);
  }
  return result;
}

/** The strategic merge subset described in the file comment. */
export function strategicMergePatch(target: Json, patch: Json, path = ''): Json {
  if (!isObject(patch)) return clone(patch);
  const directive = patch['$patch'];
  if (directive === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return clone(rest);
  }
  if (directive === 'delete') return null;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  const orders: Record<string, Json[]> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch') continue;
    if (key === '$retainKeys') {
      if (!Array.isArray(value)) throw new PatchError('$retainKeys must be a list', 400);
      for (const existing of Object.keys(result)) {
        if (!value.includes(existing) && !(existing in patch)) delete result[existing];
      }
      continue;
    }
    if (key.startsWith('$setElementOrder/')) {
      if (!Array.isArray(value)) throw new PatchError(`${key} must be a list`, 400);
      orders[key.slice('$setElementOrder/'.length)] = value;
      continue;
    }
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        result[field] = current.filter((item) => !value.some((gone) => gone === item));
      }
      continue;
    }
    const childPath = path ? `${path}.${key}` : key;
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      result[key] = mergeList(result[key], value, childPath);
    } else {
      const merged = strategicMergePatch(result[key] ?? null, value, childPath);
      if (merged === null) delete result[key];
      else result[key] = merged;
    }
  }
  for (const [field, order] of Object.entries(orders)) {
    const list = result[field];
    const mergeKey = STRATEGIC_LIST_KEYS[path ? `${path}.${field}` : field];
    if (Array.isArray(list)) result[field] = reorder(list, order, mergeKey);
  }
  return result;
}

function mergeList(current: Json | undefined, patch: Json[], path: string): Json[] {
  const existing = Array.isArray(current) ? current : [];
  if (STRATEGIC_SET_LISTS.has(path)) {
    const out = [...existing];
    for (const item of patch) if (!out.some((have) => have === item)) out.push(clone(item));
    return out;
  }
  const mergeKey = STRATEGIC_LIST_KEYS[path];
  if (!mergeKey) {
    return patch.filter((item) => !(isObject(item) && item['$patch'] === 'delete')).map((item) => clone(item));
  }
  const out = existing.map((item) => clone(item));
  for (const item of patch) {
    if (!isObject(item)) throw new PatchError(`${path}: list elements must be objects keyed by ${mergeKey}`, 400);
    const key = item[mergeKey];
    if (key === undefined) throw new PatchError(`${path}: element lacks merge key ${mergeKey}`, 400);
    const index = out.findIndex((have) => isObject(have) && JSON.stringify(have[mergeKey]) === JSON.stringify(key));
    if (item['$patch'] === 'delete') {
      if (index >= 0) out.splice(index, 1);
    } else if (index >= 0) {
      out[index] = strategicMergePatch(out[index] ?? null, item, path);
    } else {
      out.push(strategicMergePatch(null, item, path));
    }
  }
  return out;
}

function reorder(list: Json[], order: Json[], mergeKey: string | undefined): Json[] {
  const identity = (item: Json): string =>
    JSON.stringify(mergeKey && isObject(item) ? item[mergeKey] ?? null : item);
  const wanted = order.map((item) => identity(item));
  const ranked = list.map((item, index) => {
    const position = wanted.indexOf(identity(item));
    return { item, rank: position >= 0 ? position : wanted.length + index };
  });
  return ranked.sort((a, b) => a.rank - b.rank).map((entry) => entry.item);
}

/** One RFC 6902 operation as sent on the wire. */
export interface JsonPatchOperation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`, 400);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function resolveParent(root: Json, tokens: string[], pointer: string): Json {
  let node = root;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(token)] ?? null;
    else if (isObject(node) && token in node) node = node[token] ?? null;
    else throw new PatchError(`path "${pointer}" does not exist`);
  }
  return node;
}

function getAt(root: Json, pointer: string): Json {
  let node = root;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(node) && /^\d+$/.test(token) && Number(token) < node.length) node = node[Number(token)] ?? null;
    else if (isObject(node) && token in node) node = node[token] ?? null;
    else throw new PatchError(`path "${pointer}" does not exist`);
  }
  return node;
}

function removeAt(root: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  const last = tokens[tokens.length - 1];
  const parent = resolveParent(root, tokens, pointer);
  if (last === undefined) throw new PatchError('cannot remove the whole document');
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!/^\d+$/.test(last) || index >= parent.length) throw new PatchError(`path "${pointer}" does not exist`);
    return parent.splice(index, 1)[0] ?? null;
  }
  if (!isObject(parent) || !(last in parent)) throw new PatchError(`path "${pointer}" does not exist`);
  const removed = parent[last] ?? null;
  delete parent[last];
  return removed;
}

function addAt(root: Json, pointer: string, value: Json, replace: boolean): Json {
  const tokens = parsePointer(pointer);
  const last = tokens[tokens.length - 1];
  if (last === undefined) return clone(value);
  const parent = resolveParent(root, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (last !== '-' && (!/^\d+$/.test(last) || index > parent.length)) {
      throw new PatchError(`array index in "${pointer}" is out of range`);
    }
    if (replace) {
      if (index >= parent.length) throw new PatchError(`path "${pointer}" does not exist`);
      parent[index] = clone(value);
    } else {
      parent.splice(index, 0, clone(value));
    }
  } else if (isObject(parent)) {
    if (replace && !(last in parent)) throw new PatchError(`path "${pointer}" does not exist`);
    parent[last] = clone(value);
  } else {
    throw new PatchError(`path "${pointer}" does not exist`);
  }
  return root;
}

/** RFC 6902 JSON patch; a failed `test` raises a 422 like the real API server. */
export function jsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations)) throw new PatchError('a JSON patch must be a list of operations', 400);
  let doc = clone(target);
  for (const raw of operations) {
    if (!isObject(raw) || typeof raw['op'] !== 'string' || typeof raw['path'] !== 'string') {
      throw new PatchError('each JSON patch operation needs "op" and "path"', 400);
    }
    const { op, path } = raw;
    const from = typeof raw['from'] === 'string' ? raw['from'] : undefined;
    const value = raw['value'];
    switch (op) {
      case 'add':
      case 'replace':
        if (value === undefined) throw new PatchError(`"${op}" at "${path}" needs a value`, 400);
        doc = addAt(doc, path, value, op === 'replace');
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'move':
      case 'copy': {
        if (from === undefined) throw new PatchError(`"${op}" at "${path}" needs "from"`, 400);
        const moved = op === 'move' ? removeAt(doc, from) : clone(getAt(doc, from));
        doc = addAt(doc, path, moved, false);
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(doc, path)) !== JSON.stringify(value ?? null)) {
          throw new PatchError(`test operation at "${path}" failed`);
        }
        break;
      default:
        throw new PatchError(`unknown JSON patch operation "${op}"`, 400);
    }
  }
  return doc;
}
