/** Small filesystem helpers with the "already gone is fine" semantics CSI cleanup needs. */
import { lstat, mkdir, open, realpath, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const code = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o750 });
}

/** A placeholder file to bind a device node onto (raw block publish). */
export async function ensureFile(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  const handle = await open(path, 'a', 0o640);
  await handle.close();
}

/**
 * Remove a mount point we made: an empty directory or an empty placeholder
 * file. Never recursive: anything left inside is data written under an
 * unmounted path and is not ours to delete. Returns false when something
 * was left in place.
 */
export async function removeMountPoint(path: string): Promise<boolean> {
  let info;
  try {
    info = await lstat(path);
  } catch (error) {
    // ENOTDIR: a parent is not a directory, so the path cannot exist: as gone as ENOENT.
    if (code(error) === 'ENOENT' || code(error) === 'ENOTDIR') return true;
    throw error;
  }
  try {
    if (info.isDirectory()) await rmdir(path);
    else if (info.isFile() && info.size === 0) await unlink(path);
    else return false;
    return true;
  } catch (error) {
    if (code(error) === 'ENOENT') return true;
    if (code(error) === 'ENOTEMPTY' || code(error) === 'EBUSY') return false;
    throw error;
  }
}

/**
 * The path as the kernel's mount table spells it: symlinks resolved (e.g.
 * /var/lib/kubelet linked to another disk), for the deepest part that
 * exists. Comparing the unresolved path with mountinfo would miss our own
 * mounts and stack a new one on every retry.
 */
export async function canonicalPath(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if (code(error) !== 'ENOENT' && code(error) !== 'ENOTDIR') return path;
    const parent = dirname(path);
    if (parent === path) return path;
    return join(await canonicalPath(parent), basename(path));
  }
}
