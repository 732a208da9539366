/**
 * The metadata syncer's knobs, from `[Global]` of csi-vsphere.conf and the
 * environment (which wins, as for every other override). The reference
 * driver runs its syncer as a separate container tuned only by
 * FULL_SYNC_INTERVAL_MINUTES and VOLUME_HEALTH_INTERVAL_MINUTES; those names
 * are read here too, so an existing Deployment's env keeps its meaning.
 *
 *   [Global] metadata-syncer = false      / VSPHERE_CSI_METADATA_SYNCER=false   turn it off
 *   [Global] full-sync-intervalinmin = 30 / FULL_SYNC_INTERVAL_MINUTES          full sync period
 *   [Global] volume-health-intervalinmin  / VOLUME_HEALTH_INTERVAL_MINUTES      health reads between full syncs (5)
 *   VSPHERE_CSI_SYNC_WINDOW_MS (1000)       how long changes to one volume gather into one update
 *   POD_NAMESPACE (vmware-system-csi), VSPHERE_SYNCER_LEASE_NAME (vsphere-syncer, the reference's),
 *   VSPHERE_SYNCER_LEASE_DURATION_SECONDS (15)   the Lease that elects the one syncer
 */
import type { CsiGlobalSettings } from '../../config/types.js';

export interface SyncerSettings {
  enabled: boolean;
  fullSyncIntervalMs: number;
  healthIntervalMs: number;
  /** Changes to one volume within this window become one CnsUpdateVolumeMetadata entry. */
  windowMs: number;
  /** Wait before retrying a volume whose update failed (the next full sync retries too). */
  retryMs: number;
  leaseNamespace: string;
  leaseName: string;
  leaseDurationMs: number;
  /** `[Global] cluster-distribution`, recorded in the container cluster of every update. */
  clusterDistribution?: string;
}

const MINUTE = 60_000;

/** A positive number of minutes (fractions allowed, for tests), else undefined. */
function minutes(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n * MINUTE : undefined;
}

function flag(raw: string | undefined): boolean | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return !['false', '0', 'no', 'off'].includes(raw.trim().toLowerCase());
}

function wholeNumber(raw: string | undefined, min: number): number | undefined {
  const n = Number(raw);
  return raw !== undefined && raw.trim() !== '' && Number.isInteger(n) && n >= min ? n : undefined;
}

export function syncerSettings(global: CsiGlobalSettings | undefined, env: NodeJS.ProcessEnv): SyncerSettings {
  const fromFile = (value: number | undefined): number | undefined => (value ? value * MINUTE : undefined);
  const leaseSeconds = wholeNumber(env.VSPHERE_SYNCER_LEASE_DURATION_SECONDS, 3);
  return {
    enabled: flag(env.VSPHERE_CSI_METADATA_SYNCER) ?? global?.metadataSyncer ?? true,
    fullSyncIntervalMs: minutes(env.FULL_SYNC_INTERVAL_MINUTES) ?? fromFile(global?.fullSyncIntervalMinutes) ?? 30 * MINUTE,
    healthIntervalMs: minutes(env.VOLUME_HEALTH_INTERVAL_MINUTES) ?? fromFile(global?.volumeHealthIntervalMinutes) ?? 5 * MINUTE,
    windowMs: wholeNumber(env.VSPHERE_CSI_SYNC_WINDOW_MS, 0) ?? 1000,
    retryMs: 10_000,
    leaseNamespace: env.POD_NAMESPACE?.trim() || 'vmware-system-csi',
    leaseName: env.VSPHERE_SYNCER_LEASE_NAME?.trim() || 'vsphere-syncer',
    leaseDurationMs: (leaseSeconds ?? 15) * 1000,
    clusterDistribution: global?.clusterDistribution,
  };
}
