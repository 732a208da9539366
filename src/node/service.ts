/**
 * The CSI Node service: request narrowing, per-volume locking and the
 * mapping to the operations in stage/publish/expand/stats/info. Built from
 * collaborators (the OS layer, node identity sources, optional topology
 * from the Kubernetes API) so tests run it against real loop devices.
 */
import type { CallContext, ServiceImpl } from '../csi/handler.js';
import { InFlightLocks } from '../csi/locks.js';
import { validateCapacityRange } from '../csi/validate.js';
import type { NodeOs } from './os/index.js';
import { expandVolume } from './expand.js';
import { existingPathUnderRoot, pathUnderRoot } from './path-root.js';
import { DEFAULT_DMI_DIR, DEFAULT_MAX_VOLUMES_PER_NODE, nodeCapabilities, nodeInfo, type TopologySource } from './info.js';
import { publishVolume, unpublishVolume } from './publish.js';
import { optionalAccessKind, requireCapability, requireDiskUuid, requireVolumeId } from './requests.js';
import { diskNotFound, stageVolume, unstageVolume } from './stage.js';
import { volumeStats } from './stats.js';

export interface NodeServiceOptions {
  os: NodeOs;
  /** This node's Kubernetes name (NODE_NAME), for messages and topology. */
  nodeName: string;
  /** DMI folder with product_serial / product_uuid; default /sys/class/dmi/id. */
  dmiDir?: string;
  maxVolumesPerNode?: number;
  /** Accessible topology of this node; absent = no topology reported. */
  topology?: TopologySource;
  /** Shared with other services in the process when they lock the same volume ids. */
  locks?: InFlightLocks;
  /**
   * Every staging/target/volume path must lie under this folder (the kubelet
   * root), before and after resolving symlinks: the plugin runs as root and
   * unmounts what it is told to. Undefined = no restriction (library use).
   */
  pathRoot?: string;
}

type Request = Record<string, unknown>;

export function createNodeService(options: NodeServiceOptions): ServiceImpl {
  const { os, nodeName } = options;
  const dmiDir = options.dmiDir ?? DEFAULT_DMI_DIR;
  const maxVolumes = options.maxVolumesPerNode ?? DEFAULT_MAX_VOLUMES_PER_NODE;
  const locks = options.locks ?? new InFlightLocks('volume');
  const nodePath = pathUnderRoot(options.pathRoot);
  const volumePathOf = existingPathUnderRoot(options.pathRoot);
  const missing = (diskUUID: string): Error => diskNotFound(diskUUID, os.deviceLink(diskUUID), nodeName);

  /** Run under the volume's in-flight lock (the server already logs the volume id). */
  const locked = <T>(request: Request, fn: (volumeId: string) => Promise<T>): Promise<T> => {
    const volumeId = requireVolumeId(request.volume_id);
    return locks.run(volumeId, () => fn(volumeId));
  };

  return {
    async NodeGetInfo(_request: Request, ctx: CallContext) {
      return nodeInfo(dmiDir, maxVolumes, options.topology, ctx.signal, ctx.deadline);
    },

    async NodeGetCapabilities() {
      return nodeCapabilities();
    },

    async NodeStageVolume(request: Request, ctx: CallContext) {
      requireVolumeId(request.volume_id);
      const stagingPath = await nodePath(request.staging_target_path, 'staging_target_path');
      const capability = requireCapability(request.volume_capability);
      const diskUUID = requireDiskUuid(request.publish_context);
      await locked(request, (volumeId) =>
        stageVolume(os, { volumeId, diskUUID, stagingPath, capability }, ctx.log, () => missing(diskUUID), ctx.signal),
      );
      return {};
    },

    async NodeUnstageVolume(request: Request, ctx: CallContext) {
      requireVolumeId(request.volume_id);
      const stagingPath = await nodePath(request.staging_target_path, 'staging_target_path');
      await locked(request, (volumeId) => unstageVolume(os, volumeId, stagingPath, ctx.log));
      return {};
    },

    async NodePublishVolume(request: Request, ctx: CallContext) {
      requireVolumeId(request.volume_id);
      const targetPath = await nodePath(request.target_path, 'target_path');
      const capability = requireCapability(request.volume_capability);
      // We advertise STAGE_UNSTAGE_VOLUME, so a filesystem volume must come from its staging path.
      const stagingPath = capability.kind === 'mount' ? await nodePath(request.staging_target_path, 'staging_target_path') : undefined;
      const diskUUID = capability.kind === 'block' ? requireDiskUuid(request.publish_context) : undefined;
      const readonly = request.readonly === true;
      await locked(request, (volumeId) =>
        publishVolume(os, { volumeId, targetPath, stagingPath, diskUUID, capability, readonly }, ctx.log, missing, ctx.signal),
      );
      return {};
    },

    async NodeUnpublishVolume(request: Request, ctx: CallContext) {
      requireVolumeId(request.volume_id);
      const targetPath = await nodePath(request.target_path, 'target_path');
      await locked(request, () => unpublishVolume(os, targetPath, ctx.log));
      return {};
    },

    async NodeExpandVolume(request: Request, ctx: CallContext) {
      requireVolumeId(request.volume_id);
      const volumePath = await volumePathOf(request.volume_path, 'volume_path');
      const range = validateCapacityRange(request.capacity_range);
      const accessKind = optionalAccessKind(request.volume_capability, 'volume_capability');
      const capacity = await locked(request, (volumeId) =>
        expandVolume(os, { volumeId, volumePath, requiredBytes: range?.requiredBytes ?? 0n, accessKind }, ctx.log),
      );
      return { capacity_bytes: capacity.toString() };
    },

    async NodeGetVolumeStats(request: Request) {
      requireVolumeId(request.volume_id);
      const volumePath = await volumePathOf(request.volume_path, 'volume_path');
      // Stats only read: they take no lock, so a long resize never blocks kubelet's metrics loop.
      return volumeStats(os, request.volume_id as string, volumePath);
    },
  };
}
