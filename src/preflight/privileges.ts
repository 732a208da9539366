/**
 * Check 3b: the configured user holds the privileges the driver needs, on
 * the objects the reference driver's documentation names ("vSphere Roles and
 * Privileges"): CNS-SEARCH-AND-SPBM on the root, CNS-VM on every node VM,
 * ReadOnly on the node VMs' ancestors (to read their topology tags),
 * CNS-DATASTORE on the shared datastores.
 *
 * A server that grants a privilege that does not exist does not evaluate
 * privileges at all (the govmomi simulator answers "granted" to everything):
 * we ask it for a made-up id first and skip the check when it says yes,
 * rather than report a pass nobody verified.
 */
import type { BatchResult, EntityPrivileges, MoRef, PrivilegeQuery, VsphereClient } from '../vsphere/api.js';
import { refKey } from '../vsphere/api.js';
import { fail, pass, skip, warn, whatFailed, type CheckResult } from './types.js';

const NAME = 'vcenter-privileges';
const READ = ['System.Anonymous', 'System.Read', 'System.View'];
export const CANARY_PRIVILEGE = 'Preflight.NonexistentPrivilege';

export interface PrivilegeRequirement {
  /** Role name in the reference documentation, for the fix text. */
  role: string;
  /** Where it must be assigned, for the fix text. */
  scope: string;
  entities: { ref: MoRef; name: string }[];
  privIds: string[];
  /** 'warn' where the driver copes without (it skips datastores it may not write). */
  severity: 'fail' | 'warn';
}

export interface PrivilegeTargets {
  root: { ref: MoRef; name: string };
  nodeVms: { ref: MoRef; name: string }[];
  /** Hosts, clusters, folders and datacenters above the node VMs. */
  ancestors: { ref: MoRef; name: string }[];
  /** Datastores shared by node VMs (candidates for volumes). */
  datastores: { ref: MoRef; name: string }[];
}

export function requiredPrivileges(t: PrivilegeTargets): PrivilegeRequirement[] {
  return [
    { role: 'CNS-SEARCH-AND-SPBM', scope: 'the root vCenter Server', entities: [t.root], privIds: ['Cns.Searchable', 'StorageProfile.View', ...READ], severity: 'fail' },
    { role: 'CNS-VM', scope: 'every node VM', entities: t.nodeVms, privIds: ['VirtualMachine.Config.AddExistingDisk', 'VirtualMachine.Config.AddRemoveDevice', ...READ], severity: 'fail' },
    { role: 'ReadOnly', scope: "the node VMs' hosts, clusters, folders and datacenters", entities: t.ancestors, privIds: ['System.Read'], severity: 'fail' },
    { role: 'CNS-DATASTORE', scope: 'the shared datastores', entities: t.datastores, privIds: ['Datastore.FileManagement', 'Datastore.AllocateSpace', ...READ], severity: 'warn' },
  ];
}

/** Pure: the answers (one list per requirement, same order) → the check. */
export function evaluatePrivileges(reqs: PrivilegeRequirement[], answers: EntityPrivileges[][]): CheckResult {
  const failures: string[] = [];
  const warnings: string[] = [];
  const fixes = new Set<string>();
  let checked = 0;
  reqs.forEach((req, i) => {
    const byEntity = new Map((answers[i] ?? []).map((a) => [refKey(a.entity), a.granted]));
    for (const entity of req.entities) {
      const granted = byEntity.get(refKey(entity.ref));
      const missing = req.privIds.filter((p) => granted?.get(p) !== true);
      checked += req.privIds.length;
      if (missing.length === 0) continue;
      (req.severity === 'fail' ? failures : warnings).push(`${entity.name}: ${missing.join(', ')}`);
      fixes.add(`assign a role with ${req.privIds.join(', ')} (${req.role}) on ${req.scope}`);
    }
  });
  const fix = [...fixes].join('; ');
  if (failures.length > 0) return fail(NAME, `missing privileges: ${[...failures, ...warnings].join('; ')}`, fix);
  if (warnings.length > 0) return warn(NAME, `missing on datastores (the driver will not place volumes there): ${warnings.join('; ')}`, fix);
  return pass(NAME, `all ${checked} required privilege grants present`);
}

export async function checkPrivileges(client: VsphereClient, targets: PrivilegeTargets, timeoutMs: number): Promise<CheckResult> {
  const reqs = requiredPrivileges(targets);
  const queries: PrivilegeQuery[] = [
    { entities: [targets.root.ref], privIds: [CANARY_PRIVILEGE] },
    ...reqs.map((r) => ({ entities: r.entities.map((e) => e.ref), privIds: r.privIds })),
  ];
  let answers: BatchResult<EntityPrivileges[]>[];
  try {
    answers = await client.session.hasPrivilegesOnEntities(queries, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const what = whatFailed(err);
    return fail(NAME, `AuthorizationManager.HasPrivilegeOnEntities failed: ${what}`, 'grant the user System.View on the root vCenter Server (ReadOnly role) so it can read its own privileges');
  }
  const [canary, ...rest] = answers;
  if (canary?.ok && canary.value[0]?.granted.get(CANARY_PRIVILEGE) === true) {
    return skip(NAME, `not verifiable: this vCenter reports even the nonexistent privilege ${CANARY_PRIVILEGE} as granted (the govmomi simulator does), so its answers carry no information`);
  }
  const refused = rest.find((r) => !r.ok);
  if (refused && !refused.ok) {
    const what = whatFailed(refused.error);
    return fail(NAME, `vCenter refused a privilege query: ${what}`, 'grant the user System.View on the root vCenter Server (ReadOnly role); on vCenter older than 6.7U3 the CNS privileges do not exist (see the cns check)');
  }
  return evaluatePrivileges(reqs, rest.map((r) => (r.ok ? r.value : [])));
}
