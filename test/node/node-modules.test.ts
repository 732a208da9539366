/**
 * What node mode loads: @kubernetes/client-node costs a node plugin ~57 MiB
 * of RSS and ~0.5 s of start-up (README, dependency table), so the compiled
 * node mode, reading its Node through a kubeconfig, must never import it.
 * A module-loader hook in the child records every ES module it loads (all of
 * client-node is ESM); the same record must show our own client, so the
 * check cannot pass by recording nothing.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createCsiClient } from '../../src/csi/client.js';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { waitProbeReady } from '../../src/harness/probe.js';
import { builtMain } from '../support/built-main.js';

let dir: string;
let kube: KubeApiServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'node-modules-'));
  kube = await startKubeApiServer({ token: 'node-token' });
});
afterAll(async () => {
  await kube?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('node mode with Kubernetes access reads its Node without loading @kubernetes/client-node', async () => {
  const record = join(dir, 'loaded.txt');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  appendFileSync(${JSON.stringify(record)}, url + '\\n');\n  return next(url, context);\n}\n`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  writeFileSync(join(dir, 'product_serial'), 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6\n');
  kube.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'zone-a' } } });
  // Node mode reads its Node only when [Labels] configures topology.
  writeFileSync(join(dir, 'labels.conf'), '[Labels]\nzone = k8s-zone\n');

  const endpoint = `unix://${join(dir, 'csi.sock')}`;
  const args = ['--import', register, builtMain(), 'node', '--endpoint', endpoint, '--node-name', 'n1', '--dmi-dir', dir, '--config', join(dir, 'labels.conf'), '--kubeconfig', kube.writeKubeconfig(dir)];
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, LOG_LEVEL: 'warn' }, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await waitProbeReady(endpoint, { timeoutMs: 30_000, dead: () => (child.exitCode !== null ? `node mode exited with ${child.exitCode}` : undefined) });
    const client = createCsiClient(endpoint);
    try {
      const info = await client.call<{ accessible_topology: { segments: Record<string, string> } }>('Node', 'NodeGetInfo', {});
      expect(info.accessible_topology.segments).toEqual({ 'topology.kubernetes.io/zone': 'zone-a' });
    } finally {
      client.close();
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  const loaded = readFileSync(record, 'utf8').split('\n');
  expect(loaded.some((url) => url.endsWith('/dist/kube/rest-client.js'))).toBe(true);
  expect(loaded.filter((url) => url.includes('/@kubernetes/client-node/'))).toEqual([]);
  expect(kube.requests().map((r) => `${r.method} ${r.path} ${r.auth}`)).toEqual(['GET /api/v1/nodes/n1 token']);
});
