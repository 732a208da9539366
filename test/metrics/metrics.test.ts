/**
 * /metrics of the controller and node modes, run as real processes of the
 * compiled driver with --metrics-port: per-RPC counters and latency
 * histograms by code, RPCs in flight, and (controller) vCenter requests by
 * method checked against the simulator's own request log, and re-logins.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { createCsiClient, type CsiClient } from '../../src/csi/client.js';
import { GrpcCode } from '../../src/csi/errors.js';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { createVsphereClient } from '../../src/vsphere/client.js';
import { compiledMain } from '../faults/compiled.js';
import { controllerConfig, parseMetrics, spawnDriver, waitReady, type DriverProcess } from '../faults/driver-process.js';
import { simSessionKeys } from '../faults/sim-sessions.js';

const MOUNT_RWO = { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const ENDPOINT_OF_PATH: Record<string, string> = { '/sdk': 'vim25', '/vsanHealth': 'cns', '/pbm': 'pbm' };

let main: string;
let work: string;
const procs: DriverProcess[] = [];

beforeAll(async () => {
  main = await compiledMain();
  work = mkdtempSync(join(tmpdir(), 'metrics-test-'));
}, 300_000);

afterAll(async () => {
  for (const p of procs) await p.stop(5_000);
  if (work) rmSync(work, { recursive: true, force: true });
});

async function scrape(proc: DriverProcess): Promise<Map<string, number>> {
  const port = (await proc.waitForOutput(/"port":(\d+),"msg":"metrics at \/metrics"/))[1];
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return parseMetrics(await res.text());
}

async function failCode(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as ServiceError).code;
  }
}

const rpc = (method: string, code: string): string => `vsphere_csi_rpc_total{method="${method}",code="${code}"}`;
const rpcCount = (method: string, code: string): string => `vsphere_csi_rpc_duration_seconds_count{method="${method}",code="${code}"}`;

describe('controller /metrics', () => {
  let sim: Vcsim;
  let proc: DriverProcess;
  let csi: CsiClient;

  beforeAll(async () => {
    sim = await startVcsim({ clusters: 1, hostsPerCluster: 2, vmsPerPool: 1, standaloneHosts: 0 });
    const dir = join(work, 'controller');
    mkdirSync(dir);
    writeFileSync(join(dir, 'csi-vsphere.conf'), controllerConfig(sim, 'metrics'), { mode: 0o600 });
    const endpoint = `unix://${join(dir, 'csi.sock')}`;
    proc = spawnDriver(main, ['controller', '--endpoint', endpoint, '--config', join(dir, 'csi-vsphere.conf'), '--metrics-port', '0']);
    procs.push(proc);
    await waitReady(endpoint, proc);
    csi = createCsiClient(endpoint);
  }, 60_000);

  afterAll(async () => {
    csi?.close();
    await sim?.setHang(false).catch(() => undefined);
    await proc?.stop(5_000);
    await sim?.stop();
  });

  test('per-RPC counts and histograms by code, in-flight, vCenter requests by method, re-logins', async () => {
    await csi.call('Controller', 'CreateVolume', { name: 'pvc-m1', volume_capabilities: [MOUNT_RWO] });
    await csi.call('Controller', 'CreateVolume', { name: 'pvc-m2', volume_capabilities: [MOUNT_RWO] });
    await csi.call('Controller', 'CreateVolume', { name: 'pvc-m1', volume_capabilities: [MOUNT_RWO] });
    expect(await failCode(csi.call('Controller', 'CreateVolume', { name: '', volume_capabilities: [MOUNT_RWO] }))).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(await failCode(csi.call('Controller', 'CreateVolume', { name: 'pvc-m3' }))).toBe(GrpcCode.INVALID_ARGUMENT);
    await csi.call('Identity', 'GetPluginInfo', {});

    // Session ended by vCenter: the next call re-logs in (counted).
    const admin = createVsphereClient({ host: sim.hostname, port: sim.port, user: sim.username, password: sim.password, insecure: true });
    try {
      const adminKey = await admin.session.currentSessionKey();
      // The list also holds the reader session of simSessionKeys, gone by now (NotFound); the rest is the driver's.
      for (const key of (await simSessionKeys(sim)).filter((k) => k !== adminKey)) {
        await admin.session.terminateSessions([key]).catch((err: { faultType?: string }) => {
          if (err.faultType !== 'NotFound') throw err;
        });
      }
    } finally {
      await admin.close();
    }
    await csi.call('Controller', 'CreateVolume', { name: 'pvc-m4', volume_capabilities: [MOUNT_RWO] });

    // One call held in flight by a hung vCenter.
    await sim.setHang(true);
    const held = failCode(csi.call('Controller', 'CreateVolume', { name: 'pvc-held', volume_capabilities: [MOUNT_RWO] }, { timeoutMs: 20_000 }));
    await new Promise((r) => setTimeout(r, 500));
    const during = await scrape(proc);
    await sim.setHang(false);
    expect(await held).toBe('ok');
    expect(during.get('vsphere_csi_rpc_in_flight{method="CreateVolume"}')).toBe(1);

    const simCounts = await sim.requests();
    const m = await scrape(proc);
    expect(m.get(rpc('CreateVolume', 'OK'))).toBe(5);
    expect(m.get(rpc('CreateVolume', 'INVALID_ARGUMENT'))).toBe(2);
    expect(m.get(rpc('GetPluginInfo', 'OK'))).toBe(1);
    expect(m.get(rpcCount('CreateVolume', 'OK'))).toBe(5);
    expect(m.get(rpcCount('CreateVolume', 'INVALID_ARGUMENT'))).toBe(2);
    expect(m.get(`vsphere_csi_rpc_duration_seconds_bucket{le="+Inf",method="CreateVolume",code="OK"}`)).toBe(5);
    expect(m.get(rpc('Probe', 'OK'))).toBeGreaterThanOrEqual(1);
    expect(m.get('vsphere_csi_rpc_in_flight{method="CreateVolume"}')).toBe(0);
    expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(0);

    const vc = sim.hostname;
    expect(m.get(`vsphere_csi_vcenter_relogins_total{vcenter="${vc}"}`)).toBe(1);
    expect(m.get(`vsphere_csi_vcenter_sessions_created_total{vcenter="${vc}"}`)).toBe(2);
    // Every CNS request the simulator logged is counted by method (outcomes summed); the driver is its only CNS client.
    const byMethod = new Map<string, number>();
    for (const [key, value] of m) {
      const found = /^vsphere_csi_vcenter_requests_total\{vcenter="[^"]*",endpoint="([^"]+)",method="([^"]+)",outcome="[^"]+"\}$/.exec(key);
      if (found) byMethod.set(`${found[1]} ${found[2]}`, (byMethod.get(`${found[1]} ${found[2]}`) ?? 0) + value);
    }
    const cnsKeys = Object.keys(simCounts.byMethod).filter((k) => k.startsWith('/vsanHealth '));
    expect(cnsKeys).toContain('/vsanHealth CnsCreateVolume');
    for (const key of cnsKeys) {
      const [path, method] = key.split(' ') as [string, string];
      expect({ key, driver: byMethod.get(`${ENDPOINT_OF_PATH[path]} ${method}`) }).toEqual({ key, driver: simCounts.byMethod[key] });
    }
    expect(byMethod.get('cns CnsCreateVolume')).toBe(4);
    expect(m.get(`vsphere_csi_vcenter_request_duration_seconds_count{vcenter="${vc}",endpoint="cns",method="CnsCreateVolume"}`)).toBe(4);
    // The session the driver lost shows up as one NotAuthenticated fault.
    expect([...m.keys()].some((k) => k.startsWith('vsphere_csi_vcenter_requests_total') && k.includes('outcome="fault"'))).toBe(true);
  }, 60_000);
});

describe('node /metrics', () => {
  test('per-RPC counts by code; no vCenter metrics in node mode', async () => {
    const dir = join(work, 'node');
    mkdirSync(join(dir, 'by-id'), { recursive: true });
    mkdirSync(join(dir, 'dmi'));
    writeFileSync(join(dir, 'dmi', 'product_serial'), 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6\n');
    const endpoint = `unix://${join(dir, 'csi.sock')}`;
    const proc = spawnDriver(main, ['node', '--endpoint', endpoint, '--node-name', 'worker-1', '--device-dir', join(dir, 'by-id'), '--dmi-dir', join(dir, 'dmi'), '--kubelet-root-dir', dir, '--config', join(dir, 'none.conf')], {
      X_CSI_METRICS_PORT: '0',
    });
    procs.push(proc);
    await waitReady(endpoint, proc);
    const csi = createCsiClient(endpoint);
    try {
      await csi.call('Node', 'NodeGetInfo', {});
      await csi.call('Node', 'NodeGetCapabilities', {});
      await csi.call('Node', 'NodeGetCapabilities', {});
      expect(await failCode(csi.call('Node', 'NodeStageVolume', { volume_id: '' }))).toBe(GrpcCode.INVALID_ARGUMENT);
      expect(await failCode(csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'v1', target_path: 'relative/path' }))).toBe(GrpcCode.INVALID_ARGUMENT);
      expect(await failCode(csi.call('Controller', 'CreateVolume', { name: 'x' }))).toBe(GrpcCode.UNIMPLEMENTED);
      const m = await scrape(proc);
      expect(m.get(rpc('NodeGetInfo', 'OK'))).toBe(1);
      expect(m.get(rpc('NodeGetCapabilities', 'OK'))).toBe(2);
      expect(m.get(rpcCount('NodeGetCapabilities', 'OK'))).toBe(2);
      expect(m.get(rpc('NodeStageVolume', 'INVALID_ARGUMENT'))).toBe(1);
      expect(m.get(rpc('NodeUnpublishVolume', 'INVALID_ARGUMENT'))).toBe(1);
      expect(m.get(rpc('CreateVolume', 'UNIMPLEMENTED'))).toBe(1);
      expect([...m.keys()].some((k) => k.startsWith('vsphere_csi_vcenter_'))).toBe(false);
    } finally {
      csi.close();
      await proc.stop(5_000);
    }
  }, 60_000);
});
