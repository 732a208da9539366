/**
 * What this process attached where. CNS in the simulator (and CnsVolume in
 * the API version used) does not report a volume's VM, so the controller
 * remembers the attachments it made: it answers a repeated publish with the
 * same context, reports published nodes in ListVolumes/ControllerGetVolume,
 * and refuses to delete an attached volume. It is rebuilt as the
 * external-attacher re-publishes after a restart (CNS answers those with
 * ResourceInUse, see publish.ts).
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
