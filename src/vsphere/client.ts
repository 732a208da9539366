/**
 * Entry point: builds one VsphereClient per vCenter. (Implementation in progress;
 * the signature is stable.)
 */
import type { VsphereClient, VsphereClientOptions } from './api.js';
import type { VCenterConfig } from '../config/types.js';

export function createVsphereClient(options: VsphereClientOptions): VsphereClient {
  void options;
  throw new Error('createVsphereClient: not implemented yet');
}

/** Maps a parsed [VirtualCenter] section to client options. */
export function clientOptionsFromConfig(vc: VCenterConfig, extra: Partial<VsphereClientOptions> = {}): VsphereClientOptions {
  return {
    host: vc.host,
    port: vc.port,
    user: vc.user,
    password: vc.password,
    insecure: vc.insecure,
    caFile: vc.caFile,
    thumbprint: vc.thumbprint,
    datacenters: vc.datacenters,
    ...extra,
  };
}
