/**
 * One cluster spanning two vCenters: two simulators (sites A and B, each a
 * cluster tagged as its zone with its own datastores), the controller mode
 * from one csi-vsphere.conf naming both, over a real unix socket. The tests
 * run in order: the last one stops vCenter B.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { worldsCsiConfig } from '../../src/harness/world.js';
import { decodeListToken } from '../../src/controller/paging.js';
import { errorOf } from '../controller/csi-client.js';
import { spawnDriver } from '../faults/driver-process.js';
import { builtMain } from '../support/built-main.js';
import { waitProbeReady } from '../../src/harness/probe.js';
import { CLUSTER_ID, MOUNT_RWO, cnsVolumes, createIn, requestsDuring, segmentOf, startController, total, useTwoSites, type Controller, type Created } from './fixture.js';

const env = useTwoSites();
const vol: Record<string, string> = {};

const both = () => [env.sites.a, env.sites.b];
const nodeOf = (site: typeof env.sites.a, i: number) => site.world.vms[i]!;
const createWith = (c: Controller, name: string, parameters: Record<string, string>) =>
  c.csi.call<Created>('CreateVolume', {
    name,
    volume_capabilities: [MOUNT_RWO],
    parameters,
    accessibility_requirements: { requisite: both().map((s) => ({ segments: segmentOf(s) })), preferred: [{ segments: segmentOf(env.sites.a) }] },
  });
const publish = (c: Controller, volumeId: string, nodeId: string) =>
  c.csi.call<{ publish_context: Record<string, string> }>('ControllerPublishVolume', { volume_id: volumeId, node_id: nodeId, volume_capability: MOUNT_RWO });

describe('two vCenters, one cluster', () => {
  test('Probe is ready; a PVC in zone A lands in vCenter A, in zone B in vCenter B, with its own zone as accessible topology', async () => {
    expect((await env.ctl.identity.call<{ ready: { value: boolean } }>('Probe', {})).ready.value).toBe(true);
    const a = await createIn(env.ctl, 'pvc-zone-a', env.sites.a, both());
    const b = await createIn(env.ctl, 'pvc-zone-b', env.sites.b, both());
    vol.a = a.volume.volume_id;
    vol.b = b.volume.volume_id;
    expect(a.volume.accessible_topology).toEqual([{ segments: segmentOf(env.sites.a) }]);
    expect(b.volume.accessible_topology).toEqual([{ segments: segmentOf(env.sites.b) }]);
    const [inA, inB] = await Promise.all([cnsVolumes(env.sites.a), cnsVolumes(env.sites.b)]);
    expect(inA.get(vol.a)).toBe('pvc-zone-a');
    expect(inB.get(vol.b)).toBe('pvc-zone-b');
    expect(inA.has(vol.b)).toBe(false);
    expect(inB.has(vol.a)).toBe(false);
  });

  test('no topology requirement: the vCenter with the most ESXi hosts (B: 3 to 2), every time', async () => {
    for (const name of ['pvc-no-topology-1', 'pvc-no-topology-2']) {
      const res = await env.ctl.csi.call<Created>('CreateVolume', { name, volume_capabilities: [MOUNT_RWO] });
      expect(res.volume.accessible_topology).toEqual([]);
      expect((await cnsVolumes(env.sites.b)).get(res.volume.volume_id)).toBe(name);
    }
  });

  test('datastoreurl and storagepolicyname are resolved in the candidate vCenter; the next candidate is tried, else the error names each', async () => {
    // Zone A preferred, but the datastore is B's: vCenter A lacks it, so the volume goes to B (and is accessible from zone B only).
    const onB = await env.ctl.csi.call<Created>('CreateVolume', {
      name: 'pvc-datastore-of-b',
      volume_capabilities: [MOUNT_RWO],
      parameters: { datastoreurl: env.sites.b.world.zones[0]!.datastoreUrl },
      accessibility_requirements: { requisite: both().map((s) => ({ segments: segmentOf(s) })), preferred: [{ segments: segmentOf(env.sites.a) }] },
    });
    expect(onB.volume.accessible_topology).toEqual([{ segments: segmentOf(env.sites.b) }]);
    expect((await cnsVolumes(env.sites.b)).has(onB.volume.volume_id)).toBe(true);
    const noPolicy = await errorOf(createWith(env.ctl, 'pvc-no-such-policy', { storagepolicyname: 'no-such-policy' }));
    expect(noPolicy.code).toBe(status.INVALID_ARGUMENT);
    expect(noPolicy.details).toContain(`vCenter ${env.sites.a.vcenter} ({`);
    expect(noPolicy.details).toContain(`vCenter ${env.sites.b.vcenter} ({`);
    expect(noPolicy.details).toContain('no storage policy named "no-such-policy"');
  });

  test('publish to a node in each vCenter; a cross-vCenter publish is FAILED_PRECONDITION naming both vCenters', async () => {
    const nodeA = nodeOf(env.sites.a, 0);
    const nodeB = nodeOf(env.sites.b, 0);
    expect((await publish(env.ctl, vol.a!, nodeA.biosUuid!)).publish_context.diskUUID).toMatch(/^[0-9a-f]{32}$/);
    expect((await publish(env.ctl, vol.b!, nodeB.biosUuid!)).publish_context.diskUUID).toMatch(/^[0-9a-f]{32}$/);
    await env.ctl.csi.call('ControllerUnpublishVolume', { volume_id: vol.a, node_id: nodeA.biosUuid });

    const cross = await errorOf(publish(env.ctl, vol.a!, nodeOf(env.sites.b, 1).biosUuid!));
    expect(cross.code).toBe(status.FAILED_PRECONDITION);
    expect(cross.details).toContain(`is in vCenter ${env.sites.a.vcenter}`);
    expect(cross.details).toContain(`is in vCenter ${env.sites.b.vcenter}`);
    expect(cross.details).toContain(`VM "${nodeOf(env.sites.b, 1).name}"`);
    // Unpublish from a node of the other vCenter: it cannot hold the volume, so there is nothing to detach.
    await env.ctl.csi.call('ControllerUnpublishVolume', { volume_id: vol.a, node_id: nodeOf(env.sites.b, 1).biosUuid });
    await env.ctl.csi.call('ControllerUnpublishVolume', { volume_id: vol.b, node_id: nodeB.biosUuid });
  });

  test('a retry whose reply was lost finds the volume in the other vCenter instead of creating a second one', async () => {
    const first = await createIn(env.ctl, 'pvc-lost-reply', env.sites.b, both());
    // The reply is dropped; the retry prefers zone A this time (the pod was rescheduled there).
    const [aBefore, bBefore] = await Promise.all([cnsVolumes(env.sites.a), cnsVolumes(env.sites.b)]);
    const [inA, inB] = await requestsDuring(both(), async () => {
      const retry = await createIn(env.ctl, 'pvc-lost-reply', env.sites.a, both());
      expect(retry.volume.volume_id).toBe(first.volume.volume_id);
    });
    const [aAfter, bAfter] = await Promise.all([cnsVolumes(env.sites.a), cnsVolumes(env.sites.b)]);
    expect(aAfter.size).toBe(aBefore.size);
    expect(bAfter.size).toBe(bBefore.size);
    // One name query in each vCenter, no create anywhere.
    expect(inA['/vsanHealth CnsQueryVolume']).toBe(1);
    expect(inB['/vsanHealth CnsQueryVolume']).toBe(1);
    expect((inA['/vsanHealth CnsCreateVolume'] ?? 0) + (inB['/vsanHealth CnsCreateVolume'] ?? 0)).toBe(0);
  });

  test('ListVolumes pages across both vCenters (A then B), each volume once; tokens name the vCenter and the position', async () => {
    for (let i = 0; i < 3; i++) {
      await createIn(env.ctl, `pvc-list-a-${i}`, env.sites.a, both());
      await createIn(env.ctl, `pvc-list-b-${i}`, env.sites.b, both());
    }
    const [inA, inB] = await Promise.all([cnsVolumes(env.sites.a), cnsVolumes(env.sites.b)]);
    // Each vCenter's volumes in CNS's order (the query cursor's): creation order in the simulator.
    const expected = [...inA.keys(), ...inB.keys()];
    const seen: string[] = [];
    const tokenVcenters = new Set<number>();
    let token = '';
    do {
      const page = await env.ctl.csi.call<{ entries: { volume: { volume_id: string } }[]; next_token: string }>('ListVolumes', { max_entries: 3, starting_token: token });
      expect(page.entries.length).toBeLessThanOrEqual(3);
      seen.push(...page.entries.map((e) => e.volume.volume_id));
      token = page.next_token;
      if (token) tokenVcenters.add(decodeListToken(token, [env.sites.a.vcenter, env.sites.b.vcenter]).at.source);
    } while (token);
    expect(seen).toEqual(expected);
    expect(tokenVcenters).toEqual(new Set([0, 1]));
    const all = await env.ctl.csi.call<{ entries: unknown[]; next_token: string }>('ListVolumes', {});
    expect(all.entries).toHaveLength(expected.length);
  });

  test('GetCapacity and ControllerGetVolume answer from the right vCenter', async () => {
    type Cap = { available_capacity: string };
    for (const site of both()) {
      const cap = await env.ctl.csi.call<Cap>('GetCapacity', { accessible_topology: { segments: segmentOf(site) }, volume_capabilities: [MOUNT_RWO] });
      expect(BigInt(cap.available_capacity)).toBeGreaterThan(0n);
    }
    const none = await env.ctl.csi.call<Cap>('GetCapacity', { accessible_topology: { segments: { ...segmentOf(env.sites.a), 'topology.csi.vmware.com/k8s-zone': 'zone-x' } } });
    expect(none.available_capacity).toBe('0');
    const got = await env.ctl.csi.call<{ volume: { volume_id: string } }>('ControllerGetVolume', { volume_id: vol.b });
    expect(got.volume.volume_id).toBe(vol.b);
  });

  test('vCenter requests per create and publish: two vCenters versus one (steady state, zone A)', async () => {
    const one = await startController(worldsCsiConfig([env.sites.a.world], CLUSTER_ID));
    try {
      await one.handle.warmedUp;
      const node = nodeOf(env.sites.a, 1).biosUuid!;
      const rows: string[] = [];
      const per: Record<string, { create: number; publish: number }> = {};
      for (const [label, c] of [['one vCenter', one], ['two vCenters', env.ctl]] as const) {
        // Warm: session, snapshot, node VM as a running controller has them.
        const warm = await createIn(c, `pvc-warm-${label}`, env.sites.a, label === 'one vCenter' ? [env.sites.a] : both());
        await publish(c, warm.volume.volume_id, node);
        await c.csi.call('ControllerUnpublishVolume', { volume_id: warm.volume.volume_id, node_id: node });
        const n = 5;
        const ids: string[] = [];
        const created = await requestsDuring(both(), async () => {
          for (let i = 0; i < n; i++) ids.push((await createIn(c, `pvc-count-${label}-${i}`, env.sites.a, label === 'one vCenter' ? [env.sites.a] : both())).volume.volume_id);
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
      writeFileSync(join(dir, 'one.conf'), worldsCsiConfig([env.sites.a.world], CLUSTER_ID), { mode: 0o600 });
      writeFileSync(join(dir, 'two.conf'), env.sites.config(CLUSTER_ID), { mode: 0o600 });
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
    await env.ctl.stop();
    env.ctl = await startController(env.sites.config(CLUSTER_ID));
    await env.ctl.handle.warmedUp;
    const victim = (await createIn(env.ctl, 'pvc-delete-after-restart', env.sites.b, both())).volume.volume_id;
    await env.ctl.stop();
    env.ctl = await startController(env.sites.config(CLUSTER_ID));
    await env.ctl.handle.warmedUp;
    const [inA, inB] = await requestsDuring(both(), () => env.ctl.csi.call('DeleteVolume', { volume_id: victim }));
    expect((await cnsVolumes(env.sites.b)).has(victim)).toBe(false);
    // Found by asking both vCenters (one query each), then deleted in B.
    expect(inA['/vsanHealth CnsQueryVolume']).toBe(1);
    expect(inB['/vsanHealth CnsQueryVolume']).toBe(1);
    expect(inB['/vsanHealth CnsDeleteVolume']).toBe(1);
    expect(inA['/vsanHealth CnsDeleteVolume']).toBeUndefined();
    // Deleting it again: gone everywhere is success.
    await env.ctl.csi.call('DeleteVolume', { volume_id: victim });
    const [getA, getB] = await requestsDuring(both(), () => env.ctl.csi.call('ControllerGetVolume', { volume_id: vol.b }));
    expect(getA['/vsanHealth CnsQueryVolume']).toBe(1);
    expect(getB['/vsanHealth CnsQueryVolume']).toBe(1);
    // Found once, remembered: the next call asks B alone.
    const [againA, againB] = await requestsDuring(both(), () => env.ctl.csi.call('ControllerGetVolume', { volume_id: vol.b }));
    expect(againA).toEqual({});
    expect(againB['/vsanHealth CnsQueryVolume']).toBe(1);
  }, 60_000);

  test('vCenter B stopped: zone A provisioning goes on, Probe stays ready, errors and metrics name vCenter B', async () => {
    const b = env.sites.b.vcenter;
    await env.sites.b.world.sim.stop();
    expect((await env.ctl.identity.call<{ ready: { value: boolean } }>('Probe', {})).ready.value).toBe(true);

    const inZoneA = await createIn(env.ctl, 'pvc-zone-a-while-b-is-down', env.sites.a, both());
    expect((await cnsVolumes(env.sites.a)).has(inZoneA.volume.volume_id)).toBe(true);
    await publish(env.ctl, inZoneA.volume.volume_id, nodeOf(env.sites.a, 2).biosUuid!);

    const zoneB = await errorOf(createIn(env.ctl, 'pvc-zone-b-while-b-is-down', env.sites.b, both()));
    expect(zoneB.code).toBe(status.UNAVAILABLE);
    expect(zoneB.details).toContain(`vCenter ${b}`);
    const getB = await errorOf(env.ctl.csi.call('ControllerGetVolume', { volume_id: vol.b }));
    expect(getB.code).toBe(status.UNAVAILABLE);
    expect(getB.details).toContain(`vCenter ${b}`);
    // A volume of vCenter A still answers, and so does zone A's capacity; zone B's names B.
    await env.ctl.csi.call('ControllerGetVolume', { volume_id: vol.a });
    const capA = await env.ctl.csi.call<{ available_capacity: string }>('GetCapacity', { accessible_topology: { segments: segmentOf(env.sites.a) } });
    expect(BigInt(capA.available_capacity)).toBeGreaterThan(0n);
    const capB = await errorOf(env.ctl.csi.call('GetCapacity', { accessible_topology: { segments: segmentOf(env.sites.b) } }));
    expect(capB.code).toBe(status.UNAVAILABLE);
    expect(capB.details).toContain(`vCenter ${b}`);
    const list = await errorOf(env.ctl.csi.call('ListVolumes', {}));
    expect(list.code).toBe(status.UNAVAILABLE);
    expect(list.details).toContain(b);

    const metrics = await env.ctl.registry.metrics();
    expect(metrics).toContain(`vsphere_csi_vcenter_up{vcenter="${b}"} 0`);
    expect(metrics).toContain(`vsphere_csi_vcenter_up{vcenter="${env.sites.a.vcenter}"} 1`);
    expect(metrics).toMatch(new RegExp(`vsphere_csi_vcenter_requests_total\\{vcenter="${b.replace(/\./g, '\\.')}",[^}]*outcome="error"\\} [1-9]`));
    const down = env.ctl.logs.filter((l) => l.vcenter === b && String(l.msg).includes('is down'));
    expect(down.length).toBeGreaterThanOrEqual(1);
    expect(down[0]!.level).toBe('warn');
  }, 60_000);
});
