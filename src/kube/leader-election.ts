/**
 * Lease-based leader election on coordination.k8s.io/v1 Leases, following
 * client-go's leaderelection package (client-node has none):
 * - expiry is judged by the *local* time at which we last saw the lease
 *   change (any new resourceVersion), never by the holder's renewTime, so
 *   clock skew between replicas cannot cause two leaders;
 * - every write carries the resourceVersion we read: a 409 means someone
 *   else wrote first and we did not get (or keep) the lease;
 * - a leader steps down when it has not renewed for renewDeadline, even
 *   while a request is still hanging, which is shorter than the lease
 *   duration the others wait for;
 * - stop() releases the lease (empty holder, 1 s duration) so a successor
 *   takes over at once instead of after the lease duration.
 * After losing the lease the elector campaigns again until stopped.
 * Failures to read or write the Lease (other than a lost race) are
 * reported through lease-health.ts: warn with cause and fix, counted, and
 * summarised by health().
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../log.js';
import { httpStatusOf, withRequestTimeout } from './client.js';
import { LeaseFailureTracker, type LeaseHealth, type LeaseOperation } from './lease-health.js';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Lease name, e.g. "vsphere-cpi". */
  name: string;
  /** Default `<POD_NAME or hostname>_<random uuid>`, unique per process like client-go's. */
  identity?: string;
  /** How long others wait after the last observed change before taking over. Default 15000 (client-go). */
  leaseDurationMs?: number;
  /** How long a leader keeps retrying a failed renewal before stepping down. Default 10000. */
  renewDeadlineMs?: number;
  /** Time between attempts. Default 2000; jittered by up to +20% while acquiring. */
  retryPeriodMs?: number;
  /** Clear the holder on stop() so a successor need not wait for expiry. Default true. */
  releaseOnStop?: boolean;
  log?: Logger;
  /** How often one ongoing Lease failure is warned about again. Default 60000. */
  failureWarnIntervalMs?: number;
  /** Called on becoming leader; `signal` aborts when leadership ends for any reason. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once per leadership term when it ends (lost, or stop()). */
  onStoppedLeading?(): void;
  /** Called when the observed holder changes (including to ourselves). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElector {
  readonly identity: string;
  isLeader(): boolean;
  /** Holder identity last observed in the lease ('' when free or unknown). */
  observedLeader(): string;
  /** Whether the Lease could be read and written on the last attempt, and what failed otherwise. */
  leaseHealth(): LeaseHealth;
  /** Stops campaigning; if leading, ends the term and (by default) releases the lease. */
  stop(): Promise<void>;
}

export function defaultIdentity(): string {
  return `${process.env['POD_NAME'] || hostname()}_${randomUUID()}`;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });

/** Resolves to the attempt's result, or false when it takes longer than `ms` (the request is left to finish). */
function within(attempt: Promise<boolean>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(ms, 0));
    attempt.then(
      (ok) => {
        clearTimeout(timer);
        resolve(ok);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

class LeaseElector implements LeaderElector {
  readonly identity: string;
  private readonly api: CoordinationV1Api;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private term: AbortController | undefined;
  private lease: V1Lease | undefined;
  private observedVersion = '';
  private observedAt = 0;
  private holder = '';
  private readonly failures: LeaseFailureTracker;
  private readonly done: Promise<void>;

  constructor(private readonly options: LeaderElectionOptions) {
    this.identity = options.identity ?? defaultIdentity();
    this.api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs && this.retryPeriodMs > 0)) {
      throw new Error('leader election needs leaseDurationMs > renewDeadlineMs > retryPeriodMs > 0');
    }
    this.log = (options.log ?? silentLogger).child({ lease: `${options.namespace}/${options.name}`, identity: this.identity });
    this.failures = new LeaseFailureTracker({
      lease: { namespace: options.namespace, name: options.name, server: options.kubeConfig.getCurrentCluster()?.server },
      log: this.log,
      ...(options.failureWarnIntervalMs !== undefined ? { warnIntervalMs: options.failureWarnIntervalMs } : {}),
    });
    this.done = this.run();
  }

  isLeader(): boolean {
    return this.term !== undefined;
  }

  observedLeader(): string {
    return this.holder;
  }

  leaseHealth(): LeaseHealth {
    return this.failures.health();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.done;
  }

  private async run(): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      const acquired = await within(this.tryAcquireOrRenew(this.renewDeadlineMs), this.renewDeadlineMs);
      if (stop.aborted) break;
      if (!acquired) {
        await sleep(this.retryPeriodMs * (1 + Math.random() * 0.2), stop);
        continue;
      }
      await this.lead();
    }
  }

  /** One leadership term: renew every retryPeriod until the deadline passes without a renewal, or stop(). */
  private async lead(): Promise<void> {
    const term = new AbortController();
    this.term = term;
    this.log.info('became leader');
    void Promise.resolve()
      .then(() => this.options.onStartedLeading(term.signal))
      .catch((err: unknown) => this.log.error({ err: String(err) }, 'onStartedLeading failed'));
    let lastRenew = Date.now();
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      await sleep(this.retryPeriodMs, stop);
      if (stop.aborted) break;
      const left = lastRenew + this.renewDeadlineMs - Date.now();
      const renewed = left > 0 && (await within(this.tryAcquireOrRenew(left), left));
      if (renewed) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew >= this.renewDeadlineMs || (this.holder !== '' && this.holder !== this.identity)) {
        this.log.warn({ sinceRenewMs: Date.now() - lastRenew }, 'lost leadership: could not renew the lease');
        break;
      }
    }
    // Stop the leader's work before a successor can start: end the term first, release after.
    this.term = undefined;
    term.abort();
    this.options.onStoppedLeading?.();
    if (stop.aborted && this.options.releaseOnStop !== false) await within(this.release(), this.renewDeadlineMs);
  }

  private observe(lease: V1Lease): void {
    const version = lease.metadata?.resourceVersion ?? '';
    if (version !== this.observedVersion) {
      this.observedVersion = version;
      this.observedAt = Date.now();
    }
    this.lease = lease;
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== this.holder) {
      this.holder = holder;
      if (holder) this.options.onNewLeader?.(holder);
    }
  }

  /** One read-then-write round; its requests are aborted when `timeoutMs` runs out, so none piles up while the API hangs. */
  private async tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const { namespace, name } = this.options;
    const deadline = Date.now() + timeoutMs;
    const timeout = (): ReturnType<typeof withRequestTimeout> => withRequestTimeout(Math.max(1, deadline - Date.now()));
    const now = new V1MicroTime();
    const durationSeconds = Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
    let current: V1Lease;
    try {
      current = await this.api.readNamespacedLease({ namespace, name }, timeout());
    } catch (err) {
      if (httpStatusOf(err) !== 404) {
        this.failures.failed('read', err);
        return false;
      }
      const body: V1Lease = {
        metadata: { name, namespace },
        spec: { holderIdentity: this.identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
      };
      return this.write('create', () => this.api.createNamespacedLease({ namespace, body }, timeout()));
    }
    this.failures.succeeded();
    this.observe(current);
    const spec = current.spec ?? {};
    const heldByOther = !!spec.holderIdentity && spec.holderIdentity !== this.identity;
    const observedDurationMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && Date.now() < this.observedAt + observedDurationMs) return false;
    const ours = spec.holderIdentity === this.identity;
    const body: V1Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: now,
        acquireTime: ours && spec.acquireTime ? spec.acquireTime : now,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
      },
    };
    return this.write('update', () => this.api.replaceNamespacedLease({ namespace, name, body }, timeout()));
  }

  /** A write that loses the optimistic-concurrency race (409: the API answered, someone else won) or fails otherwise is "not acquired". */
  private async write(operation: LeaseOperation, send: () => Promise<V1Lease>): Promise<boolean> {
    try {
      this.observe(await send());
      this.failures.succeeded();
      return true;
    } catch (err) {
      if (httpStatusOf(err) === 409) this.failures.succeeded();
      else this.failures.failed(operation, err);
      return false;
    }
  }

  private async release(): Promise<boolean> {
    const lease = this.lease;
    if (!lease || lease.spec?.holderIdentity !== this.identity) return false;
    const now = new V1MicroTime();
    const body: V1Lease = {
      ...lease,
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
    };
    const { namespace, name } = this.options;
    const options = withRequestTimeout(this.renewDeadlineMs);
    const released = await this.write('release', () => this.api.replaceNamespacedLease({ namespace, name, body }, options));
    if (released) this.log.info('released the lease');
    return released;
  }
}

/** Starts campaigning at once; the returned handle reports and ends the campaign. */
export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  return new LeaseElector(options);
}
