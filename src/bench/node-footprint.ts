/**
 * The node plugin's footprint, paid on every node of every cluster: start →
 * first ready Probe, and RSS once it has answered NodeGetInfo (what the
 * kubelet asks at registration; with Kubernetes access that is the Node
 * read), with and without Kubernetes access. Fresh processes, the two
 * variants alternating so load drift hits both alike; medians.
 */
import type { Cleanups } from './cleanups.js';
import { startCsiMode, type BenchEnv } from './env.js';
import { rssMiB } from './proc.js';
import { median, round2 } from './stats.js';

/** Issue 16's targets for node mode with Kubernetes access. */
export const NODE_TARGETS = { idleMiB: 80, startupMs: 500 } as const;
/** Long enough for start-up garbage to be collected and the heap to settle. */
const SETTLE_MS = 1500;

export interface NodeVariantFigures {
  startupMs: number[];
  idleMiB: number[];
  startupP50Ms: number;
  idleP50MiB: number;
}

export interface NodeFootprint {
  runs: number;
  withKube: NodeVariantFigures;
  withoutKube: NodeVariantFigures;
  targets: typeof NODE_TARGETS;
}

async function sample(env: BenchEnv, kube: boolean, cleanups: Cleanups): Promise<{ startupMs: number; idleMiB: number }> {
  const node = await startCsiMode(env, 'node', {}, cleanups, kube);
  try {
    const answer = await node.client.call<{ accessible_topology: { segments: Record<string, string> } | null }>('Node', 'NodeGetInfo', {}).then(
      (info) => info,
      (error: unknown) => error as Error,
    );
    // With access the topology must come from the Node; without, the configured [Labels] make NodeGetInfo refuse.
    if (kube && (answer instanceof Error || !answer.accessible_topology)) throw new Error(`node mode did not read its Node: ${answer instanceof Error ? answer.message : 'no topology'}`);
    if (!kube && !(answer instanceof Error)) throw new Error('node mode without Kubernetes access reported topology');
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    return { startupMs: round2(node.startupMs), idleMiB: rssMiB(node.proc.child.pid!) };
  } finally {
    await node.stop();
  }
}

const summarize = (samples: Array<{ startupMs: number; idleMiB: number }>): NodeVariantFigures => {
  const startupMs = samples.map((s) => s.startupMs);
  const idleMiB = samples.map((s) => s.idleMiB);
  return { startupMs, idleMiB, startupP50Ms: round2(median(startupMs)), idleP50MiB: round2(median(idleMiB)) };
};

export async function nodeFootprint(env: BenchEnv, runs: number, cleanups: Cleanups): Promise<NodeFootprint> {
  const withKube: Array<{ startupMs: number; idleMiB: number }> = [];
  const withoutKube: Array<{ startupMs: number; idleMiB: number }> = [];
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? [true, false] : [false, true];
    for (const kube of order) (kube ? withKube : withoutKube).push(await sample(env, kube, cleanups));
  }
  return { runs, withKube: summarize(withKube), withoutKube: summarize(withoutKube), targets: NODE_TARGETS };
}

/** The report lines, figures beside the targets. */
export function formatNodeFootprint(f: NodeFootprint): string[] {
  const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const k = f.withKube;
  const n = f.withoutKube;
  return [
    `Node plugin footprint (${f.runs} fresh processes each, NodeGetInfo answered, then ${SETTLE_MS / 1000} s idle)`,
    `  idle RSS with Kubernetes access:    p50 ${k.idleP50MiB} MiB (target ≤ ${f.targets.idleMiB}: ${mark(k.idleP50MiB <= f.targets.idleMiB)}; runs ${k.idleMiB.join(' ')})`,
    `  idle RSS without Kubernetes access: p50 ${n.idleP50MiB} MiB (runs ${n.idleMiB.join(' ')})`,
    `  start → ready Probe with access:    p50 ${k.startupP50Ms.toFixed(0)} ms (target ≤ ${f.targets.startupMs}: ${mark(k.startupP50Ms <= f.targets.startupMs)}; runs ${k.startupMs.map((x) => x.toFixed(0)).join(' ')})`,
    `  start → ready Probe without access: p50 ${n.startupP50Ms.toFixed(0)} ms (runs ${n.startupMs.map((x) => x.toFixed(0)).join(' ')})`,
  ];
}
