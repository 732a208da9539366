/**
 * Simulator set-up only (tests, demo): gives a VM a real VirtualDisk device
 * through ReconfigVM_Task, and takes it away again.
 *
 * Why: real vCenter's CnsAttachVolume adds a VirtualDisk to the node VM whose
 * `vDiskId.id` is the volume id and whose `backing.uuid` is the disk UUID;
 * govmomi 0.24.2's CNS simulator only records the attachment in its own
 * memory, and has no VirtualMachine.AttachDisk_Task either. Its ReconfigVM_Task
 * does add disks, and stores `backing.uuid` and `vDiskId` exactly as sent
 * (it generates neither), so `mirrorCnsAttach` makes the simulated VM look the
 * way a real vCenter's VM looks after a CNS attach.
 */
import type { MoRef, VmDisk, VsphereClient } from '../vsphere/api.js';
import { refKey } from '../vsphere/api.js';
import type { Vcsim } from './vcsim.js';
import { RawVim } from './vcsim-raw.js';
import { escapeXml as esc } from '../vsphere/soap/xml.js';

export interface NewDisk {
  /** Written as `vDiskId.id` (what vSphere >= 6.7 reports for an FCD / CNS volume). Omit for a plain VM disk. */
  volumeId?: string;
  /** Written as `backing.uuid`, verbatim (vSphere's form is "6000C298-595b-f457-5739-e9105b2c0c2d"). */
  uuid?: string;
  capacityKb?: number;
}

/** "6000c298595bf4575739e9105b2c0c2d" → "6000C298-595b-f457-5739-e9105b2c0c2d" (how vSphere prints backing.uuid). */
export function vsphereDiskUuid(hex: string): string {
  const h = hex.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(h)) throw new Error(`disk uuid ${hex} is not 32 hex digits`);
  return `${h.slice(0, 8).toUpperCase()}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class VcsimDisks {
  private readonly raw: RawVim;
  private loggedIn?: Promise<void>;

  /** `client` is used to read devices and wait for tasks; writes go through a raw session of their own. */
  constructor(sim: Vcsim, private readonly client: VsphereClient) {
    this.raw = new RawVim(sim);
  }

  /** Adds a VirtualDisk on the controller of the VM's first disk, next free unit; returns the new device as read back. */
  async addDisk(vm: MoRef, disk: NewDisk = {}): Promise<VmDisk> {
    const before = (await this.client.inventory.vmDisks([vm])).get(refKey(vm));
    const first = before?.find((d) => d.controllerKey !== undefined && d.fileName);
    if (!before || !first) throw new Error(`VM ${vm.value} has no disk to take a controller and folder from`);
    const used = new Set(before.filter((d) => d.controllerKey === first.controllerKey).map((d) => d.unitNumber));
    let unit = 0;
    // Unit 7 is the SCSI controller's own.
    while (used.has(unit) || unit === 7) unit++;
    const folder = first.fileName!.replace(/[^/\]]*$/, '');
    const fileName = `${folder}${disk.volumeId ?? 'disk'}-${unit}.vmdk`.replace(/\] ?/, '] ');
    const device =
      `<device xsi:type="VirtualDisk"><key>-1</key>` +
      `<backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>${esc(fileName)}</fileName><diskMode>persistent</diskMode>` +
      `<thinProvisioned>true</thinProvisioned>${disk.uuid ? `<uuid>${esc(disk.uuid)}</uuid>` : ''}</backing>` +
      `<controllerKey>${first.controllerKey}</controllerKey><unitNumber>${unit}</unitNumber>` +
      `<capacityInKB>${disk.capacityKb ?? 1024}</capacityInKB>` +
      `${disk.volumeId ? `<vDiskId><id>${esc(disk.volumeId)}</id></vDiskId>` : ''}</device>`;
    await this.reconfigure(vm, `<deviceChange><operation>add</operation><fileOperation>create</fileOperation>${device}</deviceChange>`);
    const after = (await this.client.inventory.vmDisks([vm])).get(refKey(vm)) ?? [];
    const added = after.find((d) => d.controllerKey === first.controllerKey && d.unitNumber === unit);
    if (!added) throw new Error(`ReconfigVM_Task on ${vm.value} succeeded but no disk appeared at unit ${unit}`);
    return added;
  }

  /** Removes a disk device (the file stays, like a CNS detach keeps the volume). */
  async removeDisk(vm: MoRef, key: number): Promise<void> {
    await this.reconfigure(vm, `<deviceChange><operation>remove</operation><device xsi:type="VirtualDisk"><key>${key}</key><capacityInKB>0</capacityInKB></device></deviceChange>`);
  }

  /** What a real vCenter shows after CnsAttachVolume: a disk with vDiskId = volume id and backing.uuid = the disk UUID. */
  mirrorCnsAttach(vm: MoRef, volumeId: string, diskUuidHex: string): Promise<VmDisk> {
    return this.addDisk(vm, { volumeId, uuid: vsphereDiskUuid(diskUuidHex) });
  }

  /** What a real vCenter shows after CnsDetachVolume: the volume's disk is gone from the VM. */
  async mirrorCnsDetach(vm: MoRef, volumeId: string): Promise<void> {
    const disks = (await this.client.inventory.vmDisks([vm])).get(refKey(vm)) ?? [];
    for (const d of disks.filter((x) => x.volumeId === volumeId)) await this.removeDisk(vm, d.key);
  }

  private async reconfigure(vm: MoRef, deviceChanges: string): Promise<void> {
    this.loggedIn ??= this.raw.login();
    await this.loggedIn;
    const text = await this.raw.call(
      `<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">${esc(vm.value)}</_this><spec>${deviceChanges}</spec></ReconfigVM_Task>`,
    );
    const m = /<returnval type="Task">([^<]+)<\/returnval>/.exec(text);
    if (!m) throw new Error(`ReconfigVM_Task on ${vm.value} returned no task: ${text.slice(0, 300)}`);
    await this.client.tasks.wait({ type: 'Task', value: m[1]! });
  }
}
