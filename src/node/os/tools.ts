/**
 * The programs the node plugin runs. Checked once at start so a image
 * missing xfsprogs says so in the first log lines, not on the first xfs
 * volume hours later.
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export const NODE_TOOLS = ['mount', 'umount', 'blkid', 'blockdev', 'losetup', 'mkfs.ext4', 'mkfs.ext3', 'mkfs.xfs', 'resize2fs', 'xfs_growfs'] as const;

async function onPath(tool: string, dirs: readonly string[]): Promise<boolean> {
  for (const dir of dirs) {
    if (await access(join(dir, tool), constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}

/** The tools not found as executables on PATH. */
export async function missingTools(pathEnv: string | undefined, tools: readonly string[] = NODE_TOOLS): Promise<string[]> {
  const dirs = (pathEnv ?? '').split(delimiter).filter(Boolean);
  const found = await Promise.all(tools.map((tool) => onPath(tool, dirs)));
  return tools.filter((_, i) => !found[i]);
}
