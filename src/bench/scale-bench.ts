/**
 * `npm run bench -- --scale` (issue 16): the controller with 10,000 CNS
 * volumes and the CPI with 5,000 Nodes.
 *
 * - CreateVolume at 10 and at 10,000 volumes, same run, same controller:
 *   vCenter requests per create and p50 at concurrency 1 (the name lookup
 *   is a filtered query, so neither should move).
 * - ListVolumes: full passes in pages of 500 over 10,000 volumes (some of
 *   them attached to node VMs straight through CNS, so the published-nodes
 *   part reads real disks): controller CPU, wall time, RSS before and at its
 *   peak (sampled every 10 ms), CnsQueryVolume requests per page, VM-disk
 *   reads per pass. One more pass begun with a v2 token of the earlier
 *   release runs the old way (every volume read per page), for comparison.
 * The bulk volumes are made straight through CNS with the simulator's task
 * times at zero (untimed), then the times go back to the defaults.
 */
import type { CnsCreateSpec, MoRef, VsphereClient } from '../vsphere/api.js';
import { encodePageToken } from '../controller/paging.js';
import type { Cleanups } from './cleanups.js';
import { createVolume, deleteVolume } from './csi-calls.js';
import { startCsiMode, type BenchEnv, type Running } from './env.js';
import { measurePhase } from './measure.js';
import { cpuMs, rssMiB } from './proc.js';
import { assertClean, round2, runPool } from './stats.js';

export const SCALE_TARGETS = { listCpuSeconds: 10, listExtraRssMiB: 50 } as const;
const CLUSTER_ID = 'bench-cluster'; // env.ts writes the config with this cluster-id
const DEFAULT_TASKS = { queueMs: 2, runMs: 3 } as const;

export interface CreateAtSize {
  volumesInCns: number;
  creates: number;
  p50Ms: number;
  /** The same number of creates made directly (CnsCreateVolume + its task wait, no driver): what the simulator itself costs at this size. */
  floorP50Ms: number;
  requestsPerCreate: number;
  byMethodPerCreate: Record<string, number>;
}

export interface ListPass {
  kind: 'cursor (v3)' | 'legacy keyset (v2 token)';
  pages: number;
  entries: number;
  published: number;
  wallMs: number;
  controllerCpuMs: number;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  extraRssPeakMiB: number;
  cnsQueriesPerPage: number;
  vmDiskReads: number;
  requestsPerPage: number;
}

export interface ControllerScale {
  volumes: number;
  attached: number;
  pageSize: number;
  bulkCreateSeconds: number;
  createAt: CreateAtSize[];
  list: ListPass[];
  rssAfterMiB: number;
  targets: typeof SCALE_TARGETS;
}

async function createsAt(env: BenchEnv, ctl: Running, floor: VsphereClient, label: string, n: number): Promise<CreateAtSize> {
  const names = Array.from({ length: n }, (_, i) => `scale-${label}-${i}`);
  const ids: string[] = new Array<string>(n);
  const volumesInCns = (await env.world.sim.cnsCounts()).volumes;
  const phase = await measurePhase(env.world.sim, { phase: `create at ${label}`, items: names, concurrency: 1, call: async (name, i) => void (ids[i] = await createVolume(ctl.client, name)) });
  assertClean('deletes after the create figures', await runPool(ids, 8, (id) => deleteVolume(ctl.client, id)));
  const datastore = await sharedDatastore(env, floor);
  const direct = await measurePhase(env.world.sim, {
    phase: `floor create at ${label}`,
    items: names,
    concurrency: 1,
    call: async (name, i) => void (ids[i] = (await floor.cns.createVolume(bulkSpec(env, `${name}-floor`, datastore))).volumeId),
  });
  assertClean('deletes after the floor creates', await runPool(ids, 8, (id) => floor.cns.deleteVolume(id)));
  const byMethodPerCreate = Object.fromEntries(Object.entries(phase.byMethod).map(([k, v]) => [k, round2(v / n)]));
  return { volumesInCns, creates: n, p50Ms: phase.p50Ms, floorP50Ms: direct.p50Ms, requestsPerCreate: phase.requestsPerOp, byMethodPerCreate };
}

async function sharedDatastore(env: BenchEnv, floor: VsphereClient): Promise<MoRef> {
  const datastore = (await floor.inventory.datastores()).find((d) => d.url === env.world.sharedDatastoreUrl);
  if (!datastore) throw new Error('shared datastore not found');
  return datastore.ref;
}

/** A volume of the controller's cluster, as the driver would record it. */
function bulkSpec(env: BenchEnv, name: string, datastore: MoRef): CnsCreateSpec {
  return { name, capacityMb: 1024, datastores: [datastore], clusterId: CLUSTER_ID, vSphereUser: env.world.sim.username, clusterFlavor: 'VANILLA' };
}

/** Straight through CNS (the vsphere layer), untimed: what an estate built over years looks like. */
async function bulkCreate(env: BenchEnv, floor: VsphereClient, n: number, attach: number): Promise<string[]> {
  const datastore = await sharedDatastore(env, floor);
  const ids: string[] = new Array<string>(n);
  const names = Array.from({ length: n }, (_, i) => `pvc-bulk-${String(i).padStart(6, '0')}`);
  assertClean(
    'bulk creates',
    await runPool(names, 32, async (name, i) => {
      ids[i] = (await floor.cns.createVolume(bulkSpec(env, name, datastore))).volumeId;
    }),
  );
  // Attached straight through CNS too: only the VMs' disks know (the controller's own book does not).
  const vms = env.world.vms.slice(0, 16);
  const perVm = Math.ceil(attach / vms.length);
  await Promise.all(
    vms.map(async (vm, v) => {
      const specs = ids.slice(v * perVm, Math.min(attach, (v + 1) * perVm)).map((volumeId) => ({ volumeId, vm: vm.ref }));
      for (let i = 0; i < specs.length; i += 20) {
        for (const r of await floor.cns.attachVolumes(specs.slice(i, i + 20))) if (!r.ok) throw r.error;
      }
    }),
  );
  return ids;
}

interface Entry {
  status: { published_node_ids: string[] };
}

async function listPass(env: BenchEnv, ctl: Running, pageSize: number, legacy: boolean): Promise<ListPass> {
  const pid = ctl.proc.child.pid!;
  const rssBeforeMiB = rssMiB(pid);
  let rssPeakMiB = rssBeforeMiB;
  const sampler = setInterval(() => {
    rssPeakMiB = Math.max(rssPeakMiB, rssMiB(pid));
  }, 10);
  await env.world.sim.resetRequests();
  const cpuBefore = cpuMs(pid);
  const started = performance.now();
  let token = legacy ? encodePageToken(env.world.sim.hostname, '') : '';
  let pages = 0;
  let entries = 0;
  let published = 0;
  try {
    do {
      const page = await ctl.client.call<{ entries: Entry[]; next_token: string }>('Controller', 'ListVolumes', { max_entries: pageSize, starting_token: token }, { timeoutMs: 600_000 });
      pages++;
      entries += page.entries.length;
      published += page.entries.filter((e) => e.status.published_node_ids.length > 0).length;
      token = page.next_token;
    } while (token);
  } finally {
    clearInterval(sampler);
  }
  const wallMs = performance.now() - started;
  const controllerCpuMs = cpuMs(pid) - cpuBefore;
  rssPeakMiB = Math.max(rssPeakMiB, rssMiB(pid));
  const counts = await env.world.sim.requests();
  return {
    kind: legacy ? 'legacy keyset (v2 token)' : 'cursor (v3)',
    pages,
    entries,
    published,
    wallMs: round2(wallMs),
    controllerCpuMs: round2(controllerCpuMs),
    rssBeforeMiB,
    rssPeakMiB,
    extraRssPeakMiB: round2(rssPeakMiB - rssBeforeMiB),
    cnsQueriesPerPage: round2((counts.byMethod['/vsanHealth CnsQueryVolume'] ?? 0) / pages),
    vmDiskReads: counts.byMethod['/sdk RetrievePropertiesEx'] ?? 0,
    requestsPerPage: round2(counts.total / pages),
  };
}

export interface ScaleOptions {
  volumes: number;
  attached: number;
  pageSize: number;
  creates: number;
  cursorPasses: number;
  legacyPass: boolean;
}

export async function controllerScale(env: BenchEnv, floor: VsphereClient, opts: ScaleOptions, cleanups: Cleanups, progress: (l: string) => void): Promise<ControllerScale> {
  const ctl = await startCsiMode(env, 'controller', {}, cleanups);
  try {
    const base = 10;
    progress(`scale: ${base} volumes, then ${opts.creates} CreateVolume at concurrency 1`);
    const baseIds: string[] = [];
    for (let i = 0; i < base; i++) baseIds.push(await createVolume(ctl.client, `scale-base-${i}`));
    // Warm the path first (JIT, session, inventory), as the default run does.
    await createsAt(env, ctl, floor, 'warm', 10);
    const at10 = await createsAt(env, ctl, floor, String(base), opts.creates);

    progress(`scale: ${opts.volumes - base} more volumes straight through CNS (untimed, task times 0), ${opts.attached} of them attached`);
    await env.world.sim.setCnsTiming(0, 0);
    const bulkStarted = performance.now();
    try {
      await bulkCreate(env, floor, opts.volumes - base, opts.attached);
    } finally {
      await env.world.sim.setCnsTiming(DEFAULT_TASKS.queueMs, DEFAULT_TASKS.runMs);
    }
    const bulkCreateSeconds = round2((performance.now() - bulkStarted) / 1000);
    const volumes = (await env.world.sim.cnsCounts()).volumes;

    progress(`scale: ${opts.creates} CreateVolume at ${volumes} volumes`);
    const atScale = await createsAt(env, ctl, floor, String(volumes), opts.creates);

    const list: ListPass[] = [];
    for (let i = 0; i < opts.cursorPasses; i++) {
      progress(`scale: ListVolumes pass ${i + 1} in pages of ${opts.pageSize}`);
      list.push(await listPass(env, ctl, opts.pageSize, false));
    }
    if (opts.legacyPass) {
      progress(`scale: ListVolumes pass begun with a v2 token (every volume read per page, as before)`);
      list.push(await listPass(env, ctl, opts.pageSize, true));
    }
    return { volumes, attached: opts.attached, pageSize: opts.pageSize, bulkCreateSeconds, createAt: [at10, atScale], list, rssAfterMiB: rssMiB(ctl.proc.child.pid!), targets: SCALE_TARGETS };
  } finally {
    await ctl.stop();
  }
}

export function formatControllerScale(s: ControllerScale): string[] {
  const met = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const out = [`Controller at scale: ${s.volumes} CNS volumes (${s.attached} attached to node VMs straight through CNS; bulk made in ${s.bulkCreateSeconds} s, untimed)`];
  for (const c of s.createAt) {
    out.push(`  CreateVolume at ${c.volumesInCns} volumes: p50 ${c.p50Ms} ms (direct CnsCreateVolume + wait: ${c.floorP50Ms} ms), ${c.requestsPerCreate} vCenter requests/create ${JSON.stringify(c.byMethodPerCreate)} (${c.creates} creates, concurrency 1)`);
  }
  for (const p of s.list) {
    const cursor = p.kind === 'cursor (v3)';
    const cpu = cursor ? ` (target ≤ ${s.targets.listCpuSeconds * 1000}: ${met(p.controllerCpuMs <= s.targets.listCpuSeconds * 1000)})` : '';
    const rss = cursor ? ` (target ≤ ${s.targets.listExtraRssMiB}: ${met(p.extraRssPeakMiB <= s.targets.listExtraRssMiB)})` : '';
    out.push(
      `  ListVolumes ${p.kind}, pages of ${s.pageSize}: ${p.pages} pages, ${p.entries} entries (${p.published} published), ${p.wallMs} ms, controller CPU ${p.controllerCpuMs} ms${cpu}, ` +
        `RSS ${p.rssBeforeMiB} → peak ${p.rssPeakMiB} (+${p.extraRssPeakMiB})${rss}; CnsQueryVolume per page ${p.cnsQueriesPerPage}, VM-disk reads per pass ${p.vmDiskReads}, requests per page ${p.requestsPerPage}`,
    );
  }
  out.push(`  controller RSS after the scale run: ${s.rssAfterMiB} MiB`);
  return out;
}
