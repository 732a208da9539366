/**
 * ListVolumes paging with the CNS cursor (src/controller/cursor-paging.ts)
 * as pure logic over a list that behaves as CnsQueryVolume does (creation
 * order, offset/limit, totalRecords, limit capped at 1,000): pages while
 * volumes come and go between them, requests per page, lost positions.
 * The same over the socket against the simulator: list-volumes.test.ts.
 */
import { describe, expect, test } from '@jest/globals';
import { CursorPager, CHUNK_LIMIT, SEARCH_MARGIN, type CursorChunk } from '../../src/controller/cursor-paging.js';
import { decodeListToken, encodeCursorToken, encodePageToken } from '../../src/controller/paging.js';
import { CsiError, GrpcCode } from '../../src/csi/errors.js';

/** One source per list; each read slices the list as it is at that moment. */
function fakeCns(lists: string[][]) {
  const reads: { source: number; offset: number; limit: number }[] = [];
  const read = async (source: number, offset: number, limit: number): Promise<CursorChunk<string>> => {
    reads.push({ source, offset, limit });
    const list = lists[source]!;
    const capped = Math.min(limit, CHUNK_LIMIT);
    const end = Math.min(list.length, offset + capped);
    return { items: list.slice(offset, end), nextOffset: end, total: list.length };
  };
  return { read, reads };
}

const names = ['vc-a', 'vc-b'];
const pager = (lists: string[][]) => {
  const cns = fakeCns(lists);
  return { cns, pager: new CursorPager(lists.length === 1 ? ['vc-a'] : names, cns.read, (x: string) => x) };
};
const at = (token: string, sources = ['vc-a']) => {
  const start = decodeListToken(token, sources);
  if (start.kind !== 'cursor') throw new Error('expected a cursor token');
  return start.at;
};
const vols = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

describe('ListVolumes cursor paging', () => {
  test('steady state: one CNS request per page, in CNS order, across vCenters', async () => {
    const lists = [vols('a', 7), vols('b', 4)];
    const { pager: p, cns } = pager(lists);
    const seen: string[] = [];
    const requests: number[] = [];
    let token = '';
    do {
      const page = await p.page(at(token, names), 3);
      seen.push(...page.items.map((i) => i.item));
      requests.push(p.requests);
      token = page.nextToken;
    } while (token);
    expect(seen).toEqual([...lists[0]!, ...lists[1]!]);
    // Page 3 runs from vc-a's end into vc-b: two requests; the rest one each.
    expect(requests).toEqual([1, 1, 2, 1]);
    // After the first page each read starts at offset - anchors: the anchors are re-read, not everything.
    expect(cns.reads[1]).toEqual({ source: 0, offset: 0, limit: 3 + 3 + 1 });
  });

  test('a page of max_entries 0 reads everything in slices of 1,000, each anchored on the last', async () => {
    const { pager: p, cns } = pager([vols('v', 2500)]);
    const page = await p.page(at(''), 0);
    expect(page.items.map((i) => i.item)).toEqual(vols('v', 2500));
    expect(page.nextToken).toBe('');
    expect(cns.reads.map((r) => r.offset)).toEqual([0, 1000 - 4, 2000 - 4 - 4]);
  });

  test('volumes deleted before the offset, the last one handed out deleted, new volumes: no skip, no repeat', async () => {
    const list = vols('v', 20);
    const { pager: p } = pager([list]);
    const first = await p.page(at(''), 5);
    expect(first.items.map((i) => i.item)).toEqual(list.slice(0, 5));
    // Two listed volumes and the page's last (an anchor) go; one new volume is created.
    list.splice(4, 1);
    list.splice(0, 2);
    list.push('new-1');
    const second = await p.page(at(first.nextToken), 5);
    expect(second.items.map((i) => i.item)).toEqual(['v0005', 'v0006', 'v0007', 'v0008', 'v0009']);
    // Anchors found by searching: the first window still held v0003, so still one request.
    expect(p.requests).toBe(1);
  });

  test('more deletions before the offset than the steady window covers: found in the wider window', async () => {
    const list = vols('v', 2000);
    const { pager: p } = pager([list]);
    const first = await p.page(at(''), 1500);
    list.splice(0, 300);
    const second = await p.page(at(first.nextToken), 10);
    expect(second.items.map((i) => i.item)).toEqual(vols('v', 1510).slice(1500));
    expect(p.requests).toBe(2);
    // Deleted before the position: more than the second window reaches back.
    list.splice(0, SEARCH_MARGIN + 100);
    const third = await p.page(at(second.nextToken), 10);
    expect(third.items.map((i) => i.item)).toEqual(vols('v', 1520).slice(1510));
    // Both windows missed; the walk from the start (two slices of 1,000) found it.
    expect(p.requests).toBe(4);
  });

  test('every anchor deleted: ABORTED, restart listing', async () => {
    const list = vols('v', 10);
    const { pager: p } = pager([list]);
    const first = await p.page(at(''), 5);
    list.splice(1, 4);
    const err = await p.page(at(first.nextToken), 5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiError);
    expect((err as CsiError).code).toBe(GrpcCode.ABORTED);
    expect((err as Error).message).toMatch(/restart listing without a token/);
  });

  test('random churn between pages: every volume that lived through the pass is seen exactly once', async () => {
    let seed = 7;
    let lost = 0;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let round = 0; round < 30; round++) {
      const list = vols(`r${round}-`, 40 + rnd(60));
      const initial = new Set(list);
      const deleted = new Set<string>();
      const { pager: p } = pager([list]);
      const seen: string[] = [];
      let token = '';
      let created = 0;
      try {
        do {
          const page = await p.page(at(token), 1 + rnd(9));
          seen.push(...page.items.map((i) => i.item));
          token = page.nextToken;
          for (let c = rnd(4); c > 0 && list.length > 0; c--) deleted.add(list.splice(rnd(list.length), 1)[0]!);
          for (let c = rnd(3); c > 0; c--) list.push(`r${round}-new-${created++}`);
        } while (token);
      } catch (err) {
        // A lost position is allowed only when every anchor really went.
        expect((err as CsiError).code).toBe(GrpcCode.ABORTED);
        lost++;
        continue;
      }
      expect(new Set(seen).size).toBe(seen.length);
      for (const v of initial) if (!deleted.has(v)) expect(seen).toContain(v);
    }
    expect(lost).toBeLessThan(3);
  });

  test('tokens: v3 round trip; v1/v2 still decode (keyset); bad ones are ABORTED', () => {
    expect(decodeListToken(encodeCursorToken('vc-b', 12, ['x', 'y']), names)).toEqual({ kind: 'cursor', at: { source: 1, offset: 12, anchors: ['x', 'y'] } });
    expect(decodeListToken('', names)).toEqual({ kind: 'cursor', at: { source: 0, offset: 0, anchors: [] } });
    expect(decodeListToken(encodePageToken('vc-b', 'id-1'), names)).toEqual({ kind: 'keyset', at: { source: 1, after: 'id-1' } });
    expect(decodeListToken(Buffer.from('v1:id-2').toString('base64url'), names)).toEqual({ kind: 'keyset', at: { source: 0, after: 'id-2' } });
    const code = (token: string) => {
      try {
        decodeListToken(token, names);
        return 'ok';
      } catch (err) {
        return (err as CsiError).code;
      }
    };
    for (const bad of ['v3:vc-a\n-1\n', 'v3:vc-a\nx\n', 'v3:vc-a\n1', 'v3:vc-a\n1\na,,b', 'v3:vc-a\n1\na\nextra']) {
      expect(code(Buffer.from(bad).toString('base64url'))).toBe(GrpcCode.ABORTED);
    }
    expect(code(encodeCursorToken('vc-gone', 0, []))).toBe(GrpcCode.ABORTED);
  });
});
