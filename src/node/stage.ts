/**
 * NodeStageVolume / NodeUnstageVolume for vSphere block disks: find the
 * attached disk by its WWN, format it only when blkid finds it blank, and
 * mount it at the staging path. Raw block volumes have nothing to stage.
 */
import { alreadyExists, failedPrecondition, notFound } from '../csi/errors.js';
import type { Logger } from '../log.js';
import { describeMismatch, mountFlagMismatch } from './mount-compat.js';
import { ensureDir, removeMountPoint } from './fs-util.js';
import type { SupportedFsType } from './os/format.js';
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

  const fsType = await ensureFilesystem(os, request, device, log);
  await ensureDir(stagingPath);
  const options = [...(capability.readerOnly ? ['ro'] : []), ...capability.mountFlags];
  try {
    await os.mounter.mount(device, stagingPath, fsType, options);
  } catch (error) {
    throw osFailure(`mounting ${device} (${fsType}) at ${stagingPath}`, error);
  }
  log.info({ device, fsType, stagingPath }, 'volume staged');
}

/** The filesystem to mount: the existing one when compatible, else a fresh one on a blank disk. */
async function ensureFilesystem(os: NodeOs, request: StageRequest, device: string, log: Logger): Promise<string> {
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
      return content.fsType;
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
      return fsType;
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
