/**
 * The StorageClass key `datastorecluster` (our extension to the reference
 * driver's parameters): a datastore cluster named by its name or by its
 * inventory path. Shared by the controller (placement, capacity) and
 * preflight (which members qualify), so both read a StorageClass alike.
 */
import type { DatastoreClusterInfo } from '../vsphere/api.js';

export const DATASTORE_CLUSTER_PARAMETER = 'datastorecluster';

export type ClusterMatch = { cluster: DatastoreClusterInfo } | { ambiguous: DatastoreClusterInfo[] } | undefined;

const trimSlashes = (p: string): string => p.trim().replace(/^\/+|\/+$/g, '');

/** The cluster `wanted` names: its inventory path ("/DC1/datastore/gold", slashes optional at either end), else its name. */
export function findDatastoreCluster(clusters: readonly DatastoreClusterInfo[], wanted: string): ClusterMatch {
  const path = trimSlashes(wanted);
  const byPath = clusters.find((c) => trimSlashes(c.path) === path);
  if (byPath) return { cluster: byPath };
  const byName = clusters.filter((c) => c.name === wanted.trim());
  if (byName.length === 1) return { cluster: byName[0]! };
  if (byName.length > 1) return { ambiguous: byName };
  return undefined;
}

/** "gold (/DC1/datastore/gold), silver (...)" for messages. */
export function describeClusters(clusters: readonly DatastoreClusterInfo[]): string {
  return clusters.map((c) => `${c.name} (${c.path})`).join(', ') || 'none';
}

/** The value of a `datastorecluster` key in StorageClass parameters (keys are case-insensitive). */
export function datastoreClusterParameter(parameters: Readonly<Record<string, string>> | undefined): string | undefined {
  const entry = Object.entries(parameters ?? {}).find(([k]) => k.toLowerCase() === DATASTORE_CLUSTER_PARAMETER);
  return entry?.[1]?.trim() || undefined;
}
