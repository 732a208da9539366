/**
 * vAPI REST session (/rest/com/vmware/cis/session), shared like the vim25
 * one: one login for all callers, one re-login on 401, a backoff after a
 * rejected password, DELETE on close. Errors become VsphereFault with the
 * vAPI error type in PascalCase ("AlreadyExists", "NotFound", ...).
 */
import type { Logger } from 'pino';
import { VsphereConnectionError, VsphereFault } from './faults.js';
import { waitFor } from './session.js';
import type { RequestOptions, Transport } from './transport.js';

const SESSION_PATH = '/rest/com/vmware/cis/session';
const MAX_BACKOFF_MS = 5 * 60_000;

export interface VapiRequest extends RequestOptions {
  query?: string;
  json?: unknown;
}

export class VapiSession {
  private sessionId?: string;
  private loginInFlight?: Promise<string>;
  private failure?: { error: VsphereFault; retryAt: number; backoffMs: number };
  private closed = false;

  constructor(
    private readonly transport: Transport,
    private readonly user: string,
    private readonly password: string,
    private readonly logger: Logger,
    private readonly loginBackoffMs: number,
  ) {}

  /** A vAPI call returning the unwrapped `value`. */
  async call(method: 'GET' | 'POST' | 'DELETE' | 'PATCH', path: string, request: VapiRequest = {}): Promise<unknown> {
    const id = await this.ensure(request);
    let res = await this.transport.rest(method, path, { ...request, headers: { 'vmware-api-session-id': id } });
    if (res.status === 401 && !this.closed) {
      if (this.sessionId === id) {
        this.sessionId = undefined;
        this.transport.sessionCounters.relogins++;
      }
      const fresh = await this.ensure(request);
      res = await this.transport.rest(method, path, { ...request, headers: { 'vmware-api-session-id': fresh } });
    }
    if (res.status >= 200 && res.status < 300) {
      return res.value !== null && typeof res.value === 'object' && 'value' in res.value ? (res.value as { value: unknown }).value : undefined;
    }
    throw vapiError(res.status, res.value, `${method} ${path}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.loginInFlight?.catch(() => undefined);
    const id = this.sessionId;
    this.sessionId = undefined;
    if (!id) return;
    try {
      await this.transport.rest('DELETE', SESSION_PATH, { headers: { 'vmware-api-session-id': id }, signal: AbortSignal.timeout(5000) });
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'vAPI logout failed');
    }
  }

  private ensure(options: RequestOptions): Promise<string> {
    if (this.closed) return Promise.reject(new VsphereConnectionError(`the client for vCenter ${this.transport.host} is closed`));
    if (this.sessionId) return Promise.resolve(this.sessionId);
    if (!this.loginInFlight) {
      if (this.failure && Date.now() < this.failure.retryAt) return Promise.reject(this.failure.error);
      this.loginInFlight = this.login().finally(() => {
        this.loginInFlight = undefined;
      });
    }
    return waitFor(this.loginInFlight, options.signal, 'vAPI login', this.transport.host);
  }

  private async login(): Promise<string> {
    const basic = Buffer.from(`${this.user}:${this.password}`, 'utf8').toString('base64');
    const res = await this.transport.rest('POST', SESSION_PATH, { headers: { Authorization: `Basic ${basic}` } });
    if (res.status === 401 || res.status === 403) {
      const backoffMs = this.failure ? Math.min(this.failure.backoffMs * 2, MAX_BACKOFF_MS) : this.loginBackoffMs;
      const retryAt = Date.now() + backoffMs;
      const error = new VsphereFault(
        'InvalidLogin',
        `vCenter ${this.transport.host} rejected the vAPI login of user "${this.user}": check the user name and password; not retrying before ${new Date(retryAt).toISOString()}`,
        { method: 'vAPI login', httpStatus: res.status },
      );
      this.failure = { error, retryAt, backoffMs };
      throw error;
    }
    const value = res.value !== null && typeof res.value === 'object' ? (res.value as { value?: unknown }).value : undefined;
    if (res.status !== 200 || typeof value !== 'string') throw vapiError(res.status, res.value, 'vAPI login');
    this.failure = undefined;
    this.sessionId = value;
    this.transport.sessionCounters.vapiSessionsCreated++;
    return value;
  }
}

function vapiError(status: number, body: unknown, method: string): VsphereFault {
  const type = body !== null && typeof body === 'object' && typeof (body as { type?: unknown }).type === 'string' ? (body as { type: string }).type : undefined;
  const last = type?.split('.').pop();
  const faultType = last
    ? last
        .split('_')
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
        .join('')
    : status === 404
      ? 'NotFound'
      : status === 401
        ? 'NotAuthenticated'
        : status === 403
          ? 'NoPermission'
          : 'InvalidResponse';
  return new VsphereFault(faultType, `${method}: vAPI answered HTTP ${status}${type ? ` (${type})` : ''}`, { method, httpStatus: status, detail: body });
}
