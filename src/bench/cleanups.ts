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

/** Runs a benchmark's main and exits: 0 when it resolves, 1 with its stack on stderr when it rejects. */
export function runToExit(label: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${label} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
