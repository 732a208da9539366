/**
 * ListVolumes starting_token/next_token. The vCenters are listed in config
 * order, each one's volumes sorted by id; a token names the vCenter and the
 * last volume id handed out from it (keyset paging), so volumes created or
 * deleted between pages never shift later pages or repeat entries, and a
 * page may run on from one vCenter into the next. A `v1:` token (one id,
 * from a single-vCenter release) continues in the first vCenter.
 */
import { aborted } from '../csi/errors.js';

const V1 = 'v1:';
const V2 = 'v2:';

export interface PagePosition {
  /** Index into the sources (vCenters). */
  source: number;
  /** Volume id after which to continue there; '' = from its start. */
  after: string;
}

export function encodePageToken(source: string, after: string): string {
  return Buffer.from(`${V2}${source}\n${after}`, 'utf8').toString('base64url');
}

/** Where the page starts; the first source's start when no token was given. */
export function decodePageToken(token: string | null | undefined, sources: readonly string[]): PagePosition {
  if (!token) return { source: 0, after: '' };
  const text = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  const bad = () => aborted(`starting_token "${token.slice(0, 64)}" was not issued by this driver; restart listing without a token`);
  if (text.startsWith(V1) && text.length > V1.length) return { source: 0, after: text.slice(V1.length) };
  if (!text.startsWith(V2)) throw bad();
  const newline = text.indexOf('\n');
  if (newline < 0) throw bad();
  const name = text.slice(V2.length, newline);
  const source = sources.indexOf(name);
  if (source < 0) {
    throw aborted(`starting_token continues in vCenter ${name.slice(0, 64)}, which is no longer configured; restart listing without a token`);
  }
  return { source, after: text.slice(newline + 1) };
}

export interface Page<T> {
  items: { source: number; item: T }[];
  nextToken: string;
}

/**
 * One page (at most maxEntries, 0 = all) across the sources, from the
 * token's position. `load(i)` gives source i's items sorted by `idOf`; a
 * source is loaded only when the page reaches it.
 */
export async function pageAcross<T>(
  sources: readonly string[],
  load: (source: number) => Promise<T[]>,
  idOf: (item: T) => string,
  token: string | null | undefined,
  maxEntries: number,
): Promise<Page<T>> {
  const start = decodePageToken(token, sources);
  const items: Page<T>['items'] = [];
  for (let source = start.source; source < sources.length; source++) {
    const sorted = await load(source);
    const after = source === start.source ? start.after : '';
    const found = after === '' ? 0 : sorted.findIndex((item) => idOf(item) > after);
    const from = found < 0 ? sorted.length : found;
    const room = maxEntries > 0 ? maxEntries - items.length : sorted.length;
    const taken = sorted.slice(from, from + room);
    for (const item of taken) items.push({ source, item });
    if (maxEntries > 0 && items.length >= maxEntries) {
      if (from + taken.length < sorted.length) return { items, nextToken: encodePageToken(sources[source]!, idOf(taken[taken.length - 1]!)) };
      return { items, nextToken: source + 1 < sources.length ? encodePageToken(sources[source + 1]!, '') : '' };
    }
  }
  return { items, nextToken: '' };
}
