/**
 * The node id is the VM's BIOS UUID, lowercase and dashed, exactly as the
 * reference driver reports it: the controller looks VMs up by it, and
 * existing VolumeAttachments carry it. VMware guests expose it in
 * product_serial as "VMware-42 1e 8c 4a ...-... 9f"; product_uuid (same
 * UUID) is the fallback when the serial is not in that form.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeUuid } from '../contract/uuid.js';

export { normalizeUuid };

/** "VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6" → "421e8c4a-2b3c-4d5e-6f70-8192a3b4c5d6". */
export function uuidFromVmwareSerial(serial: string): string | undefined {
  const match = /^VMware-([0-9a-fA-F ]+)-([0-9a-fA-F ]+)$/.exec(serial.trim());
  if (!match) return undefined;
  const hex = (match[1]! + match[2]!).replace(/ /g, '').toLowerCase();
  if (hex.length !== 32) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Reads the BIOS UUID from a DMI folder (/sys/class/dmi/id, or a fake one in tests). */
export async function readBiosUuid(dmiDir: string): Promise<string> {
  const read = (name: string): Promise<string | undefined> => readFile(join(dmiDir, name), 'utf8').catch(() => undefined);
  const serial = await read('product_serial');
  const fromSerial = serial === undefined ? undefined : uuidFromVmwareSerial(serial);
  if (fromSerial) return fromSerial;
  const productUuid = await read('product_uuid');
  const fromUuid = normalizeUuid(productUuid);
  if (fromUuid) return fromUuid;
  throw new Error(
    `cannot read the VM BIOS UUID from ${join(dmiDir, 'product_serial')} or ${join(dmiDir, 'product_uuid')}: ` +
      'mount /sys into the node plugin container (it runs privileged) or set --dmi-dir',
  );
}
