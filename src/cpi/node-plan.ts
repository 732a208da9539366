/**
 * Decides, for one Node and what vCenter says about its VM, what the CPI
 * should do. Pure: the controller gathers facts, this decides, the
 * controller applies. Keeping the decision here makes every branch
 * (initialize, drift fix, shutdown, VM gone, missing data) unit-testable.
 */
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import type { LabelsConfig } from '../config/types.js';
import { selectNodeAddresses, type compileAddressRules, type IpFamily, type NodeAddress } from './addresses.js';
import { instanceTypeFor } from './instance-type.js';
import { SHUTDOWN_TAINT, UNINITIALIZED_TAINT } from '../contract/taints.js';
import { INSTANCE_TYPE_LABEL, LEGACY_INSTANCE_TYPE_LABEL, needsInitialization } from './node-patch.js';
import { topologyLabels, type AncestorEntry, type TagFacts } from './topology.js';
import { providerIdFor, uuidFromProviderId } from '../contract/uuid.js';
import { describeSearch, type VmMatch } from './vm-matcher.js';

export interface PlanContext {
  labels: LabelsConfig;
  addressRules: ReturnType<typeof compileAddressRules>;
  ipFamilies: IpFamily[];
  deleteNodesOfDeletedVms: boolean;
  /** Host chain of the matched VM (nearest first), when known. */
  chain?: AncestorEntry[];
  facts?: TagFacts;
  /** False when some vCenter could not be listed: then "VM not found" proves nothing. */
  inventoryComplete: boolean;
}

export type EventReason = 'VMNotFound' | 'MissingVMwareToolsData' | 'MissingTopologyTags' | 'VMPoweredOff' | 'DeletingNode' | 'Initialized' | 'NoMatchingAddress';

export interface NodeProblem {
  reason: EventReason;
  message: string;
}

export type NodePlan =
  | {
      action: 'apply';
      /** True when this completes initialization (the taint goes). */
      initializing: boolean;
      providerID?: string;
      labels: Record<string, string>;
      /** Undefined: leave addresses alone (e.g. VM powered off, Tools silent). */
      addresses?: NodeAddress[];
      removeTaints: string[];
      addTaints: V1Taint[];
      /** Things worth an Event that do not block (powered off, partial addresses, drifted labels left alone). */
      notices: NodeProblem[];
      matchedBy: VmMatch['by'];
      vm: VmMatch;
    }
  | { action: 'retry'; problem: NodeProblem }
  | { action: 'delete'; problem: NodeProblem }
  | { action: 'report'; problem: NodeProblem }
  | { action: 'skip' };

export function planNode(node: V1Node, match: VmMatch | undefined, ctx: PlanContext): NodePlan {
  const initializing = needsInitialization(node);
  const ownUuid = uuidFromProviderId(node.spec?.providerID);
  if (!initializing && !ownUuid) return { action: 'skip' }; // another provider's node

  if (!match) {
    if (!ctx.inventoryComplete) return { action: 'skip' };
    if (initializing) {
      const message = `no VM found in any configured vCenter by ${describeSearch(node)}`;
      return { action: 'retry', problem: { reason: 'VMNotFound', message } };
    }
    const message = `VM with BIOS UUID ${ownUuid} no longer exists in any configured vCenter`;
    return ctx.deleteNodesOfDeletedVms
      ? { action: 'delete', problem: { reason: 'DeletingNode', message: `${message}: deleting the Node` } }
      : { action: 'report', problem: { reason: 'VMNotFound', message: `${message} (node deletion is disabled)` } };
  }

  const vm = match;
  const poweredOff = vm.vm.powerState === 'poweredOff';
  const notices: NodeProblem[] = [];
  const blocking: NodeProblem[] = [];

  const selection = selectNodeAddresses(vm.vm.guestHostName, vm.vm.guestNics, ctx.addressRules, ctx.ipFamilies);
  let addresses: NodeAddress[] | undefined = selection.addresses;
  if (selection.problems.length) {
    const missingTools = selection.problems.some((p) => p.startsWith('VMware Tools'));
    const problem: NodeProblem = {
      reason: missingTools ? 'MissingVMwareToolsData' : 'NoMatchingAddress',
      message: `VM ${vm.vm.name} in vCenter ${vm.vcenter}: ${selection.problems.join('; ')}`,
    };
    addresses = undefined;
    // A powered-off VM has no Tools data; that is not a reason to keep an initialized node from being updated.
    if (initializing) blocking.push(problem);
    else if (!poweredOff) notices.push(problem);
  }
  for (const w of selection.warnings) notices.push({ reason: 'NoMatchingAddress', message: `VM ${vm.vm.name}: ${w}` });

  let topo: Record<string, string> = {};
  if (ctx.chain && ctx.facts) {
    const t = topologyLabels(ctx.chain, ctx.labels, ctx.facts, vm.vcenter);
    topo = t.labels;
    if (t.problems.length) {
      const problem: NodeProblem = { reason: 'MissingTopologyTags', message: `VM ${vm.vm.name}: ${t.problems.join('; ')}` };
      if (initializing) blocking.push(problem);
      else notices.push(problem);
    }
  }

  if (initializing && !vm.vm.biosUuid) {
    blocking.push({ reason: 'MissingVMwareToolsData', message: `VM ${vm.vm.name} in vCenter ${vm.vcenter} reports no BIOS UUID (config.uuid), so no providerID can be set` });
  }
  if (blocking.length) {
    return { action: 'retry', problem: { reason: blocking[0]!.reason, message: blocking.map((b) => b.message).join('; ') } };
  }

  const labels: Record<string, string> = { ...topo };
  if (vm.vm.numCpu !== undefined && vm.vm.memoryMb !== undefined) {
    const type = instanceTypeFor(vm.vm.numCpu, vm.vm.memoryMb, vm.vm.guestId);
    labels[INSTANCE_TYPE_LABEL] = type;
    labels[LEGACY_INSTANCE_TYPE_LABEL] = type;
  }

  const removeTaints: string[] = [];
  const addTaints: V1Taint[] = [];
  if (initializing) removeTaints.push(UNINITIALIZED_TAINT);
  if (poweredOff) {
    addTaints.push({ key: SHUTDOWN_TAINT, effect: 'NoSchedule' });
    notices.push({ reason: 'VMPoweredOff', message: `VM ${vm.vm.name} in vCenter ${vm.vcenter} is powered off` });
  } else {
    removeTaints.push(SHUTDOWN_TAINT);
  }

  return {
    action: 'apply',
    initializing,
    providerID: vm.vm.biosUuid ? providerIdFor(vm.vm.biosUuid) : undefined,
    labels,
    addresses,
    removeTaints,
    addTaints,
    notices,
    matchedBy: match.by,
    vm: match,
  };
}
