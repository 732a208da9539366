/**
 * `vsphere-csi node` as a real process (compiled CLI): no vCenter, a config
 * file with only [Labels], a kubeconfig pointing at the in-process API
 * server, a fake DMI folder and a loop device. Checks the wiring end to
 * end, runs the 200-cycle stage/publish/unpublish/unstage soak with zero
 * leaked mounts or loop references, measures the process's RSS idle and
 * after the soak, and checks that SIGTERM removes the socket.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createCsiClient, type CsiClient } from '../../src/csi/client.js';
import { startKubeApiServer, type KubeApiServer } from '../../src/harness/kube-apiserver.js';
import { LoopLab, loopUnavailableReason } from './loop-fixture.js';
import { builtMain } from '../support/built-main.js';
import { mountCap, publishRequest, stageRequest } from './requests-helpers.js';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const skipReason = loopUnavailableReason();
if (skipReason) console.warn(`Skipping the node-mode process test: ${skipReason}`);
const describeDevices = skipReason ? describe.skip : describe;
const CYCLES = 200;

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round((Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) / 1024) * 10) / 10;
}

describeDevices('vsphere-csi node (compiled, as a process)', () => {
  let main: string;
  let lab: LoopLab;
  let kube: KubeApiServer;
  let child: ChildProcess | undefined;
  let client: CsiClient | undefined;
  let stderr = '';

  beforeAll(async () => {
    main = builtMain();
    lab = await LoopLab.create('mode');
    kube = await startKubeApiServer();
  }, 180_000);

  afterAll(async () => {
    client?.close();
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await kube?.stop();
    await lab?.destroy();
  });

  test(`serves Identity + Node with topology, survives ${CYCLES} cycles, and exits cleanly on SIGTERM`, async () => {
    await writeFile(lab.path('dmi', 'product_serial'), 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6\n');
    // Only [Labels]: node mode must not ask for a vCenter.
    const config = lab.path('csi-vsphere.conf');
    await writeFile(config, '[Labels]\ntopology-categories = k8s-zone\n');
    kube.put({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'worker-1', labels: { 'topology.csi.vmware.com/k8s-zone': 'zone-a' } } });
    const socket = lab.path('csi.sock');
    child = spawn(
      process.execPath,
      [main, 'node', '--endpoint', `unix://${socket}`, '--device-dir', lab.byIdDir, '--dmi-dir', lab.dmiDir, '--kubelet-root-dir', lab.root, '--config', config, '--kubeconfig', kube.writeKubeconfig(lab.root)],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_NAME: 'worker-1', LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    for (let i = 0; i < 200 && !(await stat(socket).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 50));
    client = createCsiClient(`unix://${socket}`);

    const plugin = await client.call<{ name: string }>('Identity', 'GetPluginInfo', {});
    expect(plugin.name).toBe('csi.vsphere.vmware.com');
    const info = await client.call<{ node_id: string; accessible_topology: unknown }>('Node', 'NodeGetInfo', {});
    expect(info).toMatchObject({ node_id: '421e8c4a-2b3c-4d5e-6f70-8192a3b4c5d6', accessible_topology: { segments: { 'topology.csi.vmware.com/k8s-zone': 'zone-a' } } });
    const rssIdle = await rssMiB(child.pid!);

    const disk = await lab.addDisk(64);
    const staging = lab.path('staging', 'g');
    const target = lab.path('pods', 'p', 'mount');
    // RSS every 50 cycles: a plateau is heap warm-up, a steady climb would be a leak.
    const rssSamples: number[] = [];
    for (let i = 0; i < CYCLES; i++) {
      await client.call('Node', 'NodeStageVolume', stageRequest('vol-mode', disk.uuid, staging, mountCap('ext4')));
      await client.call('Node', 'NodePublishVolume', publishRequest('vol-mode', disk.uuid, staging, target, mountCap('ext4')));
      await client.call('Node', 'NodeUnpublishVolume', { volume_id: 'vol-mode', target_path: target });
      await client.call('Node', 'NodeUnstageVolume', { volume_id: 'vol-mode', staging_target_path: staging });
      if ((i + 1) % 50 === 0) rssSamples.push(await rssMiB(child.pid!));
    }
    const rssAfter = await rssMiB(child.pid!);
    // Zero leaks: no mount, no holder on the loop device, no fd of the plugin open on it, and it detaches.
    expect(await lab.mountsUnderRoot()).toEqual([]);
    expect(await readdir(`/sys/block/${basename(disk.device)}/holders`)).toEqual([]);
    const fds = await readdir(`/proc/${child.pid}/fd`);
    const open = await Promise.all(fds.map((fd) => readlink(`/proc/${child!.pid}/fd/${fd}`).catch(() => '')));
    expect(open.filter((target) => target === disk.device)).toEqual([]);
    await run('losetup', ['-d', disk.device]);
    lab.devices.splice(lab.devices.indexOf(disk), 1);
    expect(await lab.loopRefs()).toEqual([]);
    console.log(`node mode process RSS: idle ${rssIdle} MiB, every 50 cycles ${rssSamples.join(' / ')} MiB, after ${CYCLES} cycles ${rssAfter} MiB`);
    await writeFile(join(repo, '.cache', 'node-mode-rss.json'), JSON.stringify({ idleMiB: rssIdle, every50CyclesMiB: rssSamples, afterSoakMiB: rssAfter, cycles: CYCLES }));

    client.close();
    client = undefined;
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(stderr).not.toMatch(/"level":"(error|fatal)"/);
  }, 120_000);
});
