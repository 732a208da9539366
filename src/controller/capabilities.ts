/**
 * Volume capability checks: CNS block volumes attach to one VM at a time,
 * so only single-node access modes are served; file volumes (vSAN file
 * services) are not implemented.
 */
import { invalidArgument } from '../csi/errors.js';

/** A CSI VolumeCapability as decoded by proto-loader (oneofs: access_type names the set member). */
export interface VolumeCapabilityInput {
  block?: object | null;
  mount?: { fs_type?: string; mount_flags?: string[]; volume_mount_group?: string } | null;
  access_type?: 'block' | 'mount' | string;
  access_mode?: { mode?: string } | null;
}

export const SUPPORTED_FS_TYPES = ['ext4', 'ext3', 'xfs'] as const;
const SINGLE_NODE_MODES = new Set(['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_MULTI_WRITER']);
const MULTI_NODE_MODES = new Set(['MULTI_NODE_READER_ONLY', 'MULTI_NODE_SINGLE_WRITER', 'MULTI_NODE_MULTI_WRITER']);

export type AccessType = 'block' | 'mount';

/** Why a capability is unsupported, or undefined when it is fine. */
export function capabilityProblem(cap: VolumeCapabilityInput, field: string): string | undefined {
  const mode = cap.access_mode?.mode;
  if (!mode || mode === 'UNKNOWN') return `${field}.access_mode.mode is missing or UNKNOWN; use SINGLE_NODE_WRITER`;
  if (MULTI_NODE_MODES.has(mode)) {
    return `${field}.access_mode.mode ${mode} needs a file volume, and file volumes are not supported yet; use SINGLE_NODE_WRITER (ReadWriteOnce)`;
  }
  if (!SINGLE_NODE_MODES.has(mode)) return `${field}.access_mode.mode "${mode}" is not a known access mode`;
  const type = accessTypeOf(cap);
  if (type === undefined) return `${field}: set either block or mount as the access type`;
  if (type === 'mount') {
    const fs = (cap.mount?.fs_type ?? '').toLowerCase();
    if (fs !== '' && !(SUPPORTED_FS_TYPES as readonly string[]).includes(fs)) {
      return `${field}.mount.fs_type "${cap.mount?.fs_type}" is not supported; use one of ${SUPPORTED_FS_TYPES.join(', ')}`;
    }
  }
  return undefined;
}

export function accessTypeOf(cap: VolumeCapabilityInput): AccessType | undefined {
  if (cap.access_type === 'block' || (cap.access_type === undefined && cap.block)) return 'block';
  if (cap.access_type === 'mount' || (cap.access_type === undefined && cap.mount)) return 'mount';
  return undefined;
}

/** Throws INVALID_ARGUMENT naming the first unsupported capability. */
export function checkCapabilities(caps: VolumeCapabilityInput[] | null | undefined, field = 'volume_capabilities'): void {
  if (!caps || caps.length === 0) throw invalidArgument(`${field} is empty; give at least one volume capability`);
  caps.forEach((cap, i) => {
    const problem = capabilityProblem(cap ?? {}, `${field}[${i}]`);
    if (problem) throw invalidArgument(problem);
  });
}
