/**
 * Patch bodies for Node objects. They carry only the fields the CPI owns
 * (labels it sets, its taints, providerID; addresses through the status
 * subresource), so a concurrent change by someone else to any other field
 * is never overwritten. Taints are a list without a merge key (replaced
 * whole by both merge and strategic patches), so a patch that changes them
 * carries metadata.resourceVersion: the API server then refuses it with 409
 * if the node changed meanwhile, and the controller re-reads and retries.
 */
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { UNINITIALIZED_TAINT } from '../contract/taints.js';
import type { NodeAddress } from './addresses.js';

export const INSTANCE_TYPE_LABEL = 'node.kubernetes.io/instance-type';
export const LEGACY_INSTANCE_TYPE_LABEL = 'beta.kubernetes.io/instance-type';

export type JsonPatchBody = Record<string, unknown>;

export function hasTaint(node: V1Node, key: string): boolean {
  return (node.spec?.taints ?? []).some((t) => t.key === key);
}

/** A node the CPI still has to initialize. */
export function needsInitialization(node: V1Node): boolean {
  return hasTaint(node, UNINITIALIZED_TAINT) || !node.spec?.providerID;
}

export interface NodeChanges {
  providerID?: string;
  /** Labels to set (others are left alone). */
  labels?: Record<string, string>;
  removeTaints?: string[];
  addTaints?: V1Taint[];
}

/**
 * JSON merge patch for metadata/spec, or undefined when the node already
 * has everything asked for (so resyncs cost no API write).
 */
export function buildNodePatch(node: V1Node, changes: NodeChanges): JsonPatchBody | undefined {
  const metadata: Record<string, unknown> = {};
  const spec: Record<string, unknown> = {};

  const current = node.metadata?.labels ?? {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(changes.labels ?? {})) if (current[k] !== v) labels[k] = v;
  if (Object.keys(labels).length) metadata.labels = labels;

  // providerID is immutable once set: only fill it when empty.
  if (changes.providerID && !node.spec?.providerID) spec.providerID = changes.providerID;

  const taints = node.spec?.taints ?? [];
  const remove = new Set(changes.removeTaints ?? []);
  let next = taints.filter((t) => !remove.has(t.key));
  for (const t of changes.addTaints ?? []) if (!next.some((x) => x.key === t.key)) next = [...next, t];
  if (next.length !== taints.length || next.some((t, i) => t !== taints[i])) {
    spec.taints = next.map(stripTaint);
    metadata.resourceVersion = node.metadata?.resourceVersion;
  }

  if (!Object.keys(metadata).length && !Object.keys(spec).length) return undefined;
  const body: JsonPatchBody = {};
  if (Object.keys(metadata).length) body.metadata = metadata;
  if (Object.keys(spec).length) body.spec = spec;
  return body;
}

/** Serializable taint (timeAdded is a Date in client-node's model). */
function stripTaint(t: V1Taint): Record<string, unknown> {
  const out: Record<string, unknown> = { key: t.key, effect: t.effect };
  if (t.value !== undefined) out.value = t.value;
  if (t.timeAdded !== undefined) out.timeAdded = t.timeAdded instanceof Date ? t.timeAdded.toISOString() : t.timeAdded;
  return out;
}

/** JSON merge patch for the status subresource: the address list is ours and replaced whole. */
export function buildAddressPatch(node: V1Node, addresses: NodeAddress[]): JsonPatchBody | undefined {
  const current = (node.status?.addresses ?? []).map((a) => `${a.type}=${a.address}`).join(',');
  const wanted = addresses.map((a) => `${a.type}=${a.address}`).join(',');
  if (current === wanted) return undefined;
  return { status: { addresses: addresses.map((a) => ({ type: a.type, address: a.address })) } };
}
