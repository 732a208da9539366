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
  out: string;
}

export const BENCH_USAGE = `Usage: npm run bench -- [--quick] [--volumes N] [--out FILE]
  --quick       small sizes for a fast check (~50 volumes, CPI 1/20 nodes)
  --volumes N   volumes per concurrency in the controller throughput run (default 500)
  --out FILE    results file (default bench/results.json)`;

export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: { quick: { type: 'boolean', default: false }, volumes: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', default: false } },
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
    out: values.out ?? 'bench/results.json',
  };
}
