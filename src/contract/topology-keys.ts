/**
 * The Node labels that carry topology, and which vSphere tag category sets
 * which of them. Part of the drop-in contract: the CPI (ours or the
 * reference's) writes these labels, the node plugin reports them in
 * NodeGetInfo, and the controller computes the same keys for datastores, so
 * the segments external-provisioner sends match on both ends. They live
 * below the modes because all three read them.
 */
import type { LabelsConfig } from '../config/types.js';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const REGION_LABEL = 'topology.kubernetes.io/region';
export const LEGACY_ZONE_LABEL = 'failure-domain.beta.kubernetes.io/zone';
export const LEGACY_REGION_LABEL = 'failure-domain.beta.kubernetes.io/region';
export const CSI_TOPOLOGY_PREFIX = 'topology.csi.vmware.com/';
export const ZONE_KEYS: readonly string[] = [ZONE_LABEL, LEGACY_ZONE_LABEL];
export const REGION_KEYS: readonly string[] = [REGION_LABEL, LEGACY_REGION_LABEL];

/** Tag category name → the topology keys it sets. */
export function topologyKeysByCategory(labels: LabelsConfig): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (category: string | undefined, keys: readonly string[]) => {
    if (!category) return;
    out.set(category, [...(out.get(category) ?? []), ...keys]);
  };
  for (const category of labels.topologyCategories) add(category, [CSI_TOPOLOGY_PREFIX + category]);
  add(labels.zone, ZONE_KEYS);
  add(labels.region, REGION_KEYS);
  return out;
}

/** Whether `[Labels]` asks for any topology (undefined: no config file, so none). */
export function topologyConfigured(labels: LabelsConfig | undefined): boolean {
  return labels !== undefined && topologyKeysByCategory(labels).size > 0;
}
