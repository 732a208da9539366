/** Command line of `npm run bench`: sizes of the full run and of --quick. */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  quick: boolean;
  volumes: number;
  concurrencies: number[];
  warmupVolumes: number;
  overhead: { rounds: number; perRoundC1: number; perRoundC32: number };
  stormVolumes: number;
  stormRounds: number;
  cpiSizes: number[];
  /** VMs per resource pool of the simulator (2 clusters): enough for the largest CPI size. */
  vmsPerPool: number;
  /** Node VMs the throughput publishes rotate over. */
  publishNodes: number;
  nodeIterations: number;
  startupRuns: number;
  /** Fresh node processes per variant (with / without Kubernetes access) for the footprint figures. */
  nodeFootprintRuns: number;
  /** Create/publish/unpublish/delete cycles per half of the controller footprint run (2 × this in all). */
  footprintCycles: number;
  /** --scale: run the scale suite (10,000 volumes, 5,000 CPI nodes) instead of the default one. */
  scale?: ScaleSizes;
  out: string;
}

export interface ScaleSizes {
  volumes: number;
  attached: number;
  pageSize: number;
  creates: number;
  cursorPasses: number;
  legacyPass: boolean;
  cpiNodes: number[];
}

export const BENCH_USAGE = `Usage: npm run bench -- [--quick] [--scale] [--volumes N] [--out FILE]
  --quick       small sizes for a fast check (~50 volumes, CPI 1/20 nodes)
  --scale       the scale suite instead: 10,000 CNS volumes (CreateVolume at 10 and 10,000,
                ListVolumes passes in pages of 500) and the CPI with 5,000 Nodes (~10 min);
                with --quick: 1,000 volumes and 500 Nodes
  --volumes N   volumes per concurrency in the controller throughput run (default 500)
  --out FILE    results file (default bench/results.json, with --scale bench/scale-results.json)`;

export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: 'boolean', default: false }, scale: { type: 'boolean', default: false }, volumes: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${BENCH_USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  let volumes = quick ? 50 : 500;
  if (values.volumes !== undefined) {
    volumes = Number(values.volumes);
    if (!Number.isInteger(volumes) || volumes < 1 || volumes > 100_000) throw new Error(`--volumes must be an integer from 1 to 100000, got "${values.volumes}"`);
  }
  const cpiSizes = quick ? [1, 20] : [1, 100, 500];
  const scale: ScaleSizes | undefined = !values.scale
    ? undefined
    : quick
      ? { volumes: 1000, attached: 50, pageSize: 500, creates: 20, cursorPasses: 2, legacyPass: true, cpiNodes: [50, 500] }
      : { volumes: 10_000, attached: 200, pageSize: 500, creates: 50, cursorPasses: 3, legacyPass: true, cpiNodes: [500, 5000] };
  return {
    quick,
    volumes,
    concurrencies: [1, 8, 32],
    warmupVolumes: quick ? 10 : 40,
    overhead: quick ? { rounds: 2, perRoundC1: 10, perRoundC32: 32 } : { rounds: 6, perRoundC1: 25, perRoundC32: 96 },
    stormVolumes: 40,
    stormRounds: quick ? 1 : 3,
    cpiSizes,
    vmsPerPool: Math.ceil(Math.max(...cpiSizes, 16) / 2),
    publishNodes: 16,
    nodeIterations: quick ? 5 : 20,
    startupRuns: quick ? 1 : 3,
    nodeFootprintRuns: quick ? 3 : 7,
    footprintCycles: quick ? 100 : 1000,
    scale,
    out: values.out ?? (scale ? 'bench/scale-results.json' : 'bench/results.json'),
  };
}
