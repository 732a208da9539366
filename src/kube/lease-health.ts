/**
 * Why a replica cannot read or write its Lease, made visible. An elector
 * that retries silently looks, to an operator, like a CPI that does
 * nothing; so each failure is classified (by HTTP status or system error
 * code, never by message text), counted for metrics, logged at warn with
 * the cause and the fix (once per distinct failure, then at most once per
 * interval while it lasts), and summarised for the health endpoint.
 */
import type { Logger } from '../log.js';
import { httpStatusOf, kubeErrorMessage } from './client.js';

export type LeaseOperation = 'read' | 'create' | 'update' | 'release';

export interface LeaseFailure {
  operation: LeaseOperation;
  /** forbidden, unauthorized, namespace-missing, throttled, server-error, timeout, unreachable, tls, http-<code>, error */
  reason: string;
  cause: string;
  fix: string;
}

export interface LeaseHealth {
  /** False while the last Lease round trip failed (a lost write race, 409, is not a failure). */
  reachable: boolean;
  lastFailure?: LeaseFailure;
  /** "<operation>:<reason>" → failures seen. */
  failures: ReadonlyMap<string, number>;
}

export interface LeaseRef {
  namespace: string;
  name: string;
  /** API server URL, for the "cannot reach" fix. */
  server?: string;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE']);
const TLS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** The system error code of a client-node FetchError (a string), if any. */
function systemCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
}

const isAbort = (err: unknown): boolean => {
  const e = err as { name?: unknown; type?: unknown } | null;
  return e?.name === 'AbortError' || e?.name === 'TimeoutError' || e?.type === 'aborted';
};

export function classifyLeaseFailure(operation: LeaseOperation, err: unknown, lease: LeaseRef): LeaseFailure {
  const where = `${lease.namespace}/${lease.name}`;
  const server = lease.server ?? 'the API server';
  const status = httpStatusOf(err);
  const cause = kubeErrorMessage(err);
  const verb = operation === 'read' ? 'get' : operation === 'create' ? 'create' : 'update';
  if (status === 403) {
    return { operation, reason: 'forbidden', cause, fix: `grant the CPI's ServiceAccount get, create and update on leases.coordination.k8s.io in namespace ${lease.namespace} (deploy/cpi-rbac.yaml); '${verb}' was refused` };
  }
  if (status === 401) return { operation, reason: 'unauthorized', cause, fix: `${server} rejected the credentials: check the pod's ServiceAccount token (or the kubeconfig's user)` };
  if (status === 404) return { operation, reason: 'namespace-missing', cause, fix: `namespace ${lease.namespace} does not exist: set POD_NAMESPACE to the CPI's namespace (the downward API's metadata.namespace)` };
  if (status === 429) return { operation, reason: 'throttled', cause, fix: `${server} is throttling this client (API priority and fairness); it retries` };
  if (status !== undefined && status >= 500) return { operation, reason: 'server-error', cause, fix: `${server} failed the request: check the API server and etcd` };
  if (status !== undefined) return { operation, reason: `http-${status}`, cause, fix: `${server} answered HTTP ${status} for Lease ${where}` };
  const code = systemCode(err);
  if (code && TLS.has(code)) {
    return { operation, reason: 'tls', cause, fix: `${server}'s certificate was not accepted (${code}): check the CA of the kubeconfig or the ServiceAccount's ca.crt` };
  }
  if (code && UNREACHABLE.has(code)) return { operation, reason: 'unreachable', cause, fix: `cannot connect to ${server} (${code}): check that it runs and that this pod's network reaches it` };
  if (isAbort(err)) return { operation, reason: 'timeout', cause: 'no answer in time', fix: `${server} did not answer in time: check its load and the network to it` };
  return { operation, reason: 'error', cause, fix: `check ${server} and the CPI's kubeconfig` };
}

export interface LeaseFailureTrackerOptions {
  lease: LeaseRef;
  log: Logger;
  /** While one failure goes on, warn about it at most this often. Default 60 s. */
  warnIntervalMs?: number;
  now?: () => number;
}

/** Counts and reports Lease failures; succeeded() marks the Lease reachable again. */
export class LeaseFailureTracker {
  private readonly counts = new Map<string, number>();
  /** Per failure key: when it was last warned about, and how many since. */
  private readonly warned = new Map<string, { at: number; suppressed: number }>();
  private last: LeaseFailure | undefined;
  private reachable = true;
  private readonly warnIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly options: LeaseFailureTrackerOptions) {
    this.warnIntervalMs = options.warnIntervalMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  failed(operation: LeaseOperation, err: unknown): void {
    const failure = classifyLeaseFailure(operation, err, this.options.lease);
    const key = `${operation}:${failure.reason}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.last = failure;
    this.reachable = false;
    const seen = this.warned.get(key);
    const now = this.now();
    if (seen && now - seen.at < this.warnIntervalMs) {
      seen.suppressed += 1;
      return;
    }
    const { namespace, name } = this.options.lease;
    this.options.log.warn(
      { operation, reason: failure.reason, status: httpStatusOf(err), repeatedSinceLastWarning: seen?.suppressed ?? 0 },
      `cannot ${operation} the Lease ${namespace}/${name}: ${failure.cause}; ${failure.fix}`,
    );
    this.warned.set(key, { at: now, suppressed: 0 });
  }

  succeeded(): void {
    if (!this.reachable) {
      const { namespace, name } = this.options.lease;
      this.options.log.info(`the Lease ${namespace}/${name} is reachable again`);
    }
    this.reachable = true;
    // A failure that comes back after a recovery is news again: warn at once.
    this.warned.clear();
  }

  health(): LeaseHealth {
    return { reachable: this.reachable, ...(this.last && !this.reachable ? { lastFailure: this.last } : {}), failures: this.counts };
  }
}
