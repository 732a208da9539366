/**
 * Check 4: Cloud Native Storage answers and the vCenter is new enough.
 * CNS ships with vSphere 6.7U3 (API 6.7.3). The CnsQueryVolume call is the
 * evidence that matters; the version is cross-checked, and a vCenter that
 * answers CNS while claiming an older API (govmomi 0.24.2's own simulator
 * claims 6.5) gets a warning, not a pass or a fail.
 */
import type { AboutInfo, VsphereClient } from '../vsphere/api.js';
import { versionAtLeast } from '../vsphere/versions.js';
import { fail, pass, warn, whatFailed, type CheckResult } from './types.js';

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
