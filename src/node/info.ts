/** NodeGetInfo and NodeGetCapabilities. */
import { internal } from '../csi/errors.js';
import { readBiosUuid } from './node-id.js';

export const DEFAULT_DMI_DIR = '/sys/class/dmi/id';
/** The reference driver's default: a VM has 4 paravirtual SCSI controllers × 15 slots, minus the boot disk. */
export const DEFAULT_MAX_VOLUMES_PER_NODE = 59;

/**
 * Accessible topology segments of this node, or undefined when it has none
 * (no zones configured). `deadline` (epoch ms) is the caller's: a wait must
 * answer before it, so the caller gets our reason, not DEADLINE_EXCEEDED.
 */
export type TopologySource = (signal: AbortSignal, deadline?: number) => Promise<Record<string, string> | undefined>;

export interface NodeInfo {
  node_id: string;
  max_volumes_per_node: string;
  accessible_topology: { segments: Record<string, string> } | null;
}

export async function nodeInfo(
  dmiDir: string,
  maxVolumesPerNode: number,
  topology: TopologySource | undefined,
  signal: AbortSignal,
  deadline?: number,
): Promise<NodeInfo> {
  let nodeId: string;
  try {
    nodeId = await readBiosUuid(dmiDir);
  } catch (error) {
    throw internal((error as Error).message);
  }
  const segments = topology ? await topology(signal, deadline) : undefined;
  return {
    node_id: nodeId,
    max_volumes_per_node: String(maxVolumesPerNode),
    accessible_topology: segments && Object.keys(segments).length > 0 ? { segments } : null,
  };
}

export const NODE_CAPABILITIES = ['STAGE_UNSTAGE_VOLUME', 'EXPAND_VOLUME', 'GET_VOLUME_STATS', 'VOLUME_CONDITION'] as const;

export function nodeCapabilities(): { capabilities: Array<{ rpc: { type: string } }> } {
  return { capabilities: NODE_CAPABILITIES.map((type) => ({ rpc: { type } })) };
}
