/**
 * Decoding of a VM's VirtualDisk devices from `config.hardware.device`.
 * vCenter records an attached CNS volume only there: a VirtualDisk whose
 * `vDiskId.id` is the FCD (= CNS volume) id and whose `backing.uuid` is the
 * disk UUID the guest sees. The device list is polymorphic (controllers,
 * NICs, CD-ROMs, ...); only elements typed `VirtualDisk` are decoded.
 */
import type { VmDisk, VmDisks, XmlValue } from './api.js';
import { all, childText, one, text, toInt, xsiType } from './soap/decode.js';
import type { ObjectContent } from './property-collector.js';

export const DEVICE_PATH = 'config.hardware.device';
/** Paths of the all-VM read: enough to name the VM and give its node id. */
export const VM_DISK_PATHS = ['name', 'config.uuid', DEVICE_PATH];

/** "6000C298-595b-..." → "6000c298595b...": the form of the publish context's diskUUID. */
export function normalizeDiskUuid(uuid: string | undefined): string | undefined {
  const norm = uuid?.replace(/[-\s]/g, '').toLowerCase();
  return norm ? norm : undefined;
}

function decodeDisk(device: XmlValue): VmDisk | undefined {
  const key = toInt(childText(device, 'key'));
  if (key === undefined) return undefined;
  const backing = one(device, 'backing');
  const bytes = childText(device, 'capacityInBytes');
  const kb = childText(device, 'capacityInKB');
  let capacityBytes: bigint | undefined;
  if (bytes && /^\d+$/.test(bytes)) capacityBytes = BigInt(bytes);
  else if (kb && /^\d+$/.test(kb)) capacityBytes = BigInt(kb) * 1024n;
  return {
    key,
    volumeId: childText(one(device, 'vDiskId'), 'id') || undefined,
    // Every file-backed disk backing (FlatVer2, SeSparse, RDM, ...) that has a uuid names it "uuid".
    diskUuid: normalizeDiskUuid(childText(backing, 'uuid')),
    fileName: childText(backing, 'fileName') || undefined,
    capacityBytes,
    controllerKey: toInt(childText(device, 'controllerKey')),
    unitNumber: toInt(childText(device, 'unitNumber')),
  };
}

/** The VirtualDisk devices of an ArrayOfVirtualDevice value; other device types are skipped. */
export function decodeDisks(devices: XmlValue | undefined): VmDisk[] {
  const out: VmDisk[] = [];
  for (const device of all(devices, 'VirtualDevice')) {
    if (xsiType(device) !== 'VirtualDisk') continue;
    const disk = decodeDisk(device);
    if (disk) out.push(disk);
  }
  return out;
}

export function decodeVmDisks(c: ObjectContent): VmDisks {
  return {
    ref: c.ref,
    name: text(c.props.get('name')) ?? c.ref.value,
    biosUuid: text(c.props.get('config.uuid'))?.toLowerCase() || undefined,
    disks: decodeDisks(c.props.get(DEVICE_PATH)),
  };
}
