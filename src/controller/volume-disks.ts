/**
 * Where vCenter itself says volumes are attached. CNS (in the API version we
 * speak) does not report a volume's VM, but the VM does: CNS attaches a
 * volume by adding a VirtualDisk whose `vDiskId.id` is the volume id and whose
 * `backing.uuid` is the disk UUID of the publish context. Reading that
 * makes a restarted controller (or a new replica), whose in-memory
 * Attachments are empty, answer like the one that made the attachments.
 *
 * Disks without `vDiskId` (vSphere < 6.7) cannot be matched to a volume
 * here; the caller then falls back to what CNS and its own memory say.
 */
import type { CallOptions, MoRef, VmDisk, VsphereClient } from '../vsphere/api.js';
import { refKey } from '../vsphere/api.js';

/** One VM that has a volume's disk. */
export interface DiskHolder {
  vm: MoRef;
  vmName: string;
  /** The VM's BIOS UUID: the CSI node id. Unset when vCenter does not report one. */
  nodeId?: string;
  disk: VmDisk;
}

export interface HoldersOptions {
  /** How old a kept snapshot may be to answer (ms); 0 (default): a read that starts now, or one in flight. */
  maxAgeMs?: number;
}

export class VolumeDisks {
  private allRead?: Promise<Map<string, DiskHolder[]>>;
  /** The last all-VM read, kept for ListVolumes passes: dropped after maxKeepMs, at release(), or by the next read. */
  private snapshot?: { at: number; holders: Map<string, DiskHolder[]> };
  private dropTimer?: NodeJS.Timeout;
  /** Volumes this process detached while a read was in flight: that read may predate the detach. */
  private changedDuringRead = new Set<string>();

  constructor(
    private readonly client: VsphereClient,
    private readonly maxKeepMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The disk of each (volume, VM) pair when that VM has it, keyed by
   * `pairKey`. One request for all VMs named.
   */
  async onVms(pairs: { volumeId: string; vm: MoRef }[], options: CallOptions = {}): Promise<Map<string, VmDisk>> {
    const out = new Map<string, VmDisk>();
    if (pairs.length === 0) return out;
    const vms = new Map(pairs.map((p) => [refKey(p.vm), p.vm]));
    const byVm = await this.client.inventory.vmDisks([...vms.values()], options);
    for (const p of pairs) {
      const disk = byVm.get(refKey(p.vm))?.find((d) => d.volumeId === p.volumeId);
      if (disk) out.set(pairKey(p.volumeId, p.vm), disk);
    }
    return out;
  }

  /**
   * Every VM holding each volume, across the configured datacenters: one
   * request over the cached VM ContainerView. Concurrent callers (a
   * ListVolumes while several publishes resolve conflicts) share one read,
   * so it carries no one caller's AbortSignal: the layer's request timeout
   * bounds it.
   */
  holders(options: HoldersOptions = {}): Promise<Map<string, DiskHolder[]>> {
    const kept = this.snapshot;
    if (kept && options.maxAgeMs && this.now() - kept.at <= Math.min(options.maxAgeMs, this.maxKeepMs)) return Promise.resolve(kept.holders);
    if (!this.allRead) {
      const at = this.now();
      this.changedDuringRead.clear();
      this.allRead = this.readAll()
        .then((holders) => {
          for (const id of this.changedDuringRead) holders.delete(id);
          this.keep(at, holders);
          return holders;
        })
        .finally(() => {
          this.allRead = undefined;
          this.changedDuringRead.clear();
        });
    }
    return this.allRead;
  }

  /**
   * This process detached the volume: a kept snapshot (or a read in flight)
   * may still show its disk, so it is taken out of both. Attaches need no
   * such care: the Attachments book answers for them first.
   */
  detached(volumeId: string): void {
    this.snapshot?.holders.delete(volumeId);
    if (this.allRead) this.changedDuringRead.add(volumeId);
  }

  /** Drops the kept snapshot (a ListVolumes pass ended). */
  release(): void {
    this.snapshot = undefined;
    if (this.dropTimer) clearTimeout(this.dropTimer);
    this.dropTimer = undefined;
  }

  private keep(at: number, holders: Map<string, DiskHolder[]>): void {
    this.release();
    this.snapshot = { at, holders };
    // Bounded by age even when no later page comes: a pass abandoned midway must not pin it.
    this.dropTimer = setTimeout(() => this.release(), this.maxKeepMs);
    this.dropTimer.unref();
  }

  private async readAll(): Promise<Map<string, DiskHolder[]>> {
    const out = new Map<string, DiskHolder[]>();
    for (const vm of await this.client.inventory.allVmDisks()) {
      for (const disk of vm.disks) {
        if (!disk.volumeId) continue;
        const list = out.get(disk.volumeId) ?? [];
        list.push({ vm: vm.ref, vmName: vm.name, nodeId: vm.biosUuid, disk });
        out.set(disk.volumeId, list);
      }
    }
    return out;
  }
}

export function pairKey(volumeId: string, vm: MoRef): string {
  return `${volumeId}@${refKey(vm)}`;
}

/** "VM node-3 (node id 4211...)" for error messages. */
export function describeHolder(h: DiskHolder): string {
  return h.nodeId ? `VM "${h.vmName}" (node id ${h.nodeId})` : `VM "${h.vmName}" (${h.vm.value})`;
}
