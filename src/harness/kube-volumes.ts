/**
 * Tests and demo: the Kubernetes objects of a volume's life as the cluster
 * makes them, for the test API server. external-provisioner creates the PV
 * (spec.csi of our driver, claimRef naming the claim) after CreateVolume;
 * the PV controller binds the claim (spec.volumeName, phase Bound); a Pod
 * names the claim in spec.volumes and is scheduled (spec.nodeName).
 * Statically provisioned PVs are the same PV written by an administrator.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { DRIVER_NAME } from '../csi/identity.js';

export interface ClaimRef {
  namespace: string;
  name: string;
  /** The claim's metadata.uid, as the PV controller records it on binding (the server assigns uids). */
  uid?: string;
}

export function volumePv(name: string, volumeHandle: string, claim?: ClaimRef, labels: Record<string, string> = {}): V1PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: 'vsphere',
      csi: { driver: DRIVER_NAME, volumeHandle, fsType: 'ext4', volumeAttributes: { type: 'vSphere CNS Block Volume' } },
      ...(claim ? { claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: claim.namespace, name: claim.name, ...(claim.uid ? { uid: claim.uid } : {}) } } : {}),
    },
    status: { phase: claim ? 'Bound' : 'Available' },
  };
}

/** A claim bound to `pvName` (or pending when undefined). */
export function boundClaim(namespace: string, name: string, pvName: string | undefined, labels: Record<string, string> = {}): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { namespace, name, labels },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, storageClassName: 'vsphere', ...(pvName ? { volumeName: pvName } : {}) },
    status: { phase: pvName ? 'Bound' : 'Pending' },
  };
}

/** A Pod mounting `claimName`, scheduled to `nodeName` (unscheduled when undefined). */
export function claimPod(namespace: string, name: string, claimName: string, nodeName?: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
    },
    status: { phase: nodeName ? 'Running' : 'Pending' },
  };
}
