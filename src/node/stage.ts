/**
 * NodeStageVolume / NodeUnstageVolume for vSphere block disks: find the
 * attached disk by its WWN, format it only when blkid finds it blank, and
 * mount it at the staging path. An existing filesystem smaller than its disk
 * (a snapshot restored at a larger size) is grown to the disk once mounted.
 * Raw block volumes have nothing to stage.
 */
import { alreadyExists, failedPrecondition, notFound } from '../csi/errors.js';
import type { Logger } from '../log.js';
import { describeMismatch, mountFlagMismatch } from './mount-compat.js';
import { ensureDir, removeMountPoint } from './fs-util.js';
import type { SupportedFsType } from './os/format.js';
import { fsBytes, needsResize, type FsGeometry } from './os/fs-size.js';
import { findMount, mountsOfFilesystem } from './os/mountinfo.js';
import type { NodeOs } from './os/index.js';
import type { VolumeCapability } from './requests.js';
import { osFailure, unmountAll } from './unmount.js';

export const DEFAULT_FS_TYPE: SupportedFsType = 'ext4';

export interface StageRequest {
  volumeId: string;
  diskUUID: string;
  stagingPath: string;
  capability: VolumeCapability;
}

export function diskNotFound(diskUUID: string, deviceLink: string, nodeName: string): Error {
  return notFound(
    `disk ${diskUUID} is not visible at ${deviceLink}: check that ControllerPublishVolume attached it to this node (${nodeName}) ` +
      'and set disk.EnableUUID=TRUE in the VM advanced settings (power the VM off, then on) so the guest sees disk UUIDs',
  );
}

export async function stageVolume(os: NodeOs, request: StageRequest, log: Logger, onMissing: () => Error, signal?: AbortSignal): Promise<void> {
  const { capability, stagingPath } = request;
  if (capability.kind === 'block') return;
  const device = await os.findDevice(request.diskUUID, signal);
  if (!device) throw onMissing();
  const deviceId = await os.majorMinorOf(device);

  const table = await os.mountTable();
  const staged = findMount(table, stagingPath);
  if (staged) {
    if (staged.majorMinor !== deviceId) {
      throw alreadyExists(`staging_target_path ${stagingPath} already has another device (${staged.source}) mounted, not ${device}`);
    }
    if (capability.fsType !== '' && staged.fsType !== capability.fsType) {
      throw failedPrecondition(`volume ${request.volumeId} is staged with ${staged.fsType}, not the requested ${capability.fsType}`);
    }
    const mismatch = mountFlagMismatch(staged, capability.mountFlags, capability.readerOnly);
    if (mismatch) {
      throw alreadyExists(`volume ${request.volumeId} is already staged at ${stagingPath} with other mount flags: ${describeMismatch(mismatch)}`);
    }
    return;
  }

  const { fsType, formatted } = await ensureFilesystem(os, request, device, log);
  await ensureDir(stagingPath);
  const options = [...(capability.readerOnly ? ['ro'] : []), ...capability.mountFlags];
  try {
    await os.mounter.mount(device, stagingPath, fsType, options);
  } catch (error) {
    throw osFailure(`mounting ${device} (${fsType}) at ${stagingPath}`, error);
  }
  // mkfs used the whole disk; a read-only mount cannot grow (and must not change the disk).
  if (!formatted && !options.includes('ro')) await growToDevice(os, request.volumeId, fsType, device, stagingPath, log);
  log.info({ device, fsType, stagingPath }, 'volume staged');
}

/**
 * Grow a just-mounted existing filesystem when its disk is bigger, as
 * mount-utils' NeedResize/Resize do for other CSI drivers: Kubernetes sends
 * no NodeExpandVolume for a volume restored larger than its snapshot (no
 * resize is pending). A filesystem that already fills its disk (every
 * ordinary re-stage) costs two quick reads: the device size and the
 * filesystem's block count. Never fails the stage: the volume works at its
 * old size, and the next stage tries again.
 */
async function growToDevice(os: NodeOs, volumeId: string, fsType: string, device: string, stagingPath: string, log: Logger): Promise<void> {
  let deviceBytes: bigint;
  let geometry: FsGeometry | undefined;
  try {
    deviceBytes = await os.deviceSize(device);
    geometry = await os.filesystemGeometry(fsType, device, stagingPath);
  } catch (error) {
    log.warn({ volumeId, device, fsType, error: errorText(error) }, 'could not compare the filesystem size with its disk: not growing it');
    return;
  }
  if (!geometry || !needsResize(deviceBytes, geometry)) return;
  const from = fsBytes(geometry);
  try {
    await os.growFilesystem(fsType, device, stagingPath);
  } catch (error) {
    log.warn(
      { volumeId, device, fsType, fromBytes: from.toString(), deviceBytes: deviceBytes.toString(), error: errorText(error) },
      `the ${fsType} filesystem is smaller than its disk and could not be grown, so the volume keeps its old size: ` +
        (fsType === 'xfs'
          ? 'xfs_growfs failed (is xfsprogs in the node image?)'
          : `online ${fsType} growth needs CAP_SYS_RESOURCE (run the node plugin container privileged, as the shipped DaemonSet does)`) +
        '; after fixing it, stage the volume again (restart its pod) to grow it',
    );
    return;
  }
  log.info({ volumeId, device, fsType, fromBytes: from.toString(), toBytes: deviceBytes.toString() }, 'filesystem grown to its disk');
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The filesystem to mount: the existing one when compatible, else a fresh one on a blank disk. */
async function ensureFilesystem(os: NodeOs, request: StageRequest, device: string, log: Logger): Promise<{ fsType: string; formatted: boolean }> {
  const { capability, volumeId } = request;
  const content = await os.probe(device).catch((error: unknown) => {
    throw osFailure(`probing ${device}`, error);
  });
  switch (content.kind) {
    case 'filesystem':
      if (capability.fsType !== '' && content.fsType !== capability.fsType) {
        throw failedPrecondition(
          `volume ${volumeId} (${device}) already holds a ${content.fsType} filesystem, not the requested ${capability.fsType}: ` +
            `set fsType ${content.fsType} on the PV/StorageClass; the driver never reformats a disk with data`,
        );
      }
      return { fsType: content.fsType, formatted: false };
    case 'partition-table':
      throw failedPrecondition(`volume ${volumeId} (${device}) has a ${content.ptType} partition table: refusing to format or mount a partitioned disk`);
    case 'other':
      throw failedPrecondition(`volume ${volumeId} (${device}) holds ${content.description}: refusing to format it`);
    case 'blank': {
      if (capability.readerOnly) {
        throw failedPrecondition(`volume ${volumeId} has no filesystem and its access mode is read-only: it cannot be formatted`);
      }
      const fsType = (capability.fsType || DEFAULT_FS_TYPE) as SupportedFsType;
      log.info({ device, fsType }, 'formatting blank disk');
      await os.format(device, fsType).catch((error: unknown) => {
        throw osFailure(`formatting ${device} as ${fsType}`, error);
      });
      return { fsType, formatted: true };
    }
  }
}

export async function unstageVolume(os: NodeOs, volumeId: string, stagingPath: string, log: Logger): Promise<void> {
  const table = await os.mountTable();
  const staged = findMount(table, stagingPath);
  if (staged) {
    const published = mountsOfFilesystem(table, staged.majorMinor).filter((m) => m.mountPoint !== stagingPath);
    if (published.length > 0) {
      throw failedPrecondition(
        `volume ${volumeId} is still published at ${published.map((m) => m.mountPoint).join(', ')}: call NodeUnpublishVolume for each target first`,
      );
    }
    await unmountAll(os, stagingPath, table);
    log.info({ stagingPath }, 'volume unstaged');
  }
  if (!(await removeMountPoint(stagingPath))) log.warn({ stagingPath }, 'staging path not removed: it is not empty');
}
