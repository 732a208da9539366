/**
 * Confinement of kubelet-supplied paths to the kubelet root. The node plugin
 * runs as root and mounts/unmounts whatever path a request names, so a path
 * outside the root — lexically, or through a symlink — is INVALID_ARGUMENT
 * before anything touches it.
 *
 * volume_path (NodeGetVolumeStats, NodeExpandVolume) differs: it names a
 * volume that should already be published, and the spec answers a volume
 * that is not there with NOT_FOUND. A relative path, or one with a
 * component no filesystem allows, can never be a published volume, so it
 * is simply not found; empty values and control characters stay
 * INVALID_ARGUMENT, and so does an absolute path outside the root.
 */
import { realpath } from 'node:fs/promises';
import { notFound } from '../csi/errors.js';
import { byteLength, fieldError, LIMITS, requireString } from '../csi/validate.js';
import { canonicalPath } from './fs-util.js';
import { requirePath } from './requests.js';

export const DEFAULT_KUBELET_ROOT = '/var/lib/kubelet';

function isUnder(path: string, root: string): boolean {
  const r = root.endsWith('/') ? root.slice(0, -1) : root;
  return path === r || path.startsWith(`${r}/`);
}

/** A validator: request field → canonical (symlink-resolved) path, confined to `root` when one is given. */
export function pathUnderRoot(root: string | undefined): (value: unknown, field: string) => Promise<string> {
  let canonicalRoot: Promise<string> | undefined;
  return async (value, field) => {
    const path = requirePath(value, field);
    if (root !== undefined && !isUnder(path, root)) {
      throw fieldError(field, `'${path.slice(0, 256)}' is outside the kubelet root ${root} (set --kubelet-root-dir if kubelet uses another --root-dir)`);
    }
    const canonical = await canonicalPath(path);
    if (root === undefined) return canonical;
    // The root itself may be a symlink (a relocated kubelet dir): compare against both spellings.
    canonicalRoot ??= realpath(root).catch(() => root);
    if (!isUnder(canonical, await canonicalRoot) && !isUnder(canonical, root)) {
      throw fieldError(field, `'${path.slice(0, 256)}' resolves to ${canonical.slice(0, 256)}, outside the kubelet root ${root}`);
    }
    return canonical;
  };
}

/** Like pathUnderRoot, for a field that names an existing volume: a path that cannot exist is NOT_FOUND. */
export function existingPathUnderRoot(root: string | undefined): (value: unknown, field: string) => Promise<string> {
  const confined = pathUnderRoot(root);
  return async (value, field) => {
    const path = requireString(value, field, { maxBytes: LIMITS.pathBytes });
    const shown = path.slice(0, 256);
    if (!path.startsWith('/')) {
      throw notFound(`${field} '${shown}' does not exist on this node: it is not an absolute path, and kubelet sends the absolute path the volume is published at`);
    }
    if (path.split('/').some((s) => byteLength(s) > LIMITS.pathComponentBytes)) {
      throw notFound(`${field} '${shown}' does not exist on this node: it has a path component longer than ${LIMITS.pathComponentBytes} bytes`);
    }
    return confined(path, field);
  };
}
