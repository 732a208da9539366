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

const KNOWN = 'storagepolicyname, datastoreurl, fstype (deprecated)';

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
