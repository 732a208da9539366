/**
 * Driver overhead against its floor, in the same run: the floor is the same
 * create made directly by a minimal client through the vsphere layer (one
 * CnsCreateVolume, then its task waited for the way the driver waits: the
 * shared WaitForUpdatesEx loop), the driver path is CreateVolume over the
 * gRPC socket (validation, the name lookup, placement, the same CNS call).
 * Floor and driver batches alternate round by round (order flipped every
 * round) and every round deletes what it created, so both sides see the same
 * CNS volume count and the same machine load.
 */
import type { World } from '../harness/world.js';
import type { VsphereClient } from '../vsphere/api.js';
import { createVolume } from './csi-calls.js';
import type { Running } from './env.js';
import { measurePhase } from './measure.js';
import { percentile, round2 } from './stats.js';

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

export interface OverheadOptions {
  rounds: number;
  /** Creates per side per round at concurrency 1. */
  perRoundC1: number;
  /** Creates per side per round at concurrency 32. */
  perRoundC32: number;
}

export interface OverheadFigures {
  rounds: number;
  c1: {
    creates: number;
    floorP50Ms: number;
    driverP50Ms: number;
    /** driver p50 − floor p50 (target ≤ 2 ms, issue 11). */
    addedMsPerOp: number;
    floorRequestsPerOp: number;
    driverRequestsPerOp: number;
    driverByMethod: Record<string, number>;
    /** Controller process CPU per CreateVolume (target ≤ 2 ms, issue 11). */
    controllerCpuMsPerOp: number;
    /** CPU of this (benchmark) process per floor create: the vsphere layer's own cost, for comparison. */
    floorClientCpuMsPerOp: number;
  };
  c32: {
    creates: number;
    floorOpsPerSec: number;
    driverOpsPerSec: number;
    /** Driver ops/s ÷ floor ops/s over all rounds (same creates per side per round). */
    ratio: number;
    /** The same ratio round by round: their spread shows how much the machine's load moved. */
    roundRatios: number[];
    controllerCpuMsPerOp: number;
    driverCnsCreateCalls: number;
  };
}

export async function driverOverhead(world: World, floor: VsphereClient, ctl: Running, opts: OverheadOptions): Promise<OverheadFigures> {
  const pid = ctl.proc.child.pid!;
  const datastore = (await floor.inventory.datastores()).find((d) => d.url === world.sharedDatastoreUrl);
  if (!datastore) throw new Error(`shared datastore ${world.sharedDatastoreUrl} not found in the simulator`);
  const floorCreate = async (name: string): Promise<string> =>
    (await floor.cns.createVolume({ name, capacityMb: 1024, datastores: [datastore.ref], clusterId: 'bench-cluster', vSphereUser: world.sim.username })).volumeId;

  const acc = {
    floorLat: [] as number[], driverLat: [] as number[], floorReq: 0, driverReq: 0, c1Cpu: 0, c1Ops: 0,
    driverByMethod: {} as Record<string, number>, ratios: [] as number[], floor32: [] as number[], driver32: [] as number[], c32Cpu: 0, c32Ops: 0, c32Cns: 0, floorCpu: 0,
  };
  for (let round = 0; round < opts.rounds; round++) {
    for (const [concurrency, perRound] of [[1, opts.perRoundC1], [32, opts.perRoundC32]] as const) {
      const created: string[] = [];
      const names = (side: string): string[] => Array.from({ length: perRound }, (_, i) => `ovh-${side}-c${concurrency}-r${round}-${i}`);
      const runFloor = async () => {
        const before = process.cpuUsage();
        const f = await measureFloor();
        const used = process.cpuUsage(before);
        if (concurrency === 1) acc.floorCpu += (used.user + used.system) / 1000;
        return f;
      };
      const measureFloor = () => measurePhase(world.sim, { phase: 'floor create', items: names('floor'), concurrency, call: async (n) => void created.push(await floorCreate(n)) });
      const runDriver = () => measurePhase(world.sim, { phase: 'driver create', items: names('driver'), concurrency, pid, call: async (n) => void created.push(await createVolume(ctl.client, n)) });
      try {
        const [f, d] = round % 2 === 0 ? [await runFloor(), await runDriver()] : await (async () => { const dd = await runDriver(); return [await runFloor(), dd] as const; })();
        if (concurrency === 1) {
          acc.floorLat.push(...f.latencies);
          acc.driverLat.push(...d.latencies);
          acc.floorReq += f.vcenterRequests;
          acc.driverReq += d.vcenterRequests;
          acc.c1Cpu += (d.cpuMsPerOp ?? 0) * d.ops;
          acc.c1Ops += d.ops;
          for (const [k, v] of Object.entries(d.byMethod)) acc.driverByMethod[k] = (acc.driverByMethod[k] ?? 0) + v;
        } else {
          acc.floor32.push(f.wallMs);
          acc.driver32.push(d.wallMs);
          acc.ratios.push(round2(d.opsPerSec / f.opsPerSec));
          acc.c32Cpu += (d.cpuMsPerOp ?? 0) * d.ops;
          acc.c32Ops += d.ops;
          acc.c32Cns += d.byMethod['/vsanHealth CnsCreateVolume'] ?? 0;
        }
      } finally {
        // Straight through CNS (one delete per volume, as vCenter requires): not measured, and keeps the next round's volume count equal.
        await Promise.all(created.splice(0).map((id) => floor.cns.deleteVolume(id)));
      }
    }
  }
  const n1 = acc.c1Ops;
  const floorP50 = percentile(acc.floorLat, 50);
  const driverP50 = percentile(acc.driverLat, 50);
  return {
    rounds: opts.rounds,
    c1: {
      creates: n1,
      floorP50Ms: round2(floorP50),
      driverP50Ms: round2(driverP50),
      addedMsPerOp: round2(driverP50 - floorP50),
      floorRequestsPerOp: round2(acc.floorReq / n1),
      driverRequestsPerOp: round2(acc.driverReq / n1),
      driverByMethod: Object.fromEntries(Object.entries(acc.driverByMethod).map(([k, v]) => [k, round2(v / n1)])),
      controllerCpuMsPerOp: round2(acc.c1Cpu / n1),
      floorClientCpuMsPerOp: round2(acc.floorCpu / n1),
    },
    c32: {
      creates: acc.c32Ops,
      floorOpsPerSec: round2((acc.c32Ops * 1000) / sum(acc.floor32)),
      driverOpsPerSec: round2((acc.c32Ops * 1000) / sum(acc.driver32)),
      ratio: round2(sum(acc.floor32) / sum(acc.driver32)),
      roundRatios: acc.ratios,
      controllerCpuMsPerOp: round2(acc.c32Cpu / Math.max(1, acc.c32Ops)),
      driverCnsCreateCalls: acc.c32Cns,
    },
  };
}
