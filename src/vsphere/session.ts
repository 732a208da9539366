/**
 * The one vim25 session of a client. All callers share it: concurrent callers
 * during a (re)login await the same login; a call failing with
 * NotAuthenticated triggers one re-login (by the first caller that sees it)
 * and is retried once; InvalidLogin is remembered and retried only after a
 * doubling backoff so a wrong password never locks the account; an idle
 * session is kept alive with CurrentTime; close() logs out.
 */
import type { Logger } from 'pino';
import type { AboutInfo, MoRef, XmlObject } from './api.js';
import { isFault, VsphereConnectionError, VsphereFault, VsphereTimeoutError } from './faults.js';
import { childText, one, toMoRef } from './soap/decode.js';
import { moref, type SoapNamespace, type SoapValue } from './soap/envelope.js';
import type { RequestOptions, Transport } from './transport.js';

export interface ServiceContent {
  rootFolder: MoRef;
  propertyCollector: MoRef;
  viewManager: MoRef;
  searchIndex: MoRef;
  sessionManager: MoRef;
  taskManager: MoRef;
  authorizationManager: MoRef;
  about: AboutInfo;
}

export interface SessionState {
  cookie: string;
  /** Increments with every login; session-scoped objects (collectors, views) are tied to it. */
  generation: number;
}

export const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };
const MAX_BACKOFF_MS = 5 * 60_000;

export class VimSession {
  private content?: Promise<ServiceContent>;
  private state?: SessionState;
  private generation = 0;
  private loginInFlight?: Promise<SessionState>;
  private loginFailure?: { error: VsphereFault; retryAt: number; backoffMs: number };
  private keepAliveTimer?: NodeJS.Timeout;
  private closed = false;

  /** The configured vCenter host (for messages). */
  get host(): string {
    return this.transport.host;
  }

  constructor(
    private readonly transport: Transport,
    private readonly user: string,
    private readonly password: string,
    private readonly logger: Logger,
    private readonly options: { keepAliveMs: number; loginBackoffMs: number },
  ) {
    if (options.keepAliveMs > 0) {
      this.keepAliveTimer = setInterval(() => void this.keepAlive(), Math.max(1000, Math.floor(options.keepAliveMs / 2)));
      this.keepAliveTimer.unref();
    }
  }

  /** ServiceContent, fetched once per client (it needs no session). */
  serviceContent(options: RequestOptions = {}): Promise<ServiceContent> {
    if (!this.content) {
      this.content = this.transport
        .soap('vim25', 'RetrieveServiceContent', { _this: moref(SERVICE_INSTANCE) }, undefined, { idempotent: true })
        .then(({ body }) => decodeServiceContent(one(body, 'returnval')));
      this.content.then(
        (c) => {
          if (c.about.apiVersion) this.transport.apiVersion = c.about.apiVersion;
        },
        () => {
          this.content = undefined; // try again on the next call
        },
      );
    }
    return waitFor(this.content, options.signal, 'RetrieveServiceContent', this.transport.host);
  }

  /** The current session, logging in first when there is none. */
  async ensure(options: RequestOptions = {}): Promise<SessionState> {
    if (this.closed) throw new VsphereConnectionError(`the client for vCenter ${this.transport.host} is closed`);
    if (this.state) return this.state;
    if (!this.loginInFlight) {
      const failure = this.loginFailure;
      if (failure && Date.now() < failure.retryAt) throw failure.error;
      this.loginInFlight = this.login().finally(() => {
        this.loginInFlight = undefined;
      });
    }
    return waitFor(this.loginInFlight, options.signal, 'Login', this.transport.host);
  }

  /** Forgets the session if it is still the given generation (so N callers seeing NotAuthenticated cause one re-login). */
  invalidate(generation: number): void {
    if (this.state && this.state.generation === generation) {
      this.state = undefined;
      this.transport.sessionCounters.relogins++;
    }
  }

  currentGeneration(): number | undefined {
    return this.state?.generation;
  }

  /** A vim25, CNS or PBM call in the shared session, with one transparent re-login on NotAuthenticated. */
  async call(ns: SoapNamespace, method: string, params: Record<string, SoapValue>, options: RequestOptions = {}): Promise<XmlObject> {
    const session = await this.ensure(options);
    try {
      return (await this.transport.soap(ns, method, params, session.cookie, options)).body;
    } catch (err) {
      // NotAuthenticated means the server did not run the method, so resending is safe even for writes.
      if (!isFault(err, 'NotAuthenticated') || this.closed) throw err;
      this.logger.info({ vcenter: this.transport.host, method }, 'vCenter session expired; logging in again');
      this.invalidate(session.generation);
      const fresh = await this.ensure(options);
      return (await this.transport.soap(ns, method, params, fresh.cookie, options)).body;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    const inflight = this.loginInFlight;
    if (inflight) await inflight.catch(() => undefined);
    const state = this.state;
    this.state = undefined;
    if (!state) return;
    try {
      const content = await this.serviceContent();
      await this.transport.soap('vim25', 'Logout', { _this: moref(content.sessionManager) }, state.cookie, { signal: AbortSignal.timeout(5000) });
    } catch (err) {
      this.logger.debug({ vcenter: this.transport.host, err: (err as Error).message }, 'vCenter logout failed');
    }
  }

  private async login(): Promise<SessionState> {
    const content = await this.serviceContent();
    try {
      const res = await this.transport.soap(
        'vim25',
        'Login',
        { _this: moref(content.sessionManager), userName: this.user, password: this.password },
        undefined,
        {},
      );
      const cookie = sessionCookie(res.setCookies);
      if (!cookie) throw new VsphereFault('InvalidResponse', `Login: vCenter ${this.transport.host} returned no session cookie`);
      this.loginFailure = undefined;
      this.generation++;
      this.state = { cookie, generation: this.generation };
      this.transport.sessionCounters.sessionsCreated++;
      this.logger.info({ vcenter: this.transport.host, user: this.user }, 'logged in to vCenter');
      return this.state;
    } catch (err) {
      if (isFault(err, 'InvalidLogin')) {
        const backoffMs = this.loginFailure ? Math.min(this.loginFailure.backoffMs * 2, MAX_BACKOFF_MS) : this.options.loginBackoffMs;
        const retryAt = Date.now() + backoffMs;
        const error = new VsphereFault(
          'InvalidLogin',
          `vCenter ${this.transport.host} rejected the login of user "${this.user}" (InvalidLogin): check the user name and password in the configuration; ` +
            `not retrying before ${new Date(retryAt).toISOString()} so the account is not locked`,
          { method: 'Login' },
        );
        this.loginFailure = { error, retryAt, backoffMs };
        this.logger.error({ vcenter: this.transport.host, user: this.user, retryInMs: backoffMs }, 'vCenter login rejected');
        throw error;
      }
      throw err;
    }
  }

  private async keepAlive(): Promise<void> {
    const state = this.state;
    if (!state || this.closed || Date.now() - this.transport.lastRequestAt < this.options.keepAliveMs / 2) return;
    try {
      await this.transport.soap('vim25', 'CurrentTime', { _this: moref(SERVICE_INSTANCE) }, state.cookie, { signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      // An expired session is re-created lazily by the next real call.
      if (isFault(err, 'NotAuthenticated')) this.invalidate(state.generation);
      else this.logger.warn({ vcenter: this.transport.host, err: (err as Error).message }, 'vCenter keep-alive failed');
    }
  }
}

function sessionCookie(setCookies: string[]): string | undefined {
  for (const header of setCookies) {
    const first = header.split(';', 1)[0]!;
    const eq = first.indexOf('=');
    if (eq > 0 && first.slice(0, eq).trim() === 'vmware_soap_session') return first.slice(eq + 1).trim();
  }
  return undefined;
}

function decodeServiceContent(v: ReturnType<typeof one>): ServiceContent {
  const ref = (name: string): MoRef => {
    const r = toMoRef(one(v, name));
    if (!r) throw new VsphereFault('InvalidResponse', `RetrieveServiceContent: no ${name} in the service content`);
    return r;
  };
  const about = one(v, 'about');
  return {
    rootFolder: ref('rootFolder'),
    propertyCollector: ref('propertyCollector'),
    viewManager: ref('viewManager'),
    searchIndex: ref('searchIndex'),
    sessionManager: ref('sessionManager'),
    taskManager: ref('taskManager'),
    // Only preflight's privilege check uses it; its well-known id stands in should a server leave it out.
    authorizationManager: toMoRef(one(v, 'authorizationManager')) ?? { type: 'AuthorizationManager', value: 'AuthorizationManager' },
    about: {
      fullName: childText(about, 'fullName') ?? '',
      version: childText(about, 'version') ?? '',
      apiVersion: childText(about, 'apiVersion') ?? '',
      instanceUuid: childText(about, 'instanceUuid') ?? '',
      apiType: childText(about, 'apiType') ?? '',
    },
  };
}

/** Awaits a shared promise, but lets this caller's signal end its own wait early. */
export function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined, method: string, host: string): Promise<T> {
  if (!signal) return promise;
  return stopWaitingOnAbort(promise, signal, () => new VsphereTimeoutError(`${method}: deadline passed before vCenter ${host} answered`, { method }));
}

/** Awaits shared work until it settles or the signal aborts (rejecting with abortError()); the work itself runs on. */
export function stopWaitingOnAbort<T>(work: Promise<T>, signal: AbortSignal, abortError: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
