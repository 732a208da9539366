/** Test-only: src/csi/client.ts bound to one service, over the real unix socket. */
import type * as grpc from '@grpc/grpc-js';
import { createCsiClient, type CsiCallOptions } from '../../src/csi/client.js';
import type { CsiServiceName } from '../../src/csi/proto.js';

export interface CallError extends Error {
  code: grpc.status;
  details: string;
}

export type CsiCall = <Res = Record<string, unknown>>(method: string, request: object, options?: CsiCallOptions) => Promise<Res>;

export interface CsiTestClient {
  call: CsiCall;
  close(): void;
}

export function csiClient(service: CsiServiceName, socketPath: string): CsiTestClient {
  const client = createCsiClient(`unix://${socketPath}`);
  return { call: (method, request, options) => client.call(service, method, request, options), close: () => client.close() };
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
