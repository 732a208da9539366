/**
 * What a child process costs, from the kernel's own accounting: CPU time
 * (utime + stime in /proc/<pid>/stat) and resident memory (VmRSS in
 * /proc/<pid>/status). Linux only, like the driver.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const exec = promisify(execFile);
let ticksPerSecond = 100;

/** Reads CLK_TCK once (it is 100 on every mainstream Linux build, but ask). */
export async function initClockTicks(): Promise<void> {
  try {
    const { stdout } = await exec('getconf', ['CLK_TCK'], { timeout: 5000 });
    const n = Number(stdout.trim());
    if (Number.isInteger(n) && n > 0) ticksPerSecond = n;
  } catch {
    // keep 100
  }
}

/** User + system CPU milliseconds the process has used so far (resolution 1000/CLK_TCK ms). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1000) / ticksPerSecond;
}

/** Resident set size in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** CPU a process spends while fn runs (ms), beside fn's result. */
export async function withCpu<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; cpuMs: number }> {
  const before = cpuMs(pid);
  const value = await fn();
  return { value, cpuMs: cpuMs(pid) - before };
}
