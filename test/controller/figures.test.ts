/**
 * Figures for the report (printed, not timed assertions): vCenter requests
 * per operation in steady state, CreateVolume throughput at concurrency 1
 * and 32, and a 20-volume attach storm to one VM with and without batching.
 * The request-count bounds asserted are the design's budget per operation.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startWorld, stopWorld, serveController, type World, type Served, MOUNT_RWO, GiB } from './fixture.js';

let world: World;
let batched: Served;
let plain: Served;

beforeAll(async () => {
  world = await startWorld();
  batched = await serveController(world, { enabled: true, windowMs: 5, maxBatch: 32 });
  plain = await serveController(world, { enabled: false });
}, 60_000);

afterAll(async () => {
  await batched?.stop();
  await plain?.stop();
  await stopWorld(world);
});

async function measure<T>(fn: () => Promise<T>): Promise<{ value: T; requests: Record<string, number>; total: number; ms: number }> {
  await world.sim.resetRequests();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const r = await world.sim.requests();
  return { value, requests: r.byMethod, total: r.total, ms };
}

const create = (on: Served, name: string) =>
  on.csi.call<{ volume: { volume_id: string } }>('CreateVolume', { name, volume_capabilities: [MOUNT_RWO], capacity_range: { required_bytes: String(GiB) } });
const publish = (on: Served, volumeId: string, nodeId: string) =>
  on.csi.call('ControllerPublishVolume', { volume_id: volumeId, node_id: nodeId, volume_capability: MOUNT_RWO });
const unpublish = (on: Served, volumeId: string, nodeId: string) => on.csi.call('ControllerUnpublishVolume', { volume_id: volumeId, node_id: nodeId });

test('figures', async () => {
  const rows: string[] = [];
  const node = world.nodes[0]!.biosUuid!;
  // Warm up caches (session, inventory snapshot, node VM lookup) as a running controller has them.
  const warm = await create(plain, 'warm-0');
  await publish(plain, warm.volume.volume_id, node);
  await unpublish(plain, warm.volume.volume_id, node);

  const n = 10;
  const ids: string[] = [];
  const c = await measure(async () => {
    for (let i = 0; i < n; i++) ids.push((await create(plain, `steady-${i}`)).volume.volume_id);
  });
  const p = await measure(async () => {
    for (const id of ids) await publish(plain, id, node);
  });
  const u = await measure(async () => {
    for (const id of ids) await unpublish(plain, id, node);
  });
  const d = await measure(async () => {
    for (const id of ids) await plain.csi.call('DeleteVolume', { volume_id: id });
  });
  for (const [name, m] of [['create', c], ['publish', p], ['unpublish', u], ['delete', d]] as const) {
    rows.push(`${name.padEnd(10)} ${(m.total / n).toFixed(2)} requests/op  ${JSON.stringify(Object.fromEntries(Object.entries(m.requests).map(([k, v]) => [k, v / n])))}`);
  }
  // Budget: the request that starts the task, the WaitForUpdatesEx polls that carry its queued → running →
  // success steps (one to three, as the steps fall into update batches), and the one check each RPC needs
  // (create: the name lookup; publish: the volume check; delete: the CnsQuerySnapshots task that makes sure
  // the volume has no snapshots, with its own polls).
  expect(c.total / n).toBeLessThanOrEqual(5);
  expect(p.total / n).toBeLessThanOrEqual(5);
  expect(u.total / n).toBeLessThanOrEqual(4);
  expect(d.total / n).toBeLessThanOrEqual(7);

  // The floor in the same run: the same CNS calls made directly (name query + create), sequentially,
  // right before and after the driver's concurrency-1 run.
  const ds = (await world.client.inventory.datastores()).find((x) => x.url === world.sharedDatastoreUrl)!;
  let floorRun = 0;
  const floor = async () => {
    const run = floorRun++;
    const m = await measure(async () => {
      for (let i = 0; i < 24; i++) {
        await world.client.cns.queryVolumes({ names: [`floor-${run}-${i}`] });
        await world.client.cns.createVolume({ name: `floor-${run}-${i}`, capacityMb: 1024, datastores: [ds.ref], clusterId: 'floor', vSphereUser: world.sim.username });
      }
    });
    return m.ms / 24;
  };

  const floorMs: number[] = [];
  for (const concurrency of [1, 32]) {
    if (concurrency === 1) floorMs.push(await floor());
    const total = concurrency === 1 ? 32 : 64;
    let next = 0;
    const m = await measure(async () => {
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < total) await create(batched, `tput-${concurrency}-${next++}`);
        }),
      );
    });
    if (concurrency === 1) {
      floorMs.push(await floor());
      rows.push(`direct CNS floor (name query + create), concurrency 1: ${floorMs.map((f) => f.toFixed(1)).join(' / ')} ms/op (before / after)`);
    }
    rows.push(`creates at concurrency ${String(concurrency).padStart(2)}: ${((total / m.ms) * 1000).toFixed(0)}/s (${(m.ms / total).toFixed(1)} ms/op, ${m.requests['/vsanHealth CnsCreateVolume'] ?? 0} CnsCreateVolume calls)`);
  }

  for (const [label, on] of [['batching on ', batched], ['batching off', plain]] as const) {
    const vols: string[] = [];
    for (let i = 0; i < 20; i++) vols.push((await create(on, `storm-${label.trim()}-${i}`)).volume.volume_id);
    const storm = world.nodes[1]!.biosUuid!;
    const a = await measure(() => Promise.all(vols.map((v) => publish(on, v, storm))));
    const b = await measure(() => Promise.all(vols.map((v) => unpublish(on, v, storm))));
    rows.push(`  storm requests: ${JSON.stringify(a.requests)}`);
    rows.push(`attach storm 20 vols, ${label}: ${a.requests['/vsanHealth CnsAttachVolume'] ?? 0} CnsAttachVolume, ${a.total} requests, ${a.ms.toFixed(0)} ms; detach: ${b.requests['/vsanHealth CnsDetachVolume'] ?? 0} CnsDetachVolume, ${b.ms.toFixed(0)} ms`);
  }
  process.stdout.write(`\ncontroller figures (vCenter simulator)\n${rows.join('\n')}\n`);
}, 120_000);
