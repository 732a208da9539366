/**
 * Zone/region and topology-category labels from vSphere tags. The VM's
 * host and its ancestors are searched nearest first (host → cluster →
 * folders → datacenter), so a tag on the host overrides one on the cluster.
 */
import type { LabelsConfig } from '../config/types.js';
import { CSI_TOPOLOGY_PREFIX, LEGACY_REGION_LABEL, LEGACY_ZONE_LABEL, REGION_LABEL, ZONE_LABEL } from '../contract/topology-keys.js';
import { refKey } from '../vsphere/api.js';


const LABEL_VALUE_RE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

export interface ObjectRefLike {
  type: string;
  value: string;
}

/** One inventory object on the path from the host upwards. */
export interface AncestorEntry {
  ref: ObjectRefLike;
  name?: string;
}

export interface TagFacts {
  /** Category name → category id, for the categories that exist in this vCenter. */
  categoryIds: ReadonlyMap<string, string>;
  /** Tag id → its name and category id. */
  tags: ReadonlyMap<string, { name: string; categoryId: string }>;
  /** "<type>:<value>" → ids of tags attached to that object. */
  attached: ReadonlyMap<string, readonly string[]>;
}

export interface TopologyResult {
  labels: Record<string, string>;
  problems: string[];
}

/** The category names whose tags the config asks for, deduplicated, in a stable order. */
export function wantedCategories(labels: LabelsConfig): string[] {
  const out: string[] = [];
  for (const c of [labels.zone, labels.region, ...labels.topologyCategories]) {
    if (c && !out.includes(c)) out.push(c);
  }
  return out;
}

/** Nearest tag of `categoryName` on the chain, with the object it was found on. */
function nearestTag(chain: AncestorEntry[], categoryId: string, facts: TagFacts): { tag: string; on: AncestorEntry } | undefined {
  for (const entry of chain) {
    for (const tagId of facts.attached.get(refKey(entry.ref)) ?? []) {
      const tag = facts.tags.get(tagId);
      if (tag && tag.categoryId === categoryId) return { tag: tag.name, on: entry };
    }
  }
  return undefined;
}

const describe = (e: AncestorEntry): string => `${e.ref.type} ${e.name ?? e.ref.value}`;

export function topologyLabels(chain: AncestorEntry[], labels: LabelsConfig, facts: TagFacts, vcenter: string): TopologyResult {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  const resolve = (category: string, configKey: string): string | undefined => {
    const categoryId = facts.categoryIds.get(category);
    if (!categoryId) {
      problems.push(`tag category '${category}' (${configKey}) does not exist in vCenter ${vcenter}`);
      return undefined;
    }
    const found = nearestTag(chain, categoryId, facts);
    if (!found) {
      const path = chain.map(describe).join(' → ') || '(no host)';
      problems.push(`no tag of category '${category}' (${configKey}) is attached to ${path}`);
      return undefined;
    }
    if (!LABEL_VALUE_RE.test(found.tag)) {
      problems.push(`tag '${found.tag}' on ${describe(found.on)} (category '${category}') is not a valid Kubernetes label value (≤63 chars: letters, digits, '-', '_', '.')`);
      return undefined;
    }
    return found.tag;
  };

  if (labels.zone) {
    const zone = resolve(labels.zone, 'labels.zone');
    if (zone !== undefined) out[ZONE_LABEL] = out[LEGACY_ZONE_LABEL] = zone;
  }
  if (labels.region) {
    const region = resolve(labels.region, 'labels.region');
    if (region !== undefined) out[REGION_LABEL] = out[LEGACY_REGION_LABEL] = region;
  }
  for (const category of labels.topologyCategories) {
    const value = resolve(category, 'labels.topology-categories');
    if (value !== undefined) out[`${CSI_TOPOLOGY_PREFIX}${category}`] = value;
  }
  return { labels: out, problems };
}
