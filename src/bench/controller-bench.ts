/**
 * Controller figures through the driver's gRPC socket (the controller is a
 * real process): throughput of create/publish/unpublish/delete at several
 * concurrencies, and the attach storm (many publishes to one node VM at once).
 */
import type { Vcsim } from '../harness/vcsim.js';
import { createVolume, deleteVolume, publishVolume, unpublishVolume } from './csi-calls.js';
import type { Running } from './env.js';
import { measurePhase, withoutLatencies, type PhaseFigures } from './measure.js';
import { assertClean, round2, runPool } from './stats.js';

/**
 * N volumes through their whole life at one concurrency: create all, publish
 * each to one node VM (round-robin over nodeIds; the simulator faults
 * ResourceInUse for a volume attached anywhere), unpublish all, delete all.
 */
export async function lifecycle(sim: Vcsim, ctl: Running, nodeIds: string[], prefix: string, volumes: number, concurrency: number): Promise<PhaseFigures[]> {
  const pid = ctl.proc.child.pid!;
  const names = Array.from({ length: volumes }, (_, i) => `${prefix}-c${concurrency}-${i}`);
  const ids: string[] = new Array<string>(volumes);
  const node = (i: number): string => nodeIds[i % nodeIds.length]!;
  const phases = [
    await measurePhase(sim, { phase: 'create', items: names, concurrency, pid, call: async (name, i) => void (ids[i] = await createVolume(ctl.client, name)) }),
    await measurePhase(sim, { phase: 'publish', items: ids, concurrency, pid, call: (id, i) => publishVolume(ctl.client, id, node(i)) }),
    await measurePhase(sim, { phase: 'unpublish', items: ids, concurrency, pid, call: (id, i) => unpublishVolume(ctl.client, id, node(i)) }),
    await measurePhase(sim, { phase: 'delete', items: ids, concurrency, pid, call: (id) => deleteVolume(ctl.client, id) }),
  ];
  return phases.map(withoutLatencies);
}

export interface StormFigures {
  batching: boolean;
  volumes: number;
  attachTasks: number;
  attachRequests: number;
  attachWallMs: number;
  detachTasks: number;
  detachWallMs: number;
}

/** `volumes` volumes published to one node VM at once (all in flight together), then unpublished at once. */
export async function attachStorm(sim: Vcsim, ctl: Running, nodeId: string, batching: boolean, volumes: number, round: number): Promise<StormFigures> {
  const ids: string[] = new Array<string>(volumes);
  const names = Array.from({ length: volumes }, (_, i) => `storm-${batching ? 'on' : 'off'}-${round}-${i}`);
  assertClean('storm creates', await runPool(names, 8, async (name, i) => void (ids[i] = await createVolume(ctl.client, name))));
  try {
    const attach = await measurePhase(sim, { phase: 'storm publish', items: ids, concurrency: volumes, call: (id) => publishVolume(ctl.client, id, nodeId) });
    const detach = await measurePhase(sim, { phase: 'storm unpublish', items: ids, concurrency: volumes, call: (id) => unpublishVolume(ctl.client, id, nodeId) });
    return {
      batching,
      volumes,
      attachTasks: attach.byMethod['/vsanHealth CnsAttachVolume'] ?? 0,
      attachRequests: attach.vcenterRequests,
      attachWallMs: round2(attach.wallMs),
      detachTasks: detach.byMethod['/vsanHealth CnsDetachVolume'] ?? 0,
      detachWallMs: round2(detach.wallMs),
    };
  } finally {
    await runPool(ids.filter(Boolean), 8, (id) => deleteVolume(ctl.client, id));
  }
}
