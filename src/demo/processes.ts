/**
 * The three modes as real child processes of the compiled program
 * (dist/main.js), each logging to its own file. Used by the demo and the
 * benchmarks; stop() sends SIGTERM and waits, as a kubelet would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitProbeReady } from '../harness/probe.js';
import { repoRoot } from '../harness/vcsim-build.js';

/** The compiled entry point (also when this module runs from src/ under ts-jest). */
export const mainScript = join(repoRoot, 'dist', 'main.js');

/**
 * The V8 heap settings the image gives every mode (Dockerfile `ENV
 * NODE_OPTIONS`; test/deploy/dockerfile.test.ts keeps the two equal), so the
 * benchmarks and the demo run what ships. Node sizes its heap for the whole
 * machine otherwise: 16 MiB semi-spaces (32 MiB of young generation
 * committed) and an old generation allowed to grow ×4 over what survives,
 * which on a 24 GiB host left the controller at 155 MiB RSS after 2,000
 * volume cycles with 22 MiB live (docs/benchmarks.md, "Controller footprint").
 */
export const IMAGE_NODE_OPTIONS = '--max-semi-space-size=2 --max-old-space-size=1024';

export interface ModeProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
  stop(): Promise<number | string>;
}

export function startMode(name: string, args: string[], env: Record<string, string>, logDir: string): ModeProcess {
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [mainScript, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LOG_LEVEL: 'info', NODE_OPTIONS: IMAGE_NODE_OPTIONS, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    name,
    child,
    logFile,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-8).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}

/** Waits for Probe ready; a process that exits first fails with its last log lines. */
export async function waitReady(endpoint: string, proc: ModeProcess, timeoutMs = 30_000): Promise<number> {
  const ms = await waitProbeReady(endpoint, {
    timeoutMs,
    dead: () => (proc.child.exitCode !== null ? `${proc.name} exited with ${proc.child.exitCode}; last log lines:\n${logTail(proc.logFile)}` : undefined),
    describe: () => `${proc.name}; last log lines:\n${logTail(proc.logFile)}`,
  });
  return Math.round(ms);
}
