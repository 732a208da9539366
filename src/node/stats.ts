/**
 * NodeGetVolumeStats: capacity and inode usage, plus a volume condition a
 * cluster operator can act on (kubelet surfaces abnormal conditions as
 * events on the pod).
 */
import { lstat, stat } from 'node:fs/promises';
import { notFound } from '../csi/errors.js';
import { findMount, isEmergencyReadOnly } from './os/mountinfo.js';
import type { NodeOs } from './os/index.js';
import { osFailure } from './unmount.js';

export interface VolumeUsage {
  available: string;
  total: string;
  used: string;
  unit: 'BYTES' | 'INODES';
}

export interface VolumeStats {
  usage: VolumeUsage[];
  volume_condition: { abnormal: boolean; message: string };
}

const healthy = (usage: VolumeUsage[]): VolumeStats => ({ usage, volume_condition: { abnormal: false, message: 'volume is healthy' } });
/**
 * kubelet drops a stats answer whose usage list is empty ("usage is nil")
 * and with it the condition, so an abnormal volume we cannot measure still
 * reports one zeroed BYTES entry: the event then reaches the pod.
 */
const UNMEASURED: VolumeUsage[] = [{ available: '0', total: '0', used: '0', unit: 'BYTES' }];
const abnormal = (message: string): VolumeStats => ({ usage: UNMEASURED, volume_condition: { abnormal: true, message } });

export async function volumeStats(os: NodeOs, volumeId: string, volumePath: string): Promise<VolumeStats> {
  if (!(await lstat(volumePath).catch(() => undefined))) throw notFound(`volume_path ${volumePath} of volume ${volumeId} does not exist on this node`);
  const info = await stat(volumePath).catch(() => undefined);
  if (info?.isBlockDevice()) {
    const size = await os.deviceSize(volumePath).catch((error: unknown) => {
      throw osFailure(`reading the size of ${volumePath}`, error);
    });
    return healthy([{ available: '0', total: size.toString(), used: '0', unit: 'BYTES' }]);
  }
  const mount = findMount(await os.mountTable(), volumePath);
  if (!mount) return abnormal(`volume ${volumeId} is not mounted at ${volumePath}: it was unmounted outside Kubernetes; restart the pod to remount it`);
  let condition = { abnormal: false, message: 'volume is healthy' };
  if (mount.majorMinor.split(':')[0] !== '0' && !(await os.deviceOfMajorMinor(mount.majorMinor))) {
    condition = { abnormal: true, message: `the disk of volume ${volumeId} (${mount.source}) vanished from this node: check the VM's disks in vSphere` };
  } else if (isEmergencyReadOnly(mount)) {
    condition = {
      abnormal: true,
      message: `the ${mount.fsType} filesystem of volume ${volumeId} was remounted read-only after errors: check the node's kernel log (dmesg) and run fsck`,
    };
  }
  // Usage still counts on an unhealthy mount: statfs answers from the superblock.
  const u = await os.usage(volumePath).catch((error: unknown) => {
    if (condition.abnormal) return undefined;
    throw osFailure(`statfs ${volumePath}`, error);
  });
  if (!u) return { usage: UNMEASURED, volume_condition: condition };
  return {
    usage: [
      { available: u.availableBytes.toString(), total: u.totalBytes.toString(), used: u.usedBytes.toString(), unit: 'BYTES' },
      { available: u.freeInodes.toString(), total: u.totalInodes.toString(), used: u.usedInodes.toString(), unit: 'INODES' },
    ],
    volume_condition: condition,
  };
}
