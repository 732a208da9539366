/**
 * NodeExpandVolume: after the controller grew the disk in vSphere, make the
 * kernel see the new size and grow the mounted filesystem online.
 */
import { lstat, stat } from 'node:fs/promises';
import { failedPrecondition, notFound } from '../csi/errors.js';
import type { Logger } from '../log.js';
import { findMount } from './os/mountinfo.js';
import type { NodeOs } from './os/index.js';
import type { AccessKind } from './requests.js';
import { osFailure } from './unmount.js';

export interface ExpandRequest {
  volumeId: string;
  volumePath: string;
  requiredBytes: bigint;
  accessKind: AccessKind | undefined;
}

/** Returns the device's capacity in bytes after the resize. */
export async function expandVolume(os: NodeOs, request: ExpandRequest, log: Logger): Promise<bigint> {
  const { volumePath, volumeId } = request;
  const info = await lstat(volumePath).catch(() => undefined);
  if (!info) throw notFound(`volume_path ${volumePath} does not exist on this node`);

  if (request.accessKind === 'block' || (await stat(volumePath)).isBlockDevice()) {
    // A raw block volume has no filesystem; the pod sees the new size once the kernel does.
    // volume_path is a bind of the device node: rescan the real device (its sysfs name).
    const device = (await os.deviceOfMajorMinor(await os.majorMinorOf(volumePath))) ?? volumePath;
    await os.rescanDeviceSize(device).catch(() => undefined);
    return await os.deviceSize(device).catch((error: unknown) => {
      throw osFailure(`reading the size of ${device}`, error);
    });
  }

  const mount = findMount(await os.mountTable(), volumePath);
  if (!mount) throw notFound(`volume_path ${volumePath} of volume ${volumeId} is not mounted: stage and publish it first`);
  const device = await os.deviceOfMajorMinor(mount.majorMinor);
  if (!device) throw failedPrecondition(`the device under ${volumePath} (${mount.source}) is gone: is the disk still attached to this VM?`);
  try {
    await os.rescanDeviceSize(device);
    const size = await os.deviceSize(device);
    if (size < request.requiredBytes) {
      throw failedPrecondition(
        `device ${device} of volume ${volumeId} is ${size} bytes, less than the requested ${request.requiredBytes}: ` +
          'the disk has not grown in vSphere yet (ControllerExpandVolume must finish first)',
      );
    }
    await os.growFilesystem(mount.fsType, device, volumePath);
    log.info({ device, volumePath, bytes: size.toString() }, 'filesystem grown');
    return size;
  } catch (error) {
    throw osFailure(`growing the ${mount.fsType} filesystem of volume ${volumeId} on ${device}`, error);
  }
}
