/** The Controller RPCs the benchmarks drive, in the shapes proto-loader uses (snake_case, enums by name). */
import type { CsiClient } from '../csi/client.js';

const GiB = 1024 ** 3;
export const MOUNT_RWO = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const TIMEOUT_MS = 120_000;

export async function createVolume(c: CsiClient, name: string): Promise<string> {
  const res = await c.call<{ volume: { volume_id: string } }>(
    'Controller',
    'CreateVolume',
    { name, capacity_range: { required_bytes: String(GiB) }, volume_capabilities: [MOUNT_RWO], parameters: {} },
    { timeoutMs: TIMEOUT_MS },
  );
  return res.volume.volume_id;
}

export const publishVolume = (c: CsiClient, volumeId: string, nodeId: string): Promise<unknown> =>
  c.call('Controller', 'ControllerPublishVolume', { volume_id: volumeId, node_id: nodeId, volume_capability: MOUNT_RWO, readonly: false }, { timeoutMs: TIMEOUT_MS });

export const unpublishVolume = (c: CsiClient, volumeId: string, nodeId: string): Promise<unknown> =>
  c.call('Controller', 'ControllerUnpublishVolume', { volume_id: volumeId, node_id: nodeId }, { timeoutMs: TIMEOUT_MS });

export const deleteVolume = (c: CsiClient, volumeId: string): Promise<unknown> =>
  c.call('Controller', 'DeleteVolume', { volume_id: volumeId }, { timeoutMs: TIMEOUT_MS });
