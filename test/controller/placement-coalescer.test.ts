/** Unit tests of datastore placement and the batching helpers. */
import { describe, expect, test } from '@jest/globals';
import { GrpcCode, CsiError } from '../../src/csi/errors.js';
import { chooseDatastore, type PlacementInventory } from '../../src/controller/placement.js';
import { Coalescer, type Outcome } from '../../src/controller/coalescer.js';
import { SingleFlight } from '../../src/controller/single-flight.js';

const ZONE = 'topology.csi.vmware.com/k8s-zone';
const GiB = 1024n ** 3n;
const inv: PlacementInventory = {
  hosts: [
    { id: 'h1', name: 'h1', labels: { [ZONE]: 'a' } },
    { id: 'h2', name: 'h2', labels: { [ZONE]: 'a' } },
    { id: 'h3', name: 'h3', labels: { [ZONE]: 'b' } },
  ],
  datastores: [
    { id: 'shared', name: 'shared', url: 'ds:///shared/', freeSpace: 10n * GiB, hosts: new Set(['h1', 'h2', 'h3']) },
    { id: 'za', name: 'za', url: 'ds:///za/', freeSpace: 50n * GiB, hosts: new Set(['h1', 'h2']) },
    { id: 'za-small', name: 'za-small', url: 'ds:///za-small/', freeSpace: 5n * GiB, hosts: new Set(['h1', 'h2']) },
    { id: 'half', name: 'half', url: 'ds:///half/', freeSpace: 500n * GiB, hosts: new Set(['h1']) },
    { id: 'zb', name: 'zb', url: 'ds:///zb/', freeSpace: 20n * GiB, hosts: new Set(['h3']) },
  ],
};

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

function thrown(fn: () => unknown): CsiError {
  try {
    fn();
  } catch (err) {
    return err as CsiError;
  }
  throw new Error('expected a throw');
}

describe('chooseDatastore', () => {
  test('no topology: shared by all node hosts', () => {
    const p = chooseDatastore(inv, { preferred: [], requisite: [] });
    expect(p.datastore.id).toBe('shared');
    expect(p.accessibleTopology).toEqual([]);
  });
  test('preferred zone first, most free space, accessible topology', () => {
    const p = chooseDatastore(inv, { preferred: [{ [ZONE]: 'b' }], requisite: [{ [ZONE]: 'a' }, { [ZONE]: 'b' }] });
    expect(p.datastore.id).toBe('zb');
    expect(p.accessibleTopology).toEqual([{ [ZONE]: 'b' }]);
    const q = chooseDatastore(inv, { preferred: [], requisite: [{ [ZONE]: 'a' }] });
    expect(q.datastore.id).toBe('za');
  });
  test('shared datastore is accessible from both zones', () => {
    const p = chooseDatastore(inv, { preferred: [{ [ZONE]: 'a' }], requisite: [{ [ZONE]: 'a' }, { [ZONE]: 'b' }], datastoreUrl: 'ds:///shared' });
    expect(p.datastore.id).toBe('shared');
    expect(p.accessibleTopology).toEqual([{ [ZONE]: 'a' }, { [ZONE]: 'b' }]);
  });
  test('policy filter', () => {
    const p = chooseDatastore(inv, { preferred: [], requisite: [{ [ZONE]: 'a' }], compatible: new Set(['za-small']), policyName: 'p' });
    expect(p.datastore.id).toBe('za-small');
  });
  test('nothing fits: RESOURCE_EXHAUSTED lists reasons', () => {
    const err = thrown(() => chooseDatastore(inv, { preferred: [], requisite: [{ [ZONE]: 'a' }], compatible: new Set(['zb']), policyName: 'gold' }));
    expect(err.code).toBe(GrpcCode.RESOURCE_EXHAUSTED);
    expect(err.message).toContain('za (ds:///za/): not compatible with storage policy "gold"');
    expect(err.message).toContain('half (ds:///half/): not mounted on 1 of 2 hosts');
    const none = thrown(() => chooseDatastore(inv, { preferred: [], requisite: [{ [ZONE]: 'c' }] }));
    expect(none.message).toContain('no ESXi host matches');
  });
  test('datastoreurl unknown or unreachable: INVALID_ARGUMENT saying why', () => {
    expect(thrown(() => chooseDatastore(inv, { preferred: [], requisite: [], datastoreUrl: 'ds:///nope/' })).code).toBe(GrpcCode.INVALID_ARGUMENT);
    const err = thrown(() => chooseDatastore(inv, { preferred: [], requisite: [{ [ZONE]: 'b' }], datastoreUrl: 'ds:///za/' }));
    expect(err.code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(err.message).toContain('not mounted on 1 of 1 hosts');
  });
});

describe('Coalescer', () => {
  function make(enabled: boolean, maxBatch = 8, sendWhenIdle = false) {
    const calls: number[][] = [];
    const c = new Coalescer<number, number>({
      windowMs: 5,
      maxBatch,
      enabled,
      sendWhenIdle,
      run: async (_key, items) => {
        calls.push(items);
        return items.map((i): Outcome<number> => (i < 0 ? { ok: false, error: new Error(`bad ${i}`) } : { ok: true, value: i * 10 }));
      },
    });
    return { c, calls };
  }
  test('concurrent items of one key share batches bounded by maxBatch', async () => {
    const { c, calls } = make(true, 8);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => c.submit('vm-1', i)));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 10));
    expect(calls.map((b) => b.length)).toEqual([8, 8, 4]);
    expect(c.stats).toEqual({ batches: 3, items: 20 });
  });
  test('send when idle: a lone item goes at once, items arriving meanwhile gather', async () => {
    const { c, calls } = make(true, 8, true);
    expect(await c.submit('vm', 1)).toBe(10);
    expect(calls).toEqual([[1]]);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => c.submit('vm', i)));
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => i * 10));
    expect(calls.slice(1).map((b) => b.length)).toEqual([1, 8, 1]);
    expect(await c.submit('vm', 5)).toBe(50);
    expect(calls[calls.length - 1]).toEqual([5]);
  });
  test('keys never share a batch', async () => {
    const { c, calls } = make(true);
    await Promise.all([c.submit('a', 1), c.submit('b', 2), c.submit('a', 3)]);
    expect(calls.sort((x, y) => x.length - y.length)).toEqual([[2], [1, 3]]);
  });
  test('one failing item fails only its caller', async () => {
    const { c, calls } = make(true);
    const settled = await Promise.allSettled([c.submit('a', 1), c.submit('a', -1), c.submit('a', 2)]);
    expect(calls).toHaveLength(1);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
  test('a thrown batch fails every caller; disabled means one call per item', async () => {
    const c = new Coalescer<number, number>({ windowMs: 1, maxBatch: 4, enabled: true, run: async () => { throw new Error('down'); } });
    expect(await rejection(c.submit('a', 1))).toEqual(new Error('down'));
    const { c: off, calls } = make(false);
    await Promise.all([off.submit('a', 1), off.submit('a', 2)]);
    expect(calls).toEqual([[1], [2]]);
  });
});

describe('SingleFlight', () => {
  test('identical calls share one execution; different ones are ABORTED', async () => {
    const sf = new SingleFlight<string>();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const fn = async () => {
      runs++;
      await gate;
      return 'vol';
    };
    const all = Array.from({ length: 32 }, () => sf.run('name', 'fp', fn));
    const other = sf.run('name', 'fp2', fn);
    release();
    expect(await Promise.all(all)).toEqual(Array(32).fill('vol'));
    expect(runs).toBe(1);
    expect(((await rejection(other)) as CsiError).code).toBe(GrpcCode.ABORTED);
    expect(await sf.run('name', 'fp2', async () => 'again')).toBe('again');
  });
  test('a synchronous throw does not leave the key stuck', async () => {
    const sf = new SingleFlight<string>();
    await rejection(sf.run('k', 'f', () => { throw new Error('sync'); }));
    expect(await sf.run('k', 'f', async () => 'ok')).toBe('ok');
  });
});
