/**
 * Simulator rules the metadata syncer relies on (test/vcsim/cns_volumes.go,
 * cns_health.go; docs/vsphere-client.md "Simulator rules"), checked with raw
 * SOAP as in simulator-rules.test.ts: entity metadata merges, registration
 * of an existing first-class disk from its backing disk id, and the health
 * status test hook.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createFcd } from '../../src/harness/vcsim-fcd.js';
import { RawVim } from '../../src/harness/vcsim-raw.js';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import type { MoRef, VsphereClient, XmlValue } from '../../src/vsphere/api.js';
import { decodeBatchResult } from '../../src/vsphere/cns-codec.js';
import { escapeXml as esc } from '../../src/vsphere/soap/xml.js';
import { clientFor } from './helpers.js';

let sim: Vcsim;
let raw: RawVim;
let client: VsphereClient;
let datastore: MoRef;

const CNS = '<_this type="CnsVolumeManager">cns-volume-manager</_this>';
const CLUSTER = '<containerCluster><clusterType>KUBERNETES</clusterType><clusterId>rules</clusterId><vSphereUser>u</vSphereUser></containerCluster>';

/** Starts a CNS task with raw SOAP and waits for it: its per-volume results (fault types by volume). */
async function cnsTask(method: string, inner: string): Promise<{ volumeId?: string; fault?: string }[]> {
  const text = await raw.call(`<${method} xmlns="urn:vsan">${CNS}${inner}</${method}>`, '/vsanHealth');
  const task = /<returnval type="Task">([^<]+)<\/returnval>/.exec(text)?.[1];
  if (!task) throw new Error(`${method} returned no task: ${text.slice(0, 300)}`);
  const outcome = await client.tasks.wait({ type: 'Task', value: task });
  return decodeBatchResult(outcome.result as XmlValue, method).map((r) => ({ volumeId: r.volumeId, fault: r.fault?.faultType }));
}

const register = (name: string, diskId: string): Promise<{ volumeId?: string; fault?: string }[]> =>
  cnsTask(
    'CnsCreateVolume',
    `<createSpecs><name>${esc(name)}</name><volumeType>BLOCK</volumeType><metadata>${CLUSTER}</metadata>` +
      `<backingObjectDetails xsi:type="CnsBlockBackingDetails"><backingDiskId>${esc(diskId)}</backingDiskId></backingObjectDetails></createSpecs>`,
  );

async function queried(id: string): Promise<string> {
  return raw.call(`<CnsQueryVolume xmlns="urn:vsan">${CNS}<filter><volumeIds><id>${esc(id)}</id></volumeIds></filter></CnsQueryVolume>`, '/vsanHealth');
}

beforeAll(async () => {
  sim = await startVcsim();
  raw = new RawVim(sim);
  await raw.login();
  client = clientFor(sim);
  datastore = (await client.inventory.datastores())[0]!.ref;
});

afterAll(async () => {
  await client?.close();
  await sim?.stop();
});

describe('simulator rules the metadata syncer relies on', () => {
  test('CnsCreateVolume with backingDiskId registers a disk made by CreateDisk_Task: same id, the disk\'s size; twice is CnsAlreadyRegisteredFault; no such disk is NotFound', async () => {
    const disk = await createFcd(sim, client, { name: 'fcd-rules', capacityMb: 300, datastore });
    expect(await queried(disk)).not.toContain('<volumes>');
    expect(await register('static-1', disk)).toEqual([{ volumeId: disk, fault: undefined }]);
    const text = await queried(disk);
    expect(text).toContain(`<backingDiskId>${disk}</backingDiskId>`);
    expect(/<capacityInMb>(\d+)<\/capacityInMb>/.exec(text)?.[1]).toBe('300');
    expect(text).toContain('<clusterId>rules</clusterId>');
    expect(await register('static-again', disk)).toEqual([{ volumeId: disk, fault: 'CnsAlreadyRegisteredFault' }]);
    expect((await register('static-missing', '11111111-2222-4333-8444-555555555555'))[0]?.fault).toBe('NotFound');
  });

  test('CnsUpdateVolumeMetadata merges entities: a delete entry removes one, another replaces its namesake, the rest stay', async () => {
    const { volumeId } = await client.cns.createVolume({ name: 'merge-1', capacityMb: 16, datastores: [datastore], clusterId: 'rules', vSphereUser: 'u' });
    const ent = (type: string, name: string, extra = ''): string =>
      `<entityMetadata xsi:type="CnsKubernetesEntityMetadata"><entityName>${name}</entityName>${extra}<clusterId>rules</clusterId><entityType>${type}</entityType><namespace>ns</namespace></entityMetadata>`;
    const update = (entities: string): Promise<unknown> =>
      cnsTask('CnsUpdateVolumeMetadata', `<updateSpecs><volumeId><id>${volumeId}</id></volumeId><metadata>${CLUSTER}${entities}</metadata></updateSpecs>`);
    await update(ent('POD', 'a') + ent('POD', 'b') + ent('PERSISTENT_VOLUME_CLAIM', 'c', '<labels><key>k</key><value>1</value></labels>'));
    await update(ent('POD', 'a', '<delete>true</delete>') + ent('PERSISTENT_VOLUME_CLAIM', 'c', '<labels><key>k</key><value>2</value></labels>'));
    const text = await queried(volumeId);
    const names = [...text.matchAll(/<entityName>([^<]+)<\/entityName>/g)].map((m) => m[1]);
    expect(names.sort()).toEqual(['b', 'c']);
    expect(text).toContain('<value>2</value>');
    expect(text).not.toContain('<value>1</value>');
    await client.cns.deleteVolume(volumeId);
  });

  test('the health hook sets healthStatus as CnsQueryVolume reports it; bad input is refused', async () => {
    const { volumeId } = await client.cns.createVolume({ name: 'health-1', capacityMb: 16, datastores: [datastore], clusterId: 'rules', vSphereUser: 'u' });
    expect(await queried(volumeId)).toContain('<healthStatus>green</healthStatus>');
    await sim.setCnsHealth(volumeId, 'red');
    expect(await queried(volumeId)).toContain('<healthStatus>red</healthStatus>');
    await expect(sim.setCnsHealth(volumeId, 'purple' as 'red')).rejects.toThrow(/HTTP 400/);
    await expect(sim.setCnsHealth('00000000-0000-4000-8000-000000000000', 'red')).rejects.toThrow(/HTTP 404/);
    await client.cns.deleteVolume(volumeId);
  });
});
