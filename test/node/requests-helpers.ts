/** Request builders for Node RPCs in the shapes proto-loader uses (snake_case, enums by name). */
export const mountCap = (fsType = '', flags: string[] = [], mode = 'SINGLE_NODE_WRITER'): Record<string, unknown> => ({
  access_mode: { mode },
  mount: { fs_type: fsType, mount_flags: flags },
});

export const blockCap = (mode = 'SINGLE_NODE_WRITER'): Record<string, unknown> => ({ access_mode: { mode }, block: {} });

export const stageRequest = (volumeId: string, uuid: string, stagingPath: string, cap: Record<string, unknown> = mountCap()): Record<string, unknown> => ({
  volume_id: volumeId,
  publish_context: { type: 'vSphere CNS Block Volume', diskUUID: uuid },
  staging_target_path: stagingPath,
  volume_capability: cap,
});

export const publishRequest = (
  volumeId: string,
  uuid: string,
  stagingPath: string,
  targetPath: string,
  cap: Record<string, unknown> = mountCap(),
  readonly = false,
): Record<string, unknown> => ({
  volume_id: volumeId,
  publish_context: { type: 'vSphere CNS Block Volume', diskUUID: uuid },
  staging_target_path: stagingPath,
  target_path: targetPath,
  volume_capability: cap,
  readonly,
});
