/**
 * Check "datastore-clusters": for each datastore cluster a StorageClass of
 * this driver names (`datastorecluster`, our extension), which members a new
 * volume could go to as the controller decides it: accessible, not in (or
 * entering) maintenance mode, allowed by the StorageClass's storage policy,
 * and mounted on every host of some topology domain of the node VMs.
 */
import { StorageV1Api } from '@kubernetes/client-node';
import { loadKubeConfig, kubeErrorMessage } from '../kube/client.js';
import type { DatastoreInfo, HostInfo, VsphereClient } from '../vsphere/api.js';
import { refKey } from '../vsphere/api.js';
import { datastoreClusterParameter, findDatastoreCluster } from '../contract/datastore-cluster.js';
import { withDeadline } from './kube-read.js';
import { fail, pass, skip, warn, type CheckResult } from './types.js';

const NAME = 'datastore-clusters';
const DRIVER = 'csi.vsphere.vmware.com';

export interface ClusterClass {
  storageClass: string;
  cluster: string;
  policy?: string;
}

export type ClusterClasses = { ok: true; classes: ClusterClass[] } | { ok: false; reason: string };

/** StorageClasses of this driver that name a datastore cluster. */
export async function listClusterClasses(kubeconfig: string | undefined, timeoutMs: number): Promise<ClusterClasses> {
  try {
    const kc = loadKubeConfig(kubeconfig);
    const list = await withDeadline(kc.makeApiClient(StorageV1Api).listStorageClass(), timeoutMs);
    const classes = list.items
      .filter((sc) => sc.provisioner === DRIVER)
      .flatMap((sc): ClusterClass[] => {
        const cluster = datastoreClusterParameter(sc.parameters);
        if (!cluster) return [];
        const policy = Object.entries(sc.parameters ?? {}).find(([k]) => k.toLowerCase() === 'storagepolicyname')?.[1];
        return [{ storageClass: sc.metadata?.name ?? '', cluster, policy }];
      });
    return { ok: true, classes };
  } catch (err) {
    return { ok: false, reason: kubeErrorMessage(err) };
  }
}

/** Why a member takes no new volume, or undefined when it can (naming the domains it serves). */
function memberVerdict(ds: DatastoreInfo, domains: Map<string, HostInfo[]>, compatible: Set<string> | undefined): { ok: boolean; text: string } {
  if (!ds.accessible) return { ok: false, text: `${ds.name} (not accessible)` };
  if (ds.maintenanceMode && ds.maintenanceMode !== 'normal') return { ok: false, text: `${ds.name} (${ds.maintenanceMode})` };
  if (compatible && !compatible.has(ds.ref.value)) return { ok: false, text: `${ds.name} (not allowed by the storage policy)` };
  const mountedOn = new Set(ds.hostMounts.filter((m) => m.mounted && m.accessible).map((m) => refKey(m.host)));
  const serves = [...domains].filter(([, hosts]) => hosts.length > 0 && hosts.every((h) => mountedOn.has(refKey(h.ref)) || h.datastores.some((d) => d.value === ds.ref.value)));
  if (serves.length === 0) return { ok: false, text: `${ds.name} (not mounted on all hosts of any topology domain)` };
  return { ok: true, text: `${ds.name} (${serves.map(([key]) => key).join('; ')})` };
}

export async function checkDatastoreClusters(
  client: VsphereClient,
  classes: ClusterClasses,
  domains: Map<string, HostInfo[]>,
  datastores: DatastoreInfo[],
  severalVcenters: boolean,
  timeoutMs: number,
): Promise<CheckResult> {
  if (!classes.ok) return skip(NAME, `StorageClasses not read (${classes.reason})`);
  if (classes.classes.length === 0) return skip(NAME, `no StorageClass of ${DRIVER} names a datastorecluster`);
  const signal = (): AbortSignal => AbortSignal.timeout(timeoutMs);
  const clusters = await client.inventory.datastoreClusters({ signal: signal() });
  const byRef = new Map(datastores.map((d) => [d.ref.value, d]));
  const findings: string[] = [];
  const failures: string[] = [];
  const absent: string[] = [];
  for (const c of classes.classes) {
    const match = findDatastoreCluster(clusters, c.cluster);
    if (!match || !('cluster' in match)) {
      absent.push(`"${c.cluster}" (StorageClass ${c.storageClass})${match ? ': ambiguous, use its inventory path' : ''}`);
      continue;
    }
    let compatible: Set<string> | undefined;
    if (c.policy) {
      const id = await client.pbm.policyIdByName(c.policy, { signal: signal() });
      compatible = new Set(id ? (await client.pbm.compatibleDatastores(id, { signal: signal() })).map((r) => r.value) : []);
    }
    const verdicts = match.cluster.datastores.map((ref) => byRef.get(ref.value)).filter((d): d is DatastoreInfo => d !== undefined).map((d) => memberVerdict(d, domains, compatible));
    const good = verdicts.filter((v) => v.ok).map((v) => v.text);
    const bad = verdicts.filter((v) => !v.ok).map((v) => v.text);
    const line = `${match.cluster.path} (StorageClass ${c.storageClass}${c.policy ? `, policy "${c.policy}"` : ''}): ${good.length} of ${verdicts.length} members qualify${good.length ? `: ${good.join(', ')}` : ''}${bad.length ? `; not: ${bad.join(', ')}` : ''}`;
    findings.push(line);
    if (good.length === 0) failures.push(line);
  }
  if (absent.length > 0) findings.push(`not in this vCenter: ${absent.join(', ')}`);
  const finding = findings.join(' | ');
  if (failures.length > 0) {
    return fail(NAME, finding, 'give the datastore cluster a member that is mounted on every host of a zone, out of maintenance mode and allowed by the StorageClass storage policy');
  }
  if (absent.length > 0) {
    const fix = 'create the datastore cluster or fix the StorageClass datastorecluster (a name or an inventory path such as /DC1/datastore/gold)';
    return severalVcenters ? warn(NAME, `${finding} (it may be in another vCenter)`, fix) : fail(NAME, finding, fix);
  }
  return pass(NAME, finding);
}
