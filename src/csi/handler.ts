/**
 * The shape of a CSI RPC implementation. Mode services are plain objects of
 * async functions keyed by RPC name; src/csi/server.ts wraps them into
 * grpc-js handlers with logging, metrics, deadlines and error mapping.
 */
import type { Logger } from '../log.js';

export interface CallContext {
  /** RPC name, e.g. "CreateVolume". */
  method: string;
  /** Fires when the client cancels, the deadline passes, or the server shuts down hard. */
  signal: AbortSignal;
  /** Absolute deadline in epoch ms, when the client sent one. */
  deadline?: number;
  /** Child logger carrying the method (and volume id once known). */
  log: Logger;
}

// Request/response shapes come from the generated proto types (src/csi/generated);
// handlers narrow them themselves.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type UnaryHandler<Req = any, Res = any> = (request: Req, ctx: CallContext) => Promise<Res>;

/** One CSI service (Identity, Controller or Node): RPC name → handler. */
export type ServiceImpl = Record<string, UnaryHandler>;
