/**
 * ListVolumes over the real socket against the simulator (which pages
 * CnsQueryVolume with the cursor in creation order, test/vcsim/cns_query.go):
 * one CNS request per page; volumes created and deleted between pages
 * (also the last one a page handed out) never make a page skip or repeat an
 * unchanged volume; the VMs' disks are read once per pass, not per page, and
 * this process's detaches between pages still show; v2 tokens of the
 * earlier release finish their pass in id order.
 */
import { describe, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import { useController, MOUNT_RWO, CLUSTER_ID } from './fixture.js';
import { codeOf } from './csi-client.js';
import { decodeListToken, encodePageToken } from '../../src/controller/paging.js';

interface Entry {
  volume: { volume_id: string };
  status: { published_node_ids: string[] };
}
interface Page {
  entries: Entry[];
  next_token: string;
}

const env = useController();

const create = async (name: string): Promise<string> =>
  (await env.served.csi.call<{ volume: { volume_id: string } }>('CreateVolume', { name, volume_capabilities: [MOUNT_RWO] })).volume.volume_id;
const list = (max: number, token = '') => env.served.csi.call<Page>('ListVolumes', { max_entries: max, starting_token: token });
/** Every volume of the cluster, in CNS's order. */
const inCns = async (): Promise<string[]> => (await env.world.client.cns.queryAllVolumes({ containerClusterIds: [CLUSTER_ID] })).map((v) => v.volumeId);
const cnsQueriesDuring = async (fn: () => Promise<unknown>): Promise<number> => {
  await env.world.sim.resetRequests();
  await fn();
  return (await env.world.sim.requests()).byMethod['/vsanHealth CnsQueryVolume'] ?? 0;
};

async function removeAll(): Promise<void> {
  for (const id of await inCns()) await env.served.csi.call('DeleteVolume', { volume_id: id });
}

describe('ListVolumes with the CNS cursor', () => {
  test('volumes deleted and created between pages: each unchanged volume once, one CNS query per page', async () => {
    await removeAll();
    const ids: string[] = [];
    for (let i = 0; i < 14; i++) ids.push(await create(`pvc-page-${i}`));
    const seen: string[] = [];
    const queries: number[] = [];
    let token = '';
    let page: Page | undefined;
    queries.push(await cnsQueriesDuring(async () => (page = await list(4))));
    seen.push(...page!.entries.map((e) => e.volume.volume_id));
    token = page!.next_token;
    expect(decodeListToken(token, [env.world.sim.hostname]).at).toMatchObject({ offset: 4, anchors: ids.slice(0, 4) });
    // Before page 2: a listed volume and the page's last (an anchor) go, a new one comes.
    await env.served.csi.call('DeleteVolume', { volume_id: ids[1]! });
    await env.served.csi.call('DeleteVolume', { volume_id: ids[3]! });
    const late = await create('pvc-page-late');
    queries.push(await cnsQueriesDuring(async () => (page = await list(4, token))));
    seen.push(...page!.entries.map((e) => e.volume.volume_id));
    token = page!.next_token;
    // Before page 3: one not listed yet goes.
    await env.served.csi.call('DeleteVolume', { volume_id: ids[9]! });
    while (token) {
      queries.push(await cnsQueriesDuring(async () => (page = await list(4, token))));
      seen.push(...page!.entries.map((e) => e.volume.volume_id));
      token = page!.next_token;
    }
    console.log(`ListVolumes pages of 4 with deletes and creates between them: CnsQueryVolume per page ${JSON.stringify(queries)}`);
    expect(new Set(seen).size).toBe(seen.length);
    const unchanged = ids.filter((_, i) => ![1, 3, 9].includes(i));
    for (const id of unchanged) expect(seen).toContain(id);
    expect(seen).not.toContain(ids[9]);
    // Page 2 resumed right after the anchors: ids[4] first, nothing of page 1 again.
    expect(seen.slice(4, 8)).toEqual([ids[4], ids[5], ids[6], ids[7]]);
    expect(seen).toContain(late);
    expect(queries.every((q) => q === 1)).toBe(true);
    const now = await inCns();
    expect(seen.filter((id) => now.includes(id))).toEqual(now);
  }, 60_000);

  test('all anchors deleted between pages: ABORTED naming the fix', async () => {
    await removeAll();
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await create(`pvc-lost-${i}`));
    const first = await list(4);
    for (const id of ids.slice(0, 4)) await env.served.csi.call('DeleteVolume', { volume_id: id });
    expect(await codeOf(list(4, first.next_token))).toBe(status.ABORTED);
    const again = await list(0);
    expect(again.entries.map((e) => e.volume.volume_id)).toEqual(ids.slice(4));
  }, 60_000);

  test('published nodes: one VM-disk read per pass; a detach by this controller between pages shows on the later page', async () => {
    await removeAll();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await create(`pvc-nodes-${i}`));
    const node = env.world.nodes[0]!;
    // Attached behind the controller's back (straight through CNS): only the VM's disks know.
    await env.world.client.cns.attachVolume({ volumeId: ids[4]!, vm: node.ref });
    await env.world.client.cns.attachVolume({ volumeId: ids[1]!, vm: node.ref });
    const reads = async (fn: () => Promise<unknown>) => {
      await env.world.sim.resetRequests();
      await fn();
      return (await env.world.sim.requests()).byMethod['/sdk RetrievePropertiesEx'] ?? 0;
    };
    const pages: Page[] = [];
    const perPage: number[] = [];
    let token = '';
    do {
      let page: Page | undefined;
      perPage.push(await reads(async () => (page = await list(2, token))));
      pages.push(page!);
      token = page!.next_token;
      // Between page 1 and 2: the controller unpublishes ids[4] (due on page 3).
      if (pages.length === 1) await env.served.csi.call('ControllerUnpublishVolume', { volume_id: ids[4]!, node_id: node.biosUuid! });
    } while (token);
    const nodesOf = (id: string) => pages.flatMap((p) => p.entries).find((e) => e.volume.volume_id === id)?.status.published_node_ids;
    expect(nodesOf(ids[1]!)).toEqual([node.biosUuid]);
    expect(nodesOf(ids[4]!)).toEqual([]);
    expect(nodesOf(ids[0]!)).toEqual([]);
    // The first page read the VMs; later pages reused that look (the unpublish itself reads none here).
    expect(perPage[0]).toBe(1);
    expect(perPage.slice(1).every((n) => n === 0)).toBe(true);
    // A new pass looks again.
    expect(await reads(() => list(2))).toBe(1);
    await env.world.client.cns.detachVolume({ volumeId: ids[1]!, vm: node.ref });
  }, 60_000);

  test('a v2 token of the earlier release finishes its pass in volume-id order, with v2 tokens', async () => {
    await removeAll();
    for (let i = 0; i < 5; i++) await create(`pvc-v2-${i}`);
    const sorted = [...(await inCns())].sort();
    const seen: string[] = [];
    let token = encodePageToken(env.world.sim.hostname, sorted[0]!);
    do {
      const page = await list(2, token);
      seen.push(...page.entries.map((e) => e.volume.volume_id));
      token = page.next_token;
      if (token) expect(decodeListToken(token, [env.world.sim.hostname]).kind).toBe('keyset');
    } while (token);
    expect(seen).toEqual(sorted.slice(1));
  }, 60_000);
});
