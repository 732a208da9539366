/**
 * vCenter API versions (ServiceContent.about.apiVersion, "8.0.3.0", "6.7.3")
 * and the CNS APIs that need a given one, from the vSAN Management API
 * reference: CNS itself ships with 6.7U3; CnsVolumeRelocateSpec is "since
 * vSAN API 7.4" (vSphere 7.0 Update 3); CnsVolumePolicyReconfigSpec "since
 * 8.0.0.2" (vSphere 8.0 Update 2); the CNS snapshot methods (CnsCreateSnapshots,
 * CnsDeleteSnapshots, CnsQuerySnapshots, CnsSnapshotVolumeSource) ship with
 * vSphere 7.0 Update 3, the release the reference driver requires for them. A vCenter without the method answers
 * MethodNotFound, so callers check first and say which version is needed.
 */

export interface ApiRequirement {
  /** Lowest about.apiVersion that has it. */
  since: readonly number[];
  /** The release as operators know it. */
  release: string;
  method: string;
}

export const CNS_RELOCATE: ApiRequirement = { since: [7, 0, 3], release: 'vSphere 7.0 Update 3', method: 'CnsRelocateVolume' };
export const CNS_SNAPSHOTS: ApiRequirement = { since: [7, 0, 3], release: 'vSphere 7.0 Update 3', method: 'CnsCreateSnapshots' };
export const CNS_RECONFIG_POLICY: ApiRequirement = { since: [8, 0, 2], release: 'vSphere 8.0 Update 2', method: 'CnsReconfigVolumePolicy' };

/** Compares dotted versions numerically ("6.7.3" vs "7.0.1.1"); missing parts count as 0. */
export function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < min.length; i++) {
    const v = Number.isFinite(parts[i]) ? (parts[i] as number) : 0;
    if (v !== min[i]) return v > (min[i] as number);
  }
  return true;
}
