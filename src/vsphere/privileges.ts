/**
 * AuthorizationManager.HasPrivilegeOnEntities for the session's own user
 * (preflight: "does the configured user hold the privileges the driver
 * needs, on the objects it needs them on"). Additive to the client layer:
 * it opens its own short vim25 session with the same credentials and TLS
 * policy, asks once, and logs out, so the shared client's session and
 * public interfaces stay untouched.
 *
 * HasPrivilegeOnEntities rather than FetchUserPrivilegeOnEntities: it
 * answers for the session as vCenter evaluates it (groups, propagation,
 * global permissions included) and needs no permission to look up users.
 */
import type { BatchResult, MoRef, VsphereClientOptions } from './api.js';
import { VsphereFault } from './faults.js';
import { PropertyReader } from './property-collector.js';
import { VimSession } from './session.js';
import { all, childText, one, toMoRef } from './soap/decode.js';
import { moref } from './soap/envelope.js';
import { createAgent } from './tls.js';
import { Transport } from './transport.js';
import { silentLogger } from '../log.js';

export interface EntityPrivileges {
  entity: MoRef;
  /** privilege id → granted */
  granted: Map<string, boolean>;
}

/** One HasPrivilegeOnEntities question: these privileges on these entities. */
export interface PrivilegeQuery {
  entities: MoRef[];
  privIds: string[];
}

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

/**
 * Asks vCenter, for each query, which of its privileges the configured user
 * holds on each of its entities (answers at the query's index; a query that
 * faults, e.g. InvalidArgument for a privilege id this vCenter does not
 * know, fails alone), all in one session. Every request is bounded by `signal` (and the client's request
 * timeout); the session is always logged out, also on failure.
 */
export async function hasPrivilegesOnEntities(
  options: VsphereClientOptions,
  queries: PrivilegeQuery[],
  callOptions: { signal?: AbortSignal } = {},
): Promise<BatchResult<EntityPrivileges[]>[]> {
  const logger = options.logger ?? silentLogger;
  const agent = createAgent(options.host, options, logger);
  const transport = new Transport(options.host, options.port ?? 443, agent, options.requestTimeoutMs ?? 60_000);
  const session = new VimSession(transport, options.user, options.password, logger, { keepAliveMs: 0, loginBackoffMs: 0 });
  try {
    const o = { signal: callOptions.signal };
    const content = await session.serviceContent(o);
    const [current] = await new PropertyReader(session).objects('SessionManager', [content.sessionManager], ['currentSession'], o);
    const sessionKey = childText(current?.props.get('currentSession'), 'key');
    if (!sessionKey) throw new VsphereFault('InvalidResponse', 'SessionManager.currentSession has no key');
    // The service content decoder keeps only what the client uses; read authorizationManager here.
    const [si] = await new PropertyReader(session).objects('ServiceInstance', [SERVICE_INSTANCE], ['content.authorizationManager'], o);
    const authManager = toMoRef(si?.props.get('content.authorizationManager')) ?? { type: 'AuthorizationManager', value: 'AuthorizationManager' };
    const answers: BatchResult<EntityPrivileges[]>[] = [];
    for (const { entities, privIds } of queries) {
      if (entities.length === 0 || privIds.length === 0) {
        answers.push({ ok: true, value: [] });
        continue;
      }
      try {
        const body = await session.call(
          'vim25',
          'HasPrivilegeOnEntities',
          { _this: moref(authManager), entity: entities.map(moref), sessionId: sessionKey, privId: privIds },
          { ...o, idempotent: true },
        );
        answers.push({ ok: true, value: all(body, 'returnval').map(decodeEntityPrivilege) });
      } catch (err) {
        // Only vCenter's own refusals are per-query; a broken connection or a deadline ends the whole check.
        if (!(err instanceof VsphereFault)) throw err;
        answers.push({ ok: false, error: err });
      }
    }
    return answers;
  } finally {
    await session.close();
    transport.abortAll();
    await agent.close().catch(() => undefined);
  }
}

function decodeEntityPrivilege(ep: ReturnType<typeof one>): EntityPrivileges {
  const entity = toMoRef(one(ep, 'entity')) ?? { type: '', value: '' };
  const granted = new Map<string, boolean>();
  for (const pa of all(ep, 'privAvailability')) {
    const id = childText(pa, 'privId');
    if (id) granted.set(id, childText(pa, 'isGranted') === 'true');
  }
  return { entity, granted };
}
