/**
 * Check 4: Cloud Native Storage answers and the vCenter is new enough (4b: for snapshots).
 * CNS ships with vSphere 6.7U3 (API 6.7.3). The CnsQueryVolume call is the
 * evidence that matters; the version is cross-checked, and a vCenter that
 * answers CNS while claiming an older API (govmomi 0.24.2's own simulator
 * claims 6.5) gets a warning, not a pass or a fail.
 */
import type { AboutInfo, VsphereClient } from '../vsphere/api.js';
import { CNS_SNAPSHOTS, versionAtLeast } from '../vsphere/versions.js';
import { fail, pass, skip, warn, whatFailed, type CheckResult } from './types.js';

const NAME = 'cns';
export const MIN_CNS_API = [6, 7, 3] as const;

export { versionAtLeast };

export async function checkCns(client: VsphereClient, about: AboutInfo | undefined, timeoutMs: number): Promise<CheckResult> {
  const apiVersion = about?.apiVersion ?? '';
  const newEnough = versionAtLeast(apiVersion, MIN_CNS_API);
  const upgrade = 'upgrade vCenter Server and the ESXi hosts to 6.7U3 or later (7.0U1+ recommended): CNS, which the driver needs, ships with 6.7U3';
  try {
    // One page of at most one volume: cheap on a vCenter with thousands of volumes.
    const page = await client.cns.queryVolumes({ cursor: { offset: 0, limit: 1 } }, { signal: AbortSignal.timeout(timeoutMs) });
    const total = page.cursor.totalRecords;
    const answered = `CnsQueryVolume answered${total !== undefined ? ` (${total} volume${total === 1 ? '' : 's'})` : ''}`;
    if (!newEnough) {
      return warn(NAME, `${answered}, but vCenter reports API ${apiVersion || 'unknown'} (< ${MIN_CNS_API.join('.')}); CNS features may be incomplete`, upgrade);
    }
    return pass(NAME, `${answered}; vCenter API ${apiVersion}`);
  } catch (err) {
    const what = whatFailed(err);
    if (!newEnough) return fail(NAME, `vCenter API ${apiVersion || 'unknown'} is older than ${MIN_CNS_API.join('.')} and CnsQueryVolume failed (${what})`, upgrade);
    return fail(NAME, `CnsQueryVolume failed (${what}) on vCenter API ${apiVersion}`, 'check that the vsan-health service (which serves CNS at /vsanHealth) runs on vCenter, and that the user holds Cns.Searchable on the root vCenter Server');
  }
}

const SNAPSHOTS_NAME = 'cns-snapshots';

/**
 * Check 4b: CNS snapshots (VolumeSnapshot, restore from a snapshot) need
 * vSphere 7.0 Update 3 (API 7.0.3). Older vCenters lack the methods
 * (MethodNotFound), so the driver answers CreateSnapshot with UNIMPLEMENTED;
 * volumes work as before, hence a warning, never a failure. Read from
 * about.apiVersion alone: no snapshot is created or listed to find out.
 */
export function checkCnsSnapshots(about: AboutInfo | undefined, cns: CheckResult): CheckResult {
  if (cns.status === 'fail') return skip(SNAPSHOTS_NAME, 'skipped: CNS does not answer (see cns)');
  const apiVersion = about?.apiVersion ?? '';
  const since = CNS_SNAPSHOTS.since.join('.');
  if (versionAtLeast(apiVersion, CNS_SNAPSHOTS.since)) {
    return pass(SNAPSHOTS_NAME, `vCenter API ${apiVersion} has the CNS snapshot methods (${since}+, ${CNS_SNAPSHOTS.release}): VolumeSnapshots and restores are available`);
  }
  return warn(
    SNAPSHOTS_NAME,
    `vCenter API ${apiVersion || 'unknown'} is older than ${since}: volume snapshots need ${CNS_SNAPSHOTS.release}, so CreateSnapshot will answer UNIMPLEMENTED ` +
      'and VolumeSnapshots of this driver stay not ready (restores from a snapshot fail the same way); volumes themselves work',
    `upgrade vCenter Server to ${CNS_SNAPSHOTS.release} or later to use VolumeSnapshots; without snapshots nothing needs to change`,
  );
}
