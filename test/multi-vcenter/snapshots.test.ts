/**
 * CSI snapshots with one cluster spanning two vCenters (sites A and B, two
 * simulators, src/harness/sites.ts), the controller mode from one
 * csi-vsphere.conf naming both, over a real unix socket: a snapshot lives in
 * the vCenter of its source volume (found through the volume locator).
 * CreateSnapshot of a volume in vCenter B (the snapshot is in B's
 * simulator, not A's), GetSnapshot and ListSnapshots by id and by source
 * volume (also from a controller that has never seen the volume),
 * ListSnapshots of all paged across both vCenters, a restore from a snapshot
 * in B lands in B, DeleteVolume refused while the volume has snapshots in B
 * and allowed once they are deleted, and a snapshot name taken in one
 * vCenter is ALREADY_EXISTS in the other (every configured vCenter's name
 * index is checked). The tests run in order.
 */
import { describe, expect, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import type { Site } from '../../src/harness/sites.js';
import { decodeListToken } from '../../src/controller/paging.js';
import { codeOf, errorOf } from '../controller/csi-client.js';
import { CLUSTER_ID, MOUNT_RWO, cnsVolumes, createIn, requestsDuring, segmentOf, startController, useTwoSites, type Controller } from './fixture.js';

const GiB = 1024 ** 3;

import type { ListRes, Snap, SnapRes, VolumeRes } from '../controller/snapshot-shapes.js';

const env = useTwoSites();

const both = () => [env.sites.a, env.sites.b];
const volumeIn = async (c: Controller, name: string, site: Site) => (await createIn(c, name, site, both())).volume.volume_id;
const snap = (c: Controller, name: string, source: string) => c.csi.call<SnapRes>('CreateSnapshot', { name, source_volume_id: source });
const list = (c: Controller, req: object) => c.csi.call<ListRes>('ListSnapshots', req);
const idsOf = (res: ListRes) => res.entries.map((e) => e.snapshot.snapshot_id);
const restore = (c: Controller, name: string, snapshotId: string, extra: object = {}) =>
  c.csi.call<VolumeRes>('CreateVolume', { name, volume_capabilities: [MOUNT_RWO], volume_content_source: { snapshot: { snapshot_id: snapshotId } }, ...extra });

/** A site's snapshots, asked of its CNS directly, in CNS's order, as CSI ids. */
async function cnsSnapshots(site: Site): Promise<string[]> {
  const res = await site.world.client.cns.querySnapshots({ cursor: { offset: 0, limit: 1000 } });
  return res.entries.filter((e) => e.snapshot).map((e) => `${e.snapshot!.volumeId}+${e.snapshot!.snapshotId}`);
}

/** Every page of ListSnapshots of all with max_entries; the ids and the vCenter (index) each token points into. */
async function listAll(c: Controller, maxEntries: number): Promise<{ ids: string[]; pages: number; tokenSources: Set<number> }> {
  const ids: string[] = [];
  const tokenSources = new Set<number>();
  let token = '';
  let pages = 0;
  do {
    const page = await list(c, { max_entries: maxEntries, starting_token: token });
    if (maxEntries > 0) expect(page.entries.length).toBeLessThanOrEqual(maxEntries);
    for (const e of page.entries) expect(Number(e.snapshot.size_bytes)).toBeGreaterThan(0);
    ids.push(...idsOf(page));
    token = page.next_token;
    if (token) tokenSources.add(decodeListToken(token, [env.sites.a.vcenter, env.sites.b.vcenter]).at.source);
    pages++;
    expect(pages).toBeLessThan(100);
  } while (token);
  return { ids, pages, tokenSources };
}

describe('snapshots with two vCenters', () => {
  let volB: string;
  let snapB: Snap;

  test('CreateSnapshot of a volume in vCenter B: the CNS snapshot is in B, none in A; a repeat answers the same one', async () => {
    volB = await volumeIn(env.ctl, 'pvc-snap-b', env.sites.b);
    expect((await cnsVolumes(env.sites.b)).has(volB)).toBe(true);
    const [inA, inB] = await requestsDuring(both(), async () => {
      snapB = (await snap(env.ctl, 'snapshot-of-b', volB)).snapshot;
    });
    expect(snapB.snapshot_id).toMatch(new RegExp(`^${volB}\\+[0-9a-f-]{36}$`));
    expect(snapB).toMatchObject({ source_volume_id: volB, size_bytes: String(GiB), ready_to_use: true });
    expect(await env.sites.b.world.sim.snapshotCount(volB)).toBe(1);
    // vCenter A does not know the volume, and has no snapshot at all.
    await expect(env.sites.a.world.sim.snapshotCount(volB)).rejects.toThrow('CNS has no volume');
    expect(await env.sites.a.world.sim.snapshotCount()).toBe(0);
    expect(await cnsSnapshots(env.sites.b)).toEqual([snapB.snapshot_id]);
    const cns = await env.sites.b.world.client.cns.querySnapshots({ specs: [{ volumeId: volB }] });
    expect(cns.entries.map((e) => e.snapshot?.description)).toEqual(['snapshot-of-b']);
    // Taken in B; A is only asked for the name check.
    expect(inB['/vsanHealth CnsCreateSnapshots']).toBe(1);
    expect(inA['/vsanHealth CnsCreateSnapshots'] ?? 0).toBe(0);

    const again = await snap(env.ctl, 'snapshot-of-b', volB);
    expect(again.snapshot).toEqual(snapB);
    expect(await env.sites.b.world.sim.snapshotCount(volB)).toBe(1);
    expect(await env.sites.a.world.sim.snapshotCount()).toBe(0);
  });

  test('GetSnapshot and ListSnapshots by id and by source volume find it in B; unknown ids of a volume in B are NOT_FOUND / nothing', async () => {
    const got = await env.ctl.csi.call<SnapRes>('GetSnapshot', { snapshot_id: snapB.snapshot_id });
    expect(got.snapshot).toEqual(snapB);
    const byId = await list(env.ctl, { snapshot_id: snapB.snapshot_id });
    expect(byId.entries.map((e) => e.snapshot)).toEqual([snapB]);
    expect(byId.next_token).toBe('');
    const bySource = await list(env.ctl, { source_volume_id: volB });
    expect(bySource.entries.map((e) => e.snapshot)).toEqual([snapB]);
    expect(bySource.next_token).toBe('');
    expect(idsOf(await list(env.ctl, { snapshot_id: snapB.snapshot_id, source_volume_id: volB }))).toEqual([snapB.snapshot_id]);

    const unknown = `${volB}+00000000-0000-0000-0000-000000000000`;
    expect(await codeOf(env.ctl.csi.call('GetSnapshot', { snapshot_id: unknown }))).toBe(status.NOT_FOUND);
    expect((await list(env.ctl, { snapshot_id: unknown })).entries).toEqual([]);
    const nowhere = '00000000-0000-0000-0000-000000000000';
    expect((await list(env.ctl, { source_volume_id: nowhere })).entries).toEqual([]);
    expect(await codeOf(env.ctl.csi.call('GetSnapshot', { snapshot_id: `${nowhere}+00000000-0000-0000-0000-000000000000` }))).toBe(status.NOT_FOUND);
  });

  test('a controller that has never seen the volume (cold locator) finds the snapshot in B too', async () => {
    const fresh = await startController(env.sites.config(CLUSTER_ID));
    try {
      await fresh.handle.warmedUp;
      expect((await fresh.csi.call<SnapRes>('GetSnapshot', { snapshot_id: snapB.snapshot_id })).snapshot).toEqual(snapB);
      expect(idsOf(await list(fresh, { source_volume_id: volB }))).toEqual([snapB.snapshot_id]);
      expect(idsOf(await list(fresh, { snapshot_id: snapB.snapshot_id }))).toEqual([snapB.snapshot_id]);
      // And a repeat CreateSnapshot answers the existing one there rather than taking a second.
      expect((await snap(fresh, 'snapshot-of-b', volB)).snapshot).toEqual(snapB);
      expect(await env.sites.b.world.sim.snapshotCount(volB)).toBe(1);
    } finally {
      await fresh.stop();
    }
  });

  test('ListSnapshots of all pages across both vCenters (A then B): each snapshot once, none missing, the same every time', async () => {
    const [a1, a2, b2] = [await volumeIn(env.ctl, 'pvc-snap-list-a1', env.sites.a), await volumeIn(env.ctl, 'pvc-snap-list-a2', env.sites.a), await volumeIn(env.ctl, 'pvc-snap-list-b2', env.sites.b)];
    for (let i = 0; i < 2; i++) {
      await snap(env.ctl, `snapshot-list-a1-${i}`, a1);
      await snap(env.ctl, `snapshot-list-a2-${i}`, a2);
      await snap(env.ctl, `snapshot-list-b-${i}`, volB);
      await snap(env.ctl, `snapshot-list-b2-${i}`, b2);
    }
    await snap(env.ctl, 'snapshot-list-b2-2', b2);
    const [inA, inB] = [await cnsSnapshots(env.sites.a), await cnsSnapshots(env.sites.b)];
    expect(inA).toHaveLength(4);
    expect(inB).toHaveLength(6); // snapshot-of-b and 2 more of volB, 3 of b2
    expect(await env.sites.a.world.sim.snapshotCount()).toBe(4);
    expect(await env.sites.b.world.sim.snapshotCount()).toBe(6);
    const expected = [...inA, ...inB];

    const whole = await list(env.ctl, {});
    expect(idsOf(whole)).toEqual(expected);
    expect(whole.next_token).toBe('');
    for (const max of [1, 2, 3, 4, 7]) {
      const { ids, pages, tokenSources } = await listAll(env.ctl, max);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / max));
      // Some tokens point into vCenter A, some into B (a page boundary falls inside each).
      if (max < inA.length) expect(tokenSources).toEqual(new Set([0, 1]));
    }
    // Stable: the same pages again.
    expect((await listAll(env.ctl, 3)).ids).toEqual(expected);
    // Sizes come from each snapshot's own vCenter.
    for (const e of whole.entries) expect(e.snapshot.size_bytes).toBe(String(GiB));
    expect(whole.entries.filter((e) => e.snapshot.source_volume_id === volB).map((e) => e.snapshot.snapshot_id)).toEqual(idsOf(await list(env.ctl, { source_volume_id: volB })));
  });

  test('a restore from a snapshot in vCenter B lands in B (also when zone A is preferred), with content_source; a retry answers it', async () => {
    const [aBefore, bBefore] = await Promise.all([cnsVolumes(env.sites.a), cnsVolumes(env.sites.b)]);
    const plain = await restore(env.ctl, 'pvc-restored-from-b', snapB.snapshot_id);
    const id = plain.volume.volume_id;
    expect(id).not.toBe(volB);
    expect(plain.volume.capacity_bytes).toBe(String(GiB));
    expect(plain.volume.content_source?.snapshot?.snapshot_id).toBe(snapB.snapshot_id);
    // No topology requirement: none in the answer, as for any CreateVolume without one.
    expect(plain.volume.accessible_topology).toEqual([]);
    const [aAfter, bAfter] = await Promise.all([cnsVolumes(env.sites.a), cnsVolumes(env.sites.b)]);
    expect(bAfter.get(id)).toBe('pvc-restored-from-b');
    expect(aAfter.has(id)).toBe(false);
    expect(aAfter.size).toBe(aBefore.size);
    expect(bAfter.size).toBe(bBefore.size + 1);
    expect((await restore(env.ctl, 'pvc-restored-from-b', snapB.snapshot_id)).volume.volume_id).toBe(id);

    // external-provisioner with WaitForFirstConsumer: both zones allowed, the pod's zone A preferred; the snapshot's vCenter decides.
    const preferA = await restore(env.ctl, 'pvc-restored-from-b-prefer-a', snapB.snapshot_id, {
      capacity_range: { required_bytes: String(2 * GiB) },
      accessibility_requirements: { requisite: both().map((s) => ({ segments: segmentOf(s) })), preferred: [{ segments: segmentOf(env.sites.a) }, { segments: segmentOf(env.sites.b) }] },
    });
    expect(preferA.volume.accessible_topology).toEqual([{ segments: segmentOf(env.sites.b) }]);
    expect(preferA.volume.capacity_bytes).toBe(String(2 * GiB));
    const inB = await cnsVolumes(env.sites.b);
    expect(inB.get(preferA.volume.volume_id)).toBe('pvc-restored-from-b-prefer-a');
    expect((await cnsVolumes(env.sites.a)).has(preferA.volume.volume_id)).toBe(false);
    const v = (await env.sites.b.world.client.cns.queryVolumes({ volumeIds: [preferA.volume.volume_id] })).volumes[0]!;
    expect(v.capacityMb).toBe(2048);
    expect(await env.sites.b.world.sim.snapshotCount(id)).toBe(0);
  });

  test('DeleteVolume of a volume with snapshots in B is FAILED_PRECONDITION listing them; DeleteSnapshot of each, then DeleteVolume, succeed', async () => {
    const vol = await volumeIn(env.ctl, 'pvc-snap-guard-b', env.sites.b);
    const s1 = (await snap(env.ctl, 'snapshot-guard-b-1', vol)).snapshot.snapshot_id;
    const s2 = (await snap(env.ctl, 'snapshot-guard-b-2', vol)).snapshot.snapshot_id;
    expect(await env.sites.b.world.sim.snapshotCount(vol)).toBe(2);

    const refused = await errorOf(env.ctl.csi.call('DeleteVolume', { volume_id: vol }));
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(refused.details).toContain(`${s1}, ${s2}`);
    expect(refused.details).toContain('delete the VolumeSnapshots');
    expect((await cnsVolumes(env.sites.b)).has(vol)).toBe(true);
    expect(await env.sites.b.world.sim.snapshotCount(vol)).toBe(2);

    // The same from a controller that has to find the volume first.
    const fresh = await startController(env.sites.config(CLUSTER_ID));
    try {
      await fresh.handle.warmedUp;
      const again = await errorOf(fresh.csi.call('DeleteVolume', { volume_id: vol }));
      expect(again.code).toBe(status.FAILED_PRECONDITION);
      expect(again.details).toContain(`${s1}, ${s2}`);
      // DeleteSnapshot from it: deleted in B.
      await fresh.csi.call('DeleteSnapshot', { snapshot_id: s1 });
      expect(await env.sites.b.world.sim.snapshotCount(vol)).toBe(1);
    } finally {
      await fresh.stop();
    }

    const [inA, inB] = await requestsDuring(both(), () => env.ctl.csi.call('DeleteSnapshot', { snapshot_id: s2 }));
    expect(inB['/vsanHealth CnsDeleteSnapshots']).toBe(1);
    expect(inA['/vsanHealth CnsDeleteSnapshots'] ?? 0).toBe(0);
    expect(await env.sites.b.world.sim.snapshotCount(vol)).toBe(0);
    // Deleting them again: gone is success.
    await env.ctl.csi.call('DeleteSnapshot', { snapshot_id: s1 });
    await env.ctl.csi.call('DeleteSnapshot', { snapshot_id: s2 });
    expect(await codeOf(env.ctl.csi.call('GetSnapshot', { snapshot_id: s2 }))).toBe(status.NOT_FOUND);

    await env.ctl.csi.call('DeleteVolume', { volume_id: vol });
    expect((await cnsVolumes(env.sites.b)).has(vol)).toBe(false);
    // The snapshots in B of other volumes are untouched.
    expect(await env.sites.b.world.sim.snapshotCount(volB)).toBe(3);
  });

  test('a snapshot name taken for a volume in vCenter A is ALREADY_EXISTS for a volume in B (and the other way round), naming the vCenter', async () => {
    const a = await volumeIn(env.ctl, 'pvc-snap-clash-a', env.sites.a);
    const b = await volumeIn(env.ctl, 'pvc-snap-clash-b', env.sites.b);
    const inA = (await snap(env.ctl, 'snapshot-clash-across', a)).snapshot.snapshot_id;
    const clash = await errorOf(snap(env.ctl, 'snapshot-clash-across', b));
    expect(clash.code).toBe(status.ALREADY_EXISTS);
    expect(clash.details).toContain(inA);
    expect(clash.details).toContain(`in vCenter ${env.sites.a.vcenter}`);
    expect(clash.details).toContain(`not of source_volume_id ${b}`);
    expect(await env.sites.b.world.sim.snapshotCount(b)).toBe(0);
    expect(await env.sites.a.world.sim.snapshotCount(a)).toBe(1);

    const inB = (await snap(env.ctl, 'snapshot-clash-back', b)).snapshot.snapshot_id;
    const back = await errorOf(snap(env.ctl, 'snapshot-clash-back', a));
    expect(back.code).toBe(status.ALREADY_EXISTS);
    expect(back.details).toContain(inB);
    expect(back.details).toContain(`in vCenter ${env.sites.b.vcenter}`);
    expect(await env.sites.a.world.sim.snapshotCount(a)).toBe(1);
    expect(await env.sites.b.world.sim.snapshotCount(b)).toBe(1);
  });

  test('a controller with cold name indexes checks every configured vCenter: a name of vCenter A is ALREADY_EXISTS for a volume in B', async () => {
    const fresh = await startController(env.sites.config(CLUSTER_ID));
    try {
      await fresh.handle.warmedUp;
      const b = await volumeIn(fresh, 'pvc-snap-clash-cold-b', env.sites.b);
      const err = await errorOf(snap(fresh, 'snapshot-clash-across', b));
      expect(err.code).toBe(status.ALREADY_EXISTS);
      expect(err.details).toContain(`in vCenter ${env.sites.a.vcenter}`);
      expect(await env.sites.b.world.sim.snapshotCount(b)).toBe(0);
      // A name free in both vCenters is taken, in B.
      const ok = (await snap(fresh, 'snapshot-clash-cold-free', b)).snapshot;
      expect(ok.source_volume_id).toBe(b);
      expect(await env.sites.b.world.sim.snapshotCount(b)).toBe(1);
    } finally {
      await fresh.stop();
    }
  });
});
