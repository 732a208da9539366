/**
 * What this process attached where. CNS in the simulator (and CnsVolume in
 * the API version used) does not report a volume's VM, so the controller
 * remembers the attachments it made: it answers a repeated publish with the
 * same context, reports published nodes in ListVolumes/ControllerGetVolume,
 * and refuses to delete an attached volume. After a restart it is empty;
 * the truth is then read from the VMs' disk devices (volume-disks.ts): a
 * re-publish that CNS refuses with ResourceInUse is settled there and
 * recorded here again (in-use.ts), and ListVolumes/ControllerGetVolume ask
 * the devices for volumes this book does not know (published-nodes.ts).
 */
import { LruMap } from './lru.js';

export interface Attachment {
  volumeId: string;
  nodeId: string;
  vm: string;
  diskUuid: string;
}

/**
 * Attachments remembered at most (LRU, ~200 bytes each). One forgotten is
 * not lost: the VMs' disks and CNS's ResourceInUse still tell, as after a restart.
 */
export const ATTACHMENTS_KEPT = 100_000;

export class Attachments {
  private readonly byVolume = new LruMap<string, Attachment>({ maxEntries: ATTACHMENTS_KEPT });

  get(volumeId: string): Attachment | undefined {
    return this.byVolume.get(volumeId);
  }

  set(a: Attachment): void {
    this.byVolume.set(a.volumeId, a);
  }

  delete(volumeId: string): void {
    this.byVolume.delete(volumeId);
  }

  nodesOf(volumeId: string): string[] {
    const a = this.byVolume.get(volumeId);
    return a ? [a.nodeId] : [];
  }
}
