/**
 * CSI Identity, served in every mode that serves CSI.
 *
 * Capabilities describe the plugin, not the process: the CSI spec lets a CO
 * reach a plugin's services through different endpoints, and a CO (or a
 * conformance harness) that asks the node socket must learn that the plugin
 * has a Controller service, or it never drives ControllerPublish before
 * NodeStage. So controller and node mode answer the same set, as the
 * reference driver does:
 * - CONTROLLER_SERVICE and VolumeExpansion ONLINE, always;
 * - VOLUME_ACCESSIBILITY_CONSTRAINTS only when `[Labels]` configures topology
 *   (both modes read the same csi-vsphere.conf), because only then does
 *   NodeGetInfo report segments and CreateVolume honour requirements.
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

export interface IdentityOptions {
  /** Whether `[Labels]` configures topology (contract/topology-keys.ts topologyConfigured). */
  topology: boolean;
  /** Resolves true when the mode's dependencies are ready; throws when unhealthy. */
  probe: () => Promise<boolean>;
  /** Default: packageVersion(). */
  version?: string;
}

export function pluginCapabilities(topology: boolean): PluginCapability[] {
  const caps: PluginCapability[] = [{ service: { type: 'CONTROLLER_SERVICE' } }];
  if (topology) caps.push({ service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } });
  caps.push({ volume_expansion: { type: 'ONLINE' } });
  return caps;
}

export function createIdentityService(opts: IdentityOptions): ServiceImpl {
  const version = opts.version ?? packageVersion();
  return {
    GetPluginInfo: async (): Promise<GetPluginInfoResponse> => ({ name: DRIVER_NAME, vendor_version: version, manifest: {} }),
    GetPluginCapabilities: async (): Promise<GetPluginCapabilitiesResponse> => ({ capabilities: pluginCapabilities(opts.topology) }),
    Probe: async (): Promise<ProbeResponse> => ({ ready: { value: await opts.probe() } }),
  };
}
