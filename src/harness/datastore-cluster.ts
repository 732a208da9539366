/**
 * A datastore cluster (StoragePod) in the simulator, made the way an admin
 * makes one through the API: Folder.CreateStoragePod on the datacenter's
 * datastore folder, then StoragePod.MoveIntoFolder_Task with the member
 * datastores (both are in govmomi 0.24.2's simulator; the move is given all
 * members at once because its StoragePod.MoveIntoFolderTask appends the
 * pod's earlier children a second time on each further call).
 */
import type { MoRef, VsphereClient } from '../vsphere/api.js';
import type { RawVim } from './vcsim-raw.js';
import { escapeXml as esc } from '../vsphere/soap/xml.js';

async function datastoreFolder(raw: RawVim, datacenter: MoRef): Promise<string> {
  const text = await raw.call(
    `<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>Datacenter</type><pathSet>datastoreFolder</pathSet></propSet><objectSet><obj type="Datacenter">${esc(datacenter.value)}</obj></objectSet></specSet><options></options></RetrievePropertiesEx>`,
  );
  const m = /<val[^>]*>([^<]+)<\/val>/.exec(text);
  if (!m) throw new Error(`no datastore folder for ${datacenter.value}: ${text.slice(0, 300)}`);
  return m[1]!;
}

/** Creates datastore cluster `name` in the first datacenter holding `members` (moref values); returns its moref value. */
export async function createDatastoreCluster(raw: RawVim, client: VsphereClient, name: string, members: string[]): Promise<string> {
  const [dc] = await client.inventory.datacenters();
  if (!dc) throw new Error('the simulator has no datacenter');
  const folder = await datastoreFolder(raw, dc.ref);
  const created = await raw.call(`<CreateStoragePod xmlns="urn:vim25"><_this type="Folder">${esc(folder)}</_this><name>${esc(name)}</name></CreateStoragePod>`);
  const pod = /<returnval[^>]*>([^<]+)<\/returnval>/.exec(created)?.[1];
  if (!pod) throw new Error(`CreateStoragePod ${name} failed: ${created.slice(0, 300)}`);
  const list = members.map((m) => `<list type="Datastore">${esc(m)}</list>`).join('');
  const moved = await raw.call(`<MoveIntoFolder_Task xmlns="urn:vim25"><_this type="StoragePod">${esc(pod)}</_this>${list}</MoveIntoFolder_Task>`);
  const task = /<returnval[^>]*>([^<]+)<\/returnval>/.exec(moved)?.[1];
  if (!task) throw new Error(`MoveIntoFolder_Task into ${name} failed: ${moved.slice(0, 300)}`);
  await client.tasks.wait({ type: 'Task', value: task });
  return pod;
}
