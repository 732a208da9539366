/**
 * Which Kubernetes topology keys come from which vSphere tag categories.
 * Same keys as the node plugin and the CPI write on Nodes, so the segments
 * external-provisioner sends match the labels computed here.
 */
import type { LabelsConfig } from '../config/types.js';

export const CSI_TOPOLOGY_PREFIX = 'topology.csi.vmware.com/';
export const ZONE_KEYS = ['topology.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/zone'];
export const REGION_KEYS = ['topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/region'];

/** Tag category name → the topology keys it sets. */
export function topologyKeysByCategory(labels: LabelsConfig): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (category: string | undefined, keys: string[]) => {
    if (!category) return;
    out.set(category, [...(out.get(category) ?? []), ...keys]);
  };
  for (const category of labels.topologyCategories) add(category, [CSI_TOPOLOGY_PREFIX + category]);
  add(labels.zone, ZONE_KEYS);
  add(labels.region, REGION_KEYS);
  return out;
}

export function topologyConfigured(labels: LabelsConfig): boolean {
  return topologyKeysByCategory(labels).size > 0;
}
