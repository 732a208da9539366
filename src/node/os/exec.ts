/**
 * The one way the node plugin runs external programs: execFile with an
 * argument array (never a shell string), a timeout and a bounded output
 * buffer. A Runner is injected everywhere so tests and the soak benchmark can
 * observe how long each program took (mkfs and mount time vs our own code).
 */
import { execFile } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the program (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  /** Exit codes that are not failures (blkid exits 2 when it finds nothing). */
  okExitCodes?: number[];
}

/** Called after every program ends, success or not. */
export type CommandObserver = (command: string, args: readonly string[], durationMs: number, exitCode: number | null) => void;

export type Runner = (command: string, args: readonly string[], options?: RunOptions) => Promise<RunResult & { exitCode: number }>;

/** A program failed, timed out or could not be started. The message carries its stderr, which never holds secrets here. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly timedOut: boolean,
    readonly notInstalled: boolean,
  ) {
    const what = `${command} ${redactOptions(args).join(' ')}`;
    const why = notInstalled
      ? 'is not installed (install e2fsprogs, xfsprogs and util-linux in the image)'
      : timedOut
        ? 'timed out'
        : `exited with ${exitCode}`;
    super(`${what} ${why}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
    this.name = 'CommandError';
  }
}

/** Mount options may carry secrets (CSI lets mount_flags be sensitive): messages show "-o <options>" instead. */
export function redactOptions(args: readonly string[]): string[] {
  return args.map((arg, i) => (i > 0 && args[i - 1] === '-o' ? '<options>' : arg));
}

const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

export function createRunner(observer?: CommandObserver): Runner {
  return (command, args, options = {}) =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      execFile(
        command,
        [...args],
        {
          timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          killSignal: 'SIGKILL',
          maxBuffer: MAX_OUTPUT_BYTES,
          encoding: 'utf8',
          // Predictable, parseable output from util-linux and e2fsprogs.
          env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
        },
        (error, stdout, stderr) => {
          const exitCode = error ? (typeof error.code === 'number' ? error.code : null) : 0;
          observer?.(command, args, performance.now() - started, exitCode);
          if (!error || (exitCode !== null && options.okExitCodes?.includes(exitCode))) {
            resolve({ stdout, stderr, exitCode: exitCode ?? 0 });
            return;
          }
          const notInstalled = error.code === 'ENOENT';
          reject(new CommandError(command, args, exitCode, String(stderr ?? ''), error.killed === true && error.signal === 'SIGKILL', notInstalled));
        },
      );
    });
}
