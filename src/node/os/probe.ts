/**
 * What is on a block device, per blkid's low-level probe (-p reads the
 * device itself, not the udev cache). The node plugin formats only a
 * device that probes as blank: a partition table, LVM member, LUKS header
 * or any other signature means someone's data.
 */
import type { Runner } from './exec.js';

export type DeviceContent =
  | { kind: 'blank' }
  | { kind: 'filesystem'; fsType: string }
  | { kind: 'partition-table'; ptType: string }
  /** A signature that is not a mountable filesystem (swap, LVM2_member, crypto_LUKS ...) or an ambivalent probe. */
  | { kind: 'other'; description: string };

/** blkid exits 2 when it found no signature at all: that, and only that, is "blank". */
const BLKID_NOTHING_FOUND = 2;
/** blkid exits 8 when several signatures compete (e.g. stale xfs under a new ext4): never blank. */
const BLKID_AMBIVALENT = 8;

export function parseBlkidExport(stdout: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return values;
}

export function classifyBlkid(exitCode: number, stdout: string): DeviceContent {
  if (exitCode === BLKID_NOTHING_FOUND) return { kind: 'blank' };
  if (exitCode === BLKID_AMBIVALENT) return { kind: 'other', description: 'several competing signatures (blkid -p is ambivalent)' };
  const values = parseBlkidExport(stdout);
  if (values.PTTYPE) return { kind: 'partition-table', ptType: values.PTTYPE };
  if (values.TYPE && (values.USAGE === undefined || values.USAGE === 'filesystem')) return { kind: 'filesystem', fsType: values.TYPE };
  if (values.TYPE) return { kind: 'other', description: `${values.TYPE} (${values.USAGE})` };
  return { kind: 'other', description: 'unrecognized blkid output' };
}

export async function probeDevice(run: Runner, device: string): Promise<DeviceContent> {
  const { stdout, exitCode } = await run('blkid', ['-p', '-o', 'export', device], {
    timeoutMs: 30_000,
    okExitCodes: [BLKID_NOTHING_FOUND, BLKID_AMBIVALENT],
  });
  return classifyBlkid(exitCode, stdout);
}
