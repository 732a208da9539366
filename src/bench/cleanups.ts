/**
 * Everything the benchmark starts (simulator, API server, driver processes,
 * loop devices, temp dirs) registers its undo here; runAll() undoes in reverse
 * order and is run from `finally` and on SIGINT/SIGTERM, so an interrupted
 * run leaves no process, mount or loop device behind.
 */
export class Cleanups {
  private readonly steps: { label: string; fn: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;
  /** Set on SIGINT/SIGTERM: a run stopped on purpose is not a failure whose logs need keeping. */
  interrupted = false;

  push(label: string, fn: () => Promise<void> | void): void {
    this.steps.push({ label, fn });
  }

  /** Undo everything registered so far (newest first); later calls wait for the first. */
  runAll(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.splice(0).reverse()) {
        try {
          await step.fn();
        } catch (err) {
          process.stderr.write(`cleanup ${step.label}: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      }
    })();
    return this.running;
  }

  /** On the first SIGINT/SIGTERM clean up and exit 130; a second signal exits at once. */
  installSignalHandlers(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (this.interrupted) process.exit(130);
      this.interrupted = true;
      process.stderr.write(`\n${signal}: cleaning up (again to exit at once)\n`);
      void this.runAll().finally(() => process.exit(130));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
}

/**
 * A benchmark's whole life: its options parsed from argv (a bad one: the
 * message, the usage, exit 2), a Cleanups with signal handlers, the body, then
 * every cleanup (with a progress line) and exit 0, or 1 with the stack when the
 * body failed. `keepLogs()` tells the body's work dir to stay after a failure
 * that was not an interrupt.
 */
export function runBench<O>(
  label: string,
  parse: (argv: string[]) => O,
  usage: string,
  body: (opts: O, cleanups: Cleanups, keepLogs: () => boolean) => Promise<void>,
  progress: (line: string) => void,
): void {
  let opts: O;
  try {
    opts = parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
    process.exit(2);
  }
  const cleanups = new Cleanups();
  cleanups.installSignalHandlers();
  let failed = false;
  const keepLogs = (): boolean => failed && !cleanups.interrupted;
  body(opts, cleanups, keepLogs)
    .catch((err: unknown) => {
      failed = true;
      throw err;
    })
    .finally(async () => {
      progress('cleaning up');
      await cleanups.runAll();
    })
    .then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${label} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
}
