/**
 * CNS entity metadata of one volume, as pure values: what Kubernetes says
 * the volume's PV, PVC and POD entities should be (cluster-view.ts builds
 * them), compared with what CNS holds, and the one update that turns the
 * latter into the former. CnsUpdateVolumeMetadata merges by entity (type,
 * namespace, name, cluster): an entry replaces the entity with its identity,
 * an entry marked `delete` removes it, entities not mentioned stay. So the
 * update lists only what changed, and entities of other clusters sharing
 * the volume are never mentioned.
 */
import type { CnsEntityMetadata, CnsEntityReference } from '../../vsphere/api.js';
import { FULL_NAME_LABEL } from '../volume-name.js';

type Identity = Pick<CnsEntityMetadata, 'entityType' | 'entityName' | 'namespace'>;

export const entityKey = (e: Identity): string => `${e.entityType}/${e.namespace ?? ''}/${e.entityName}`;

/** The entities of this cluster among a volume's entities. */
export function ownEntities(entities: readonly CnsEntityMetadata[], clusterId: string): CnsEntityMetadata[] {
  return entities.filter((e) => e.clusterId === clusterId);
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const x = Object.entries(a ?? {});
  if (x.length !== Object.keys(b ?? {}).length) return false;
  return x.every(([k, v]) => (b ?? {})[k] === v);
}

const refKey = (r: CnsEntityReference): string => `${entityKey(r)}@${r.clusterId ?? ''}`;

function sameRefs(a: readonly CnsEntityReference[] | undefined, b: readonly CnsEntityReference[] | undefined): boolean {
  const x = (a ?? []).map(refKey).sort();
  const y = (b ?? []).map(refKey).sort();
  return x.length === y.length && x.every((k, i) => k === y[i]);
}

export function sameEntity(a: CnsEntityMetadata, b: CnsEntityMetadata): boolean {
  return entityKey(a) === entityKey(b) && sameLabels(a.labels, b.labels) && sameRefs(a.referredEntity, b.referredEntity);
}

/**
 * CreateVolume records a shortened request name's full form as a label
 * (volume-name.ts); Kubernetes labels do not carry it, so it is kept.
 */
function keepDriverLabels(wanted: CnsEntityMetadata, current: CnsEntityMetadata | undefined): CnsEntityMetadata {
  const fullName = current?.labels?.[FULL_NAME_LABEL];
  if (fullName === undefined || wanted.labels?.[FULL_NAME_LABEL] !== undefined) return wanted;
  return { ...wanted, labels: { ...wanted.labels, [FULL_NAME_LABEL]: fullName } };
}

/**
 * The entries of one CnsUpdateVolumeMetadata spec that turn `current` (this
 * cluster's entities as CNS has them) into `desired`: new or changed
 * entities, and a `delete` entry for each one Kubernetes no longer has.
 * Empty when CNS is already right.
 */
export function entityChanges(desired: readonly CnsEntityMetadata[], current: readonly CnsEntityMetadata[]): CnsEntityMetadata[] {
  const have = new Map(current.map((e) => [entityKey(e), e]));
  const wanted = new Set<string>();
  const out: CnsEntityMetadata[] = [];
  for (const d of desired) {
    const key = entityKey(d);
    wanted.add(key);
    const entry = keepDriverLabels(d, have.get(key));
    const now = have.get(key);
    if (!now || !sameEntity(entry, now)) out.push(entry);
  }
  for (const [key, e] of have) {
    if (!wanted.has(key)) out.push({ entityType: e.entityType, entityName: e.entityName, namespace: e.namespace, clusterId: e.clusterId, delete: true });
  }
  return out;
}

/** What CNS holds after applying `changes` to `current` (its merge rule), for the next comparison. */
export function applyChanges(current: readonly CnsEntityMetadata[], changes: readonly CnsEntityMetadata[]): CnsEntityMetadata[] {
  const out = new Map(current.map((e) => [entityKey(e), e]));
  for (const c of changes) {
    if (c.delete) out.delete(entityKey(c));
    else out.set(entityKey(c), c);
  }
  return [...out.values()];
}
