/**
 * THE place that turns an error escaping a CSI handler into a gRPC status.
 * Handlers throw CsiError for CSI semantics; lower layers throw their typed
 * errors and this table maps them by type (never by message text).
 *
 * vSphere faults, and why:
 * - NotFound, FileNotFound → NOT_FOUND: the object is gone.
 * - ResourceInUse, InvalidState, InvalidPowerState → FAILED_PRECONDITION: the CO
 *   must change the world (detach, power on) before retrying.
 * - InvalidArgument, InvalidRequest, InvalidProperty, InvalidName, InvalidType,
 *   ManagedObjectNotFound, MethodNotFound → INTERNAL naming the fault, the method
 *   and the refused property: every request the driver sends is built by the
 *   driver from fields it already validated (and objects it chose itself), so
 *   vCenter refusing one is the driver's problem (or a vCenter that behaves
 *   differently), never the caller's. INVALID_ARGUMENT would tell
 *   external-provisioner the user's request is wrong. Handlers that pass a
 *   caller's id through (a volume id, a node VM) map those cases themselves.
 * - TaskInProgress, ConcurrentAccess → ABORTED: someone else works on the object.
 * - NoDiskSpace, InsufficientResourcesFault, OutOfBounds → RESOURCE_EXHAUSTED.
 * - NotAuthenticated → UNAVAILABLE: the session expired and the client layer's one
 *   transparent re-login did not help; a retry after re-login can succeed.
 * - InvalidLogin → UNAVAILABLE: the driver's own credentials (config file, not the
 *   RPC's secrets) are rejected; CSI's UNAUTHENTICATED/PERMISSION_DENIED are about
 *   the caller's secrets, and the CO cannot fix this: the operator must. The
 *   sidecars retry with backoff until the Secret is fixed.
 * - NoPermission → PERMISSION_DENIED: the driver's vCenter user lacks a privilege;
 *   the admin must grant it (message names the privilege when vCenter gave it).
 * - RequestCanceled → CANCELLED.
 * Other vSphere faults → INTERNAL naming the fault type (safe to show).
 * Fault messages name the vCenter that answered (details.vcenter) when known.
 * VsphereConnectionError → UNAVAILABLE; VsphereTimeoutError → DEADLINE_EXCEEDED.
 * Anything else → INTERNAL with a generic message; details go to the log only.
 */
import { CsiError, GrpcCode } from './errors.js';
import { VsphereConnectionError, VsphereFault, VsphereTimeoutError } from '../vsphere/faults.js';

export interface GrpcStatus {
  code: GrpcCode;
  message: string;
  /** true when the message is generic and the cause must be logged for operators. */
  unexpected: boolean;
}

const FAULT_CODES: Readonly<Record<string, GrpcCode>> = {
  NotFound: GrpcCode.NOT_FOUND,
  FileNotFound: GrpcCode.NOT_FOUND,
  ResourceInUse: GrpcCode.FAILED_PRECONDITION,
  InvalidState: GrpcCode.FAILED_PRECONDITION,
  InvalidPowerState: GrpcCode.FAILED_PRECONDITION,
  TaskInProgress: GrpcCode.ABORTED,
  ConcurrentAccess: GrpcCode.ABORTED,
  NoDiskSpace: GrpcCode.RESOURCE_EXHAUSTED,
  InsufficientResourcesFault: GrpcCode.RESOURCE_EXHAUSTED,
  OutOfBounds: GrpcCode.RESOURCE_EXHAUSTED,
  TooManyDevices: GrpcCode.RESOURCE_EXHAUSTED,
  NotAuthenticated: GrpcCode.UNAVAILABLE,
  InvalidLogin: GrpcCode.UNAVAILABLE,
  NoPermission: GrpcCode.PERMISSION_DENIED,
  RequestCanceled: GrpcCode.CANCELLED,
};

/** vCenter refusing a request as malformed: the driver built it, so the driver is at fault. */
const REQUEST_FAULTS: ReadonlySet<string> = new Set([
  'InvalidArgument',
  'InvalidRequest',
  'InvalidProperty',
  'InvalidName',
  'InvalidType',
  'ManagedObjectNotFound',
  'MethodNotFound',
]);

const FAULT_HINTS: Readonly<Record<string, string>> = {
  InvalidLogin: 'vCenter rejected the driver credentials: fix user/password in the csi-vsphere.conf Secret',
  NotAuthenticated: 'the vCenter session is not authenticated; retry',
  NoPermission: "the driver's vCenter user lacks a privilege: grant it the CNS/VM privileges the driver needs",
  TooManyDevices: 'the node VM has no free SCSI unit for another disk: add a PVSCSI controller to the VM or move pods to another node',
};

export function toGrpcStatus(err: unknown): GrpcStatus {
  if (err instanceof CsiError) return { code: err.code, message: err.message, unexpected: false };
  if (err instanceof VsphereFault) {
    const where = err.details.method ? ` during ${err.details.method}` : '';
    // Which vCenter answered: with several configured, the operator must know which one to fix.
    const vcenter = err.details.vcenter ? `vCenter ${err.details.vcenter}` : 'vCenter';
    if (REQUEST_FAULTS.has(err.faultType)) {
      const property = err.details.invalidProperty ? ` (property "${err.details.invalidProperty}")` : '';
      return {
        code: GrpcCode.INTERNAL,
        message: `${vcenter} refused a request the driver built: ${err.faultType}${where}${property}. The request's own fields are not at fault; this is a driver bug or a vCenter that behaves differently: see the driver log and report it`,
        unexpected: true,
      };
    }
    const code = FAULT_CODES[err.faultType];
    if (code === undefined) {
      return { code: GrpcCode.INTERNAL, message: `${vcenter} reported ${err.faultType}${where}; see the driver log`, unexpected: true };
    }
    const hint = FAULT_HINTS[err.faultType];
    return { code, message: `${vcenter} ${err.faultType}${where}: ${hint ?? err.message}`, unexpected: false };
  }
  if (err instanceof VsphereConnectionError) {
    return { code: GrpcCode.UNAVAILABLE, message: `vCenter is unreachable: ${err.message}`, unexpected: false };
  }
  if (err instanceof VsphereTimeoutError) {
    return { code: GrpcCode.DEADLINE_EXCEEDED, message: `vCenter did not answer in time: ${err.message}`, unexpected: false };
  }
  if (isAbortError(err)) {
    return { code: GrpcCode.CANCELLED, message: 'the call was cancelled before it finished', unexpected: false };
  }
  return { code: GrpcCode.INTERNAL, message: 'internal error in the driver; see the driver log for details', unexpected: true };
}

function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

/** Upper-case code name for logs and metrics labels ("INVALID_ARGUMENT"). */
export function codeName(code: GrpcCode): string {
  return GrpcCode[code] ?? String(code);
}
