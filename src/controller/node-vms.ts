/**
 * CSI node id (VM BIOS UUID) → node VM. The reference is cached because
 * attach storms publish many volumes to one VM; a stale entry (VM deleted or
 * re-registered) is detected by ManagedObjectNotFound and re-searched with
 * SearchIndex.FindByUuid.
 */
import { failedPrecondition, notFound, type CsiError } from '../csi/errors.js';
import type { CallOptions, MoRef, VmInfo, VsphereClient } from '../vsphere/api.js';
import { isFault } from '../vsphere/faults.js';
import { LruMap } from './lru.js';

/**
 * NOT_FOUND for a node id that is not a BIOS UUID: no VM can have it, so for
 * the CSI spec the node does not exist; it is not a malformed request.
 */
export function noSuchNode(nodeId: string, field = 'node_id'): CsiError {
  return notFound(
    `${field} "${nodeId.slice(0, 80)}" matches no VM: node ids are VM BIOS UUIDs (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) as the node plugin reports them in NodeGetInfo (see the CSINode object of the node)`,
  );
}

export interface NodeVm {
  nodeId: string;
  ref: MoRef;
  name: string;
}

export interface NodeVmsOptions {
  /** How long a VM's verified disk.EnableUUID=TRUE is trusted; default 5 min. */
  checkTtlMs?: number;
  now?: () => number;
}

/** Node ids remembered at most (LRU), each reference for at most an hour (a stale one is also caught by ManagedObjectNotFound). */
export const NODE_VM_CACHE = 10_000;
export const NODE_VM_MAX_AGE_MS = 3_600_000;

export class NodeVms {
  private readonly refs: LruMap<string, MoRef>;
  private readonly verified: LruMap<string, { name: string }>;
  private readonly lookups = new Map<string, Promise<NodeVm | undefined>>();

  constructor(private readonly client: VsphereClient, options: NodeVmsOptions = {}) {
    const now = options.now ?? Date.now;
    this.refs = new LruMap({ maxEntries: NODE_VM_CACHE, maxAgeMs: NODE_VM_MAX_AGE_MS, now });
    this.verified = new LruMap({ maxEntries: NODE_VM_CACHE, maxAgeMs: options.checkTtlMs ?? 300_000, now });
  }

  /** The VM of a node, or undefined when no VM has this BIOS UUID. */
  async find(nodeId: string, options: CallOptions = {}): Promise<MoRef | undefined> {
    const cached = this.refs.get(nodeId);
    if (cached) return cached;
    const ref = await this.client.inventory.findVmByUuid(nodeId, options);
    if (ref) this.refs.set(nodeId, ref);
    return ref;
  }

  /**
   * The VM of a node, checked fit for CNS attach (disk.EnableUUID=TRUE, so
   * the guest sees the disk's UUID under /dev/disk/by-id). undefined when
   * the VM does not exist.
   */
  findAttachable(nodeId: string): Promise<NodeVm | undefined> {
    const ok = this.verified.get(nodeId);
    const ref = this.refs.get(nodeId);
    if (ok && ref) return Promise.resolve({ nodeId, ref, name: ok.name });
    // An attach storm to a new node asks 20 times at once: one search and one check serve them all.
    let pending = this.lookups.get(nodeId);
    if (!pending) {
      // Shared by several callers, so no one caller's AbortSignal: the layer's request timeout bounds it.
      pending = this.lookUp(nodeId, {}).finally(() => this.lookups.delete(nodeId));
      this.lookups.set(nodeId, pending);
    }
    return pending;
  }

  private async lookUp(nodeId: string, options: CallOptions): Promise<NodeVm | undefined> {
    const ref = await this.find(nodeId, options);
    if (!ref) return undefined;
    let info: VmInfo;
    try {
      info = await this.client.inventory.vm(ref, options);
    } catch (err) {
      if (!isFault(err, 'ManagedObjectNotFound')) throw err;
      // The cached reference went stale: search once more.
      this.forget(nodeId);
      const fresh = await this.find(nodeId, options);
      if (!fresh) return undefined;
      info = await this.client.inventory.vm(fresh, options);
    }
    if (info.diskEnableUuid !== true) {
      throw failedPrecondition(
        `node VM "${info.name}" (node id ${nodeId}) does not have disk.EnableUUID=TRUE, so its guest cannot find attached disks by UUID: ` +
          `power the VM off, set the advanced setting disk.EnableUUID=TRUE (VM Options > Advanced > Configuration Parameters), power it on, and retry`,
      );
    }
    this.verified.set(nodeId, { name: info.name });
    return { nodeId, ref: info.ref, name: info.name };
  }

  forget(nodeId: string): void {
    this.refs.delete(nodeId);
    this.verified.delete(nodeId);
  }
}
