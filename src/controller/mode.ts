/**
 * `vsphere-csi controller`: CSI Identity + Controller beside
 * external-provisioner/-attacher/-resizer.
 *
 * Initial wiring by the CLI author; the controller helper owns this file and
 * adds the vCenter client, the Controller service and the session-based Probe.
 */
import { loadCsiConfig } from '../config/csi-config.js';
import { createIdentityService } from '../csi/identity.js';
import type { Logger } from '../log.js';
import type { ModeHandle, ModeOptions } from '../cli/mode-types.js';

export async function runControllerMode(opts: ModeOptions, logger: Logger): Promise<ModeHandle> {
  const config = await loadCsiConfig(opts.configPath, { env: opts.env, logger });
  logger.info(
    { config: config.source, cluster_id: config.clusterId, vcenters: config.vcenters.map((vc) => vc.host) },
    'controller configuration loaded',
  );
  // Until the vCenter client is wired here, "ready" means the config parsed.
  const probe = async (): Promise<boolean> => true;
  return {
    services: { Identity: createIdentityService({ mode: 'controller', probe }), Controller: {} },
    close: async () => undefined,
  };
}
