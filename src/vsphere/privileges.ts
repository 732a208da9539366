/**
 * AuthorizationManager.HasPrivilegeOnEntities for the session's own user
 * (preflight: "does the configured user hold the privileges the driver
 * needs, on the objects it needs them on"), asked in the client's shared
 * session: VsphereClient.session.hasPrivilegesOnEntities.
 *
 * HasPrivilegeOnEntities rather than FetchUserPrivilegeOnEntities: it
 * answers for the session as vCenter evaluates it (groups, propagation,
 * global permissions included) and needs no permission to look up users.
 */
import type { BatchResult, CallOptions, EntityPrivileges, PrivilegeQuery } from './api.js';
import { VsphereFault } from './faults.js';
import type { VimSession } from './session.js';
import { all, childText, one, toMoRef } from './soap/decode.js';
import { moref } from './soap/envelope.js';

export type { EntityPrivileges, PrivilegeQuery } from './api.js';

/**
 * Asks vCenter, for each query, which of its privileges the session `sessionKey`
 * holds on each of its entities (answers at the query's index; a query that
 * faults fails alone; a broken connection or a deadline ends the whole check).
 */
export async function hasPrivilegesOnEntities(
  session: VimSession,
  sessionKey: string,
  queries: PrivilegeQuery[],
  options: CallOptions = {},
): Promise<BatchResult<EntityPrivileges[]>[]> {
  const { authorizationManager } = await session.serviceContent(options);
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
        { _this: moref(authorizationManager), entity: entities.map(moref), sessionId: sessionKey, privId: privIds },
        { ...options, idempotent: true },
      );
      answers.push({ ok: true, value: all(body, 'returnval').map(decodeEntityPrivilege) });
    } catch (err) {
      if (!(err instanceof VsphereFault)) throw err;
      answers.push({ ok: false, error: err });
    }
  }
  return answers;
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
