/**
 * Volume health, as the reference driver reports it: CNS's healthStatus of
 * each volume becomes the PVC annotation
 * `volumehealth.storage.kubernetes.io/health` = accessible | inaccessible
 * (red → inaccessible; green and yellow → accessible; unknown or unset:
 * left as it is). The syncer writes it on each full sync and health pass;
 * every replica also reads it right after a volume is published
 * (PublishHealth), finding the claim from the volume's own PVC entity in
 * CNS, so it works whichever replica the attacher talks to.
 * ControllerGetVolume reports the same status as its volume_condition
 * (volume-ops.ts).
 */
import type { CoreV1Api, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { httpStatusOf, kubeErrorMessage, mergePatchOptions, withRequestTimeout } from '../../kube/client.js';
import type { Logger } from '../../log.js';
import type { CnsVolume } from '../../vsphere/api.js';
import { Coalescer } from '../coalescer.js';
import type { ControllerContext } from '../context.js';
import type { VcenterContext } from '../vcenters.js';
import type { SyncerMetrics } from './metrics.js';

export const HEALTH_ANNOTATION = 'volumehealth.storage.kubernetes.io/health';

const KUBE_TIMEOUT_MS = 30_000;

/** The annotation value for a CNS healthStatus; undefined when CNS does not know (nothing is written). */
export function healthAnnotation(healthStatus: string | undefined): 'accessible' | 'inaccessible' | undefined {
  switch ((healthStatus ?? '').toLowerCase()) {
    case 'red':
      return 'inaccessible';
    case 'green':
    case 'yellow':
      return 'accessible';
    default:
      return undefined;
  }
}

export class HealthAnnotator {
  constructor(
    private readonly core: CoreV1Api,
    private readonly metrics: SyncerMetrics,
    private readonly log: Logger,
  ) {}

  /** Sets the annotation when the claim says otherwise. */
  async apply(pvc: Pick<V1PersistentVolumeClaim, 'metadata'>, healthStatus: string | undefined, volumeId: string): Promise<void> {
    const value = healthAnnotation(healthStatus);
    const namespace = pvc.metadata?.namespace ?? '';
    const name = pvc.metadata?.name ?? '';
    if (!value || pvc.metadata?.annotations?.[HEALTH_ANNOTATION] === value) return;
    try {
      await this.core.patchNamespacedPersistentVolumeClaim(
        { name, namespace, body: { metadata: { annotations: { [HEALTH_ANNOTATION]: value } } } },
        withRequestTimeout(KUBE_TIMEOUT_MS, mergePatchOptions),
      );
      const log = value === 'inaccessible' ? this.log.warn.bind(this.log) : this.log.info.bind(this.log);
      log({ volumeId, pvc: `${namespace}/${name}`, healthStatus, annotation: value }, `volume health of PVC ${namespace}/${name}: ${value}`);
    } catch (err) {
      if (httpStatusOf(err) === 404) return; // the claim is gone
      this.metrics.failures.inc({ operation: 'health_annotation' });
      this.log.warn({ volumeId, pvc: `${namespace}/${name}`, err: kubeErrorMessage(err) }, 'cannot annotate the PVC with its volume health');
    }
  }

  /** Reads the claim first (no informer on this replica), then applies. */
  async applyByName(namespace: string, name: string, healthStatus: string | undefined, volumeId: string): Promise<void> {
    if (!healthAnnotation(healthStatus)) return;
    let pvc: V1PersistentVolumeClaim;
    try {
      pvc = await this.core.readNamespacedPersistentVolumeClaim({ namespace, name }, withRequestTimeout(KUBE_TIMEOUT_MS));
    } catch (err) {
      if (httpStatusOf(err) !== 404) this.log.warn({ volumeId, pvc: `${namespace}/${name}`, err: kubeErrorMessage(err) }, 'cannot read the PVC to annotate its volume health');
      return;
    }
    await this.apply(pvc, healthStatus, volumeId);
  }
}

/**
 * Health right after ControllerPublishVolume, on any replica: one
 * CnsQueryVolume per vCenter for the volumes published within a window,
 * then the annotation of each volume's claim (named by its PVC entity).
 */
export class PublishHealth {
  private readonly queries: Coalescer<string, CnsVolume | undefined>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly annotator: HealthAnnotator,
    private readonly metrics: SyncerMetrics,
    windowMs: number,
  ) {
    this.queries = new Coalescer<string, CnsVolume | undefined>({
      enabled: true,
      windowMs,
      maxBatch: 100,
      sendWhenIdle: false,
      run: async (vcName, ids) => {
        this.metrics.cnsCalls.inc({ vcenter: vcName, method: 'CnsQueryVolume' });
        const page = await this.ctx.vcenters.get(vcName)!.client.cns.queryVolumes({ volumeIds: [...new Set(ids)] });
        return ids.map((id) => ({ ok: true, value: page.volumes.find((v) => v.volumeId === id) }));
      },
    });
  }

  /** Fire and forget: the publish RPC never waits for this. */
  published(volumeId: string, vc: VcenterContext): void {
    void this.check(volumeId, vc);
  }

  private async check(volumeId: string, vc: VcenterContext): Promise<void> {
    let volume: CnsVolume | undefined;
    try {
      volume = await this.queries.submit(vc.name, volumeId);
    } catch {
      this.metrics.failures.inc({ operation: 'query' });
      return;
    }
    const claim = volume?.entityMetadata.find((e) => e.entityType === 'PERSISTENT_VOLUME_CLAIM' && e.clusterId === this.ctx.clusterId && e.namespace);
    if (volume && claim) await this.annotator.applyByName(claim.namespace!, claim.entityName, volume.healthStatus, volumeId);
  }
}
