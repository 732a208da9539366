/**
 * CSI Identity, served in every mode that serves CSI.
 *
 * Capabilities: the reference driver answers the same list in every mode
 * (CONTROLLER_SERVICE + VOLUME_ACCESSIBILITY_CONSTRAINTS) because one Go
 * process may serve both. Here each mode answers what it really serves:
 * - controller: CONTROLLER_SERVICE, VOLUME_ACCESSIBILITY_CONSTRAINTS, VolumeExpansion ONLINE;
 * - node: VOLUME_ACCESSIBILITY_CONSTRAINTS, VolumeExpansion ONLINE (no Controller service
 *   on the node socket, so advertising it would send a CO to UNIMPLEMENTED).
 * No sidecar reads the node plugin's capabilities (node-driver-registrar uses
 * GetPluginInfo, livenessprobe uses Probe), so this is safe as a drop-in.
 *
 * Probe: ready comes from the mode's probe() (controller: a live vCenter
 * session). probe() throwing means unhealthy → the error maps to a gRPC status,
 * as the spec asks for "needs restart".
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServiceImpl } from './handler.js';
import type { GetPluginInfoResponse } from './generated/csi/v1/GetPluginInfoResponse.js';
import type { GetPluginCapabilitiesResponse } from './generated/csi/v1/GetPluginCapabilitiesResponse.js';
import type { ProbeResponse } from './generated/csi/v1/ProbeResponse.js';
import type { PluginCapability } from './generated/csi/v1/PluginCapability.js';

export const DRIVER_NAME = 'csi.vsphere.vmware.com';

let cachedVersion: string | undefined;

/** The version in package.json (two levels up from src/csi or dist/csi). */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as {
        version?: unknown;
      };
      cachedVersion = typeof pkg.version === 'string' ? pkg.version : '0.0.0-unknown';
    } catch {
      cachedVersion = process.env.npm_package_version ?? '0.0.0-unknown';
    }
  }
  return cachedVersion;
}

export type CsiMode = 'controller' | 'node';

export interface IdentityOptions {
  mode: CsiMode;
  /** Resolves true when the mode's dependencies are ready; throws when unhealthy. */
  probe: () => Promise<boolean>;
  /** Default: packageVersion(). */
  version?: string;
}

export function pluginCapabilities(mode: CsiMode): PluginCapability[] {
  const caps: PluginCapability[] = [];
  if (mode === 'controller') caps.push({ service: { type: 'CONTROLLER_SERVICE' } });
  caps.push({ service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } });
  caps.push({ volume_expansion: { type: 'ONLINE' } });
  return caps;
}

export function createIdentityService(opts: IdentityOptions): ServiceImpl {
  const version = opts.version ?? packageVersion();
  return {
    GetPluginInfo: async (): Promise<GetPluginInfoResponse> => ({ name: DRIVER_NAME, vendor_version: version, manifest: {} }),
    GetPluginCapabilities: async (): Promise<GetPluginCapabilitiesResponse> => ({ capabilities: pluginCapabilities(opts.mode) }),
    Probe: async (): Promise<ProbeResponse> => ({ ready: { value: await opts.probe() } }),
  };
}
