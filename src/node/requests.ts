/**
 * Narrowing of Node RPC requests into what the handlers use, on top of the
 * shared field validation in src/csi/validate.ts (INVALID_ARGUMENT naming
 * the field). Only node-specific rules live here.
 */
import { fieldError, requireAbsolutePath, validateStringMap, validateVolumeCapability, type AccessMode } from '../csi/validate.js';

export type AccessKind = 'mount' | 'block';

export interface VolumeCapability {
  kind: AccessKind;
  /** Requested filesystem, '' when the CO left it to us. */
  fsType: string;
  mountFlags: string[];
  /** The access mode only allows reading. */
  readerOnly: boolean;
}

const READER_ONLY_MODES: readonly AccessMode[] = ['SINGLE_NODE_READER_ONLY', 'MULTI_NODE_READER_ONLY'];
/** A vSphere block disk is attached to one VM at a time: multi-node writer modes never legitimately reach a node. */
const NODE_ACCESS_MODES: readonly AccessMode[] = ['SINGLE_NODE_WRITER', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_MULTI_WRITER', ...READER_ONLY_MODES];
/** Flags that would turn our mount into a different operation. */
const FORBIDDEN_FLAGS = new Set(['bind', 'rbind', 'remount', 'move', 'make-shared', 'make-private', 'make-slave', 'make-rshared']);

export { requireVolumeId } from '../csi/validate.js';

/** An absolute, clean path (kubelet's always are; anything else is a bug or an attack), never "/" itself. */
export function requirePath(value: unknown, field: string): string {
  const path = requireAbsolutePath(value, field);
  if (path === '/') throw fieldError(field, 'must not be "/"');
  return path;
}

/** publish_context.diskUUID: 32 hex digits, as ControllerPublishVolume returns it. */
export function requireDiskUuid(publishContext: unknown): string {
  const context = validateStringMap(publishContext, 'publish_context');
  const uuid = context.diskUUID;
  if (uuid === undefined || uuid === '') {
    throw fieldError('publish_context.diskUUID', 'is required: ControllerPublishVolume returns it when it attaches the disk (is the external-attacher running?)');
  }
  if (!/^[0-9a-fA-F]{32}$/.test(uuid)) throw fieldError('publish_context.diskUUID', `'${uuid.slice(0, 64)}' must be 32 hex digits`);
  return uuid.toLowerCase();
}

/** Split "a,b" on commas outside double quotes: SELinux contexts look like context="u:r:t:s0:c0,c1". */
function splitOptionList(entry: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of entry) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

/** Kubernetes joins PV mountOptions verbatim, so one entry may hold "a,b": split, and refuse flags that change the operation. */
export function splitMountFlags(flags: readonly string[], field: string): string[] {
  const out: string[] = [];
  flags.forEach((entry, i) => {
    for (const flag of splitOptionList(entry)) {
      if (flag === '') continue;
      if (FORBIDDEN_FLAGS.has(flag)) throw fieldError(`${field}[${i}]`, `'${flag}' is not allowed: the driver decides how to mount`);
      out.push(flag);
    }
  });
  return out;
}

export function requireCapability(value: unknown, field = 'volume_capability'): VolumeCapability {
  const capability = validateVolumeCapability(value, field, { accessModes: NODE_ACCESS_MODES });
  const readerOnly = READER_ONLY_MODES.includes(capability.accessMode);
  if (capability.accessType === 'block') return { kind: 'block', fsType: '', mountFlags: [], readerOnly };
  return { kind: 'mount', fsType: capability.fsType, mountFlags: splitMountFlags(capability.mountFlags, `${field}.mount.mount_flags`), readerOnly };
}

/** The optional capability on NodeExpandVolume: only its access type matters there. */
export function optionalAccessKind(value: unknown, field: string): AccessKind | undefined {
  if (value === undefined || value === null) return undefined;
  return requireCapability(value, field).kind;
}
