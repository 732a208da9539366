/**
 * A small promise-based CSI client over the unix socket, for tests, the
 * demo, preflight and benchmarks: it speaks through the same proto and
 * loader options as the server, so it sees exactly what a sidecar sees.
 */
import * as grpc from '@grpc/grpc-js';
import { csiClientConstructor, type CsiServiceName } from './proto.js';
import { parseEndpoint } from './socket.js';

export interface CsiCallOptions {
  /** Relative deadline for this call. */
  timeoutMs?: number;
  /** Cancels the call (the server sees CANCELLED and its AbortSignal fires). */
  signal?: AbortSignal;
}

export interface CsiClient {
  call<Res = Record<string, unknown>>(
    service: CsiServiceName,
    method: string,
    request?: object,
    options?: CsiCallOptions,
  ): Promise<Res>;
  close(): void;
}

type UnaryMethod = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => grpc.ClientUnaryCall;

export function createCsiClient(endpoint: string): CsiClient {
  const target = `unix:${parseEndpoint(endpoint)}`;
  const clients = new Map<CsiServiceName, grpc.Client>();
  const clientFor = (service: CsiServiceName): grpc.Client => {
    let client = clients.get(service);
    if (!client) {
      const Ctor = csiClientConstructor(service);
      client = new Ctor(target, grpc.credentials.createInsecure());
      clients.set(service, client);
    }
    return client;
  };
  return {
    call<Res>(service: CsiServiceName, method: string, request: object = {}, options: CsiCallOptions = {}): Promise<Res> {
      const client = clientFor(service) as unknown as Record<string, UnaryMethod | undefined>;
      const fn = client[method];
      if (typeof fn !== 'function') return Promise.reject(new Error(`${service} has no method ${method}`));
      const callOptions: grpc.CallOptions = options.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
      return new Promise<Res>((resolve, reject) => {
        const call = fn.call(client, request, new grpc.Metadata(), callOptions, (err, res) => {
          options.signal?.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve(res as Res);
        });
        const onAbort = (): void => call.cancel();
        options.signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    close(): void {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}
