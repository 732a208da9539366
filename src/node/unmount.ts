/**
 * Unmount everything stacked on a path. A retried or racing mount can
 * leave two mounts on one path; CSI requires none to survive, so unmount
 * until the mount table no longer lists the path (bounded).
 */
import { CsiError, internal } from '../csi/errors.js';
import { CommandError } from './os/exec.js';
import { isNotMountedError } from './os/mount.js';
import { findMount, type MountEntry } from './os/mountinfo.js';
import type { NodeOs } from './os/index.js';

const MAX_STACKED_MOUNTS = 8;

export async function unmountAll(os: NodeOs, path: string, table?: MountEntry[]): Promise<void> {
  let current = table ?? (await os.mountTable());
  for (let i = 0; i < MAX_STACKED_MOUNTS && findMount(current, path); i++) {
    try {
      await os.mounter.unmount(path);
    } catch (error) {
      if (!isNotMountedError(error)) throw osFailure(`unmounting ${path}`, error);
    }
    current = await os.mountTable();
  }
  if (findMount(current, path)) throw internal(`${path} is still mounted after ${MAX_STACKED_MOUNTS} unmounts: check what keeps mounting it`);
}

/** An unexpected OS failure as INTERNAL with the program's own explanation; CsiErrors pass through. */
export function osFailure(what: string, error: unknown): CsiError {
  if (error instanceof CsiError) return error;
  if (error instanceof CommandError) return internal(`${what}: ${error.message}`);
  return internal(`${what}: ${error instanceof Error ? error.message : String(error)}`);
}
