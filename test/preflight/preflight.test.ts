/**
 * Preflight against the vCenter simulator and the test Kubernetes API: a
 * good setup passes, and each broken setup fails exactly the check that
 * names its cause, with the fix. One world for the file; every mutation is
 * undone in `finally` so the tests stay independent.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RawVim } from '../../src/harness/vcsim-raw.js';
import { startVcsim, vcsimClient } from '../../src/harness/vcsim.js';
import { checkCns } from '../../src/preflight/cns.js';
import { ZONE_CATEGORY } from '../../src/harness/world.js';
import { kubeletNode } from '../../src/demo/node-objects.js';
import { runPreflightCli } from '../../src/preflight/cli.js';
import { runPreflight } from '../../src/preflight/run.js';
import type { CheckResult, PreflightReport } from '../../src/preflight/types.js';
import type { MoRef } from '../../src/vsphere/api.js';
import { builtMain } from '../support/built-main.js';
import { startPreflightFixture, type PreflightFixture } from './fixture.js';

let fx: PreflightFixture;

beforeAll(async () => {
  fx = await startPreflightFixture();
}, 90_000);

afterAll(async () => {
  await fx?.stop();
});

const statuses = (r: PreflightReport): Record<string, string> => Object.fromEntries(r.checks.map((c) => [c.name, c.status]));
const check = (r: PreflightReport, name: string): CheckResult => {
  const c = r.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no check ${name} in ${r.checks.map((x) => x.name).join(', ')}`);
  return c;
};
const failed = (r: PreflightReport): string[] => r.checks.filter((c) => c.status === 'fail').map((c) => c.name);

async function preflight(configName: string, options: Parameters<PreflightFixture['writeConfig']>[1] = {}): Promise<PreflightReport> {
  return runPreflight({ configPath: await fx.writeConfig(configName, options), kubeconfig: fx.kubeconfig, env: {}, callTimeoutMs: 10_000 });
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const GOOD = {
  config: 'pass',
  'kubernetes-nodes': 'pass',
  'vcenter-reachable': 'pass',
  'vcenter-tls': 'pass',
  'vcenter-login': 'pass',
  // The simulator grants every privilege, even a made-up one: not verifiable, so skipped (never a fake pass).
  'vcenter-privileges': 'skip',
  // CNS answers and the simulator reports vCenter 8.0.3 (API 8.0.3.0).
  cns: 'pass',
  // API 8.0.3.0 >= 7.0.3: the CNS snapshot methods are there.
  'cns-snapshots': 'pass',
  'disk-enable-uuid': 'pass',
  'tag-categories': 'pass',
  'node-topology-tags': 'pass',
  'shared-datastores': 'pass',
  // No StorageClass names a datastore cluster.
  'datastore-clusters': 'skip',
};

describe('good setup', () => {
  test('every check passes (or is honestly skipped/warned), all 4 Nodes matched in both byte orders and by providerID', async () => {
    const report = await preflight('good.conf');
    expect(statuses(report)).toEqual(GOOD);
    expect(report.ok).toBe(true);
    expect(check(report, 'kubernetes-nodes').finding).toContain('all 4 Nodes');
    expect(check(report, 'shared-datastores').finding).toMatch(/k8s-zone=zone-a: .*zone-a-ds.*k8s-zone=zone-b: .*zone-b-ds/);
    expect(check(report, 'vcenter-privileges').finding).toContain('nonexistent privilege');
    expect(check(report, 'cns-snapshots').finding).toContain('vCenter API 8.0.3.0 has the CNS snapshot methods');
  }, 60_000);

  test('every session it opens is logged out (vim25 Login = Logout, vAPI session created = deleted)', async () => {
    await fx.world.sim.resetRequests();
    await preflight('sessions.conf');
    const byMethod = (await fx.world.sim.requests()).byMethod;
    // One vim25 session for every check, the privilege query included.
    expect(byMethod['/sdk Login']).toBe(1);
    expect(byMethod['/sdk Logout']).toBe(byMethod['/sdk Login']);
    expect(byMethod['/sdk HasPrivilegeOnEntities']).toBeGreaterThanOrEqual(2);
    expect(byMethod['POST /rest/com/vmware/cis/session']).toBe(1);
    expect(byMethod['DELETE /rest/com/vmware/cis/session']).toBe(1);
  }, 60_000);

  test('the CLI entry prints JSON and exits 0', async () => {
    let out = '';
    const code = await runPreflightCli({ configPath: await fx.writeConfig('good-cli.conf'), kubeconfig: fx.kubeconfig, output: 'json' }, {}, (t) => (out += t));
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as PreflightReport;
    expect(parsed.ok).toBe(true);
    expect(parsed.checks.map((c) => c.name)).toEqual(Object.keys(GOOD));
  }, 60_000);

  test('without Kubernetes credentials it checks every VM of the datacenters and says so', async () => {
    const saved = { KUBECONFIG: process.env.KUBECONFIG, KUBERNETES_SERVICE_HOST: process.env.KUBERNETES_SERVICE_HOST, HOME: process.env.HOME };
    delete process.env.KUBECONFIG;
    delete process.env.KUBERNETES_SERVICE_HOST;
    process.env.HOME = fx.dir; // no ~/.kube/config there
    try {
      const report = await runPreflight({ configPath: await fx.writeConfig('no-kube.conf'), env: {} });
      expect(report.ok).toBe(true);
      expect(check(report, 'kubernetes-nodes').status).toBe('skip');
      expect(check(report, 'kubernetes-nodes').finding).toContain('no Kubernetes credentials');
      expect(check(report, 'disk-enable-uuid').finding).toContain('every VM in datacenter(s) DC0');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }, 60_000);

  test('an unreachable Kubernetes API is a warning, and every VM of the datacenters is checked instead', async () => {
    const port = await closedPort();
    const kubeconfig = join(fx.dir, 'dead-kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: dead, cluster: { server: "http://127.0.0.1:' + port + '", insecure-skip-tls-verify: true } }]',
        'users: [{ name: nobody, user: {} }]',
        'contexts: [{ name: dead, context: { cluster: dead, user: nobody } }]',
        'current-context: dead',
        '',
      ].join('\n'),
    );
    const report = await runPreflight({ configPath: await fx.writeConfig('dead-kube.conf'), kubeconfig, env: {}, callTimeoutMs: 10_000 });
    expect(report.ok).toBe(true);
    expect(check(report, 'kubernetes-nodes')).toMatchObject({ status: 'warn' });
    expect(check(report, 'kubernetes-nodes').finding).toContain(`cannot list Nodes at http://127.0.0.1:${port}`);
    expect(check(report, 'disk-enable-uuid').finding).toContain('every VM in datacenter(s) DC0');
  }, 60_000);

  test('two vCenters: the rows of each are prefixed with its host, and Nodes may live in either', async () => {
    const sim = fx.world.sim;
    const section = (host: string): string[] => [
      `[VirtualCenter "${host}"]`,
      `user = "${sim.username}"`,
      `password = "${sim.password}"`,
      `port = "${sim.port}"`,
      `thumbprint = "${fx.world.thumbprint}"`,
      'datacenters = "DC0"',
      '',
    ];
    const path = join(fx.dir, 'two-vcenters.conf');
    await writeFile(path, ['[Global]', 'cluster-id = "two"', '', ...section('127.0.0.1'), ...section('localhost'), '[Labels]', 'topology-categories = "k8s-region,k8s-zone"', ''].join('\n'));
    const report = await runPreflight({ configPath: path, kubeconfig: fx.kubeconfig, env: {}, callTimeoutMs: 10_000 });
    expect(failed(report)).toEqual([]);
    expect(check(report, 'kubernetes-nodes').status).toBe('pass');
    expect(check(report, '127.0.0.1/vcenter-login').status).toBe('pass');
    expect(check(report, 'localhost/shared-datastores').status).toBe('pass');
  }, 60_000);

  test('legacy [Labels] zone/region are checked like topology-categories', async () => {
    const report = await preflight('legacy.conf', { labels: `zone = "${ZONE_CATEGORY}"\nregion = "k8s-region"` });
    expect(failed(report)).toEqual([]);
    expect(check(report, 'tag-categories').finding).toContain('"k8s-zone"');
  }, 60_000);

  test('without [Labels] the topology checks skip and one datastore must be shared by all node VMs', async () => {
    const report = await preflight('no-labels.conf', { labels: null });
    expect(check(report, 'tag-categories').status).toBe('skip');
    expect(check(report, 'node-topology-tags').status).toBe('skip');
    expect(check(report, 'shared-datastores')).toMatchObject({ status: 'pass', finding: 'all node VMs: LocalDS_0' });
  }, 60_000);
});

describe('broken setups fail exactly the right check', () => {
  test('bad config file', async () => {
    const path = join(fx.dir, 'bad.conf');
    await writeFile(path, '[VirtualCenter "vc.example.com"]\nuser = "u@vsphere.local"\npassword = "p"\nport = "not-a-port"\n');
    let out = '';
    const code = await runPreflightCli({ configPath: path, kubeconfig: fx.kubeconfig, output: 'text' }, {}, (t) => (out += t));
    expect(code).toBe(1);
    const report = await runPreflight({ configPath: path, kubeconfig: fx.kubeconfig, env: {} });
    expect(failed(report)).toEqual(['config']);
    expect(check(report, 'config').finding).toMatch(/bad\.conf.*port/);
    expect(report.checks.filter((c) => c.name !== 'config').every((c) => c.status === 'skip')).toBe(true);
    expect(out).toMatch(/config\s+FAIL/);
    expect(out).toContain('preflight FAILED: 1 check failed');
  });

  test('wrong password: vcenter-login fails with the Secret fix; the password is printed nowhere', async () => {
    const password = 'Wrong-Secret-4711';
    const report = await preflight('bad-password.conf', { vc: { password } });
    expect(failed(report)).toEqual(['vcenter-login']);
    const login = check(report, 'vcenter-login');
    expect(login.finding).toContain('InvalidLogin');
    expect(login.fix).toMatch(/password.*Secret|Secret.*password/);
    expect(login.fix).toContain('domain-qualified');
    expect(JSON.stringify(report)).not.toContain(password);
    expect(JSON.stringify(report)).not.toContain(fx.world.sim.password);
    expect(check(report, 'cns').status).toBe('skip');
    expect(check(report, 'cns-snapshots')).toEqual({ name: 'cns-snapshots', status: 'skip', finding: 'skipped: login failed' });
  }, 60_000);

  test('wrong thumbprint: vcenter-tls fails (the server is reachable) and the fix names thumbprint, ca-file and insecure-flag', async () => {
    const report = await preflight('bad-thumbprint.conf', { vc: { thumbprint: '00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33' } });
    expect(failed(report)).toEqual(['vcenter-tls']);
    expect(check(report, 'vcenter-reachable').status).toBe('pass');
    const tls = check(report, 'vcenter-tls');
    expect(tls.finding).toContain('thumbprint');
    for (const key of ['thumbprint', 'ca-file', 'insecure-flag']) expect(tls.fix).toContain(key);
    expect(check(report, 'vcenter-login').status).toBe('skip');
  }, 60_000);

  test('system CAs only (no thumbprint): the self-signed certificate fails vcenter-tls', async () => {
    const report = await preflight('no-pin.conf', { vc: { thumbprint: '' } });
    expect(failed(report)).toEqual(['vcenter-tls']);
    expect(check(report, 'vcenter-tls').finding).toContain('system');
  }, 60_000);

  test('insecure-flag is a warning, not a pass', async () => {
    const report = await preflight('insecure.conf', { vc: { thumbprint: '', 'insecure-flag': 'true' } });
    expect(failed(report)).toEqual([]);
    expect(check(report, 'vcenter-tls').status).toBe('warn');
  }, 60_000);

  test('unreachable port: vcenter-reachable fails as connection refused', async () => {
    const report = await preflight('closed-port.conf', { vc: { port: String(await closedPort()) } });
    expect(failed(report)).toEqual(['vcenter-reachable']);
    const reach = check(report, 'vcenter-reachable');
    expect(reach.finding).toContain('connection refused');
    expect(reach.fix).toContain('port');
    expect(check(report, 'vcenter-tls').status).toBe('skip');
  }, 60_000);

  test('unknown host name: vcenter-reachable fails as DNS', async () => {
    const report = await preflight('dns.conf', { host: 'vcenter.invalid' });
    expect(failed(report)).toEqual(['vcenter-reachable']);
    expect(check(report, 'vcenter-reachable').finding).toContain('DNS');
  }, 60_000);

  test('a vCenter that accepts but never answers: vcenter-reachable fails at the deadline', async () => {
    await fx.world.sim.setHang(true);
    try {
      const report = await runPreflight({ configPath: await fx.writeConfig('hang.conf'), kubeconfig: fx.kubeconfig, env: {}, callTimeoutMs: 1500 });
      expect(failed(report)).toEqual(['vcenter-reachable']);
      expect(check(report, 'vcenter-reachable').finding).toContain('did not answer within 2 s');
    } finally {
      await fx.world.sim.setHang(false);
    }
  }, 60_000);

  test('a node VM with disk.EnableUUID=FALSE is named in the finding', async () => {
    const vm = fx.world.zones[1]!.vms[0]!;
    await fx.world.client.inventory.setExtraConfig(vm.ref, { 'disk.EnableUUID': 'FALSE' });
    try {
      const report = await preflight('disk-uuid.conf');
      expect(failed(report)).toEqual(['disk-enable-uuid']);
      const c = check(report, 'disk-enable-uuid');
      expect(c.finding).toContain(`1 of 4 node VMs`);
      expect(c.finding).toContain(vm.name);
      expect(c.fix).toContain('disk.EnableUUID');
    } finally {
      await fx.world.client.inventory.setExtraConfig(vm.ref, { 'disk.EnableUUID': 'TRUE' });
    }
  }, 60_000);

  test('a tag category in [Labels] that vCenter does not have', async () => {
    const report = await preflight('missing-category.conf', { labels: 'topology-categories = "k8s-region,k8s-zone,k8s-rack"' });
    expect(failed(report)).toEqual(['tag-categories']);
    const c = check(report, 'tag-categories');
    expect(c.finding).toContain('"k8s-rack"');
    expect(c.finding).toContain('k8s-zone');
    expect(check(report, 'node-topology-tags').status).toBe('pass');
  }, 60_000);

  test('a cluster without a zone tag: its node VMs are listed', async () => {
    const zone = fx.world.zones[1]!;
    const client = fx.world.client;
    client.tags.invalidate();
    const tag = (await client.tags.tags()).find((t) => t.name === zone.name)!;
    const cluster = (await client.inventory.clusters()).find((c) => c.name === zone.clusterName)!;
    await client.tags.detachTag(tag.id, cluster.ref);
    try {
      const report = await preflight('untagged.conf');
      expect(failed(report)).toEqual(['node-topology-tags']);
      const c = check(report, 'node-topology-tags');
      expect(c.finding).toContain(`${zone.vms.length} of 4 node VMs`);
      for (const vm of zone.vms) expect(c.finding).toContain(`${vm.name} (${ZONE_CATEGORY})`);
      expect(c.fix).toContain('cluster');
    } finally {
      await client.tags.attachTag(tag.id, cluster.ref);
    }
  }, 60_000);

  test('a Kubernetes Node with no VM in the configured datacenters', async () => {
    fx.kube.put(kubeletNode('stray-node', '4211aaaa-bbbb-cccc-dddd-eeeeffff0000'));
    try {
      const report = await preflight('stray.conf');
      expect(failed(report)).toEqual(['kubernetes-nodes']);
      expect(check(report, 'kubernetes-nodes').finding).toContain('1 of 5 Nodes have no VM');
      expect(check(report, 'kubernetes-nodes').finding).toContain('stray-node');
    } finally {
      fx.kube.remove('v1', 'Node', undefined, 'stray-node');
    }
  }, 60_000);

  test('a zone whose node VMs run on a host with only a local datastore has no shared datastore', async () => {
    // The simulator cannot unmount LocalDS_0 from a host, but AddHost_Task makes a host with no datastores:
    // add one to zone b's cluster, give it a local datastore, and move one zone-b node VM onto it.
    const client = fx.world.client;
    const zone = fx.world.zones[1]!;
    const vm = zone.vms[0]!;
    const cluster = (await client.inventory.clusters()).find((c) => c.name === zone.clusterName)!;
    const raw = new RawVim(fx.world.sim);
    await raw.login();
    const taskOf = (xml: string): MoRef => ({ type: 'Task', value: /<returnval[^>]*>([^<]+)<\/returnval>/.exec(xml)![1]! });
    const added = await client.tasks.wait(
      taskOf(await raw.call(`<AddHost_Task xmlns="urn:vim25"><_this type="ClusterComputeResource">${cluster.ref.value}</_this><spec><hostName>lonely-host</hostName></spec><asConnected>true</asConnected></AddHost_Task>`)),
    );
    const lonely = (await client.inventory.hostsOfCluster(cluster.ref)).find((h) => h.name === 'lonely-host')!;
    expect(lonely).toBeDefined();
    expect(added.state).toBe('success');
    const dsDir = await mkdtemp(join(tmpdir(), 'preflight-lonely-ds-'));
    const relocate = async (host: MoRef): Promise<void> => {
      await client.tasks.wait(
        taskOf(await raw.call(`<RelocateVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">${vm.ref.value}</_this><spec><host type="HostSystem">${host.value}</host></spec></RelocateVM_Task>`)),
      );
    };
    try {
      await raw.createLocalDatastore([lonely.ref.value], 'lonely-local-ds', dsDir);
      await relocate(lonely.ref);
      const report = await preflight('no-shared-ds.conf');
      expect(failed(report)).toEqual(['shared-datastores']);
      const c = check(report, 'shared-datastores');
      expect(c.finding).toContain(`k8s-zone=${zone.name}`);
      expect(c.finding).toContain('lonely-host');
      expect(c.finding).not.toContain('zone-a');
      expect(c.fix).toContain('mount');
    } finally {
      await relocate(vm.host!);
      await rm(dsDir, { recursive: true, force: true });
    }
    // Back to good: the VM's original host shares datastores with its zone again.
    expect(failed(await preflight('after.conf'))).toEqual([]);
  }, 60_000);
});

describe('the compiled CLI as a process', () => {
  const run = promisify(execFile);
  let main = '';

  beforeAll(() => {
    main = builtMain();
  });

  async function vsphereCsi(args: string[], home: string): Promise<{ code: number; stdout: string; stderr: string }> {
    // A clean environment: no KUBECONFIG, no VSPHERE_* overrides, HOME without ~/.kube.
    const env = { PATH: process.env.PATH, HOME: home };
    try {
      const { stdout, stderr } = await run(process.execPath, [main, 'preflight', ...args], { env, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  test('good setup: exit 0 and a JSON report', async () => {
    const res = await vsphereCsi(['--config', await fx.writeConfig('proc-good.conf'), '--kubeconfig', fx.kubeconfig, '--output', 'json'], fx.dir);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout) as PreflightReport;
    expect(report.ok).toBe(true);
    expect(statuses(report)).toEqual(GOOD);
    for (const c of report.checks) expect(Object.keys(c).sort()).toEqual(c.fix ? ['finding', 'fix', 'name', 'status'] : ['finding', 'name', 'status']);
  }, 60_000);

  test('wrong password: exit 1, a text table, and the password appears in neither stdout nor stderr', async () => {
    const password = 'Process-Secret-0815';
    const res = await vsphereCsi(['--config', await fx.writeConfig('proc-badpw.conf', { vc: { password } }), '--kubeconfig', fx.kubeconfig], fx.dir);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/vcenter-login\s+FAIL\s+vCenter rejected user/);
    expect(res.stdout).toContain('fix: set the user and password');
    expect(`${res.stdout}${res.stderr}`).not.toContain(password);
  }, 60_000);
});

describe('cns check against an old vCenter', () => {
  test('CNS answers but the API is older than 6.7.3: a warning naming the upgrade', async () => {
    const old = await startVcsim({ version: '6.5.0' });
    const client = vcsimClient(old);
    try {
      const result = await checkCns(client, await client.session.about(), 5000);
      expect(result.status).toBe('warn');
      expect(result.finding).toContain('API 6.5.0 (< 6.7.3)');
      expect(result.fix).toContain('6.7U3 or later');
    } finally {
      await client.close();
      await old.stop();
    }
  });
});

describe('cns-snapshots against a vCenter older than 7.0 Update 3', () => {
  let old: PreflightFixture;

  beforeAll(async () => {
    old = await startPreflightFixture({ version: '7.0.2' });
  }, 90_000);

  afterAll(async () => {
    await old?.stop();
  });

  test('a warning naming vSphere 7.0 Update 3 and UNIMPLEMENTED; CNS itself passes and preflight still succeeds (exit 0)', async () => {
    let out = '';
    const code = await runPreflightCli({ configPath: await old.writeConfig('old-vc.conf'), kubeconfig: old.kubeconfig, output: 'json' }, {}, (t) => (out += t));
    const report = JSON.parse(out) as PreflightReport;
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    // Only the snapshot row differs from the good setup.
    expect(statuses(report)).toEqual({ ...GOOD, 'cns-snapshots': 'warn' });
    const c = check(report, 'cns-snapshots');
    expect(c.finding).toContain('vCenter API 7.0.2.0 is older than 7.0.3');
    expect(c.finding).toContain('vSphere 7.0 Update 3');
    expect(c.finding).toContain('CreateSnapshot will answer UNIMPLEMENTED');
    expect(c.finding).toContain('volumes themselves work');
    expect(c.fix).toContain('upgrade vCenter Server to vSphere 7.0 Update 3 or later');
    expect(check(report, 'cns').finding).toContain('vCenter API 7.0.2.0');
  }, 60_000);

  test('the text report shows it as WARN and the summary does not fail', async () => {
    let out = '';
    const code = await runPreflightCli({ configPath: await old.writeConfig('old-vc-text.conf'), kubeconfig: old.kubeconfig, output: 'text' }, {}, (t) => (out += t));
    expect(code).toBe(0);
    expect(out).toMatch(/cns-snapshots\s+WARN\s+vCenter API 7\.0\.2\.0 is older than 7\.0\.3/);
    expect(out).toContain('preflight passed (1 warning)');
  }, 60_000);
});
