/**
 * The benchmark's world: the zoned vCenter simulator (with enough VMs for the
 * CPI sizes), the test Kubernetes API server, csi-vsphere.conf pinned to the
 * simulator's certificate, and helpers to start the driver's modes as real
 * processes of dist/main.js and time them to their first successful Probe.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCsiClient, type CsiClient } from '../csi/client.js';
import { waitProbeReady } from '../harness/probe.js';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.js';
import { REGION_CATEGORY, startWorld, worldCsiConfig, ZONE_CATEGORY, type World } from '../harness/world.js';
import { kubeletNode, vmwareProductSerial } from '../demo/node-objects.js';
import { startMode, type ModeProcess } from '../demo/processes.js';
import type { Cleanups } from './cleanups.js';

export interface BenchEnv {
  world: World;
  kube: KubeApiServer;
  root: string;
  logDir: string;
  configPath: string;
  kubeconfig: string;
  /** Links to (loop) disks for the node process: wwn-0x<uuid>. */
  deviceDir: string;
  dmiDir: string;
  nodeName: string;
}

export interface Running {
  proc: ModeProcess;
  endpoint: string;
  client: CsiClient;
  /** Spawn to the first Probe that answered ready. */
  startupMs: number;
  stop(): Promise<void>;
}

/** keepLogs() is asked at cleanup: after a failure the process logs say why, so the work dir stays. */
export async function startBenchEnv(vmsPerPool: number, cleanups: Cleanups, keepLogs: () => boolean): Promise<BenchEnv> {
  const root = mkdtempSync(join(tmpdir(), 'vsphere-csi-bench-'));
  cleanups.push('work dir', () => {
    if (keepLogs()) process.stderr.write(`process logs kept in ${join(root, 'logs')}\n`);
    else rmSync(root, { recursive: true, force: true });
  });
  const world = await startWorld({ vmsPerPool });
  cleanups.push('simulator', () => world.stop());
  const kube = await startKubeApiServer();
  cleanups.push('kube API server', () => kube.stop());

  const configPath = join(root, 'csi-vsphere.conf');
  writeFileSync(configPath, worldCsiConfig(world, 'bench-cluster'), { mode: 0o600 });
  const kubeconfig = kube.writeKubeconfig(root);
  const logDir = join(root, 'logs');
  const deviceDir = join(root, 'by-id');
  const dmiDir = join(root, 'dmi');
  for (const d of [logDir, deviceDir, dmiDir]) mkdirSync(d);
  const nodeVm = world.vms[0]!;
  writeFileSync(join(dmiDir, 'product_serial'), vmwareProductSerial(nodeVm.biosUuid!));
  const nodeName = 'k8s-node-0';
  // The node mode reads its own Node object, labelled as the CPI leaves it; the CPI benchmark uses its own API servers.
  const initialized = kubeletNode(nodeName, nodeVm.biosUuid!);
  initialized.spec = {};
  const zone = world.zones.find((z) => z.vms.some((vm) => vm.biosUuid === nodeVm.biosUuid))?.name ?? world.zones[0]!.name;
  initialized.metadata!.labels = { ...initialized.metadata!.labels, [`topology.csi.vmware.com/${REGION_CATEGORY}`]: world.region, [`topology.csi.vmware.com/${ZONE_CATEGORY}`]: zone };
  kube.put(initialized);
  return { world, kube, root, logDir, configPath, kubeconfig, deviceDir, dmiDir, nodeName };
}

let serial = 0;

/**
 * Starts a CSI mode (controller or node) and waits for Probe; registered for
 * cleanup. `nodeKube: false` starts node mode without Kubernetes access.
 */
export async function startCsiMode(
  env: BenchEnv,
  mode: 'controller' | 'node',
  extraEnv: Record<string, string>,
  cleanups: Cleanups,
  nodeKube = true,
): Promise<Running> {
  const name = `${mode}-${++serial}`;
  const dir = join(env.root, name);
  const endpoint = `unix://${join(dir, 'csi.sock')}`;
  const args =
    mode === 'controller'
      ? ['controller', '--endpoint', endpoint, '--config', env.configPath]
      : ['node', '--endpoint', endpoint, '--config', env.configPath, ...(nodeKube ? ['--kubeconfig', env.kubeconfig] : []), '--node-name', env.nodeName, '--device-dir', env.deviceDir, '--dmi-dir', env.dmiDir, '--kubelet-root-dir', tmpdir() /* the node benchmark's loop labs live there */];
  const spawnedAt = performance.now();
  const proc = startMode(name, args, extraEnv, env.logDir);
  const ready = waitProbeReady(endpoint, {
    timeoutMs: 60_000,
    pollMs: 2,
    dead: () => (proc.child.exitCode !== null ? `${proc.name} exited with ${proc.child.exitCode}; see ${proc.logFile}` : undefined),
    describe: () => `see ${proc.logFile}`,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    client.close();
    await proc.stop();
  };
  const client = createCsiClient(endpoint);
  cleanups.push(name, stop);
  await ready;
  const startupMs = performance.now() - spawnedAt;
  return { proc, endpoint, client, startupMs, stop };
}

/** The CPI mode as a process against a given API server, without leader election. */
export function startCpi(env: BenchEnv, kubeconfig: string, cleanups: Cleanups): ModeProcess {
  const proc = startMode(`cpi-${++serial}`, ['cpi', '--cloud-config', env.configPath, '--kubeconfig', kubeconfig], { CPI_LEADER_ELECT: 'false', POD_NAMESPACE: 'kube-system' }, env.logDir);
  cleanups.push(proc.name, async () => {
    await proc.stop();
  });
  return proc;
}
