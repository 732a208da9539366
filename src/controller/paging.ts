/**
 * ListVolumes starting_token/next_token. The vCenters are listed in config
 * order. Since v3 each one's volumes are listed in CNS's own order with
 * CnsQueryVolume's cursor (cursor-paging.ts): a `v3:` token names the
 * vCenter, the cursor offset after the last volume handed out there (a
 * hint), and the ids of the last few volumes handed out (the anchors the
 * next page verifies the offset against). `v1:` (one id, from a
 * single-vCenter release: continues in the first vCenter) and `v2:`
 * (vCenter + last id) tokens come from releases that listed each vCenter
 * sorted by volume id (keyset paging, reading every volume per page); a
 * pass begun with one finishes that way (pageAcross below), so it never
 * skips or repeats a volume across the upgrade.
 */
import { aborted } from '../csi/errors.js';

const V1 = 'v1:';
const V2 = 'v2:';
const V3 = 'v3:';

export interface PagePosition {
  /** Index into the sources (vCenters). */
  source: number;
  /** Volume id after which to continue there; '' = from its start. */
  after: string;
}

export function encodePageToken(source: string, after: string): string {
  return Buffer.from(`${V2}${source}\n${after}`, 'utf8').toString('base64url');
}

/** A cursor position in one source (vCenter): see cursor-paging.ts. */
export interface CursorPosition {
  source: number;
  /** CNS cursor offset after the last volume handed out there: where the next page expects to start. */
  offset: number;
  /** Ids of the last volumes handed out from this source, oldest first ([] = from its start). */
  anchors: string[];
}

export type ListStart = { kind: 'cursor'; at: CursorPosition } | { kind: 'keyset'; at: PagePosition };

export function encodeCursorToken(source: string, offset: number, anchors: readonly string[]): string {
  return Buffer.from(`${V3}${source}\n${offset}\n${anchors.join(',')}`, 'utf8').toString('base64url');
}

/** Any token this driver issued (v1, v2, v3); a new listing (cursor from the first vCenter) without one. */
export function decodeListToken(token: string | null | undefined, sources: readonly string[]): ListStart {
  if (!token) return { kind: 'cursor', at: { source: 0, offset: 0, anchors: [] } };
  const text = tokenText(token);
  if (!text.startsWith(V3)) return { kind: 'keyset', at: decodePageToken(token, sources) };
  const [name = '', offsetText = '', anchorText, ...rest] = text.slice(V3.length).split('\n');
  const offset = Number(offsetText);
  if (anchorText === undefined || rest.length > 0 || !/^\d+$/.test(offsetText) || !Number.isSafeInteger(offset)) throw notIssued(token);
  const anchors = anchorText === '' ? [] : anchorText.split(',');
  if (anchors.some((a) => a === '')) throw notIssued(token);
  return { kind: 'cursor', at: { source: sourceIndex(name, sources), offset, anchors } };
}

function tokenText(token: string): string {
  return /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
}

function notIssued(token: string) {
  return aborted(`starting_token "${token.slice(0, 64)}" was not issued by this driver; restart listing without a token`);
}

function sourceIndex(name: string, sources: readonly string[]): number {
  const source = sources.indexOf(name);
  if (source < 0) {
    throw aborted(`starting_token continues in vCenter ${name.slice(0, 64)}, which is no longer configured; restart listing without a token`);
  }
  return source;
}

/** Where a v1/v2 (keyset) page starts; the first source's start when no token was given. */
export function decodePageToken(token: string | null | undefined, sources: readonly string[]): PagePosition {
  if (!token) return { source: 0, after: '' };
  const text = tokenText(token);
  if (text.startsWith(V1) && text.length > V1.length) return { source: 0, after: text.slice(V1.length) };
  if (!text.startsWith(V2)) throw notIssued(token);
  const newline = text.indexOf('\n');
  if (newline < 0) throw notIssued(token);
  return { source: sourceIndex(text.slice(V2.length, newline), sources), after: text.slice(newline + 1) };
}

export interface Page<T> {
  items: { source: number; item: T }[];
  nextToken: string;
}

/**
 * One keyset page (v1/v2 tokens: at most maxEntries, 0 = all) across the
 * sources, from the token's position. `load(i)` gives source i's items sorted by `idOf`; a
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
