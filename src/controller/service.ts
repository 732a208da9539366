/**
 * The CSI Controller service: RPC name → handler, over a ControllerContext.
 * src/controller/mode.ts builds the context from the loaded config and hands
 * this to startCsiServer.
 */
import type { ServiceImpl } from '../csi/handler.js';
import type { ControllerServiceCapability } from '../csi/generated/csi/v1/ControllerServiceCapability.js';
import { ControllerContext, type ControllerOptions } from './context.js';
import { VolumeCreator } from './create-volume.js';
import { VolumeModifier } from './modify-volume.js';
import { Publisher } from './publish.js';
import { SnapshotService } from './snapshots.js';
import { VolumeOps } from './volume-ops.js';

export const CONTROLLER_CAPABILITIES = [
  'CREATE_DELETE_VOLUME',
  'PUBLISH_UNPUBLISH_VOLUME',
  'EXPAND_VOLUME',
  'LIST_VOLUMES',
  'LIST_VOLUMES_PUBLISHED_NODES',
  'GET_CAPACITY',
  'GET_VOLUME',
  'VOLUME_CONDITION',
  'MODIFY_VOLUME',
  'CREATE_DELETE_SNAPSHOT',
  'LIST_SNAPSHOTS',
  'GET_SNAPSHOT',
  // Not PUBLISH_READONLY: CNS cannot attach a disk read-only (README, "CSI capabilities").
] as const;

export interface ControllerService {
  service: ServiceImpl;
  context: ControllerContext;
  /** Coalescing counters: calls sent and items carried (name lookups, attaches, detaches). */
  batchStats(): Record<'nameLookup' | 'attach' | 'detach', { batches: number; items: number }>;
}

export function createControllerService(options: ControllerOptions): ControllerService {
  const context = new ControllerContext(options);
  const creator = new VolumeCreator(context);
  const publisher = new Publisher(context);
  const ops = new VolumeOps(context);
  const modifier = new VolumeModifier(context);
  const snapshots = new SnapshotService(context);
  const capabilities: ControllerServiceCapability[] = CONTROLLER_CAPABILITIES.map((type) => ({ rpc: { type } }));
  const service: ServiceImpl = {
    CreateVolume: (req, call) => creator.createVolume(req, call),
    DeleteVolume: (req, call) => ops.deleteVolume(req, call),
    ControllerPublishVolume: (req, call) => publisher.publish(req, call),
    ControllerUnpublishVolume: (req, call) => publisher.unpublish(req, call),
    ValidateVolumeCapabilities: (req, call) => ops.validateVolumeCapabilities(req, call),
    ListVolumes: (req, call) => ops.listVolumes(req, call),
    GetCapacity: (req, call) => ops.getCapacity(req, call),
    ControllerGetCapabilities: async () => ({ capabilities }),
    ControllerExpandVolume: (req, call) => ops.expandVolume(req, call),
    ControllerGetVolume: (req, call) => ops.getVolume(req, call),
    ControllerModifyVolume: (req, call) => modifier.modifyVolume(req, call),
    CreateSnapshot: (req, call) => snapshots.createSnapshot(req, call),
    DeleteSnapshot: (req, call) => snapshots.deleteSnapshot(req, call),
    ListSnapshots: (req, call) => snapshots.listSnapshots(req, call),
    GetSnapshot: (req, call) => snapshots.getSnapshot(req, call),
  };
  return {
    service,
    context,
    batchStats: () => ({ nameLookup: creator.lookupStats, ...publisher.batchStats }),
  };
}
