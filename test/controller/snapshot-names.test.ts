/** The snapshot name index without a vCenter: build once (shared), add/remove, TTL re-reads in the background, changes during a read kept, drop on error. */
import { describe, expect, test } from '@jest/globals';
import { SnapshotNameIndex } from '../../src/controller/snapshot-names.js';
import type { CnsSnapshot } from '../../src/vsphere/api.js';

const snap = (volumeId: string, snapshotId: string, description: string): CnsSnapshot => ({ volumeId, snapshotId, description });

/** A read the test answers by hand. */
function manualRead() {
  const pending: { resolve: (list: CnsSnapshot[]) => void; reject: (err: Error) => void }[] = [];
  const read = () => new Promise<CnsSnapshot[]>((resolve, reject) => pending.push({ resolve, reject }));
  return { read, pending };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('SnapshotNameIndex', () => {
  test('the first lookups share one read; later ones answer from the index without reading', async () => {
    const { read, pending } = manualRead();
    const index = new SnapshotNameIndex({ read, ttlMs: 60_000 });
    const a = index.lookup('n1');
    const b = index.lookup('n2');
    await tick();
    expect(pending).toHaveLength(1);
    pending[0]!.resolve([snap('v1', 's1', 'n1'), snap('v2', 's2', 'n1'), snap('v3', 's3', ''), snap('v4', 's4', 'n4')]);
    expect(await a).toEqual([
      { volumeId: 'v1', snapshotId: 's1' },
      { volumeId: 'v2', snapshotId: 's2' },
    ]);
    expect(await b).toEqual([]);
    expect(await index.lookup('n4')).toEqual([{ volumeId: 'v4', snapshotId: 's4' }]);
    expect(index.reads).toBe(1);
    expect(index.size).toBe(3); // the snapshot without a description has no name
  });

  test('add and remove (by snapshot, by volume); adding twice keeps one entry; before a build they are no-ops', async () => {
    const index = new SnapshotNameIndex({ read: async () => [snap('v1', 's1', 'n1')], ttlMs: 60_000 });
    index.add('early', 'v9', 's9'); // no index yet: the build reads it from vCenter
    expect(await index.lookup('early')).toEqual([]);
    index.add('n2', 'v2', 's2');
    index.add('n2', 'v2', 's2');
    index.add('n2', 'v3', 's3');
    expect(await index.lookup('n2')).toEqual([
      { volumeId: 'v2', snapshotId: 's2' },
      { volumeId: 'v3', snapshotId: 's3' },
    ]);
    index.remove('v2', 's2');
    expect(await index.lookup('n2')).toEqual([{ volumeId: 'v3', snapshotId: 's3' }]);
    index.add('n3', 'v3', 's4');
    index.remove('v3');
    expect(await index.lookup('n2')).toEqual([]);
    expect(await index.lookup('n3')).toEqual([]);
    expect(await index.lookup('n1')).toEqual([{ volumeId: 'v1', snapshotId: 's1' }]);
    index.remove('v1', 'nope');
    expect(index.size).toBe(1);
    expect(index.reads).toBe(1);
  });

  test('past the TTL a lookup answers from the current index and re-reads in the background, once', async () => {
    let now = 1_000;
    const { read, pending } = manualRead();
    const index = new SnapshotNameIndex({ read, ttlMs: 100, now: () => now });
    const first = index.lookup('n');
    await tick();
    pending[0]!.resolve([snap('v1', 's1', 'old')]);
    await first;
    now += 99;
    await index.lookup('n');
    await tick();
    expect(pending).toHaveLength(1);
    now += 1;
    // Stale: answers at once from what it has, and starts one re-read.
    expect(await index.lookup('old')).toEqual([{ volumeId: 'v1', snapshotId: 's1' }]);
    expect(await index.lookup('old')).toHaveLength(1);
    await tick();
    expect(pending).toHaveLength(2);
    pending[1]!.resolve([snap('v2', 's2', 'n')]);
    await tick();
    expect(await index.lookup('old')).toEqual([]);
    expect(await index.lookup('n')).toEqual([{ volumeId: 'v2', snapshotId: 's2' }]);
    expect(index.reads).toBe(2);
  });

  test('changes made while a re-read runs are kept in its result', async () => {
    let now = 0;
    const { read, pending } = manualRead();
    const index = new SnapshotNameIndex({ read, ttlMs: 10, now: () => now });
    const first = index.lookup('x');
    await tick();
    pending[0]!.resolve([snap('v1', 's1', 'a'), snap('v2', 's2', 'b')]);
    await first;
    now = 50;
    await index.lookup('x'); // starts the re-read
    await tick();
    index.add('c', 'v3', 's3'); // created after the re-read listed the snapshots
    index.remove('v1', 's1'); // deleted after it listed them
    index.add('d', 'v4', 's4');
    index.remove('v4', 's4');
    expect(await index.lookup('c')).toEqual([{ volumeId: 'v3', snapshotId: 's3' }]); // the current index has them too
    pending[1]!.resolve([snap('v1', 's1', 'a'), snap('v2', 's2', 'b')]);
    await tick();
    expect(await index.lookup('a')).toEqual([]);
    expect(await index.lookup('b')).toEqual([{ volumeId: 'v2', snapshotId: 's2' }]);
    expect(await index.lookup('c')).toEqual([{ volumeId: 'v3', snapshotId: 's3' }]);
    expect(await index.lookup('d')).toEqual([]);
    expect(index.size).toBe(2);
  });

  test('changes during the first build are kept too', async () => {
    const { read, pending } = manualRead();
    const index = new SnapshotNameIndex({ read, ttlMs: 60_000 });
    const first = index.lookup('c');
    await tick();
    index.add('c', 'v3', 's3');
    index.remove('v1', 's1');
    pending[0]!.resolve([snap('v1', 's1', 'a')]);
    expect(await first).toEqual([{ volumeId: 'v3', snapshotId: 's3' }]);
    expect(await index.lookup('a')).toEqual([]);
  });

  test('a failed first build fails its callers and builds again on the next lookup', async () => {
    let n = 0;
    const index = new SnapshotNameIndex({
      read: async () => {
        if (++n === 1) throw new Error('vCenter said no');
        return [snap('v1', 's1', 'a')];
      },
    });
    await expect(index.lookup('a')).rejects.toThrow('vCenter said no');
    expect(index.built).toBe(false);
    expect(await index.lookup('a')).toHaveLength(1);
    expect(index.reads).toBe(2);
  });

  test('a failed background re-read drops the index (reported); the next lookup rebuilds it and waits', async () => {
    let now = 0;
    let n = 0;
    const errors: unknown[] = [];
    const index = new SnapshotNameIndex({
      read: async () => {
        n++;
        if (n === 2) throw new Error('timed out');
        return [snap('v1', `s${n}`, 'a')];
      },
      ttlMs: 10,
      now: () => now,
      onRefreshError: (err) => errors.push(err),
    });
    expect(await index.lookup('a')).toEqual([{ volumeId: 'v1', snapshotId: 's1' }]);
    now = 20;
    expect(await index.lookup('a')).toEqual([{ volumeId: 'v1', snapshotId: 's1' }]); // answered, re-read started
    await tick();
    expect(index.built).toBe(false);
    expect(errors.map((e) => (e as Error).message)).toEqual(['timed out']);
    expect(await index.lookup('a')).toEqual([{ volumeId: 'v1', snapshotId: 's3' }]);
    expect(index.reads).toBe(3);
  });
});
