/**
 * BIOS UUID handling and the providerID format shared with the reference
 * cloud provider (`vsphere://<uuid>`), so existing Nodes keep their IDs.
 */

export const PROVIDER_PREFIX = 'vsphere://';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Lowercase, trimmed; undefined when it is not a dashed 36-char UUID. */
export function normalizeUuid(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = value.trim().toLowerCase();
  return UUID_RE.test(v) ? v : undefined;
}

/**
 * SMBIOS stores the first three UUID fields little-endian; some guests
 * (and so kubelet's systemUUID) print them byte-swapped relative to the
 * VM's BIOS UUID in vCenter. Swapping is its own inverse.
 */
export function swapUuidByteOrder(uuid: string): string {
  const u = uuid.toLowerCase();
  const rev = (s: string): string => (s.match(/../g) ?? []).reverse().join('');
  return `${rev(u.slice(0, 8))}-${rev(u.slice(9, 13))}-${rev(u.slice(14, 18))}-${u.slice(19)}`;
}

/** Both orders to try for a kubelet systemUUID, as-is first; empty when it is not a UUID. */
export function candidateUuids(systemUuid: string | undefined): string[] {
  const u = normalizeUuid(systemUuid);
  if (!u) return [];
  const swapped = swapUuidByteOrder(u);
  return swapped === u ? [u] : [u, swapped];
}

export function providerIdFor(biosUuid: string): string {
  return `${PROVIDER_PREFIX}${biosUuid.toLowerCase()}`;
}

/** The UUID inside a `vsphere://` providerID, or undefined for another provider's ID. */
export function uuidFromProviderId(providerId: string | undefined): string | undefined {
  if (!providerId || !providerId.startsWith(PROVIDER_PREFIX)) return undefined;
  return normalizeUuid(providerId.slice(PROVIDER_PREFIX.length));
}
