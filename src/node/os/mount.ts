/**
 * mount(8)/umount(8) wrappers. Read-only binds take two steps (bind, then
 * remount,bind,ro) as k8s mount-utils does, because a plain bind ignores
 * "ro" on older util-linux; if the second step fails the bind is undone so
 * no half-made mount is left behind.
 */
import type { Runner } from './exec.js';
import { CommandError } from './exec.js';

const MOUNT_TIMEOUT_MS = 60_000;

export interface Mounter {
  /** Mount a filesystem from a device. */
  mount(device: string, target: string, fsType: string, options: readonly string[]): Promise<void>;
  /** Bind-mount a directory or a device node; read-only via a bind remount. */
  bindMount(source: string, target: string, readonly: boolean, options: readonly string[]): Promise<void>;
  unmount(target: string): Promise<void>;
}

export function createMounter(run: Runner): Mounter {
  const mountArgs = (options: readonly string[]): string[] => (options.length > 0 ? ['-o', options.join(',')] : []);
  const unmount = async (target: string): Promise<void> => {
    await run('umount', [target], { timeoutMs: MOUNT_TIMEOUT_MS });
  };
  return {
    async mount(device, target, fsType, options) {
      await run('mount', ['-t', fsType, ...mountArgs(options), device, target], { timeoutMs: MOUNT_TIMEOUT_MS });
    },
    async bindMount(source, target, readonly, options) {
      await run('mount', ['--bind', source, target], { timeoutMs: MOUNT_TIMEOUT_MS });
      const remountOptions = [...(readonly ? ['ro'] : []), ...options];
      if (remountOptions.length === 0) return;
      try {
        await run('mount', ['-o', ['remount', 'bind', ...remountOptions].join(','), target], { timeoutMs: MOUNT_TIMEOUT_MS });
      } catch (error) {
        await unmount(target).catch(() => undefined);
        throw error;
      }
    },
    unmount,
  };
}

/** umount says "not mounted" (exit 32) when someone else already unmounted it: callers treat that as done. */
export function isNotMountedError(error: unknown): boolean {
  return error instanceof CommandError && /not mounted|no mount point specified/i.test(error.stderr);
}
