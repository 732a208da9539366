/**
 * CreateVolume's idempotency: the CNS volume name is the request name, so a
 * query by name finds what any earlier attempt (of any process) created.
 * With several vCenters every vCenter is asked, one query each and all at
 * once, so a retry never creates a second volume in another vCenter; the
 * concurrent creates asking one vCenter share one query.
 *
 * A vCenter that is down is not waited for unless it is the one the new
 * volume goes to: the choice of vCenter is deterministic, so an earlier
 * attempt of the same request went to the same vCenter, and only a changed
 * inventory or topology between the attempts could have put it elsewhere.
 * Each such skip is logged with the vCenter's name.
 */
import type { CallContext } from '../csi/handler.js';
import type { CnsVolume } from '../vsphere/api.js';
import { Coalescer } from './coalescer.js';
import type { ControllerContext } from './context.js';
import type { VcenterContext } from './vcenters.js';
import { askEach } from './volume-locator.js';

export interface NameAnswer {
  existing?: { vc: VcenterContext; volume: CnsVolume };
  /** vCenters that could not be asked, and why. */
  unanswered: Map<VcenterContext, string>;
}

export class NameLookups {
  private readonly lookups: Coalescer<string, CnsVolume[]>;

  constructor(private readonly ctx: ControllerContext) {
    this.lookups = new Coalescer<string, CnsVolume[]>({
      ...ctx.batching,
      run: async (vcName, names) => {
        const found = await ctx.vcenters.get(vcName)!.client.cns.queryAllPages({ names: [...new Set(names)], containerClusterIds: [ctx.clusterId] });
        return names.map((name) => ({ ok: true, value: found.filter((v) => v.name === name) }));
      },
    });
  }

  /** CNS name queries sent and the names they carried. */
  get stats(): { batches: number; items: number } {
    return this.lookups.stats;
  }

  /** The CNS volume of this cluster with this exact name in one vCenter, if any. */
  async findIn(vc: VcenterContext, name: string, call: CallContext): Promise<CnsVolume | undefined> {
    const named = await this.lookups.submit(vc.name, name);
    const mine = named
      .filter((v) => v.name === name)
      .filter((v) => !v.containerCluster || v.containerCluster.clusterId === this.ctx.clusterId)
      .sort((a, b) => (a.volumeId < b.volumeId ? -1 : 1));
    if (mine.length > 1) call.log.warn({ volumeName: name, vcenter: vc.name, volumeIds: mine.map((v) => v.volumeId) }, 'several CNS volumes carry this name; using the first');
    return mine[0];
  }

  /** Asks every vCenter that is not down (one vCenter: that one, its failure thrown). */
  async find(name: string, call: CallContext): Promise<NameAnswer> {
    const { vcenters } = this.ctx;
    const unanswered = new Map<VcenterContext, string>();
    if (vcenters.size === 1) {
      const volume = await this.findIn(vcenters.first, name, call);
      return { existing: volume && { vc: vcenters.first, volume }, unanswered };
    }
    for (const vc of vcenters.all) if (vc.health.isDown) unanswered.set(vc, `down: ${vc.health.reason}`);
    const asked = await askEach(
      vcenters.all.filter((vc) => !unanswered.has(vc)),
      (vc) => this.findIn(vc, name, call),
      (v) => v !== undefined,
    );
    for (const f of asked.failed) unanswered.set(f.vc, (f.error as Error).message);
    return { existing: asked.found && { vc: asked.found.vc, volume: asked.found.value! }, unanswered };
  }

  /**
   * Once the new volume's vCenter is chosen: that one must have answered
   * (asked again now if it had not; its failure is the request's), and each
   * other that did not is logged.
   */
  async confirm(answer: NameAnswer, chosen: VcenterContext, name: string, call: CallContext): Promise<CnsVolume | undefined> {
    for (const [vc, why] of answer.unanswered) {
      if (vc === chosen) continue;
      call.log.warn(
        { volumeName: name, vcenter: vc.name, chosen: chosen.name, reason: why },
        `vCenter ${vc.name} could not be asked for an earlier volume named "${name}"; creating it in vCenter ${chosen.name}, where the requested topology puts it`,
      );
    }
    return answer.unanswered.has(chosen) ? this.findIn(chosen, name, call) : undefined;
  }
}
