/**
 * StorageClass parameters of CreateVolume, parsed the way the reference
 * driver does (keys are case-insensitive) so existing StorageClasses keep
 * working unchanged.
 */
import { invalidArgument } from '../csi/errors.js';

export interface VolumeParameters {
  /** `storagepolicyname`: SPBM policy name, resolved to a profile id. */
  storagePolicyName?: string;
  /** `datastoreurl`: the datastore to use; must be reachable and policy-compatible. */
  datastoreUrl?: string;
  /** `datastorecluster` (our extension): a datastore cluster's name or inventory path; its emptiest fitting member is used. */
  datastoreCluster?: string;
  /** Kubernetes objects from external-provisioner's --extra-create-metadata. */
  pvcName?: string;
  pvcNamespace?: string;
  pvName?: string;
  /** Non-fatal findings for the caller to log (deprecated keys). */
  warnings: string[];
}

const PVC_NAME = 'csi.storage.k8s.io/pvc/name';
const PVC_NAMESPACE = 'csi.storage.k8s.io/pvc/namespace';
const PV_NAME = 'csi.storage.k8s.io/pv/name';

const KNOWN = 'storagepolicyname, datastoreurl, datastorecluster, fstype (deprecated)';
const MUTABLE = 'storagepolicyname, datastoreurl';

export function parseVolumeParameters(parameters: Record<string, string> | null | undefined): VolumeParameters {
  const out: VolumeParameters = { warnings: [] };
  for (const [key, raw] of Object.entries(parameters ?? {})) {
    const value = typeof raw === 'string' ? raw : String(raw);
    switch (key.toLowerCase()) {
      case 'storagepolicyname':
        if (value.trim() === '') throw invalidArgument(`parameters.${key}: the storage policy name is empty; set it or remove the key`);
        out.storagePolicyName = value;
        break;
      case 'datastoreurl':
        if (value.trim() === '') throw invalidArgument(`parameters.${key}: the datastore URL is empty; set it (e.g. ds:///vmfs/volumes/<uuid>/) or remove the key`);
        out.datastoreUrl = value;
        break;
      case 'datastorecluster':
        if (value.trim() === '') throw invalidArgument(`parameters.${key}: the datastore cluster name is empty; set it (a name or an inventory path such as /DC1/datastore/gold) or remove the key`);
        out.datastoreCluster = value.trim();
        break;
      case 'fstype':
        // The reference driver deprecated this in favour of csi.storage.k8s.io/fstype,
        // which the provisioner consumes; ignoring it keeps old StorageClasses valid.
        out.warnings.push(`StorageClass parameter "${key}" is deprecated and ignored: use csi.storage.k8s.io/fstype instead`);
        break;
      case PVC_NAME:
        out.pvcName = value;
        break;
      case PVC_NAMESPACE:
        out.pvcNamespace = value;
        break;
      case PV_NAME:
        out.pvName = value;
        break;
      default:
        throw invalidArgument(
          `parameters: unknown StorageClass parameter "${key}"; supported parameters are ${KNOWN} (case-insensitive)`,
        );
    }
  }
  return out;
}

/** What a VolumeAttributesClass may set (CreateVolume and ControllerModifyVolume `mutable_parameters`). */
export interface MutableParameters {
  storagePolicyName?: string;
  datastoreUrl?: string;
}

/** `mutable_parameters`: the same keys as the StorageClass's (case-insensitive), only those two. */
export function parseMutableParameters(parameters: Record<string, string>, field = 'mutable_parameters'): MutableParameters {
  const out: MutableParameters = {};
  for (const [key, value] of Object.entries(parameters)) {
    const lower = key.toLowerCase();
    if (lower !== 'storagepolicyname' && lower !== 'datastoreurl') {
      throw invalidArgument(`${field}: unknown VolumeAttributesClass parameter "${key}"; the parameters a volume can change are ${MUTABLE} (case-insensitive)`);
    }
    if (value.trim() === '') throw invalidArgument(`${field}.${key} is empty; set it or remove the key from the VolumeAttributesClass`);
    if (lower === 'storagepolicyname') out.storagePolicyName = value;
    else out.datastoreUrl = value;
  }
  return out;
}

/**
 * CreateVolume with a VolumeAttributesClass: its parameters override the
 * StorageClass's (CSI: mutable_parameters "override parameters"); a
 * `datastoreurl` there names the datastore exactly, so it replaces a
 * StorageClass `datastorecluster` as well.
 */
export function withMutable(params: VolumeParameters, mutable: MutableParameters): VolumeParameters {
  const out = { ...params };
  if (mutable.storagePolicyName !== undefined) out.storagePolicyName = mutable.storagePolicyName;
  if (mutable.datastoreUrl !== undefined) {
    out.datastoreUrl = mutable.datastoreUrl;
    out.datastoreCluster = undefined;
  }
  return out;
}
