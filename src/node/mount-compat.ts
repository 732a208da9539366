/**
 * Is an existing mount "the same" as the one a retried request asks for?
 * Decided from the kernel's mount table alone, so the answer survives a
 * plugin restart: VFS flags (ro, noexec, noatime ...) show exactly in the
 * per-mount options; filesystem-specific flags show in the superblock
 * options when the filesystem reports them, and are compared only then.
 */
import type { MountEntry } from './os/index.js';

/** Per-mount flags the kernel always reports when set (proc(5)). */
const VFS_FLAGS = ['ro', 'nosuid', 'nodev', 'noexec', 'noatime', 'nodiratime', 'strictatime'] as const;
/** Flags that are VFS-level but not reported under their own name, or defaults that never differ. */
const UNREPORTED = new Set(['rw', 'defaults', 'relatime', 'suid', 'dev', 'exec', 'atime', 'diratime', 'async', 'auto', 'nouser']);

export interface FlagMismatch {
  flag: string;
  wanted: boolean;
}

/**
 * The first flag where the mount differs from the request, or undefined when
 * compatible. `inheritedFrom` is the mount a bind was made from: a bind
 * starts with its source's VFS flags (a noatime staging mount gives noatime
 * targets), so those count as asked for.
 */
export function mountFlagMismatch(entry: MountEntry, requested: readonly string[], readonly: boolean, inheritedFrom?: MountEntry): FlagMismatch | undefined {
  const wanted = new Set(requested);
  if (readonly) wanted.add('ro');
  for (const flag of inheritedFrom?.mountOptions ?? []) {
    if ((VFS_FLAGS as readonly string[]).includes(flag)) wanted.add(flag);
  }
  for (const flag of VFS_FLAGS) {
    const has = entry.mountOptions.includes(flag);
    if (has !== wanted.has(flag)) return { flag, wanted: wanted.has(flag) };
  }
  for (const flag of wanted) {
    // Quoted values (SELinux context="...,...") do not survive mountinfo's comma-separated form.
    if ((VFS_FLAGS as readonly string[]).includes(flag) || UNREPORTED.has(flag) || flag.includes('"')) continue;
    const name = flag.split('=')[0]!;
    const reported = entry.superOptions.find((o) => o === flag || o.split('=')[0] === name);
    // Only the option's name: its value may be sensitive.
    if (reported !== undefined && reported !== flag) return { flag: name, wanted: true };
  }
  return undefined;
}

export function describeMismatch(m: FlagMismatch): string {
  return m.wanted ? `it lacks "${m.flag}"` : `it has "${m.flag}" which this request does not ask for`;
}
