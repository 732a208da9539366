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
export interface Attachment {
  volumeId: string;
  nodeId: string;
  vm: string;
  diskUuid: string;
}

export class Attachments {
  private readonly byVolume = new Map<string, Attachment>();

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
