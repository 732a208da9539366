/**
 * Simulator set-up only (tests, demo): a first-class disk made the way an
 * administrator makes one before static provisioning, with the real vim25
 * VStorageObjectManager.CreateDisk_Task (govc disk.create does the same).
 * CNS does not know the disk until it is registered (CnsCreateVolume with
 * backingDiskId), which is what the metadata syncer does for a static PV.
 */
import type { MoRef, VsphereClient } from '../vsphere/api.js';
import { childText, one } from '../vsphere/soap/decode.js';
import { escapeXml as esc } from '../vsphere/soap/xml.js';
import type { Vcsim } from './vcsim.js';
import { RawVim } from './vcsim-raw.js';

/** The simulator's (and vCenter's) VcenterVStorageObjectManager in the service content. */
const VSOM = { type: 'VcenterVStorageObjectManager', value: 'VStorageObjectManager' };

/** Creates a thin FCD on `datastore`; returns its id (which becomes the CNS volume id once registered). */
export async function createFcd(sim: Vcsim, client: VsphereClient, disk: { name: string; capacityMb: number; datastore: MoRef }): Promise<string> {
  const raw = new RawVim(sim);
  await raw.login();
  const text = await raw.call(
    `<CreateDisk_Task xmlns="urn:vim25"><_this type="${VSOM.type}">${VSOM.value}</_this><spec>` +
      `<name>${esc(disk.name)}</name><capacityInMB>${disk.capacityMb}</capacityInMB>` +
      `<backingSpec xsi:type="VslmCreateSpecDiskFileBackingSpec"><datastore type="Datastore">${esc(disk.datastore.value)}</datastore>` +
      `<provisioningType>thin</provisioningType></backingSpec></spec></CreateDisk_Task>`,
  );
  const task = /<returnval type="Task">([^<]+)<\/returnval>/.exec(text)?.[1];
  if (!task) throw new Error(`CreateDisk_Task returned no task: ${text.slice(0, 300)}`);
  const outcome = await client.tasks.wait({ type: 'Task', value: task });
  const id = childText(one(one(outcome.result, 'config'), 'id'), 'id');
  if (!id) throw new Error(`CreateDisk_Task ${task} finished without a disk id`);
  return id;
}
