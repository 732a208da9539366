/**
 * Runs one invocation of the CLI: parse, dispatch to the mode, serve its CSI
 * services on the socket, and shut down gracefully on SIGTERM/SIGINT
 * (socket first so no new call starts, then the mode's own resources).
 * Returns the process exit code: 0 ok, 1 runtime failure, 2 usage error.
 */
import { Registry } from 'prom-client';
import { createLogger, type Logger } from '../log.js';
import { DRIVER_NAME, packageVersion } from '../csi/identity.js';
import { createCsiMetrics, startMetricsServer, type MetricsServer } from '../csi/metrics.js';
import { startCsiServer, type CsiServer } from '../csi/server.js';
import { parseCli, UsageError, USAGE, type CliOptions } from './args.js';
import type { ModeHandle, RunMode } from './mode-types.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

async function loadMode(mode: CliOptions['mode']): Promise<RunMode | undefined> {
  switch (mode) {
    case 'controller':
      return (await import('../controller/mode.js')).runControllerMode;
    case 'node':
      return (await import('../node/mode.js')).runNodeMode;
    case 'cpi':
      return (await import('../cpi/mode.js')).runCpiMode;
    default:
      return undefined;
  }
}

export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo = processIo): Promise<number> {
  let opts: CliOptions | 'help';
  try {
    opts = parseCli(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`vsphere-csi: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (opts.mode === 'version') {
    io.stdout(`${DRIVER_NAME} ${packageVersion()}\n`);
    return 0;
  }
  if (opts.mode === 'preflight') {
    const { runPreflightCli } = await import('../preflight/cli.js');
    return runPreflightCli(opts, env, io.stdout);
  }
  const logger = createLogger({ level: opts.logLevel, base: { pid: process.pid, mode: opts.mode } });
  return serve(opts, env, logger);
}

async function serve(opts: CliOptions, env: NodeJS.ProcessEnv, logger: Logger): Promise<number> {
  const registry = new Registry();
  const metrics = createCsiMetrics(registry, { processMetrics: true });
  let metricsServer: MetricsServer | undefined;
  let server: CsiServer | undefined;
  let handle: ModeHandle | undefined;

  /** Socket first (no new calls), then the mode, then /metrics; one failing step does not skip the others. */
  const stop = async (): Promise<boolean> => {
    let clean = true;
    for (const [what, step] of [
      ['CSI server', () => server?.close()],
      [`${opts.mode} mode`, () => handle?.close()],
      ['metrics server', () => metricsServer?.close()],
    ] as const) {
      try {
        await step();
      } catch (err) {
        clean = false;
        logger.error({ err }, `stopping the ${what} failed`);
      }
    }
    return clean;
  };

  try {
    const run = await loadMode(opts.mode);
    if (!run) throw new Error(`mode ${opts.mode} has no runner`);
    logger.info({ version: packageVersion(), endpoint: opts.endpoint }, `starting ${DRIVER_NAME} in ${opts.mode} mode`);
    handle = await run({ ...opts, env, metricsRegistry: registry }, logger);
    if (handle.services) {
      server = await startCsiServer({ endpoint: opts.endpoint, logger, services: handle.services, metrics });
    }
    if (opts.metricsPort !== undefined) {
      metricsServer = await startMetricsServer(opts.metricsPort, registry, { ...(handle.health ? { health: handle.health } : {}) });
      logger.info({ port: metricsServer.port }, 'metrics at /metrics');
    }
  } catch (err) {
    logger.fatal({ err }, `${opts.mode} mode failed to start`);
    await stop();
    return 1;
  }

  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      // A second signal means "now": the operator gave up waiting.
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      resolve(sig);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  const outcome = await Promise.race([
    signalled.then((signal) => ({ signal, error: undefined as unknown })),
    (handle.done ?? new Promise<void>(() => undefined)).then(
      () => ({ signal: undefined, error: undefined as unknown }),
      (error: unknown) => ({ signal: undefined, error }),
    ),
  ]);
  if (outcome.signal) logger.info({ signal: outcome.signal }, 'shutting down');
  if (outcome.error !== undefined) logger.fatal({ err: outcome.error }, `${opts.mode} mode stopped`);
  const clean = await stop();
  logger.info('stopped');
  return outcome.error !== undefined || !clean ? 1 : 0;
}
