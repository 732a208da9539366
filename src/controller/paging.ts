/**
 * ListVolumes starting_token/next_token. The token is the last volume id
 * handed out (keyset paging over the id-sorted list), so volumes created or
 * deleted between pages never shift later pages or repeat entries.
 */
import { aborted } from '../csi/errors.js';

const PREFIX = 'v1:';

export function encodePageToken(lastVolumeId: string): string {
  return Buffer.from(PREFIX + lastVolumeId, 'utf8').toString('base64url');
}

/** The volume id after which the next page starts; '' when no token was given. */
export function decodePageToken(token: string | null | undefined): string {
  if (!token) return '';
  const text = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!text.startsWith(PREFIX) || text.length === PREFIX.length) {
    throw aborted(`starting_token "${token.slice(0, 64)}" was not issued by this driver; restart listing without a token`);
  }
  return text.slice(PREFIX.length);
}

export interface Page<T> {
  items: T[];
  nextToken: string;
}

/** One page of `sorted` (sorted by `idOf`) after the token, at most maxEntries (0 = all). */
export function pageAfter<T>(sorted: T[], idOf: (item: T) => string, token: string | null | undefined, maxEntries: number): Page<T> {
  const after = decodePageToken(token);
  const start = after === '' ? 0 : sorted.findIndex((item) => idOf(item) > after);
  const from = start < 0 ? sorted.length : start;
  const to = maxEntries > 0 ? Math.min(sorted.length, from + maxEntries) : sorted.length;
  const items = sorted.slice(from, to);
  const nextToken = to < sorted.length && items.length > 0 ? encodePageToken(idOf(items[items.length - 1]!)) : '';
  return { items, nextToken };
}
