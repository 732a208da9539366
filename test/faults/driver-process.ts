/**
 * Test-only: a mode of the compiled driver as a real child process (output
 * captured for assertions), its readiness, and what /proc says about it
 * (RSS, open fds) for leak checks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { waitProbeReady } from '../../src/harness/probe.js';
import type { Vcsim } from '../../src/harness/vcsim.js';
import { simCsiConfig } from '../../src/harness/sim-config.js';

export interface DriverProcess {
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote so far (pino JSON lines). */
  output(): string;
  /** Resolves with the first match of `pattern` in the output. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after graceMs; resolves on exit. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnDriver(main: string, args: string[], env: Record<string, string> = {}): DriverProcess {
  const child = spawn(process.execPath, [main, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const append = (chunk: Buffer): void => {
    out += chunk.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const proc: DriverProcess = {
    child,
    pid: child.pid!,
    output: () => out,
    waitForOutput: async (pattern, timeoutMs = 30_000) => {
      const started = Date.now();
      for (;;) {
        const m = pattern.exec(out);
        if (m) return m;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process exited before printing ${pattern}:\n${out.slice(-3000)}`);
        if (Date.now() - started > timeoutMs) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    exited,
    stop: async (graceMs = 15_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
  return proc;
}

/** Waits for Probe ready; a process that exits first fails with its output. */
export async function waitReady(endpoint: string, proc: DriverProcess, timeoutMs = 30_000): Promise<void> {
  await waitProbeReady(endpoint, {
    timeoutMs,
    dead: () => (proc.child.exitCode !== null ? `driver exited with ${proc.child.exitCode}:\n${proc.output().slice(-3000)}` : undefined),
    describe: () => proc.output().slice(-3000),
  });
}

/** Resident set size (KiB) and number of open fds of a live process. */
export function procStats(pid: number): { rssKiB: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  return { rssKiB, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** csi-vsphere.conf pointing at the simulator (TLS verification off: the simulator's own cert). */
export function controllerConfig(sim: Vcsim, clusterId: string): string {
  return simCsiConfig(sim, { clusterId });
}

/** Parsed Prometheus text: sample line "name{labels}" → value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
