/**
 * CNS wire shapes: our typed specs → SOAP values (urn:vsan types), and CNS
 * volumes / batch results → our types.
 */
import type {
  CnsContainerCluster,
  CnsCreateSpec,
  CnsEntityMetadata,
  CnsEntityType,
  CnsQueryFilter,
  CnsSnapshot,
  CnsSnapshotQueryEntry,
  CnsSnapshotQueryFilter,
  CnsSnapshotQueryPage,
  CnsUpdateMetadataSpec,
  CnsVolume,
  MoRef,
  XmlValue,
} from './api.js';
import { VsphereFault } from './faults.js';
import { all, childText, faultFromValue, one, text, toBool, toInt, toMoRef } from './soap/decode.js';
import { moref, obj, poly, type SoapObject } from './soap/envelope.js';

export const CNS_VOLUME_MANAGER: MoRef = { type: 'CnsVolumeManager', value: 'cns-volume-manager' };

function checkMb(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new VsphereFault('InvalidArgument', `${field} must be a positive whole number of MiB, got ${value}`);
  }
  return value;
}

function containerCluster(c: { clusterId: string; vSphereUser: string; clusterFlavor?: CnsContainerCluster['clusterFlavor']; clusterDistribution?: string }): SoapObject {
  return obj('CnsContainerCluster', {
    clusterType: 'KUBERNETES',
    clusterId: c.clusterId,
    vSphereUser: c.vSphereUser,
    clusterFlavor: c.clusterFlavor ?? 'VANILLA',
    clusterDistribution: c.clusterDistribution || undefined,
  });
}

function entity(e: CnsEntityMetadata): SoapObject {
  return poly('CnsKubernetesEntityMetadata', {
    entityName: e.entityName,
    labels: Object.entries(e.labels ?? {}).map(([key, value]) => obj('KeyValue', { key, value })),
    delete: e.delete || undefined,
    clusterId: e.clusterId,
    entityType: e.entityType,
    namespace: e.namespace,
    referredEntity: (e.referredEntity ?? []).map((r) =>
      obj('CnsKubernetesEntityReference', { entityType: r.entityType, entityName: r.entityName, namespace: r.namespace, clusterId: r.clusterId }),
    ),
  });
}

export function volumeIdValue(id: string): SoapObject {
  if (!id) throw new VsphereFault('InvalidArgument', 'volume id must not be empty');
  return obj('CnsVolumeId', { id });
}

/** A storage policy as CNS specs carry it (VirtualMachineDefinedProfileSpec), or nothing. */
export function profileSpec(profileId: string | undefined): SoapObject[] | undefined {
  return profileId ? [poly('VirtualMachineDefinedProfileSpec', { profileId })] : undefined;
}

export function encodeCreateSpec(spec: CnsCreateSpec): SoapObject {
  if (!spec.name) throw new VsphereFault('InvalidArgument', 'volume name must not be empty');
  return obj('CnsVolumeCreateSpec', {
    name: spec.name,
    volumeType: 'BLOCK',
    datastores: spec.datastores.map(moref),
    metadata: obj('CnsVolumeMetadata', { containerCluster: containerCluster(spec), entityMetadata: (spec.entityMetadata ?? []).map(entity) }),
    // Registering an existing disk (backingDiskId) needs no size: CNS takes the disk's own.
    backingObjectDetails: poly('CnsBlockBackingDetails', {
      capacityInMb: spec.backingDiskId && !spec.capacityMb ? undefined : checkMb(spec.capacityMb, 'capacityMb'),
      backingDiskId: spec.backingDiskId,
    }),
    profile: profileSpec(spec.profileId),
    volumeSource: spec.volumeSource ? encodeSnapshotSource(spec.volumeSource) : undefined,
  });
}

export function snapshotIdValue(id: string): SoapObject {
  if (!id) throw new VsphereFault('InvalidArgument', 'snapshot id must not be empty');
  return obj('CnsSnapshotId', { id });
}

/** CnsVolumeCreateSpec.volumeSource is a polymorphic CnsVolumeSource: the subtype goes with xsi:type. */
function encodeSnapshotSource(source: { volumeId: string; snapshotId: string }): SoapObject {
  return poly('CnsSnapshotVolumeSource', { volumeId: volumeIdValue(source.volumeId), snapshotId: snapshotIdValue(source.snapshotId) });
}

export function encodeSnapshotCreateSpec(volumeId: string, description: string): SoapObject {
  return obj('CnsSnapshotCreateSpec', { volumeId: volumeIdValue(volumeId), description });
}

export function encodeSnapshotDeleteSpec(volumeId: string, snapshotId: string): SoapObject {
  return obj('CnsSnapshotDeleteSpec', { volumeId: volumeIdValue(volumeId), snapshotId: snapshotIdValue(snapshotId) });
}

export function encodeSnapshotFilter(filter: CnsSnapshotQueryFilter): SoapObject {
  return obj('CnsSnapshotQueryFilter', {
    snapshotQuerySpecs: filter.specs?.map((s) =>
      obj('CnsSnapshotQuerySpec', { volumeId: volumeIdValue(s.volumeId), snapshotId: s.snapshotId === undefined ? undefined : snapshotIdValue(s.snapshotId) }),
    ),
    cursor: filter.cursor ? obj('CnsCursor', { offset: filter.cursor.offset, limit: filter.cursor.limit }) : undefined,
  });
}

export function encodeUpdateSpec(spec: CnsUpdateMetadataSpec): SoapObject {
  return obj('CnsVolumeMetadataUpdateSpec', {
    volumeId: volumeIdValue(spec.volumeId),
    metadata: obj('CnsVolumeMetadata', { containerCluster: containerCluster(spec), entityMetadata: spec.entityMetadata.map(entity) }),
  });
}

export function encodeExtendCapacity(capacityMb: number): number {
  return checkMb(capacityMb, 'capacityMb');
}

/** The most volumes one CnsQueryVolume answers (CnsCursor.limit's cap). */
export const CNS_QUERY_MAX_LIMIT = 1000;

/**
 * A query by volume ids or names without a cursor asks for up to 1,000
 * answers: without one vCenter answers its default page (100 volumes), so a
 * batch of more ids would see the rest as missing.
 */
export function encodeFilter(filter: CnsQueryFilter): SoapObject {
  const selective = (filter.volumeIds?.length ?? 0) > 0 || (filter.names?.length ?? 0) > 0;
  const cursor = filter.cursor ?? (selective ? { offset: 0, limit: CNS_QUERY_MAX_LIMIT } : undefined);
  return obj('CnsQueryFilter', {
    volumeIds: filter.volumeIds?.map(volumeIdValue),
    names: filter.names,
    containerClusterIds: filter.containerClusterIds,
    storagePolicyId: filter.storagePolicyId,
    datastores: filter.datastores?.map(moref),
    cursor: cursor ? obj('CnsCursor', { offset: cursor.offset, limit: cursor.limit }) : undefined,
  });
}

function decodeEntity(v: XmlValue): CnsEntityMetadata {
  const labels: Record<string, string> = {};
  for (const kv of all(v, 'labels')) {
    const key = childText(kv, 'key');
    if (key !== undefined) labels[key] = childText(kv, 'value') ?? '';
  }
  return {
    entityType: (childText(v, 'entityType') ?? 'PERSISTENT_VOLUME') as CnsEntityType,
    entityName: childText(v, 'entityName') ?? '',
    namespace: childText(v, 'namespace') || undefined,
    labels,
    delete: toBool(childText(v, 'delete')) || undefined,
    clusterId: childText(v, 'clusterId') || undefined,
    referredEntity: all(v, 'referredEntity').map((r) => ({
      entityType: (childText(r, 'entityType') ?? 'PERSISTENT_VOLUME') as CnsEntityType,
      entityName: childText(r, 'entityName') ?? '',
      namespace: childText(r, 'namespace') || undefined,
      clusterId: childText(r, 'clusterId') || undefined,
    })),
  };
}

export function decodeVolume(v: XmlValue): CnsVolume {
  const metadata = one(v, 'metadata');
  const cluster = one(metadata, 'containerCluster');
  const backing = one(v, 'backingObjectDetails');
  return {
    volumeId: childText(one(v, 'volumeId'), 'id') ?? '',
    name: childText(v, 'name') ?? '',
    volumeType: childText(v, 'volumeType') ?? '',
    datastoreUrl: childText(v, 'datastoreUrl') || undefined,
    storagePolicyId: childText(v, 'storagePolicyId') || undefined,
    capacityMb: toInt(childText(backing, 'capacityInMb')),
    backingDiskId: childText(backing, 'backingDiskId') || undefined,
    containerCluster: cluster
      ? {
          clusterType: 'KUBERNETES',
          clusterId: childText(cluster, 'clusterId') ?? '',
          vSphereUser: childText(cluster, 'vSphereUser') ?? '',
          clusterFlavor: (childText(cluster, 'clusterFlavor') || 'VANILLA') as CnsContainerCluster['clusterFlavor'],
          clusterDistribution: childText(cluster, 'clusterDistribution') || undefined,
        }
      : undefined,
    entityMetadata: all(metadata, 'entityMetadata').map(decodeEntity),
    healthStatus: childText(v, 'healthStatus') || undefined,
    complianceStatus: childText(v, 'complianceStatus') || undefined,
    datastoreAccessibilityStatus: childText(v, 'datastoreAccessibilityStatus') || undefined,
  };
}

/** One entry of CnsVolumeOperationBatchResult.volumeResults. */
export interface OperationResult {
  volumeId?: string;
  name?: string;
  diskUuid?: string;
  datastores: MoRef[];
  fault?: VsphereFault;
}

export function decodeBatchResult(result: XmlValue | undefined, method: string): OperationResult[] {
  return all(result, 'volumeResults').map((r) => {
    const fault = one(r, 'fault');
    return {
      volumeId: childText(one(r, 'volumeId'), 'id') || undefined,
      name: childText(r, 'name'),
      diskUuid: text(one(r, 'diskUUID'))?.replace(/-/g, '').toLowerCase() || undefined,
      datastores: all(r, 'placementResults')
        .map((p) => toMoRef(one(p, 'datastore')))
        .filter((d): d is MoRef => d !== undefined),
      fault: fault === undefined ? undefined : faultFromValue(one(fault, 'fault'), undefined, childText(fault, 'localizedMessage') ?? '', method),
    };
  });
}

/** A LocalizedMethodFault value (`fault` + `localizedMessage`) → VsphereFault, or undefined. */
function localizedFault(v: XmlValue | undefined, method: string): VsphereFault | undefined {
  if (v === undefined) return undefined;
  return faultFromValue(one(v, 'fault'), undefined, childText(v, 'localizedMessage') ?? '', method);
}

export function decodeSnapshot(v: XmlValue | undefined): CnsSnapshot | undefined {
  const snapshotId = childText(one(v, 'snapshotId'), 'id');
  const volumeId = childText(one(v, 'volumeId'), 'id');
  if (!snapshotId || !volumeId) return undefined;
  const created = childText(v, 'createTime');
  const time = created ? new Date(created) : undefined;
  return {
    snapshotId,
    volumeId,
    description: childText(v, 'description') ?? '',
    createTime: time && !Number.isNaN(time.getTime()) ? time : undefined,
  };
}

/** One CnsSnapshotCreateResult / CnsSnapshotDeleteResult of a batch. */
export interface SnapshotOperationResult {
  volumeId?: string;
  /** Create: the snapshot made. */
  snapshot?: CnsSnapshot;
  /** Delete: the snapshot removed. */
  snapshotId?: string;
  fault?: VsphereFault;
}

export function decodeSnapshotResults(result: XmlValue | undefined, method: string): SnapshotOperationResult[] {
  return all(result, 'volumeResults').map((r) => ({
    volumeId: childText(one(r, 'volumeId'), 'id') || undefined,
    snapshot: decodeSnapshot(one(r, 'snapshot')),
    snapshotId: childText(one(r, 'snapshotId'), 'id') || undefined,
    fault: localizedFault(one(r, 'fault'), method),
  }));
}

/**
 * The CnsQuerySnapshots task result: vCenter wraps the CnsSnapshotQueryResult
 * in a CnsVolumeOperationBatchResult (volumeResults[0], as govmomi's
 * GetTaskResult reads it); other CNS implementations have answered with the
 * bare CnsSnapshotQueryResult. Both are read. A fault on the wrapper entry
 * fails the whole query.
 */
export function decodeSnapshotQueryResult(result: XmlValue | undefined, method = 'CnsQuerySnapshots'): CnsSnapshotQueryPage {
  const wrapped = one(result, 'volumeResults');
  const body = wrapped ?? result;
  const fault = localizedFault(one(body, 'fault'), method);
  if (fault) throw fault;
  const entries: CnsSnapshotQueryEntry[] = all(body, 'entries').map((e) => {
    const snapshot = decodeSnapshot(one(e, 'snapshot'));
    const error = localizedFault(one(e, 'error'), method);
    return error ? { snapshot, error } : { snapshot };
  });
  const cursor = one(body, 'cursor');
  return {
    entries,
    cursor: {
      offset: toInt(childText(cursor, 'offset')) ?? 0,
      limit: toInt(childText(cursor, 'limit')) ?? 0,
      totalRecords: toInt(childText(cursor, 'totalRecords')),
    },
  };
}
