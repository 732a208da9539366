/**
 * Errors that leave a gRPC handler. Every handler throws CsiError (or lets a
 * typed lower-layer error escape to toGrpcStatus in status.ts, the one place
 * that maps faults to codes).
 */
import { status as GrpcCode } from '@grpc/grpc-js';

export { GrpcCode };

export class CsiError extends Error {
  constructor(
    readonly code: GrpcCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CsiError';
  }
}

export const invalidArgument = (message: string): CsiError => new CsiError(GrpcCode.INVALID_ARGUMENT, message);
export const notFound = (message: string): CsiError => new CsiError(GrpcCode.NOT_FOUND, message);
export const failedPrecondition = (message: string): CsiError => new CsiError(GrpcCode.FAILED_PRECONDITION, message);
export const alreadyExists = (message: string): CsiError => new CsiError(GrpcCode.ALREADY_EXISTS, message);
export const aborted = (message: string): CsiError => new CsiError(GrpcCode.ABORTED, message);
export const outOfRange = (message: string): CsiError => new CsiError(GrpcCode.OUT_OF_RANGE, message);
export const resourceExhausted = (message: string): CsiError => new CsiError(GrpcCode.RESOURCE_EXHAUSTED, message);
export const unavailable = (message: string): CsiError => new CsiError(GrpcCode.UNAVAILABLE, message);
export const internal = (message: string): CsiError => new CsiError(GrpcCode.INTERNAL, message);
export const unimplemented = (message: string): CsiError => new CsiError(GrpcCode.UNIMPLEMENTED, message);
export const permissionDenied = (message: string): CsiError => new CsiError(GrpcCode.PERMISSION_DENIED, message);
export const deadlineExceeded = (message: string): CsiError => new CsiError(GrpcCode.DEADLINE_EXCEEDED, message);
