/**
 * CSI request name → CNS volume name. The CSI spec asks plugins to accept
 * names of up to 128 bytes; CNS limits volume names to 80 characters. A
 * name that fits is used unchanged (drop-in: existing `pvc-<uuid>` volumes
 * keep being found by name); a longer one becomes a readable prefix plus a
 * hash of the whole name, so the same request name always maps to the
 * same CNS name, and CreateVolume's idempotency lookup by name keeps
 * working with no store of our own.
 */
import { createHash } from 'node:crypto';

/** CNS limits volume names to 80 characters (vCenter counts UTF-16 units, as JavaScript does). */
export const MAX_CNS_NAME = 80;
/** 32 hex digits = 128 bits of SHA-256: no two request names share a CNS name in practice. */
const HASH_CHARS = 32;
const PREFIX_CHARS = MAX_CNS_NAME - HASH_CHARS - 1;
/** Label carrying the full request name on the volume's Kubernetes entities in CNS, when it was shortened. */
export const FULL_NAME_LABEL = 'csi.vsphere.vmware.com/volume-name';

/** The CNS name of a CSI volume name; a name already ≤ 80 characters (including a mapped one) is returned as is. */
export function cnsVolumeName(requestName: string): string {
  if (requestName.length <= MAX_CNS_NAME) return requestName;
  let prefix = '';
  // Whole code points only: cutting a surrogate pair would leave invalid UTF-16 in the name.
  for (const ch of requestName) {
    if (prefix.length + ch.length > PREFIX_CHARS) break;
    prefix += ch;
  }
  const hash = createHash('sha256').update(requestName, 'utf8').digest('hex').slice(0, HASH_CHARS);
  return `${prefix}-${hash}`;
}

/** Labels recording the full request name when the CNS name had to be shortened; none otherwise. */
export function fullNameLabels(requestName: string): Record<string, string> {
  return cnsVolumeName(requestName) === requestName ? {} : { [FULL_NAME_LABEL]: requestName };
}
