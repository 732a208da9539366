/**
 * Typed errors of the vCenter client layer. Callers branch on `faultType`
 * (the vSphere fault's type name, e.g. "NotAuthenticated", "ResourceInUse",
 * "CnsFault"), never on message text. src/csi/status.ts maps them to gRPC codes.
 */

/** A SOAP fault, a failed task, or a vAPI error returned by vCenter. */
export class VsphereFault extends Error {
  constructor(
    /** vSphere fault type without namespace prefix: "NotAuthenticated", "InvalidLogin", "ManagedObjectNotFound", ... */
    readonly faultType: string,
    message: string,
    readonly details: {
      /** vCenter method (or vAPI operation) that failed. */
      method?: string;
      /** Raw decoded fault detail, for logging at debug level. */
      detail?: unknown;
      /** For ManagedObjectNotFound and friends: the object concerned. */
      obj?: { type: string; value: string };
      /** HTTP status of the response that carried the fault. */
      httpStatus?: number;
      /** The vCenter (configured host) that answered with the fault; set by the transport and the task waiter. */
      vcenter?: string;
      /** InvalidArgument and friends: the property vCenter refused. */
      invalidProperty?: string;
    } = {},
  ) {
    super(message);
    this.name = 'VsphereFault';
  }
}

/** vCenter could not be reached, the connection broke, or TLS verification failed. */
export class VsphereConnectionError extends Error {
  constructor(
    message: string,
    readonly details: { method?: string; tls?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
    this.name = 'VsphereConnectionError';
  }
}

/** The caller's deadline passed (or its AbortSignal fired) before vCenter answered. */
export class VsphereTimeoutError extends Error {
  constructor(message: string, readonly details: { method?: string } = {}) {
    super(message);
    this.name = 'VsphereTimeoutError';
  }
}

export function isFault(err: unknown, ...faultTypes: string[]): err is VsphereFault {
  return err instanceof VsphereFault && (faultTypes.length === 0 || faultTypes.includes(err.faultType));
}
