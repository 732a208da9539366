/** Test-only: a promisified CSI client over the real unix socket. */
import * as grpc from '@grpc/grpc-js';
import { csiClientConstructor, type CsiServiceName } from '../../src/csi/proto.js';

export interface CallError extends Error {
  code: grpc.status;
  details: string;
}

export type CsiCall = <Res = Record<string, unknown>>(method: string, request: object) => Promise<Res>;

export interface CsiTestClient {
  call: CsiCall;
  close(): void;
}

export function csiClient(service: CsiServiceName, socketPath: string): CsiTestClient {
  const Ctor = csiClientConstructor(service);
  const client = new Ctor(`unix://${socketPath}`, grpc.credentials.createInsecure());
  const call: CsiCall = <Res>(method: string, request: object) =>
    new Promise<Res>((resolve, reject) => {
      const fn = (client as unknown as Record<string, (req: object, cb: (err: grpc.ServiceError | null, res: Res) => void) => void>)[method];
      if (!fn) {
        reject(new Error(`no method ${method}`));
        return;
      }
      fn.call(client, request, (err, res) => (err ? reject(err) : resolve(res)));
    });
  return { call, close: () => client.close() };
}

/** The gRPC status code of a failed call (or 'ok'). */
export async function codeOf(p: Promise<unknown>): Promise<grpc.status | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as CallError).code;
  }
}

export async function errorOf(p: Promise<unknown>): Promise<CallError> {
  try {
    await p;
  } catch (err) {
    return err as CallError;
  }
  throw new Error('expected the call to fail');
}
