/**
 * `vsphere-csi cpi`: the node-initialization controller.
 *
 * Placeholder from the CLI author; the CPI helper owns this file and wires
 * the informer-based controller (src/cpi/controller.ts) here.
 */
import type { Logger } from '../log.js';
import type { ModeHandle, ModeOptions } from '../cli/mode-types.js';

export async function runCpiMode(opts: ModeOptions, logger: Logger): Promise<ModeHandle> {
  logger.error({ cloud_config: opts.cloudConfigPath }, 'cpi mode is not wired yet');
  throw new Error('cpi mode is not built yet in this version');
}
