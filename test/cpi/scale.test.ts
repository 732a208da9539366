/**
 * Many pending nodes are initialized with a number of vCenter requests that
 * does not grow with the node count: one bulk VM retrieval, one ancestors
 * retrieval and one attached-tags call per batch, whatever N is. Prints
 * requests and wall time for 1, 50 and 200 nodes (figures, not assertions).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startKubeApiServer } from '../../src/harness/kube-apiserver.js';
import { CpiController } from '../../src/cpi/controller.js';
import type { VmInfo } from '../../src/vsphere/api.js';
import { eachLimited, hasUninitTaint, newClient, pendingNode, setGuest, startTaggedSim, waitFor, type TaggedSim } from './helpers.js';

let env: TaggedSim;
let vms: VmInfo[] = [];

beforeAll(async () => {
  env = await startTaggedSim(100); // 1 cluster pool + 1 standalone pool → 200 VMs
  vms = env.vms.filter((v) => v.biosUuid).slice(0, 200);
  await eachLimited(vms, 8, (vm, i) => setGuest(env.admin, vm.ref, `scale-${i}`, `10.30.${Math.floor(i / 250)}.${(i % 250) + 1}`));
}, 300000);

afterAll(async () => {
  await env?.admin.close().catch(() => undefined);
  await env?.sim.stop();
});

interface Run {
  nodes: number;
  vcenterRequests: number;
  byMethod: Record<string, number>;
  wallMs: number;
  kubeRequests: number;
  batches: number;
  split: string;
  /** vCenter requests of one full resync right after initialization (caches warm). */
  resyncRequests: number;
}

async function initialize(n: number): Promise<Run> {
  const kube = await startKubeApiServer();
  const client = newClient(env.sim);
  const controller = new CpiController({
    kubeConfig: kube.kubeConfig(),
    vcenters: [client],
    labels: { zone: 'k8s-zone', region: 'k8s-region', topologyCategories: [] },
    batchWindowMs: 50,
  });
  try {
    for (let i = 0; i < n; i++) kube.put(pendingNode(`scale-${i}`, vms[i]!.biosUuid));
    await env.sim.resetRequests();
    kube.resetRequests();
    const started = performance.now();
    await controller.start();
    await waitFor(() => kube.list('Node').every((node) => !hasUninitTaint(node as never)), `${n} nodes initialized`, 120000);
    const wallMs = performance.now() - started;
    const counts = await env.sim.requests();
    const kubeRequests = kube.requests().length;
    const { batches, lastBatch } = controller.stats();
    await controller.idle();
    await env.sim.resetRequests();
    controller.resync();
    await controller.idle();
    const resync = await env.sim.requests();
    return { nodes: n, vcenterRequests: counts.total, byMethod: counts.byMethod, wallMs, kubeRequests, batches, split: `${lastBatch?.resolveMs} ms vCenter + ${lastBatch?.writeMs} ms Kubernetes writes`, resyncRequests: resync.total };
  } finally {
    await controller.stop();
    await client.close().catch(() => undefined);
    await kube.stop();
  }
}

test('1, 50 and 200 pending nodes: vCenter requests do not grow with N', async () => {
  const rssBefore = process.memoryUsage().rss;
  const runs: Run[] = [];
  for (const n of [1, 50, 200]) runs.push(await initialize(n));
  const rssAfter = process.memoryUsage().rss;

  const table = runs
    .map((r) => `${String(r.nodes).padStart(5)} nodes | ${String(r.vcenterRequests).padStart(3)} vCenter requests | ${r.wallMs.toFixed(0).padStart(6)} ms | ${r.kubeRequests} kube requests | ${r.batches} batch(es): ${r.split} | resync: ${r.resyncRequests} vCenter requests`)
    .join('\n');
  // eslint-disable-next-line no-console
  console.log(
    `CPI initialization (fresh client: includes login)\n${table}\n` +
      `requests for 200 nodes by method: ${JSON.stringify(runs[2]!.byMethod)}\n` +
      `test process RSS: ${(rssBefore / 2 ** 20).toFixed(0)} MiB before, ${(rssAfter / 2 ** 20).toFixed(0)} MiB after`,
  );

  const [one, , many] = runs;
  // Flat in N: 200 nodes cost no more than a handful of requests beyond what 1 node costs.
  expect(many!.vcenterRequests).toBeLessThanOrEqual(one!.vcenterRequests + 3);
  // And nowhere near one search per node.
  expect(many!.vcenterRequests).toBeLessThan(30);
  // A resync with warm caches is one bulk VM retrieval (plus a continuation page at most).
  for (const r of runs) expect(r.resyncRequests).toBeLessThanOrEqual(2);
  expect(Object.keys(many!.byMethod).some((k) => /FindByUuid|FindByDnsName|FindByIp/.test(k))).toBe(false);
}, 300000);
