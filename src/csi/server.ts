/**
 * The CSI gRPC server on a unix socket, shared by every mode. It owns the
 * socket's life (stale-socket cleanup, permissions, removal on close) and
 * wraps each handler with the per-call plumbing: AbortSignal, child logger,
 * one log line, metrics, and error → status mapping via toGrpcStatus.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log.js';
import type { CallContext, ServiceImpl, UnaryHandler } from './handler.js';
import { csiServiceDefinition, type CsiServiceName } from './proto.js';
import { codeName, toGrpcStatus } from './status.js';
import type { CsiMetrics } from './metrics.js';
import { parseEndpoint, prepareSocketPath, removeSocket, secureSocket } from './socket.js';

export { parseEndpoint } from './socket.js';

export interface CsiServices {
  Identity: ServiceImpl;
  Controller?: ServiceImpl;
  Node?: ServiceImpl;
}

export interface CsiServerOptions {
  /** unix:///abs/path, unix:/abs/path or /abs/path. */
  endpoint: string;
  logger: Logger;
  services: CsiServices;
  /** How long close() lets in-flight calls finish before cancelling them. Default 10 s. */
  shutdownGraceMs?: number;
  metrics?: CsiMetrics;
}

export interface CsiServer {
  socketPath: string;
  /** Calls currently running. */
  inFlight(): number;
  /** Graceful: stop accepting, let in-flight calls finish within the grace, then force; removes the socket. Idempotent. */
  close(): Promise<void>;
}

export async function startCsiServer(opts: CsiServerOptions): Promise<CsiServer> {
  const socketPath = parseEndpoint(opts.endpoint);
  await prepareSocketPath(socketPath);
  const running = new Set<AbortController>();
  const server = new grpc.Server();
  // Services the mode does not serve are still registered, with every RPC
  // answering UNIMPLEMENTED, so such calls are logged and counted like any other.
  for (const name of ['Identity', 'Controller', 'Node', 'GroupController'] as const) {
    const impl: ServiceImpl = (opts.services as Partial<Record<CsiServiceName, ServiceImpl>>)[name] ?? {};
    server.addService(csiServiceDefinition(name), wrapService(name, impl, opts, running));
  }
  await bindSocket(server, socketPath);
  try {
    await secureSocket(socketPath);
  } catch (err) {
    server.forceShutdown();
    await removeSocket(socketPath);
    throw err;
  }
  opts.logger.info({ socket: socketPath, services: Object.entries(opts.services).filter(([, v]) => v).map(([k]) => k) }, 'CSI server listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= shutdown(server, running, opts.shutdownGraceMs ?? 10_000, opts.logger).finally(() => removeSocket(socketPath)));
  return { socketPath, inFlight: () => running.size, close };
}

/**
 * A umask keeps the socket from ever being world-accessible between bind and
 * chmod. umask is process-wide, so concurrent binds (tests start several
 * servers) share one change: the first sets it, the last restores it.
 */
let umaskHolders = 0;
let savedUmask = 0;

function bindSocket(server: grpc.Server, socketPath: string): Promise<void> {
  if (umaskHolders++ === 0) savedUmask = process.umask(0o117);
  return new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => {
      if (--umaskHolders === 0) process.umask(savedUmask);
      if (err) reject(new Error(`cannot listen on ${socketPath}: ${err.message}`));
      else resolve();
    });
  });
}

async function shutdown(server: grpc.Server, running: Set<AbortController>, graceMs: number, logger: Logger): Promise<void> {
  const inFlight = running.size;
  logger.info({ in_flight: inFlight, grace_ms: graceMs }, 'CSI server shutting down');
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      logger.warn({ in_flight: running.size }, 'shutdown grace expired: cancelling in-flight calls');
      for (const ac of running) ac.abort(new DOMException('server shutting down', 'AbortError'));
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function wrapService(
  service: CsiServiceName,
  impl: ServiceImpl,
  opts: CsiServerOptions,
  running: Set<AbortController>,
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(csiServiceDefinition(service))) {
    const handler = impl[method];
    out[method] = handler ? wrapUnary(method, handler, opts, running) : unimplemented(service, method, opts);
  }
  return out;
}

function unimplemented(service: string, method: string, opts: CsiServerOptions): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    opts.metrics?.rpcTotal.inc({ method, code: 'UNIMPLEMENTED' });
    opts.logger.info({ method, ...logFields(call.request), code: 'UNIMPLEMENTED', duration_ms: 0 }, `${method} not implemented`);
    callback({ code: grpc.status.UNIMPLEMENTED, details: `${service}.${method} is not implemented by this driver` });
  };
}

/** Ids worth a log field; never bodies (secrets, mount flags). */
function logFields(request: unknown): Record<string, string> {
  const r = (request ?? {}) as Record<string, unknown>;
  const fields: Record<string, string> = {};
  for (const key of ['volume_id', 'source_volume_id', 'snapshot_id', 'node_id'] as const) {
    const v = r[key];
    if (typeof v === 'string' && v !== '') fields[key] = v.slice(0, 128);
  }
  return fields;
}

function wrapUnary(
  method: string,
  handler: UnaryHandler,
  opts: CsiServerOptions,
  running: Set<AbortController>,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    const ac = new AbortController();
    running.add(ac);
    const log = opts.logger.child({ method, ...logFields(call.request) });
    const onCancel = (): void => ac.abort(new DOMException('cancelled by the client', 'AbortError'));
    call.on('cancelled', onCancel);
    const deadline = deadlineMs(call.getDeadline());
    const timer =
      deadline === undefined
        ? undefined
        : setTimeout(() => ac.abort(new DOMException('deadline exceeded', 'TimeoutError')), Math.max(0, deadline - Date.now()));
    timer?.unref();
    opts.metrics?.rpcInFlight.inc({ method });
    const ctx: CallContext = { method, signal: ac.signal, deadline, log };

    const finish = (code: grpc.status, failure?: { message: string; cause?: unknown }): void => {
      if (timer) clearTimeout(timer);
      call.off('cancelled', onCancel);
      running.delete(ac);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const codeLabel = codeName(code);
      opts.metrics?.rpcInFlight.dec({ method });
      opts.metrics?.rpcTotal.inc({ method, code: codeLabel });
      opts.metrics?.rpcDuration.observe({ method, code: codeLabel }, seconds);
      const line = { code: codeLabel, duration_ms: Math.round(seconds * 1e6) / 1e3 };
      if (!failure) log.info(line, `${method} ok`);
      else if (failure.cause !== undefined) log.error({ ...line, err: failure.cause }, `${method} failed unexpectedly`);
      else log.warn({ ...line, error: failure.message }, `${method} failed`);
    };

    let result: Promise<unknown>;
    try {
      result = Promise.resolve(handler(call.request, ctx));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (response) => {
        finish(grpc.status.OK);
        callback(null, response ?? {});
      },
      (err: unknown) => {
        const status = toGrpcStatus(err);
        finish(status.code, { message: status.message, cause: status.unexpected ? err : undefined });
        callback({ code: status.code, details: status.message });
      },
    );
  };
}

function deadlineMs(deadline: grpc.Deadline): number | undefined {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : undefined;
}
