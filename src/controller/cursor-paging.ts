/**
 * ListVolumes pages read with CnsQueryVolume's cursor: each page asks CNS
 * for the next `offset`/`limit` slice of a vCenter's volumes (CNS keeps them
 * in a stable order, creation order in our simulator) instead of reading
 * every volume and sorting it, so a page costs one CNS request for up to
 * ~1,000 volumes, whatever the estate's size.
 *
 * An offset alone is not stable: a volume deleted before it shifts every
 * later volume one place left, and the next page would skip one. So a token
 * also carries the ids of the last ANCHORS volumes handed out (the anchors),
 * and the next page reads from `offset - anchors` and resumes right after
 * the last anchor it finds there. In the steady state (nothing deleted
 * before the offset) that window starts exactly with the anchors: one
 * request, ANCHORS volumes re-read. Otherwise the position is searched:
 * a window reaching SEARCH_MARGIN volumes further back (up to ~1,000
 * deletions before the offset), then the whole vCenter from its start, in
 * CHUNK_LIMIT slices. Anchors found in a later position are skipped, so an
 * unchanged volume is never handed out twice, and resuming after the last
 * anchor skips none. Volumes created during a pass may or may not appear in
 * it; deleted ones may appear on a page read before the delete. Only when
 * every anchor has been deleted between two pages is the position lost:
 * the page fails ABORTED ("restart listing"), as the CSI spec asks for a
 * token that can no longer be honoured, rather than guess.
 */
import { aborted } from '../csi/errors.js';
import { encodeCursorToken, type CursorPosition, type Page } from './paging.js';

/** Largest slice asked for at once: vCenter caps CnsCursor.limit at 1,000. */
export const CHUNK_LIMIT = 1000;
/** Volume ids carried in a token to find the position again. */
export const ANCHORS = 4;
/** How much further back the second window reaches when the anchors are not where the offset says. */
export const SEARCH_MARGIN = 500;

export interface CursorChunk<T> {
  items: T[];
  /** The cursor offset CNS answered with (after the last item it returned). */
  nextOffset: number;
  /** CnsCursor.totalRecords, when CNS reports it. */
  total?: number;
}

/** One CnsQueryVolume slice of a source's volumes. */
export type ReadChunk<T> = (source: number, offset: number, limit: number) => Promise<CursorChunk<T>>;

interface Resumed<T> {
  /** Items after the position, with their offsets. */
  fresh: { item: T; offset: number }[];
  /** The source has nothing after the last item read. */
  exhausted: boolean;
  /** Offset right after the position found (where the next read starts when `fresh` is empty). */
  resumeOffset: number;
}

function exhaustedAfter<T>(chunk: CursorChunk<T>, limit: number): boolean {
  if (chunk.items.length === 0) return true;
  return chunk.total !== undefined ? chunk.nextOffset >= chunk.total : chunk.items.length < limit;
}

export class CursorPager<T> {
  /** CNS requests made by the last page() call (the benchmark reports them per page). */
  requests = 0;

  constructor(
    private readonly sources: readonly string[],
    private readonly read: ReadChunk<T>,
    private readonly idOf: (item: T) => string,
  ) {}

  /** One page of at most maxEntries (0 = everything), from the position. */
  async page(start: CursorPosition, maxEntries: number): Promise<Page<T>> {
    this.requests = 0;
    const items: Page<T>['items'] = [];
    for (let source = start.source; source < this.sources.length; source++) {
      let pos: CursorPosition = source === start.source ? start : { source, offset: 0, anchors: [] };
      for (;;) {
        const need = maxEntries > 0 ? maxEntries - items.length : CHUNK_LIMIT;
        // One more than needed: whether the source has more after a full page.
        const { fresh, exhausted, resumeOffset } = await this.resume(pos, need + 1);
        const taken = fresh.slice(0, need);
        for (const f of taken) items.push({ source, item: f.item });
        if (taken.length > 0) {
          const ids = [...pos.anchors, ...taken.map((f) => this.idOf(f.item))].slice(-ANCHORS);
          pos = { source, offset: taken[taken.length - 1]!.offset + 1, anchors: ids };
        } else {
          pos = { ...pos, offset: resumeOffset };
        }
        const more = fresh.length > need || !exhausted;
        if (maxEntries > 0 && items.length >= maxEntries) {
          if (more) return { items, nextToken: encodeCursorToken(this.sources[source]!, pos.offset, pos.anchors) };
          return { items, nextToken: source + 1 < this.sources.length ? encodeCursorToken(this.sources[source + 1]!, 0, []) : '' };
        }
        if (!more) break;
      }
    }
    return { items, nextToken: '' };
  }

  /** The items after a position: the steady-state window first, then the searches. */
  private async resume(pos: CursorPosition, want: number): Promise<Resumed<T>> {
    const k = pos.anchors.length;
    if (k === 0) {
      const limit = Math.min(want, CHUNK_LIMIT);
      return this.after(pos, await this.chunk(pos.source, pos.offset, limit), pos.offset, limit, -1);
    }
    const windows = [Math.max(0, pos.offset - k), Math.max(0, pos.offset - k - SEARCH_MARGIN)];
    for (const [i, from] of windows.entries()) {
      if (i > 0 && from === windows[0]) break;
      const limit = i === 0 ? Math.min(k + want, CHUNK_LIMIT) : CHUNK_LIMIT;
      const chunk = await this.chunk(pos.source, from, limit);
      const at = this.lastAnchor(chunk.items, pos.anchors);
      if (at >= 0) return this.after(pos, chunk, from, limit, at);
    }
    // Far off (or CNS's order changed): walk the source from its start for the last anchor.
    let found: { chunk: CursorChunk<T>; from: number; at: number } | undefined;
    for (let from = 0; ; ) {
      const chunk = await this.chunk(pos.source, from, CHUNK_LIMIT);
      const at = this.lastAnchor(chunk.items, pos.anchors);
      if (at >= 0) found = { chunk, from, at };
      if (exhaustedAfter(chunk, CHUNK_LIMIT) || chunk.nextOffset <= from) break;
      from = chunk.nextOffset;
    }
    if (!found) {
      throw aborted(
        `starting_token: the volumes it continues after (${pos.anchors.join(', ')}) were all deleted in vCenter ${this.sources[pos.source]} since the previous page, so the position is lost; restart listing without a token`,
      );
    }
    return this.after(pos, found.chunk, found.from, CHUNK_LIMIT, found.at);
  }

  /** The items of a chunk after index `at`, leaving out any anchor (already handed out). */
  private after(pos: CursorPosition, chunk: CursorChunk<T>, from: number, limit: number, at: number): Resumed<T> {
    const anchors = new Set(pos.anchors);
    const fresh: Resumed<T>['fresh'] = [];
    chunk.items.forEach((item, i) => {
      if (i > at && !anchors.has(this.idOf(item))) fresh.push({ item, offset: from + i });
    });
    return { fresh, exhausted: exhaustedAfter(chunk, limit), resumeOffset: from + at + 1 };
  }

  private lastAnchor(items: T[], anchors: string[]): number {
    const set = new Set(anchors);
    for (let i = items.length - 1; i >= 0; i--) if (set.has(this.idOf(items[i]!))) return i;
    return -1;
  }

  private chunk(source: number, offset: number, limit: number): Promise<CursorChunk<T>> {
    this.requests++;
    return this.read(source, offset, limit);
  }
}
