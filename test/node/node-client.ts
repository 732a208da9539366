/** A real @grpc/grpc-js CSI Node client over the unix socket, with promise-returning calls. */
import * as grpc from '@grpc/grpc-js';
import { csiClientConstructor } from '../../src/csi/proto.js';

export type Call = <Res = Record<string, unknown>>(method: string, request: Record<string, unknown>, timeoutMs?: number) => Promise<Res>;

export interface NodeClient {
  call: Call;
  close(): void;
}

export function connectNodeClient(socketPath: string): NodeClient {
  const Ctor = csiClientConstructor('Node');
  const client = new Ctor(`unix:${socketPath}`, grpc.credentials.createInsecure());
  const call: Call = (method, request, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, (req: unknown, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void>)[method];
      if (!fn) throw new Error(`no such method ${method}`);
      fn.call(client, request, { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response as never)));
    });
  return { call, close: () => client.close() };
}

/** Resolves to the gRPC status of a failing call (and fails the test if it succeeded). */
export async function statusOf(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('expected the call to fail, it succeeded');
}

export { grpc };
