/**
 * What the CPI's /healthz says (the DaemonSet's readiness probe): a replica
 * is ready while it can reach its Lease, leading or standing by; one that
 * cannot is not ready, and the answer names the Lease, the cause and the
 * fix, so `kubectl describe pod` shows why this CPI does nothing.
 */
import type { HealthReport } from '../csi/metrics.js';
import type { LeaderElector } from '../kube/leader-election.js';

export function cpiHealth(elector: LeaderElector | undefined, lease: string): HealthReport {
  if (!elector) return { ok: true, message: 'leading: leader election is disabled (CPI_LEADER_ELECT=false)' };
  const { reachable, lastFailure } = elector.leaseHealth();
  const leading = elector.isLeader();
  if (!reachable && lastFailure) {
    const state = leading ? 'leading, but renewing fails' : 'not leading';
    return { ok: false, message: `${state}: cannot ${lastFailure.operation} the Lease ${lease} (${lastFailure.reason}): ${lastFailure.cause}; ${lastFailure.fix}` };
  }
  if (leading) return { ok: true, message: `leading: holds the Lease ${lease}` };
  const holder = elector.observedLeader();
  return { ok: true, message: holder ? `standby: the Lease ${lease} is held by ${holder}` : `standby: campaigning for the Lease ${lease}` };
}
