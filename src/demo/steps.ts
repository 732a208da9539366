/** Runs demo steps one after another, printing each with its wall time and the vCenter requests it cost. */
import type { Vcsim } from '../harness/vcsim.js';

export interface StepRecord {
  step: string;
  ms: number;
  vcenterRequests: number;
  detail: string;
}

export class StepRunner {
  readonly records: StepRecord[] = [];
  private n = 0;

  constructor(
    private readonly sim: () => Vcsim | undefined,
    private readonly out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  ) {}

  async run<T>(step: string, fn: () => Promise<T>, describe: (value: T) => string = () => ''): Promise<T> {
    this.n += 1;
    const sim = this.sim();
    const before = sim ? (await sim.requests()).total : 0;
    const started = process.hrtime.bigint();
    const value = await fn();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const after = sim ? (await sim.requests()).total : 0;
    const detail = describe(value);
    const record = { step, ms, vcenterRequests: after - before, detail };
    this.records.push(record);
    const label = `${String(this.n).padStart(2)}. ${step}`;
    this.out(`${label.padEnd(58)} ${ms.toFixed(1).padStart(8)} ms  ${String(record.vcenterRequests).padStart(4)} vCenter req${detail ? `\n      ${detail}` : ''}`);
    return value;
  }

  note(line: string): void {
    this.out(`    - ${line}`);
  }
}
