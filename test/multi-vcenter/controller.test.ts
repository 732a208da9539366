/**
 * One cluster spanning two vCenters: two simulators (sites A and B, each a
 * cluster tagged as its zone with its own datastores), the controller mode
 * from one csi-vsphere.conf naming both, over a real unix socket. The tests
 * run in order: the last one stops vCenter B.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { startSites, type Sites } from '../../src/harness/sites.js';
import { worldsCsiConfig } from '../../src/harness/world.js';
import { decodeListToken } from '../../src/controller/paging.js';
import { errorOf } from '../controller/csi-client.js';
import { spawnDriver } from '../faults/driver-process.js';
import { builtMain } from '../support/built-main.js';
import { waitProbeReady } from '../../src/harness/probe.js';
import { CLUSTER_ID, MOUNT_RWO, cnsVolumes, createIn, requestsDuring, segmentOf, startController, total, type Controller, type Created } from './fixture.js';

let sites: Sites;
let ctl: Controller | undefined;
const vol: Record<string, string> = {};

beforeAll(async () => {
  sites = await startSites();
  ctl = await startController(sites.config(CLUSTER_ID));
  await ctl.handle.warmedUp;
}, 120_000);

afterAll(async () => {
  await ctl?.stop();
  await sites?.stop();
});

const both = () => [sites.a, sites.b];
const nodeOf = (site: typeof sites.a, i: number) => site.world.vms[i]!;
const createWith = (c: Controller, name: string, parameters: Record<string, string>) =>
  c.csi.call<Created>('CreateVolume', {
    name,
    volume_capabilities: [MOUNT_RWO],
    parameters,
    accessibility_requirements: { requisite: both().map((s) => ({ segments: segmentOf(s) })), preferred: [{ segments: segmentOf(sites.a) }] },
  });
const publish = (c: Controller, volumeId: string, nodeId: string) =>
  c.csi.call<{ publish_context: Record<string, string> }>('ControllerPublishVolume', { volume_id: volumeId, node_id: nodeId, volume_capability: MOUNT_RWO });

describe('two vCenters, one cluster', () => {
  test('Probe is ready; a PVC in zone A lands in vCenter A, in zone B in vCenter B, with its own zone as accessible topology', async () => {
    expect((await ctl!.identity.call<{ ready: { value: boolean } }>('Probe', {})).ready.value).toBe(true);
    const a = await createIn(ctl!, 'pvc-zone-a', sites.a, both());
    const b = await createIn(ctl!, 'pvc-zone-b', sites.b, both());
    vol.a = a.volume.volume_id;
    vol.b = b.volume.volume_id;
    expect(a.volume.accessible_topology).toEqual([{ segments: segmentOf(sites.a) }]);
    expect(b.volume.accessible_topology).toEqual([{ segments: segmentOf(sites.b) }]);
    const [inA, inB] = await Promise.all([cnsVolumes(sites.a), cnsVolumes(sites.b)]);
    expect(inA.get(vol.a)).toBe('pvc-zone-a');
    expect(inB.get(vol.b)).toBe('pvc-zone-b');
    expect(inA.has(vol.b)).toBe(false);
    expect(inB.has(vol.a)).toBe(false);
  });

  test('no topology requirement: the vCenter with the most ESXi hosts (B: 3 to 2), every time', async () => {
    for (const name of ['pvc-no-topology-1', 'pvc-no-topology-2']) {
      const res = await ctl!.csi.call<Created>('CreateVolume', { name, volume_capabilities: [MOUNT_RWO] });
      expect(res.volume.accessible_topology).toEqual([]);
      expect((await cnsVolumes(sites.b)).get(res.volume.volume_id)).toBe(name);
    }
  });

  test('datastoreurl and storagepolicyname are resolved in the candidate vCenter; the next candidate is tried, else the error names each', async () => {
    // Zone A preferred, but the datastore is B's: vCenter A lacks it, so the volume goes to B (and is accessible from zone B only).
    const onB = await ctl!.csi.call<Created>('CreateVolume', {
      name: 'pvc-datastore-of-b',
      volume_capabilities: [MOUNT_RWO],
      parameters: { datastoreurl: sites.b.world.zones[0]!.datastoreUrl },
      accessibility_requirements: { requisite: both().map((s) => ({ segments: segmentOf(s) })), preferred: [{ segments: segmentOf(sites.a) }] },
    });
    expect(onB.volume.accessible_topology).toEqual([{ segments: segmentOf(sites.b) }]);
    expect((await cnsVolumes(sites.b)).has(onB.volume.volume_id)).toBe(true);
    const noPolicy = await errorOf(createWith(ctl!, 'pvc-no-such-policy', { storagepolicyname: 'no-such-policy' }));
    expect(noPolicy.code).toBe(status.INVALID_ARGUMENT);
    expect(noPolicy.details).toContain(`vCenter ${sites.a.vcenter} ({`);
    expect(noPolicy.details).toContain(`vCenter ${sites.b.vcenter} ({`);
    expect(noPolicy.details).toContain('no storage policy named "no-such-policy"');
  });

  test('publish to a node in each vCenter; a cross-vCenter publish is FAILED_PRECONDITION naming both vCenters', async () => {
    const nodeA = nodeOf(sites.a, 0);
    const nodeB = nodeOf(sites.b, 0);
    expect((await publish(ctl!, vol.a!, nodeA.biosUuid!)).publish_context.diskUUID).toMatch(/^[0-9a-f]{32}$/);
    expect((await publish(ctl!, vol.b!, nodeB.biosUuid!)).publish_context.diskUUID).toMatch(/^[0-9a-f]{32}$/);
    await ctl!.csi.call('ControllerUnpublishVolume', { volume_id: vol.a, node_id: nodeA.biosUuid });

    const cross = await errorOf(publish(ctl!, vol.a!, nodeOf(sites.b, 1).biosUuid!));
    expect(cross.code).toBe(status.FAILED_PRECONDITION);
    expect(cross.details).toContain(`is in vCenter ${sites.a.vcenter}`);
    expect(cross.details).toContain(`is in vCenter ${sites.b.vcenter}`);
    expect(cross.details).toContain(`VM "${nodeOf(sites.b, 1).name}"`);
    // Unpublish from a node of the other vCenter: it cannot hold the volume, so there is nothing to detach.
    await ctl!.csi.call('ControllerUnpublishVolume', { volume_id: vol.a, node_id: nodeOf(sites.b, 1).biosUuid });
    await ctl!.csi.call('ControllerUnpublishVolume', { volume_id: vol.b, node_id: nodeB.biosUuid });
  });

  test('a retry whose reply was lost finds the volume in the other vCenter instead of creating a second one', async () => {
    const first = await createIn(ctl!, 'pvc-lost-reply', sites.b, both());
    // The reply is dropped; the retry prefers zone A this time (the pod was rescheduled there).
    const [aBefore, bBefore] = await Promise.all([cnsVolumes(sites.a), cnsVolumes(sites.b)]);
    const [inA, inB] = await requestsDuring(both(), async () => {
      const retry = await createIn(ctl!, 'pvc-lost-reply', sites.a, both());
      expect(retry.volume.volume_id).toBe(first.volume.volume_id);
    });
    const [aAfter, bAfter] = await Promise.all([cnsVolumes(sites.a), cnsVolumes(sites.b)]);
    expect(aAfter.size).toBe(aBefore.size);
    expect(bAfter.size).toBe(bBefore.size);
    // One name query in each vCenter, no create anywhere.
    expect(inA['/vsanHealth CnsQueryVolume']).toBe(1);
    expect(inB['/vsanHealth CnsQueryVolume']).toBe(1);
    expect((inA['/vsanHealth CnsCreateVolume'] ?? 0) + (inB['/vsanHealth CnsCreateVolume'] ?? 0)).toBe(0);
  });

  test('ListVolumes pages across both vCenters (A then B), each volume once; tokens name the vCenter and the position', async () => {
    for (let i = 0; i < 3; i++) {
      await createIn(ctl!, `pvc-list-a-${i}`, sites.a, both());
      await createIn(ctl!, `pvc-list-b-${i}`, sites.b, both());
    }
    const [inA, inB] = await Promise.all([cnsVolumes(sites.a), cnsVolumes(sites.b)]);
    // Each vCenter's volumes in CNS's order (the query cursor's): creation order in the simulator.
    const expected = [...inA.keys(), ...inB.keys()];
    const seen: string[] = [];
    const tokenVcenters = new Set<number>();
    let token = '';
    do {
      const page = await ctl!.csi.call<{ entries: { volume: { volume_id: string } }[]; next_token: string }>('ListVolumes', { max_entries: 3, starting_token: token });
      expect(page.entries.length).toBeLessThanOrEqual(3);
      seen.push(...page.entries.map((e) => e.volume.volume_id));
      token = page.next_token;
      if (token) tokenVcenters.add(decodeListToken(token, [sites.a.vcenter, sites.b.vcenter]).at.source);
    } while (token);
    expect(seen).toEqual(expected);
    expect(tokenVcenters).toEqual(new Set([0, 1]));
    const all = await ctl!.csi.call<{ entries: unknown[]; next_token: string }>('ListVolumes', {});
    expect(all.entries).toHaveLength(expected.length);
  });

  test('GetCapacity and ControllerGetVolume answer from the right vCenter', async () => {
    type Cap = { available_capacity: string };
    for (const site of both()) {
      const cap = await ctl!.csi.call<Cap>('GetCapacity', { accessible_topology: { segments: segmentOf(site) }, volume_capabilities: [MOUNT_RWO] });
      expect(BigInt(cap.available_capacity)).toBeGreaterThan(0n);
    }
    const none = await ctl!.csi.call<Cap>('GetCapacity', { accessible_topology: { segments: { ...segmentOf(sites.a), 'topology.csi.vmware.com/k8s-zone': 'zone-x' } } });
    expect(none.available_capacity).toBe('0');
    const got = await ctl!.csi.call<{ volume: { volume_id: string } }>('ControllerGetVolume', { volume_id: vol.b });
    expect(got.volume.volume_id).toBe(vol.b);
  });

  test('vCenter requests per create and publish: two vCenters versus one (steady state, zone A)', async () => {
    const one = await startController(worldsCsiConfig([sites.a.world], CLUSTER_ID));
    try {
      await one.handle.warmedUp;
      const node = nodeOf(sites.a, 1).biosUuid!;
      const rows: string[] = [];
      const per: Record<string, { create: number; publish: number }> = {};
      for (const [label, c] of [['one vCenter', one], ['two vCenters', ctl!]] as const) {
        // Warm: session, snapshot, node VM as a running controller has them.
        const warm = await createIn(c, `pvc-warm-${label}`, sites.a, label === 'one vCenter' ? [sites.a] : both());
        await publish(c, warm.volume.volume_id, node);
        await c.csi.call('ControllerUnpublishVolume', { volume_id: warm.volume.volume_id, node_id: node });
        const n = 5;
        const ids: string[] = [];
        const created = await requestsDuring(both(), async () => {
          for (let i = 0; i < n; i++) ids.push((await createIn(c, `pvc-count-${label}-${i}`, sites.a, label === 'one vCenter' ? [sites.a] : both())).volume.volume_id);
        });
        const published = await requestsDuring(both(), async () => {
          for (const id of ids) await publish(c, id, node);
        });
        const unpublished = await requestsDuring(both(), async () => {
          for (const id of ids) await c.csi.call('ControllerUnpublishVolume', { volume_id: id, node_id: node });
        });
        // Task waits are counted apart: how a task's end falls into WaitForUpdatesEx batches varies with timing.
        const withoutWaits = (x: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(x).filter(([k]) => k !== '/sdk WaitForUpdatesEx'));
        const perOp = (counts: Record<string, number>[]) => counts.map((x) => total(withoutWaits(x)) / n);
        const waits = [...created, ...published].reduce((sum, x) => sum + (x['/sdk WaitForUpdatesEx'] ?? 0), 0) / (2 * n);
        expect(waits).toBeLessThanOrEqual(3);
        const [ca, cb] = perOp(created);
        const [pa, pb] = perOp(published);
        const [ua, ub] = perOp(unpublished);
        per[label] = { create: ca! + cb!, publish: pa! + pb! };
        rows.push(`${label}: create ${ca} (A) + ${cb} (B) requests, publish ${pa} + ${pb}, unpublish ${ua} + ${ub}`);
        rows.push(`  create: A ${JSON.stringify(created[0])} B ${JSON.stringify(created[1])}`);
      }
      process.stdout.write(`\nvCenter requests per operation, one vs two vCenters\n${rows.join('\n')}\n`);
      // Besides the task waits: one vCenter costs a name query and the create, a volume check and the attach.
      expect(per['one vCenter']).toEqual({ create: 2, publish: 2 });
      // Two: one more name query per create (the other vCenter), nothing more per publish.
      expect(per['two vCenters']).toEqual({ create: 3, publish: 2 });
    } finally {
      await one.stop();
    }
  }, 60_000);

  test('start to ready Probe of the controller process, one vCenter and two (printed, not asserted on time)', async () => {
    const main = builtMain();
    const dir = mkdtempSync(join(tmpdir(), 'multi-vc-start-'));
    const ms: Record<string, number[]> = { 'one vCenter': [], 'two vCenters': [] };
    try {
      writeFileSync(join(dir, 'one.conf'), worldsCsiConfig([sites.a.world], CLUSTER_ID), { mode: 0o600 });
      writeFileSync(join(dir, 'two.conf'), sites.config(CLUSTER_ID), { mode: 0o600 });
      for (let run = 0; run < 3; run++) {
        for (const [label, file] of [['one vCenter', 'one.conf'], ['two vCenters', 'two.conf']] as const) {
          const endpoint = `unix://${join(dir, `${run}-${file}.sock`)}`;
          const started = performance.now();
          const proc = spawnDriver(main, ['controller', '--endpoint', endpoint, '--config', join(dir, file)]);
          try {
            await waitProbeReady(endpoint, { pollMs: 2, dead: () => (proc.child.exitCode !== null ? proc.output().slice(-2000) : undefined) });
            ms[label]!.push(performance.now() - started);
          } finally {
            await proc.stop();
          }
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    process.stdout.write(`\ncontroller process start to ready Probe (median of 3): ${Object.entries(ms).map(([k, v]) => `${k} ${median(v).toFixed(0)} ms [${v.map((x) => x.toFixed(0)).join(', ')}]`).join('; ')}\n`);
    expect(ms['two vCenters']).toHaveLength(3);
  }, 120_000);

  test('after a restart the controller finds a volume of vCenter B again: ControllerGetVolume, then DeleteVolume', async () => {
    await ctl!.stop();
    ctl = await startController(sites.config(CLUSTER_ID));
    await ctl.handle.warmedUp;
    const victim = (await createIn(ctl, 'pvc-delete-after-restart', sites.b, both())).volume.volume_id;
    await ctl.stop();
    ctl = await startController(sites.config(CLUSTER_ID));
    await ctl.handle.warmedUp;
    const [inA, inB] = await requestsDuring(both(), () => ctl!.csi.call('DeleteVolume', { volume_id: victim }));
    expect((await cnsVolumes(sites.b)).has(victim)).toBe(false);
    // Found by asking both vCenters (one query each), then deleted in B.
    expect(inA['/vsanHealth CnsQueryVolume']).toBe(1);
    expect(inB['/vsanHealth CnsQueryVolume']).toBe(1);
    expect(inB['/vsanHealth CnsDeleteVolume']).toBe(1);
    expect(inA['/vsanHealth CnsDeleteVolume']).toBeUndefined();
    // Deleting it again: gone everywhere is success.
    await ctl.csi.call('DeleteVolume', { volume_id: victim });
    const [getA, getB] = await requestsDuring(both(), () => ctl!.csi.call('ControllerGetVolume', { volume_id: vol.b }));
    expect(getA['/vsanHealth CnsQueryVolume']).toBe(1);
    expect(getB['/vsanHealth CnsQueryVolume']).toBe(1);
    // Found once, remembered: the next call asks B alone.
    const [againA, againB] = await requestsDuring(both(), () => ctl!.csi.call('ControllerGetVolume', { volume_id: vol.b }));
    expect(againA).toEqual({});
    expect(againB['/vsanHealth CnsQueryVolume']).toBe(1);
  }, 60_000);

  test('vCenter B stopped: zone A provisioning goes on, Probe stays ready, errors and metrics name vCenter B', async () => {
    const b = sites.b.vcenter;
    await sites.b.world.sim.stop();
    expect((await ctl!.identity.call<{ ready: { value: boolean } }>('Probe', {})).ready.value).toBe(true);

    const inZoneA = await createIn(ctl!, 'pvc-zone-a-while-b-is-down', sites.a, both());
    expect((await cnsVolumes(sites.a)).has(inZoneA.volume.volume_id)).toBe(true);
    await publish(ctl!, inZoneA.volume.volume_id, nodeOf(sites.a, 2).biosUuid!);

    const zoneB = await errorOf(createIn(ctl!, 'pvc-zone-b-while-b-is-down', sites.b, both()));
    expect(zoneB.code).toBe(status.UNAVAILABLE);
    expect(zoneB.details).toContain(`vCenter ${b}`);
    const getB = await errorOf(ctl!.csi.call('ControllerGetVolume', { volume_id: vol.b }));
    expect(getB.code).toBe(status.UNAVAILABLE);
    expect(getB.details).toContain(`vCenter ${b}`);
    // A volume of vCenter A still answers, and so does zone A's capacity; zone B's names B.
    await ctl!.csi.call('ControllerGetVolume', { volume_id: vol.a });
    const capA = await ctl!.csi.call<{ available_capacity: string }>('GetCapacity', { accessible_topology: { segments: segmentOf(sites.a) } });
    expect(BigInt(capA.available_capacity)).toBeGreaterThan(0n);
    const capB = await errorOf(ctl!.csi.call('GetCapacity', { accessible_topology: { segments: segmentOf(sites.b) } }));
    expect(capB.code).toBe(status.UNAVAILABLE);
    expect(capB.details).toContain(`vCenter ${b}`);
    const list = await errorOf(ctl!.csi.call('ListVolumes', {}));
    expect(list.code).toBe(status.UNAVAILABLE);
    expect(list.details).toContain(b);

    const metrics = await ctl!.registry.metrics();
    expect(metrics).toContain(`vsphere_csi_vcenter_up{vcenter="${b}"} 0`);
    expect(metrics).toContain(`vsphere_csi_vcenter_up{vcenter="${sites.a.vcenter}"} 1`);
    expect(metrics).toMatch(new RegExp(`vsphere_csi_vcenter_requests_total\\{vcenter="${b.replace(/\./g, '\\.')}",[^}]*outcome="error"\\} [1-9]`));
    const down = ctl!.logs.filter((l) => l.vcenter === b && String(l.msg).includes('is down'));
    expect(down.length).toBeGreaterThanOrEqual(1);
    expect(down[0]!.level).toBe('warn');
  }, 60_000);
});
