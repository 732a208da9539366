/**
 * CPI figures: a fresh cpi process (no leader election) against a fresh test
 * API server per size; once it has started watching, N kubelet-registered
 * Nodes (systemUUIDs of simulator VMs, guest host names and IPs set by the
 * world) appear at once, and we count vCenter requests and wall time until
 * every Node is initialized (providerID set, uninitialized taint gone). The
 * process is cold (its vCenter login is part of the figure, as on a real
 * first start) and its RSS is read once all N are done.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Node } from '@kubernetes/client-node';
import { kubeletNode, UNINITIALIZED_TAINT } from '../demo/node-objects.js';
import { startKubeApiServer } from '../harness/kube-apiserver.js';
import type { BenchEnv } from './env.js';
import { startCpi } from './env.js';
import type { Cleanups } from './cleanups.js';
import { cpuMs, rssMiB } from './proc.js';
import { round2 } from './stats.js';

export interface CpiFigures {
  nodes: number;
  vcenterRequests: number;
  byMethod: Record<string, number>;
  /** Bytes vCenter answered with, in all (the VM listing grows with the inventory, not with the nodes). */
  responseMiB: number;
  wallMs: number;
  /** CPU the cpi process used until every Node was done (user + system). */
  cpuMs: number;
  rssIdleMiB: number;
  rssAfterMiB: number;
}

async function until(what: string, check: () => boolean, timeoutMs: number, pollMs = 10): Promise<void> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

const initialized = (n: V1Node): boolean => !!n.spec?.providerID && !(n.spec.taints ?? []).some((t) => t.key === UNINITIALIZED_TAINT);

export async function cpiInitialize(env: BenchEnv, nodes: number, cleanups: Cleanups): Promise<CpiFigures> {
  const vms = env.world.vms.filter((vm) => vm.biosUuid);
  if (vms.length < nodes) throw new Error(`the simulator has ${vms.length} VMs; ${nodes} nodes need as many (raise vmsPerPool)`);
  const kube = await startKubeApiServer();
  const dir = mkdtempSync(join(env.root, 'cpi-kube-'));
  try {
    const proc = startCpi(env, kube.writeKubeconfig(dir), cleanups);
    try {
      await until('the cpi to start watching Nodes', () => {
        if (proc.child.exitCode !== null) throw new Error(`cpi exited with ${proc.child.exitCode}; see ${proc.logFile}`);
        return readFileSync(proc.logFile, 'utf8').includes('cpi controller started');
      }, 60_000, 20);
      const pid = proc.child.pid!;
      const rssIdleMiB = rssMiB(pid);
      await env.world.sim.resetRequests();
      const started = performance.now();
      const cpuBefore = cpuMs(pid);
      // world.ts named VM i's guest k8s-node-i; the CPI matches by systemUUID first.
      for (let i = 0; i < nodes; i++) kube.put(kubeletNode(`k8s-node-${i}`, vms[i]!.biosUuid!));
      // The API server runs in this process and list() copies every Node: with thousands, poll
      // less often, or the poll itself slows the server the cpi talks to (±pollMs on the figure).
      const pollMs = nodes >= 1000 ? 100 : 10;
      await until(`${nodes} nodes initialized`, () => kube.list<V1Node>('Node').every(initialized), 600_000, pollMs);
      const wallMs = performance.now() - started;
      const cpu = cpuMs(pid) - cpuBefore;
      const counts = await env.world.sim.requests();
      const responseMiB = round2(Object.values(counts.bytesByMethod ?? {}).reduce((a, b) => a + b, 0) / 2 ** 20);
      return { nodes, vcenterRequests: counts.total, byMethod: counts.byMethod, responseMiB, wallMs: round2(wallMs), cpuMs: round2(cpu), rssIdleMiB, rssAfterMiB: rssMiB(pid) };
    } finally {
      await proc.stop();
    }
  } finally {
    await kube.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
