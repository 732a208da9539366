/**
 * The CPI and preflight over two vCenters (two simulators, src/harness/sites.ts):
 * the CPI mode, from a YAML config naming both with credentials in one
 * Secret, initializes the nodes of both, each with the zone and region tags
 * of its own vCenter (read from that vCenter's vAPI endpoint); preflight
 * runs every vCenter check per vCenter and says which vCenter failed.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { startSites, type Site, type Sites } from '../../src/harness/sites.js';
import { kubeletNode } from '../../src/demo/node-objects.js';
import { runCpiMode } from '../../src/cpi/mode.js';
import { runPreflight } from '../../src/preflight/run.js';
import { silentLogger } from '../../src/log.js';
import { hasUninitTaint, waitForNode } from '../cpi/helpers.js';

let sites: Sites;
let kube: KubeApiServer;
let dir: string;

beforeAll(async () => {
  sites = await startSites({ vmsPerSite: 2 });
  kube = await startKubeApiServer();
  dir = mkdtempSync(join(tmpdir(), 'multi-vc-cpi-'));
  // Every VM of both sites is a Kubernetes Node, named as its guest reports.
  for (const [site, prefix] of [[sites.a, 'site-a'], [sites.b, 'site-b']] as const) {
    site.world.vms.forEach((vm, i) => kube.put(kubeletNode(`${prefix}-node-${i}`, vm.biosUuid!)));
  }
}, 120_000);

afterAll(async () => {
  await kube?.stop();
  await sites?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

function cpiYaml(): string {
  const vcenter = (name: string, site: Site) => [
    `  ${name}:`,
    `    server: ${site.vcenter}`,
    `    port: ${site.world.sim.port}`,
    `    thumbprint: "${site.world.thumbprint}"`,
    '    datacenters:',
    '      - DC0',
  ];
  return [
    'global:',
    '  secretName: vsphere-cpi-creds',
    '  secretNamespace: kube-system',
    'vcenter:',
    ...vcenter('site-a', sites.a),
    ...vcenter('site-b', sites.b),
    'labels:',
    '  zone: k8s-zone',
    '  region: k8s-region',
    '',
  ].join('\n');
}

describe('CPI over two vCenters', () => {
  test('nodes of both vCenters get providerID, zone and region, each from its own vCenter\'s tags', async () => {
    const data: Record<string, string> = {};
    for (const site of [sites.a, sites.b]) {
      data[`${site.vcenter}.username`] = b64(site.world.sim.username);
      data[`${site.vcenter}.password`] = b64(site.world.sim.password);
    }
    kube.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vsphere-cpi-creds', namespace: 'kube-system' }, data } as never);
    const configPath = join(dir, 'vsphere.conf');
    writeFileSync(configPath, cpiYaml(), { mode: 0o600 });
    await Promise.all([sites.a.world.sim.resetRequests(), sites.b.world.sim.resetRequests()]);
    const handle = await runCpiMode(
      {
        mode: 'cpi', endpoint: '', configPath: '', cloudConfigPath: configPath, logLevel: 'silent', output: 'text', kubeconfig: kube.writeKubeconfig(dir),
        env: { CPI_LEADER_ELECT: 'false' }, metricsRegistry: new Registry(),
      },
      silentLogger,
    );
    try {
      for (const [site, prefix] of [[sites.a, 'site-a'], [sites.b, 'site-b']] as const) {
        for (const [i, vm] of site.world.vms.entries()) {
          const node = await waitForNode(kube, `${prefix}-node-${i}`, (n) => !!n && !hasUninitTaint(n) && !!n.spec?.providerID, 20_000);
          expect(node!.spec!.providerID).toBe(`vsphere://${vm.biosUuid}`);
          expect(node!.metadata!.labels).toMatchObject({
            'topology.kubernetes.io/zone': site.zone,
            'topology.kubernetes.io/region': site.region,
          });
        }
      }
      // Each vCenter's tag categories came from its own vAPI endpoint (zone-b and region-b exist in B only).
      const [inA, inB] = await Promise.all([sites.a.world.sim.requests(), sites.b.world.sim.requests()]);
      const vapi = (r: { byMethod: Record<string, number> }) => Object.entries(r.byMethod).filter(([k]) => k.includes('/rest/com/vmware/cis/tagging')).reduce((n, [, v]) => n + v, 0);
      expect(vapi(inA)).toBeGreaterThan(0);
      expect(vapi(inB)).toBeGreaterThan(0);
    } finally {
      await handle.close();
    }
  }, 60_000);
});

describe('preflight over two vCenters', () => {
  const configPath = () => join(dir, 'csi-vsphere.conf');
  const row = (report: Awaited<ReturnType<typeof runPreflight>>, name: string) => report.checks.find((c) => c.name === name);

  test('every vCenter check runs per vCenter, prefixed with its host; Nodes of both are matched', async () => {
    writeFileSync(configPath(), sites.config('preflight-two'), { mode: 0o600 });
    const report = await runPreflight({ configPath: configPath(), kubeconfig: kube.writeKubeconfig(dir), env: {}, callTimeoutMs: 10_000 });
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(row(report, 'kubernetes-nodes')?.status).toBe('pass');
    for (const site of [sites.a, sites.b]) {
      for (const check of ['vcenter-reachable', 'vcenter-tls', 'vcenter-login', 'disk-enable-uuid', 'tag-categories', 'node-topology-tags', 'shared-datastores']) {
        expect(row(report, `${site.vcenter}/${check}`)?.status).toBe('pass');
      }
    }
  }, 60_000);

  test('vCenter B stopped: its rows fail or skip, saying so; vCenter A\'s still pass', async () => {
    await sites.b.world.sim.stop();
    const report = await runPreflight({ configPath: configPath(), kubeconfig: kube.writeKubeconfig(dir), env: {}, callTimeoutMs: 5_000 });
    expect(report.ok).toBe(false);
    const b = sites.b.vcenter;
    expect(row(report, `${b}/vcenter-reachable`)).toMatchObject({ status: 'fail' });
    expect(row(report, `${b}/vcenter-reachable`)!.finding).toContain(`${b}:${sites.b.world.sim.port}`);
    expect(row(report, `${b}/vcenter-login`)?.status).toBe('skip');
    expect(row(report, `${sites.a.vcenter}/vcenter-login`)?.status).toBe('pass');
    expect(row(report, `${sites.a.vcenter}/shared-datastores`)?.status).toBe('pass');
    expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual([`${b}/vcenter-reachable`]);
  }, 60_000);
});
