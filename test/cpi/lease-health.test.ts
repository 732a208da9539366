/**
 * The compiled CPI as a process whose Lease is refused (RBAC 403): it warns
 * once with the cause and the fix, /healthz (the DaemonSet's readiness
 * probe) answers 503 "not leading: cannot read the Lease ...", and /metrics
 * counts the failures; once the API allows the Lease it leads, and both
 * turn healthy.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { simCsiConfig } from '../../src/harness/sim-config.js';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { builtMain } from '../support/built-main.js';
import { parseMetrics, spawnDriver, type DriverProcess } from '../faults/driver-process.js';

let sim: Vcsim;
let kube: KubeApiServer;
let dir: string;
let cpi: DriverProcess | undefined;

beforeAll(async () => {
  sim = await startVcsim();
  kube = await startKubeApiServer();
  dir = mkdtempSync(join(tmpdir(), 'cpi-lease-'));
}, 120_000);

afterAll(async () => {
  await cpi?.stop();
  await kube?.stop();
  await sim?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function get(port: string, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

test('a CPI that cannot read its Lease is not ready, says why, and counts it; it recovers when allowed', async () => {
  const config = join(dir, 'csi-vsphere.conf');
  writeFileSync(config, simCsiConfig(sim, { clusterId: 'lease-health' }));
  kube.setFault((r) => (r.path.includes('/leases/') ? 403 : undefined));
  cpi = spawnDriver(builtMain(), ['cpi', '--cloud-config', config, '--kubeconfig', kube.writeKubeconfig(dir)], {
    POD_NAMESPACE: 'kube-system', CPI_LEASE_DURATION_SECONDS: '3', X_CSI_METRICS_PORT: '0',
  });
  const port = (await cpi.waitForOutput(/"port":(\d+),"msg":"metrics at \/metrics"/))[1]!;
  // Several refused attempts (retry every 0.4 s), one warning.
  for (let i = 0; i < 100 && (parseMetrics((await get(port, '/metrics')).body).get('vsphere_cpi_lease_failures_total{operation="read",reason="forbidden"}') ?? 0) < 4; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const metrics = parseMetrics((await get(port, '/metrics')).body);
  expect(metrics.get('vsphere_cpi_lease_failures_total{operation="read",reason="forbidden"}')).toBeGreaterThanOrEqual(4);
  expect(metrics.get('vsphere_cpi_lease_reachable')).toBe(0);
  expect(metrics.get('vsphere_cpi_leader')).toBe(0);
  const warned = cpi.output().split('\n').filter((l) => l.includes('"level":"warn"') && l.includes('cannot read the Lease'));
  expect(warned).toHaveLength(1);
  expect(warned[0]).toContain("grant the CPI's ServiceAccount get, create and update on leases.coordination.k8s.io in namespace kube-system");
  const sick = await get(port, '/healthz');
  expect(sick.status).toBe(503);
  expect(sick.body).toMatch(/^not leading: cannot read the Lease kube-system\/vsphere-cpi \(forbidden\): .*grant the CPI's ServiceAccount/);

  kube.setFault(undefined);
  await cpi.waitForOutput(/"msg":"became leader"/, 15_000);
  const healthy = await get(port, '/healthz');
  expect(healthy).toEqual({ status: 200, body: 'leading: holds the Lease kube-system/vsphere-cpi\n' });
  const after = parseMetrics((await get(port, '/metrics')).body);
  expect([after.get('vsphere_cpi_lease_reachable'), after.get('vsphere_cpi_leader')]).toEqual([1, 1]);
  expect(cpi.output()).toContain('the Lease kube-system/vsphere-cpi is reachable again');
  expect((await cpi.stop()).code).toBe(0);
  cpi = undefined;
}, 90_000);
