/**
 * Entry point: builds one VsphereClient per vCenter, wiring the transport
 * (TLS + counters), the shared vim25 and vAPI sessions, the property reader,
 * the one task waiter, and the typed services on top.
 */
import type { RequestObserver, SessionControl, VsphereClient, VsphereClientOptions, VsphereStats } from './api.js';
import type { VCenterConfig } from '../config/types.js';
import { silentLogger } from '../log.js';
import { CnsClient } from './cns.js';
import { VsphereFault } from './faults.js';
import { VsphereInventory } from './inventory.js';
import { PbmClient } from './pbm.js';
import { hasPrivilegesOnEntities } from './privileges.js';
import { PropertyReader } from './property-collector.js';
import { SERVICE_INSTANCE, VimSession } from './session.js';
import { childText, one, text } from './soap/decode.js';
import { moref } from './soap/envelope.js';
import { TagsClient } from './tags.js';
import { SharedTaskWaiter } from './task-waiter.js';
import { createAgent } from './tls.js';
import { Transport } from './transport.js';
import { VapiSession } from './vapi.js';

/** Options beyond the public ones, for tests and benchmarks. */
export interface InternalClientOptions {
  /** How long a task may stay unseen by the recentTask filter before it is read directly (default 5 s). */
  taskStragglerCheckMs?: number;
}

export function createVsphereClient(options: VsphereClientOptions & InternalClientOptions): VsphereClient {
  const logger = options.logger ?? silentLogger;
  const agent = createAgent(options.host, options, logger);
  const transport = new Transport(options.host, options.port ?? 443, agent, options.requestTimeoutMs ?? 60_000);
  const session = new VimSession(transport, options.user, options.password, logger, {
    keepAliveMs: options.keepAliveMs ?? 5 * 60_000,
    loginBackoffMs: options.loginBackoffMs ?? 10_000,
  });
  const vapi = new VapiSession(transport, options.user, options.password, logger, options.loginBackoffMs ?? 10_000);
  const reader = new PropertyReader(session);
  const tasks = new SharedTaskWaiter(session, reader, logger, options.taskStragglerCheckMs);
  const ttl = options.tagCacheTtlMs ?? 5 * 60_000;
  let closing: Promise<void> | undefined;

  const control: SessionControl = {
    ensure: async (o = {}) => void (await session.ensure(o)),
    about: async (o = {}) => (await session.serviceContent(o)).about,
    currentSessionKey: async (o = {}) => {
      const content = await session.serviceContent(o);
      const [c] = await reader.objects('SessionManager', [content.sessionManager], ['currentSession'], o);
      const key = childText(c?.props.get('currentSession'), 'key');
      if (!key) throw new VsphereFault('InvalidResponse', `SessionManager.currentSession of vCenter ${options.host} has no key`);
      return key;
    },
    terminateSessions: async (keys, o = {}) => {
      const content = await session.serviceContent(o);
      await session.call('vim25', 'TerminateSession', { _this: moref(content.sessionManager), sessionId: keys }, o);
    },
    isSessionActive: async (key, userName, o = {}) => {
      const content = await session.serviceContent(o);
      const body = await session.call('vim25', 'SessionIsActive', { _this: moref(content.sessionManager), sessionID: key, userName }, { ...o, idempotent: true });
      return text(one(body, 'returnval')) === 'true';
    },
    currentTime: async (o = {}) => {
      const body = await session.call('vim25', 'CurrentTime', { _this: moref(SERVICE_INSTANCE) }, { ...o, idempotent: true });
      return new Date(text(one(body, 'returnval')) ?? NaN);
    },
    hasPrivilegesOnEntities: async (queries, o = {}) => hasPrivilegesOnEntities(session, await control.currentSessionKey(o), queries, o),
  };

  return {
    host: options.host,
    session: control,
    inventory: new VsphereInventory(session, reader, tasks, options.datacenters ?? []),
    tasks,
    cns: new CnsClient(session, tasks),
    pbm: new PbmClient(session, ttl),
    tags: new TagsClient(vapi, ttl),
    stats: (): VsphereStats => transport.stats(),
    resetStats: () => transport.resetStats(),
    onRequest: (observer: RequestObserver) => transport.onRequest(observer),
    close: () => {
      closing ??= (async () => {
        tasks.close();
        await Promise.all([session.close(), vapi.close()]);
        // Calls still hanging after the logouts are cut: a hung vCenter must not block shutdown.
        transport.abortAll();
        await agent.close().catch(() => undefined);
      })();
      return closing;
    },
  };
}

/** Maps a parsed [VirtualCenter] section to client options. */
export function clientOptionsFromConfig(vc: VCenterConfig, extra: Partial<VsphereClientOptions> = {}): VsphereClientOptions {
  return {
    host: vc.host,
    port: vc.port,
    user: vc.user,
    password: vc.password,
    insecure: vc.insecure,
    caFile: vc.caFile,
    thumbprint: vc.thumbprint,
    datacenters: vc.datacenters,
    ...extra,
  };
}
