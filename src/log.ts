/**
 * The one logger factory. JSON lines via pino; secrets are redacted by key
 * wherever they could appear in a logged object. Messages are never
 * redacted, so no code formats a secret into a message string.
 */
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** Keys that must never reach a log line, at the top level and one or two levels down. */
const SECRET_KEYS = ['password', 'pass', 'secret', 'secrets', 'mount_flags', 'token', 'cookie', 'authorization', 'sessionId', 'vmwareApiSessionId'];

export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]).concat([
  'headers.cookie',
  'headers["set-cookie"]',
  'headers["vmware-api-session-id"]',
]);

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where JSON lines go; default stderr (stdout stays free for command output). */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? ((process.env.LOG_LEVEL as LevelWithSilent | undefined) ?? 'info');
  return pino(
    {
      level,
      base: options.base ?? { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination(2),
  );
}

/** A logger that writes nothing: the default for library code used in tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
