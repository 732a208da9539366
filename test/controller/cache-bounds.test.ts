/**
 * Every controller cache is bounded in size and age (docs/vsphere-client.md,
 * "Caches and their bounds"): the LRU map they share, and the VM-disk
 * snapshot of a ListVolumes pass, against the simulator.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { LruMap } from '../../src/controller/lru.js';
import { VolumeDisks } from '../../src/controller/volume-disks.js';
import { startVcsim, vcsimClient, type Vcsim } from '../../src/harness/vcsim.js';

describe('LruMap', () => {
  test('keeps at most maxEntries, dropping the least recently used', () => {
    const m = new LruMap<string, number>({ maxEntries: 3 });
    for (const [i, k] of ['a', 'b', 'c'].entries()) m.set(k, i);
    expect(m.get('a')).toBe(0); // a is now the most recent
    m.set('d', 3);
    expect(m.size).toBe(3);
    expect(m.get('b')).toBeUndefined();
    expect([m.get('a'), m.get('c'), m.get('d')]).toEqual([0, 2, 3]);
  });

  test('an entry older than maxAgeMs reads as absent and is dropped; set renews the age, get does not', () => {
    let now = 0;
    const m = new LruMap<string, string>({ maxEntries: 10, maxAgeMs: 100, now: () => now });
    m.set('x', 'one');
    now = 60;
    expect(m.get('x')).toBe('one');
    now = 100;
    expect(m.get('x')).toBeUndefined();
    expect(m.size).toBe(0);
    m.set('y', 'two');
    now = 150;
    m.set('y', 'three');
    now = 220;
    expect(m.get('y')).toBe('three');
    // Expired entries met while storing go too.
    now = 400;
    m.set('z', 'four');
    expect(m.size).toBe(1);
  });
});

describe('VolumeDisks snapshot', () => {
  let sim: Vcsim;
  beforeAll(async () => {
    sim = await startVcsim();
  }, 60_000);
  afterAll(async () => {
    await sim?.stop();
  });

  test('reused only within maxAgeMs and its own keep bound; released on demand', async () => {
    const client = vcsimClient(sim);
    let now = 1_000;
    const disks = new VolumeDisks(client, 500, () => now);
    const reads = () => client.stats().byMethod['/sdk RetrievePropertiesEx'] ?? 0;
    try {
      await disks.holders();
      const first = reads();
      await disks.holders({ maxAgeMs: 60_000 });
      expect(reads()).toBe(first);
      now += 400;
      await disks.holders({ maxAgeMs: 300 });
      expect(reads()).toBe(first + 1);
      // The keep bound (500 ms here) caps any maxAgeMs a caller asks for.
      now += 600;
      await disks.holders({ maxAgeMs: 60_000 });
      expect(reads()).toBe(first + 2);
      disks.release();
      await disks.holders({ maxAgeMs: 60_000 });
      expect(reads()).toBe(first + 3);
      // Without maxAgeMs every call reads (or joins the read in flight).
      await Promise.all([disks.holders(), disks.holders()]);
      expect(reads()).toBe(first + 4);
    } finally {
      disks.release();
      await client.close();
    }
  });
});
