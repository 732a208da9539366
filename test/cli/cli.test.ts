/**
 * The real compiled CLI as a process: usage errors, `version`, Identity in
 * controller mode (config pointing at the vCenter simulator) and node mode
 * over the real socket, and SIGTERM removing the socket.
 *
 * It runs dist/main.js as built by `npm test`'s pretest step (the image
 * layout: proto/ and package.json beside dist/).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ServiceError } from '@grpc/grpc-js';
import { createCsiClient, type CsiClient } from '../../src/csi/client.js';
import { builtMain } from '../support/built-main.js';
import { GrpcCode } from '../../src/csi/errors.js';
import { startKubeApiServer } from '../../src/harness/kube-apiserver.js';
import { simCsiConfig } from '../../src/harness/sim-config.js';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';

const run = promisify(execFile);
let main: string;
let work: string;
let sim: Vcsim;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  main = builtMain();
  work = await mkdtemp(join(tmpdir(), 'cli-test-'));
  sim = await startVcsim();
}, 180_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await sim?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const PLUGIN_CAPS_WITHOUT_TOPOLOGY = ['CONTROLLER_SERVICE', 'expansion:ONLINE'];
const PLUGIN_CAPS_WITH_TOPOLOGY = ['CONTROLLER_SERVICE', 'VOLUME_ACCESSIBILITY_CONSTRAINTS', 'expansion:ONLINE'];

async function capabilitiesOf(client: CsiClient): Promise<string[]> {
  const caps = await client.call<{ capabilities: Array<Record<string, { type: string }>> }>('Identity', 'GetPluginCapabilities');
  return caps.capabilities.map((c) => c.service?.type ?? `expansion:${c.volume_expansion?.type}`);
}

const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME });

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [main, ...args], { env: { ...baseEnv(), ...env }, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Served {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts a serving mode and resolves once it logs `marker` (default: the socket listens). */
function serve(args: string[], env: NodeJS.ProcessEnv = {}, marker = '"msg":"CSI server listening"'): Promise<Served> {
  const child = spawn(process.execPath, [main, ...args], { env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let err = '';
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      children.delete(child);
      r(code);
    }),
  );
  return new Promise((resolveServed, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes(marker)) resolveServed({ child, stderr: () => err, exited });
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before listening:\n${err}`)));
  });
}

describe('vsphere-csi CLI (compiled)', () => {
  test('version prints the driver name and package version', async () => {
    const out = await cli(['version']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^csi\.vsphere\.vmware\.com \d+\.\d+\.\d+/);
  });

  // Each usage message is covered in-process by args.test.ts; one process shows the exit code and streams.
  test('a usage error (argument vs X_CSI_MODE) exits 2 with the message and usage on stderr', async () => {
    const out = await cli(['controller'], { X_CSI_MODE: 'node' });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("mode 'controller' conflicts with X_CSI_MODE=node");
    expect(out.stderr).toContain('Usage: vsphere-csi <mode> [flags]');
    expect(out.stdout).toBe('');
  });

  test('cpi --config is a usage error naming --cloud-config, not a silently ignored flag', async () => {
    const out = await cli(['cpi', '--config', join(work, 'vsphere.conf')]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--config is not read in cpi mode: cpi reads its configuration from --cloud-config <file>');
  });

  test('--help prints usage on stdout and exits 0', async () => {
    const out = await cli(['--help']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('--endpoint <unix:///path>');
  });

  test('controller mode serves Identity for a config pointing at the simulator; SIGTERM removes the socket', async () => {
    const config = join(work, 'csi-vsphere.conf');
    await writeFile(
      config,
      [
        '[Global]',
        'cluster-id = "cli-test"',
        'insecure-flag = "true"',
        '',
        `[VirtualCenter "${sim.hostname}"]`,
        `user = "${sim.username}"`,
        `password = "${sim.password}"`,
        `port = "${sim.port}"`,
        'datacenters = "DC0"',
        '',
      ].join('\n'),
    );
    const socket = join(work, 'controller', 'csi.sock');
    const served = await serve(['controller', '--endpoint', `unix://${socket}`, '--config', config, '--log-level', 'debug']);
    const client = createCsiClient(`unix://${socket}`);
    try {
      await expect(client.call('Identity', 'GetPluginInfo')).resolves.toMatchObject({ name: 'csi.vsphere.vmware.com' });
      // No [Labels]: no topology is honoured, so none is advertised.
      expect(await capabilitiesOf(client)).toEqual(PLUGIN_CAPS_WITHOUT_TOPOLOGY);
      await expect(client.call('Identity', 'Probe')).resolves.toEqual({ ready: { value: true } });
    } finally {
      client.close();
    }
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    await expect(stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(served.stderr()).not.toContain(sim.password);
  });

  test('controller mode with a broken config exits 1 without creating a socket', async () => {
    const config = join(work, 'broken.conf');
    await writeFile(config, `[VirtualCenter "${sim.hostname}"]\nuser = "${sim.username}"\nport = "abc"\n`);
    const socket = join(work, 'broken', 'csi.sock');
    const out = await cli(['controller', '--endpoint', `unix://${socket}`, '--config', config]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('failed to start');
    await expect(stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('node mode (mode from X_CSI_MODE) serves Identity and /metrics; Controller is UNIMPLEMENTED; SIGTERM removes the socket', async () => {
    const dmi = join(work, 'dmi');
    await mkdir(dmi, { recursive: true });
    await writeFile(join(dmi, 'product_serial'), 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6\n');
    await writeFile(join(dmi, 'product_uuid'), '4A8C1E42-3C2B-5E4D-6F70-8192A3B4C5D6\n');
    const socket = join(work, 'node', 'csi.sock');
    const served = await serve([], {
      X_CSI_MODE: 'node',
      CSI_ENDPOINT: `unix://${socket}`,
      NODE_NAME: 'worker-1',
      X_CSI_DMI_DIR: dmi,
      X_CSI_DEVICE_DIR: join(work, 'by-id'),
      X_CSI_METRICS_PORT: '0',
    }, '"msg":"metrics at /metrics"');
    expect((await stat(socket)).mode & 0o777).toBe(0o660);
    const client = createCsiClient(socket);
    try {
      await expect(client.call('Identity', 'GetPluginInfo')).resolves.toMatchObject({ name: 'csi.vsphere.vmware.com' });
      // The plugin's capabilities, the same as the controller socket answers (a CO may ask either).
      expect(await capabilitiesOf(client)).toEqual(PLUGIN_CAPS_WITHOUT_TOPOLOGY);
      expect((await client.call<{ accessible_topology: unknown }>('Node', 'NodeGetInfo', {})).accessible_topology).toBeNull();
      await expect(client.call('Identity', 'Probe')).resolves.toEqual({ ready: { value: true } });
      const err = (await client.call('Controller', 'ControllerGetCapabilities').catch((e: unknown) => e)) as ServiceError;
      expect(err.code).toBe(GrpcCode.UNIMPLEMENTED);
      const port = /"port":(\d+),"msg":"metrics at \/metrics"/.exec(served.stderr())![1];
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(body).toContain('vsphere_csi_rpc_total{method="Probe",code="OK"} 1');
      expect(body).toContain('vsphere_csi_rpc_total{method="ControllerGetCapabilities",code="UNIMPLEMENTED"} 1');
      expect(body).toContain('process_resident_memory_bytes');
    } finally {
      client.close();
    }
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    await expect(stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(served.stderr()).toContain('"signal":"SIGTERM"');
  });

  test('with [Labels] topology, both modes advertise VOLUME_ACCESSIBILITY_CONSTRAINTS from the same config and NodeGetInfo returns the segments', async () => {
    const config = join(work, 'zoned.conf');
    await writeFile(config, simCsiConfig(sim, { clusterId: 'cli-test', topologyCategories: ['k8s-zone'] }));
    const kube = await startKubeApiServer();
    const dmi = join(work, 'dmi-zoned');
    await mkdir(dmi, { recursive: true });
    await writeFile(join(dmi, 'product_uuid'), '4A8C1E42-3C2B-5E4D-6F70-8192A3B4C5D6\n');
    kube.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'worker-2', labels: { 'topology.csi.vmware.com/k8s-zone': 'zone-b' } } });
    const sockets = { controller: join(work, 'zoned-ctl', 'csi.sock'), node: join(work, 'zoned-node', 'csi.sock') };
    const controller = await serve(['controller', '--endpoint', `unix://${sockets.controller}`, '--config', config]);
    const node = await serve(['node', '--endpoint', `unix://${sockets.node}`, '--config', config, '--kubeconfig', kube.writeKubeconfig(work), '--node-name', 'worker-2', '--dmi-dir', dmi]);
    const clients = [createCsiClient(sockets.controller), createCsiClient(sockets.node)];
    try {
      for (const client of clients) expect(await capabilitiesOf(client)).toEqual(PLUGIN_CAPS_WITH_TOPOLOGY);
      const info = await clients[1]!.call<{ accessible_topology: unknown }>('Node', 'NodeGetInfo', {});
      expect(info.accessible_topology).toEqual({ segments: { 'topology.csi.vmware.com/k8s-zone': 'zone-b' } });
    } finally {
      for (const client of clients) client.close();
      for (const served of [controller, node]) served.child.kill('SIGTERM');
      expect([await controller.exited, await node.exited]).toEqual([0, 0]);
      await kube.stop();
    }
  });
});
