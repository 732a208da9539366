/**
 * The contract between the CLI and a mode (src/controller/mode.ts,
 * src/node/mode.ts, src/cpi/mode.ts). A mode builds its collaborators from
 * the options, returns the CSI services it wants served (the CLI owns the
 * socket), and a close() the CLI calls on SIGTERM/SIGINT after the socket
 * has stopped taking calls.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import type { HealthReport } from '../csi/metrics.js';
import type { CsiServices } from '../csi/server.js';
import type { CliOptions } from './args.js';

export interface ModeOptions extends CliOptions {
  env: NodeJS.ProcessEnv;
  /** Register mode metrics here; served at /metrics when --metrics-port is set. */
  metricsRegistry: Registry;
}

export interface ModeHandle {
  /** CSI services to serve on opts.endpoint; absent for modes without a socket (cpi). */
  services?: CsiServices;
  /** Releases everything the mode holds (vCenter logout, watches, timers). */
  close(): Promise<void>;
  /** For socket-less modes: settles when the mode stops by itself (rejects on a fatal error). */
  done?: Promise<void>;
  /** What GET /healthz on the metrics port answers (modes with a socket have Probe instead). */
  health?: () => HealthReport;
}

export type RunMode = (opts: ModeOptions, logger: Logger) => Promise<ModeHandle>;
