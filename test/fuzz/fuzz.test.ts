/**
 * Bad input: thousands of generated malformed and hostile requests to every
 * RPC of the controller and node modes, run as real processes of the
 * compiled driver, over their real sockets. Asserts that every answer is a
 * gRPC status from the RPC's documented set, that the processes survive
 * (same PID, Identity answers, RSS/fds stable, locks released: valid calls
 * work afterwards), that every request body the vCenter simulator received
 * is well-formed XML (no unescaped metacharacter), and that only requests
 * answered OK created CNS volumes.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { XMLValidator } from 'fast-xml-parser';
import { createCsiClient, type CsiClient } from '../../src/csi/client.js';
import type { CsiServiceName } from '../../src/csi/proto.js';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import type { VsphereClient } from '../../src/vsphere/api.js';
import { createVsphereClient } from '../../src/vsphere/client.js';
import { compiledMain } from '../faults/compiled.js';
import { controllerConfig, procStats, spawnDriver, waitReady, type DriverProcess } from '../faults/driver-process.js';
import { CONTROLLER_REQUESTS, IDENTITY_REQUESTS, NODE_REQUESTS, seeded, type FuzzContext, type RequestGen, type Rng } from './generator.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const CONTROLLER_CALLS = 1800;
const NODE_CALLS = 1200;
const CONCURRENCY = 16;
const MOUNT_RWO = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

const S = grpc.status;
const COMMON = [S.OK, S.INVALID_ARGUMENT, S.ABORTED];
/** The codes each RPC may answer, from the CSI spec's error tables plus what this driver documents. */
const ALLOWED: Record<string, readonly grpc.status[]> = {
  CreateVolume: [...COMMON, S.ALREADY_EXISTS, S.OUT_OF_RANGE, S.RESOURCE_EXHAUSTED, S.NOT_FOUND],
  DeleteVolume: [...COMMON, S.FAILED_PRECONDITION],
  ControllerPublishVolume: [...COMMON, S.NOT_FOUND, S.ALREADY_EXISTS, S.FAILED_PRECONDITION, S.RESOURCE_EXHAUSTED],
  ControllerUnpublishVolume: [...COMMON, S.NOT_FOUND],
  ValidateVolumeCapabilities: [...COMMON, S.NOT_FOUND],
  ListVolumes: [...COMMON],
  GetCapacity: [...COMMON, S.RESOURCE_EXHAUSTED],
  ControllerGetCapabilities: [S.OK],
  ControllerExpandVolume: [...COMMON, S.NOT_FOUND, S.OUT_OF_RANGE, S.FAILED_PRECONDITION, S.RESOURCE_EXHAUSTED],
  ControllerGetVolume: [...COMMON, S.NOT_FOUND],
  // UNIMPLEMENTED: a vCenter older than the CNS API; FAILED_PRECONDITION: the volume's datastore is not accessible.
  ControllerModifyVolume: [...COMMON, S.NOT_FOUND, S.FAILED_PRECONDITION, S.UNIMPLEMENTED],
  // Snapshots: NOT_FOUND for an unknown source volume, ALREADY_EXISTS for a name on another volume,
  // FAILED_PRECONDITION at the per-volume limit, UNIMPLEMENTED on a vCenter older than 7.0 U3.
  CreateSnapshot: [...COMMON, S.NOT_FOUND, S.ALREADY_EXISTS, S.FAILED_PRECONDITION, S.UNIMPLEMENTED],
  DeleteSnapshot: [...COMMON, S.UNIMPLEMENTED],
  ListSnapshots: [...COMMON, S.UNIMPLEMENTED],
  GetSnapshot: [...COMMON, S.NOT_FOUND, S.UNIMPLEMENTED],
  NodeStageVolume: [...COMMON, S.NOT_FOUND, S.ALREADY_EXISTS, S.FAILED_PRECONDITION],
  NodeUnstageVolume: [...COMMON, S.NOT_FOUND, S.FAILED_PRECONDITION],
  NodePublishVolume: [...COMMON, S.NOT_FOUND, S.ALREADY_EXISTS, S.FAILED_PRECONDITION],
  NodeUnpublishVolume: [...COMMON, S.NOT_FOUND, S.FAILED_PRECONDITION],
  NodeGetVolumeStats: [...COMMON, S.NOT_FOUND],
  NodeExpandVolume: [...COMMON, S.NOT_FOUND, S.OUT_OF_RANGE, S.FAILED_PRECONDITION],
  NodeGetCapabilities: [S.OK],
  NodeGetInfo: [S.OK],
  GetPluginInfo: [S.OK],
  GetPluginCapabilities: [S.OK],
  Probe: [S.OK],
};

interface Outcome {
  service: CsiServiceName;
  method: string;
  index: number;
  code: grpc.status | 'client-rejected';
  details: string;
  name?: string;
}

let main: string;
let work: string;
let sim: Vcsim;
let admin: VsphereClient;
let controller: DriverProcess;
let node: DriverProcess;
let controllerCsi: CsiClient;
let nodeCsi: CsiClient;
let ctx: FuzzContext;

beforeAll(async () => {
  [main, sim] = await Promise.all([compiledMain(), startVcsim({ clusters: 1, hostsPerCluster: 2, vmsPerPool: 2, standaloneHosts: 0, record: true })]);
  work = mkdtempSync(join(tmpdir(), 'fuzz-'));
  admin = createVsphereClient({ host: sim.hostname, port: sim.port, user: sim.username, password: sim.password, insecure: true });
  const vms = await admin.inventory.vms();
  for (const vm of vms) await admin.inventory.setExtraConfig(vm.ref, { 'disk.EnableUUID': 'TRUE' });
  const root = join(work, 'scratch');
  for (const d of ['scratch/staging', 'scratch/target-0', 'scratch/target-1', 'by-id', 'dmi']) mkdirSync(join(work, d), { recursive: true });
  writeFileSync(join(work, 'dmi', 'product_serial'), 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6\n');
  writeFileSync(join(work, 'csi-vsphere.conf'), controllerConfig(sim, 'fuzz'), { mode: 0o600 });
  ctx = { nodeId: vms[0]!.biosUuid!, root };
  const cEndpoint = `unix://${join(work, 'controller.sock')}`;
  const nEndpoint = `unix://${join(work, 'node.sock')}`;
  controller = spawnDriver(main, ['controller', '--endpoint', cEndpoint, '--config', join(work, 'csi-vsphere.conf')], { LOG_LEVEL: 'warn' });
  node = spawnDriver(main, ['node', '--endpoint', nEndpoint, '--node-name', 'fuzz-node', '--device-dir', join(work, 'by-id'), '--dmi-dir', join(work, 'dmi'), '--kubelet-root-dir', join(work, 'scratch'), '--config', join(work, 'none.conf')], {
    LOG_LEVEL: 'warn',
  });
  await Promise.all([waitReady(cEndpoint, controller), waitReady(nEndpoint, node)]);
  controllerCsi = createCsiClient(cEndpoint);
  nodeCsi = createCsiClient(nEndpoint);
}, 300_000);

afterAll(async () => {
  controllerCsi?.close();
  nodeCsi?.close();
  await controller?.stop(5_000);
  await node?.stop(5_000);
  await admin?.close().catch(() => undefined);
  await sim?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function send(client: CsiClient, service: CsiServiceName, method: string, request: Record<string, unknown>, index: number): Promise<Outcome> {
  try {
    await client.call(service, method, request, { timeoutMs: 60_000 });
    return { service, method, index, code: S.OK, details: '', name: typeof request.name === 'string' ? request.name : undefined };
  } catch (err) {
    const e = err as grpc.ServiceError;
    // protobuf.js refusing to encode a value (e.g. an int64 it cannot parse) never reaches the server.
    if (e.code === S.INTERNAL && /serializ/i.test(e.details ?? '')) return { service, method, index, code: 'client-rejected', details: e.details };
    return { service, method, index, code: e.code, details: (e.details ?? '').slice(0, 300) };
  }
}

/** `count` generated requests over `client` with bounded concurrency; Identity calls are mixed in. */
async function fuzz(client: CsiClient, service: CsiServiceName, gens: Record<string, RequestGen>, count: number, rng: Rng): Promise<Outcome[]> {
  const methods = Object.keys(gens);
  const jobs: Array<() => Promise<Outcome>> = [];
  for (let i = 0; i < count; i++) {
    const identity = rng() < 0.05;
    const method = identity ? Object.keys(IDENTITY_REQUESTS)[i % 3]! : methods[Math.floor(rng() * methods.length)]!;
    const request = identity ? {} : gens[method]!(rng, ctx);
    jobs.push(() => send(client, identity ? 'Identity' : service, method, request, i));
  }
  const out: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < jobs.length) out.push(await jobs[next++]!());
    }),
  );
  return out;
}

function table(outcomes: Outcome[]): string {
  const rows = new Map<string, Map<string, number>>();
  for (const o of outcomes) {
    const row = rows.get(o.method) ?? new Map<string, number>();
    const code = o.code === 'client-rejected' ? o.code : S[o.code];
    row.set(code, (row.get(code) ?? 0) + 1);
    rows.set(o.method, row);
  }
  return [...rows].map(([m, r]) => `${m.padEnd(28)} ${[...r].map(([c, n]) => `${c}=${n}`).join(' ')}`).join('\n');
}

function unexpected(outcomes: Outcome[]): string[] {
  return outcomes
    .filter((o) => o.code !== 'client-rejected' && !ALLOWED[o.method]!.includes(o.code))
    .map((o) => `seed ${SEED} #${o.index} ${o.method} → ${S[o.code as grpc.status]}: ${o.details}`);
}

describe(`fuzz (seed ${SEED})`, () => {
  test('controller: documented codes only, no crash, no leak, XML escaped, volumes only from OK creates', async () => {
    const volumesBefore = (await admin.cns.queryAllVolumes({})).length;
    // Warm-up, so the leak baseline includes caches and connection pools.
    await fuzz(controllerCsi, 'Controller', CONTROLLER_REQUESTS, 200, seeded(SEED + 1));
    const warm = procStats(controller.pid);
    const outcomes = await fuzz(controllerCsi, 'Controller', CONTROLLER_REQUESTS, CONTROLLER_CALLS, seeded(SEED));
    const after = procStats(controller.pid);
    process.stdout.write(`controller fuzz: ${outcomes.length} calls; RSS ${warm.rssKiB} → ${after.rssKiB} KiB, fds ${warm.fds} → ${after.fds}\n${table(outcomes)}\n`);

    expect(unexpected(outcomes)).toEqual([]);
    expect(outcomes.filter((o) => o.code !== 'client-rejected').length).toBeGreaterThan(CONTROLLER_CALLS * 0.9);
    // Same process, still serving, not leaking.
    expect(controller.child.exitCode).toBeNull();
    expect((await controllerCsi.call<{ name: string }>('Identity', 'GetPluginInfo', {})).name).toBe('csi.vsphere.vmware.com');
    expect(after.fds).toBeLessThanOrEqual(warm.fds + 10);
    expect(after.rssKiB).toBeLessThan(warm.rssKiB * 1.5 + 100 * 1024);
    // Locks released: a valid create/delete of a name the fuzz also used works.
    const ok = await controllerCsi.call<{ volume: { volume_id: string } }>('Controller', 'CreateVolume', { name: 'pvc-fuzz-ünï-0', volume_capabilities: [MOUNT_RWO] });
    const okNames = new Set(outcomes.filter((o) => o.method === 'CreateVolume' && o.code === S.OK).map((o) => o.name));
    okNames.add('pvc-fuzz-ünï-0');

    // Nothing reached vCenter unescaped: every recorded body is well-formed XML (REST bodies are JSON).
    const bodies = await sim.bodies();
    const bad = bodies.filter((b) => b.trimStart().startsWith('<') && XMLValidator.validate(b) !== true);
    expect(bad.map((b) => b.slice(0, 300))).toEqual([]);
    // ...and metacharacters did reach it, escaped (the check above is not vacuous).
    expect(okNames).toContain(`pvc-fuzz-<>&"'`);
    expect(bodies.some((b) => b.includes('pvc-fuzz-&lt;&gt;&amp;'))).toBe(true);

    // Only creates answered OK made volumes (one per distinct name).
    const volumes = await admin.cns.queryAllVolumes({});
    expect(volumes.length - volumesBefore).toBe(okNames.size);
    expect(new Set(volumes.map((v) => v.name))).toEqual(okNames);
    await controllerCsi.call('Controller', 'DeleteVolume', { volume_id: ok.volume.volume_id });
  }, 180_000);

  test('node: documented codes only, no crash, no leak, no mount made', async () => {
    await fuzz(nodeCsi, 'Node', NODE_REQUESTS, 100, seeded(SEED + 2));
    const warm = procStats(node.pid);
    const outcomes = await fuzz(nodeCsi, 'Node', NODE_REQUESTS, NODE_CALLS, seeded(SEED + 3));
    const after = procStats(node.pid);
    process.stdout.write(`node fuzz: ${outcomes.length} calls; RSS ${warm.rssKiB} → ${after.rssKiB} KiB, fds ${warm.fds} → ${after.fds}\n${table(outcomes)}\n`);

    if (unexpected(outcomes).length > 0) {
      process.stdout.write(`node log, errors:\n${node.output().split('\n').filter((l) => l.includes('INTERNAL')).slice(0, 10).join('\n').slice(0, 8000)}\n`);
    }
    expect(unexpected(outcomes)).toEqual([]);
    expect(node.child.exitCode).toBeNull();
    expect((await nodeCsi.call<{ name: string }>('Identity', 'GetPluginInfo', {})).name).toBe('csi.vsphere.vmware.com');
    expect(after.fds).toBeLessThanOrEqual(warm.fds + 10);
    expect(after.rssKiB).toBeLessThan(warm.rssKiB * 1.5 + 100 * 1024);
    // Locks released: a valid unpublish of a path the fuzz used answers OK.
    await nodeCsi.call('Node', 'NodeUnpublishVolume', { volume_id: 'fuzz-vol', target_path: join(ctx.root, 'target-0') });
    const { readFileSync } = await import('node:fs');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(work);
    // A real mount point outside the kubelet root is refused, not unmounted.
    // (Other suites mount and unmount in parallel, so look at these mount points only.)
    const mountPoints = (): Set<string> => new Set(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? ''));
    const outside = ['/proc', '/dev/shm', '/dev'].filter((p) => mountPoints().has(p));
    expect(outside.length).toBeGreaterThan(0);
    for (const target of [...outside, join(ctx.root, '..', '..', 'x')]) {
      const err = await nodeCsi.call('Node', 'NodeUnpublishVolume', { volume_id: 'fuzz-vol', target_path: target }).then(() => undefined, (e: { code?: number }) => e);
      expect(err?.code).toBe(3); // INVALID_ARGUMENT
    }
    for (const p of outside) expect(mountPoints().has(p)).toBe(true);
  }, 180_000);
});
