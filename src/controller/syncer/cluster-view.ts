/**
 * What Kubernetes says about our volumes, kept from the PV, PVC and Pod
 * informers: PersistentVolumes of this driver (by name and by volume
 * handle, the CNS volume id), the claims bound to them, and the Pods that
 * mount those claims. Each change returns the volume handles whose CNS
 * metadata may now differ; desired(handle) is the metadata they should have:
 * - PERSISTENT_VOLUME: the PV's name and labels;
 * - PERSISTENT_VOLUME_CLAIM (name, namespace, labels) referring to the PV,
 *   while the claim is bound to it;
 * - POD (name, namespace) referring to the claim, while the Pod is scheduled
 *   and not finished.
 * Nothing here talks to an API: tests feed it objects directly.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { DRIVER_NAME } from '../../csi/identity.js';
import type { CnsEntityMetadata } from '../../vsphere/api.js';

const keyOf = (namespace: string | undefined, name: string | undefined): string => `${namespace ?? ''}/${name ?? ''}`;

/** The CNS volume id of a PV of this driver, else undefined. */
export function volumeHandleOf(pv: V1PersistentVolume): string | undefined {
  const csi = pv.spec?.csi;
  return csi?.driver === DRIVER_NAME && csi.volumeHandle ? csi.volumeHandle : undefined;
}

/** Claims a Pod mounts, as "namespace/name": persistentVolumeClaim volumes and generic ephemeral volumes (`<pod>-<volume>`). */
export function claimsOf(pod: V1Pod | undefined): string[] {
  if (!pod) return [];
  const ns = pod.metadata?.namespace;
  const out: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) out.push(keyOf(ns, v.persistentVolumeClaim.claimName));
    else if (v.ephemeral) out.push(keyOf(ns, `${pod.metadata?.name}-${v.name}`));
  }
  return out;
}

/** Scheduled to a node and not finished: the Pod has (or is about to have) the volume mounted. */
function mounts(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return !!pod.spec?.nodeName && phase !== 'Succeeded' && phase !== 'Failed';
}

export class ClusterView {
  private readonly pvs = new Map<string, V1PersistentVolume>();
  private readonly pvOfHandle = new Map<string, string>();
  /** "namespace/claim" → the PV whose claimRef names it. */
  private readonly pvOfClaim = new Map<string, string>();
  private readonly claims = new Map<string, V1PersistentVolumeClaim>();
  private readonly pods = new Map<string, V1Pod>();
  private readonly podsOfClaim = new Map<string, Set<string>>();

  constructor(private readonly clusterId: string) {}

  setPv(pv: V1PersistentVolume): string[] {
    const name = pv.metadata?.name ?? '';
    const touched = this.removePvByName(name);
    const handle = volumeHandleOf(pv);
    if (!handle) return touched;
    this.pvs.set(name, pv);
    this.pvOfHandle.set(handle, name);
    const ref = pv.spec?.claimRef;
    if (ref?.name) this.pvOfClaim.set(keyOf(ref.namespace, ref.name), name);
    return [...new Set([...touched, handle])];
  }

  removePv(pv: V1PersistentVolume): string[] {
    return this.removePvByName(pv.metadata?.name ?? '');
  }

  setClaim(pvc: V1PersistentVolumeClaim): string[] {
    const key = keyOf(pvc.metadata?.namespace, pvc.metadata?.name);
    const before = this.handlesOfClaim(key);
    this.claims.set(key, pvc);
    return [...new Set([...before, ...this.handlesOfClaim(key)])];
  }

  removeClaim(pvc: V1PersistentVolumeClaim): string[] {
    const key = keyOf(pvc.metadata?.namespace, pvc.metadata?.name);
    const before = this.handlesOfClaim(key);
    this.claims.delete(key);
    return before;
  }

  setPod(pod: V1Pod): string[] {
    const key = keyOf(pod.metadata?.namespace, pod.metadata?.name);
    const before = this.removePodByKey(key);
    const claims = claimsOf(pod);
    // Only Pods that mount a claim are kept: the rest never reach CNS.
    if (claims.length > 0) {
      this.pods.set(key, pod);
      for (const c of claims) {
        let set = this.podsOfClaim.get(c);
        if (!set) this.podsOfClaim.set(c, (set = new Set()));
        set.add(key);
      }
    }
    return [...new Set([...before, ...claims.flatMap((c) => this.handlesOfClaim(c))])];
  }

  removePod(pod: V1Pod): string[] {
    return this.removePodByKey(keyOf(pod.metadata?.namespace, pod.metadata?.name));
  }

  /** Volume handles of every PV of this driver. */
  handles(): string[] {
    return [...this.pvOfHandle.keys()];
  }

  pvOf(handle: string): V1PersistentVolume | undefined {
    const name = this.pvOfHandle.get(handle);
    return name === undefined ? undefined : this.pvs.get(name);
  }

  /** The claim bound to the PV (its claimRef names it and it names the PV), else undefined. */
  claimOf(pv: V1PersistentVolume): V1PersistentVolumeClaim | undefined {
    const ref = pv.spec?.claimRef;
    if (!ref?.name) return undefined;
    const pvc = this.claims.get(keyOf(ref.namespace, ref.name));
    if (!pvc || pvc.spec?.volumeName !== pv.metadata?.name) return undefined;
    if (ref.uid && pvc.metadata?.uid && ref.uid !== pvc.metadata.uid) return undefined;
    return pvc;
  }

  /** The CNS entities this cluster should have on the volume; [] when no PV of ours has this handle. */
  desired(handle: string): CnsEntityMetadata[] {
    const pv = this.pvOf(handle);
    if (!pv) return [];
    const clusterId = this.clusterId;
    const pvName = pv.metadata?.name ?? '';
    const out: CnsEntityMetadata[] = [{ entityType: 'PERSISTENT_VOLUME', entityName: pvName, labels: { ...pv.metadata?.labels }, clusterId }];
    const pvc = this.claimOf(pv);
    if (!pvc) return out;
    const claim = { name: pvc.metadata?.name ?? '', namespace: pvc.metadata?.namespace ?? '' };
    out.push({
      entityType: 'PERSISTENT_VOLUME_CLAIM',
      entityName: claim.name,
      namespace: claim.namespace,
      labels: { ...pvc.metadata?.labels },
      clusterId,
      referredEntity: [{ entityType: 'PERSISTENT_VOLUME', entityName: pvName, clusterId }],
    });
    for (const podKey of this.podsOfClaim.get(keyOf(claim.namespace, claim.name)) ?? []) {
      const pod = this.pods.get(podKey);
      if (!pod || !mounts(pod)) continue;
      out.push({
        entityType: 'POD',
        entityName: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace,
        labels: {},
        clusterId,
        referredEntity: [{ entityType: 'PERSISTENT_VOLUME_CLAIM', entityName: claim.name, namespace: claim.namespace, clusterId }],
      });
    }
    return out;
  }

  private handlesOfClaim(claimKey: string): string[] {
    const out = new Set<string>();
    const byRef = this.pvOfClaim.get(claimKey);
    if (byRef) out.add(byRef);
    const volumeName = this.claims.get(claimKey)?.spec?.volumeName;
    if (volumeName) out.add(volumeName);
    return [...out].map((pvName) => this.pvs.get(pvName)).flatMap((pv) => (pv ? [volumeHandleOf(pv)!] : []));
  }

  private removePvByName(name: string): string[] {
    const pv = this.pvs.get(name);
    if (!pv) return [];
    this.pvs.delete(name);
    const handle = volumeHandleOf(pv)!;
    if (this.pvOfHandle.get(handle) === name) this.pvOfHandle.delete(handle);
    const ref = pv.spec?.claimRef;
    if (ref?.name && this.pvOfClaim.get(keyOf(ref.namespace, ref.name)) === name) this.pvOfClaim.delete(keyOf(ref.namespace, ref.name));
    return [handle];
  }

  private removePodByKey(key: string): string[] {
    const pod = this.pods.get(key);
    if (!pod) return [];
    this.pods.delete(key);
    const claims = claimsOf(pod);
    for (const c of claims) {
      const set = this.podsOfClaim.get(c);
      set?.delete(key);
      if (set?.size === 0) this.podsOfClaim.delete(c);
    }
    return claims.flatMap((c) => this.handlesOfClaim(c));
  }
}
