/**
 * `vsphere-csi node`: CSI Identity + Node on the kubelet plugin socket.
 *
 * Initial wiring by the CLI author; the node helper owns this file and fills
 * the Node service (src/node/service.ts) with the OS layer and topology.
 */
import { createIdentityService } from '../csi/identity.js';
import type { Logger } from '../log.js';
import type { ModeHandle, ModeOptions } from '../cli/mode-types.js';

export async function runNodeMode(opts: ModeOptions, logger: Logger): Promise<ModeHandle> {
  if (!opts.nodeName) logger.warn('NODE_NAME is not set: NodeGetInfo needs it (set it from the downward API spec.nodeName)');
  const probe = async (): Promise<boolean> => true;
  return {
    services: { Identity: createIdentityService({ mode: 'node', probe }), Node: {} },
    close: async () => undefined,
  };
}
