/**
 * The kernel's mount table for this process, from /proc/self/mountinfo
 * (proc(5)). Parsing it directly is exact and cheap; `mount` output and
 * /proc/mounts lose the per-mount vs superblock option split we need to
 * tell a deliberate read-only bind from a filesystem remounted read-only
 * after errors.
 */
import { readFile } from 'node:fs/promises';

export interface MountEntry {
  mountId: number;
  parentId: number;
  /** "major:minor" of the filesystem's device (st_dev). */
  majorMinor: string;
  /** Path inside the filesystem that is mounted here ("/" or a bind source's subpath). */
  root: string;
  mountPoint: string;
  /** Per-mount options: rw/ro, noatime, nosuid ... */
  mountOptions: string[];
  fsType: string;
  /** Mount source, e.g. /dev/loop0. */
  source: string;
  /** Superblock options: where an emergency read-only remount shows. */
  superOptions: string[];
}

/** Undo the kernel's octal escapes for space, tab, newline and backslash (\040 ...). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const fields = line.split(' ');
    // Optional fields (shared:N, master:N ...) end at a lone "-".
    const separator = fields.indexOf('-', 6);
    if (fields.length < 10 || separator < 0 || fields.length < separator + 4) {
      throw new Error(`malformed mountinfo line: ${line}`);
    }
    entries.push({
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      majorMinor: fields[2]!,
      root: unescapeMountField(fields[3]!),
      mountPoint: unescapeMountField(fields[4]!),
      mountOptions: fields[5]!.split(','),
      fsType: fields[separator + 1]!,
      source: unescapeMountField(fields[separator + 2]!),
      superOptions: fields[separator + 3]!.split(','),
    });
  }
  return entries;
}

export const MOUNTINFO_PATH = '/proc/self/mountinfo';

export async function readMountTable(path: string = MOUNTINFO_PATH): Promise<MountEntry[]> {
  return parseMountInfo(await readFile(path, 'utf8'));
}

/** The topmost mount at a path (later lines stack over earlier ones). */
export function findMount(table: readonly MountEntry[], mountPoint: string): MountEntry | undefined {
  for (let i = table.length - 1; i >= 0; i--) {
    if (table[i]!.mountPoint === mountPoint) return table[i];
  }
  return undefined;
}

/** Every mount of the same filesystem (the staging mount and its bind-published targets). */
export function mountsOfFilesystem(table: readonly MountEntry[], majorMinor: string): MountEntry[] {
  return table.filter((m) => m.majorMinor === majorMinor);
}

/** Mounted read-write but the superblock went read-only: the kernel hit I/O or fs errors (errors=remount-ro). */
export function isEmergencyReadOnly(entry: MountEntry): boolean {
  return (
    entry.mountOptions.includes('rw') &&
    (entry.superOptions.includes('ro') || entry.superOptions.includes('emergency_ro') || entry.superOptions.includes('abort'))
  );
}
