/**
 * Lets one caller stop waiting for shared work without cancelling it. A
 * CreateVolume shares its CNS name lookup and create with other callers
 * (single flight, coalesced batches) that carry no per-caller signal; when
 * vCenter hangs, the caller's RPC must still end at its own deadline (and
 * leave the server's in-flight set), while the shared work runs on, bounded
 * by the vCenter request timeout, for a retry to join.
 */
import { CsiError, GrpcCode } from '../csi/errors.js';
import { VsphereTimeoutError } from '../vsphere/faults.js';
import { stopWaitingOnAbort } from '../vsphere/session.js';

export function abandonOnAbort<T>(work: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  return stopWaitingOnAbort(work, signal, () => abortError(signal, what));
}

function abortError(signal: AbortSignal, what: string): CsiError {
  const reason = signal.reason as { name?: unknown } | undefined;
  if (reason?.name === 'TimeoutError') {
    return new CsiError(GrpcCode.DEADLINE_EXCEEDED, `${what}: the deadline passed while vCenter was still working; a retry joins the same operation`);
  }
  return new CsiError(GrpcCode.CANCELLED, `${what}: the call was cancelled; the vCenter operation may still finish, a retry joins it`);
}

/** A shared controller read (cache fill) as one caller waits for it: its signal ends only its own wait. */
export function awaitShared<T>(shared: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return shared;
  return stopWaitingOnAbort(shared, signal, () => new VsphereTimeoutError(`${what}: deadline passed before vCenter answered; the read goes on for the next caller`));
}
