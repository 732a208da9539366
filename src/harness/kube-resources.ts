/**
 * The resource types the test Kubernetes API server serves, and the parsing
 * of request paths into (resource, namespace, name, subresource).
 */

export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Whether `/status` exists; the main endpoint then keeps the stored status. */
  hasStatus: boolean;
  /** Top-level fields of type MicroTime, which the real server parses with exactly six fraction digits. */
  microTimeFields?: readonly string[];
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, hasStatus: true },
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false, hasStatus: true },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, hasStatus: true },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, hasStatus: false, microTimeFields: ['eventTime'] },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true, hasStatus: false },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true, hasStatus: false },
  { group: '', version: 'v1', plural: 'persistentvolumes', kind: 'PersistentVolume', namespaced: false, hasStatus: true },
  { group: '', version: 'v1', plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', namespaced: true, hasStatus: true },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    plural: 'leases',
    kind: 'Lease',
    namespaced: true,
    hasStatus: false,
    microTimeFields: ['spec.acquireTime', 'spec.renewTime'],
  },
  { group: 'storage.k8s.io', version: 'v1', plural: 'csinodes', kind: 'CSINode', namespaced: false, hasStatus: false },
  { group: 'storage.k8s.io', version: 'v1', plural: 'storageclasses', kind: 'StorageClass', namespaced: false, hasStatus: false },
];

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

export function findTypeByKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((type) => apiVersionOf(type) === apiVersion && type.kind === kind);
}

export interface ResourcePath {
  type: ResourceType;
  /** Undefined for cluster-scoped types and for cross-namespace collections (`/api/v1/events`). */
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * `/api/v1/nodes/n1/status`, `/apis/coordination.k8s.io/v1/namespaces/ns/leases/x`, ...
 * Returns undefined for anything the real server would not route to these types.
 */
export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const parts = pathname.split('/').filter((part) => part.length > 0).map((part) => decodeURIComponent(part));
  let group = '';
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') {
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  const version = parts[0] === 'api' ? 'v1' : parts[2];
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  if (extra.length > 0 || plural === undefined) return undefined;
  const type = RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
  if (!type) return undefined;
  if (!type.namespaced && namespace !== undefined) return undefined;
  if (type.namespaced && namespace === undefined && name !== undefined) return undefined;
  if (subresource !== undefined && (subresource !== 'status' || !type.hasStatus)) return undefined;
  return { type, namespace, name, subresource };
}
