/**
 * Whether and how controller mode runs the metadata syncer, decided without
 * loading @kubernetes/client-node (~70 MiB and ~0.5 s): off when turned off
 * in the config or environment, and off (with a warning naming the fix)
 * when the process has no Kubernetes credentials, as in tests that run the
 * controller alone. Otherwise the syncer module loads in the background, so
 * the CSI socket serves from the start.
 */
import type { ModeOptions } from '../../cli/mode-types.js';
import type { CsiGlobalSettings } from '../../config/types.js';
import type { Logger } from '../../log.js';
import type { ControllerContext } from '../context.js';
import { syncerSettings } from './settings.js';

export interface SyncerHandle {
  close(): Promise<void>;
}

export function launchMetadataSyncer(context: ControllerContext, global: CsiGlobalSettings | undefined, opts: ModeOptions, logger: Logger): SyncerHandle {
  const log = logger.child({ component: 'syncer' });
  const settings = syncerSettings(global, opts.env);
  if (!settings.enabled) {
    log.info('metadata syncer is off ([Global] metadata-syncer = false or VSPHERE_CSI_METADATA_SYNCER=false)');
    return { close: async () => undefined };
  }
  if (!opts.kubeconfig && !opts.env.KUBERNETES_SERVICE_HOST) {
    log.warn(
      'metadata syncer is off: no Kubernetes credentials (run in a pod with the vsphere-csi-controller service account, or pass --kubeconfig); ' +
        'vCenter shows volumes without their PVC, pod and label metadata. Set VSPHERE_CSI_METADATA_SYNCER=false to silence this',
    );
    return { close: async () => undefined };
  }
  const started = (async () => {
    const [{ loadKubeConfig }, { MetadataSyncer }] = await Promise.all([import('../../kube/client.js'), import('./syncer.js')]);
    const syncer = new MetadataSyncer({ ctx: context, kubeConfig: loadKubeConfig(opts.kubeconfig), settings, registry: opts.metricsRegistry, log });
    context.onVolumePublished = (volumeId, vc) => syncer.publishHealth.published(volumeId, vc);
    return syncer;
  })().catch((err: unknown) => {
    log.error({ err: (err as Error).message }, 'metadata syncer could not start; CSI calls are served without it');
    return undefined;
  });
  return {
    close: async () => {
      context.onVolumePublished = undefined;
      await (await started)?.stop();
    },
  };
}
