/**
 * NodePublishVolume / NodeUnpublishVolume: bind the staged filesystem (or,
 * for raw block, the device node itself) into the pod's target path.
 */
import { stat } from 'node:fs/promises';
import { alreadyExists, failedPrecondition } from '../csi/errors.js';
import type { Logger } from '../log.js';
import { describeMismatch, mountFlagMismatch } from './mount-compat.js';
import { ensureDir, ensureFile, removeMountPoint } from './fs-util.js';
import { findMount } from './os/mountinfo.js';
import type { NodeOs } from './os/index.js';
import type { VolumeCapability } from './requests.js';
import { osFailure, unmountAll } from './unmount.js';

export interface PublishRequest {
  volumeId: string;
  targetPath: string;
  /** Required for mount access (the staged filesystem); unused for block. */
  stagingPath: string | undefined;
  /** Required for block access (the device to bind). */
  diskUUID: string | undefined;
  capability: VolumeCapability;
  readonly: boolean;
}

export async function publishVolume(os: NodeOs, request: PublishRequest, log: Logger, onMissing: (diskUUID: string) => Error, signal?: AbortSignal): Promise<void> {
  const readonly = request.readonly || request.capability.readerOnly;
  if (request.capability.kind === 'block') {
    const device = request.diskUUID === undefined ? undefined : await os.findDevice(request.diskUUID, signal);
    if (!device) throw onMissing(request.diskUUID ?? '');
    await publishBlock(os, request, device, readonly, log);
    return;
  }
  await publishMount(os, request, readonly, log);
}

async function publishMount(os: NodeOs, request: PublishRequest, readonly: boolean, log: Logger): Promise<void> {
  const { targetPath, volumeId } = request;
  const stagingPath = request.stagingPath!;
  const table = await os.mountTable();
  const staged = findMount(table, stagingPath);
  if (!staged) {
    throw failedPrecondition(`volume ${volumeId} is not staged at staging_target_path ${stagingPath}: call NodeStageVolume first`);
  }
  const existing = findMount(table, targetPath);
  if (existing) {
    if (existing.majorMinor !== staged.majorMinor || existing.root !== staged.root) {
      throw alreadyExists(`target_path ${targetPath} already has something else mounted (${existing.source}), not volume ${volumeId}`);
    }
    const mismatch = mountFlagMismatch(existing, request.capability.mountFlags, readonly, staged);
    if (mismatch) throw alreadyExists(`volume ${volumeId} is already published at ${targetPath} with other options: ${describeMismatch(mismatch)}`);
    return;
  }
  await ensureDir(targetPath);
  try {
    await os.mounter.bindMount(stagingPath, targetPath, readonly, request.capability.mountFlags);
  } catch (error) {
    throw osFailure(`bind-mounting ${stagingPath} at ${targetPath}`, error);
  }
  log.info({ targetPath, readonly }, 'volume published');
}

async function publishBlock(os: NodeOs, request: PublishRequest, device: string, readonly: boolean, log: Logger): Promise<void> {
  const { targetPath, volumeId } = request;
  const table = await os.mountTable();
  const existing = findMount(table, targetPath);
  if (existing) {
    const [targetDev, deviceDev] = await Promise.all([stat(targetPath), stat(device)]);
    if (!targetDev.isBlockDevice() || targetDev.rdev !== deviceDev.rdev) {
      throw alreadyExists(`target_path ${targetPath} already has something else mounted, not the device of volume ${volumeId} (${device})`);
    }
    if (existing.mountOptions.includes('ro') !== readonly) {
      throw alreadyExists(`volume ${volumeId} is already published at ${targetPath} ${readonly ? 'read-write' : 'read-only'}`);
    }
    return;
  }
  try {
    await ensureFile(targetPath);
  } catch (error) {
    throw osFailure(`creating the block target file ${targetPath}`, error);
  }
  try {
    await os.mounter.bindMount(device, targetPath, readonly, []);
  } catch (error) {
    throw osFailure(`bind-mounting ${device} at ${targetPath}`, error);
  }
  log.info({ targetPath, device, readonly }, 'block volume published');
}

export async function unpublishVolume(os: NodeOs, targetPath: string, log: Logger): Promise<void> {
  await unmountAll(os, targetPath);
  if (!(await removeMountPoint(targetPath))) log.warn({ targetPath }, 'target path not removed: it is not empty');
}
