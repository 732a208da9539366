/**
 * The simulator's CNS snapshot rules (test/vcsim/cns_snapshots.go), each
 * checked with raw SOAP as in test/vsphere/simulator-rules*.test.ts:
 * CnsCreateSnapshots / CnsDeleteSnapshots / CnsQuerySnapshots as tasks with
 * per-spec results, vSphere's 32-snapshot limit, delete and extend refused
 * for a volume with snapshots, restore through CnsCreateVolume's
 * volumeSource, and MethodNotFound before vSphere 7.0 U3.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawVim } from '../../src/harness/vcsim-raw.js';
import { startVcsim, type Vcsim } from '../../src/harness/vcsim.js';
import { escapeXml as esc } from '../../src/vsphere/soap/xml.js';
import { RawCns } from '../vsphere/raw-cns.js';

let sim: Vcsim;
let raw: RawVim;
let cns: RawCns;
let shared: string; // LocalDS_0's moref value
let other: string; // a second datastore's moref value
let otherDir: string;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const id = (tag: string, value: string): string => `<${tag}><id>${esc(value)}</id></${tag}>`;
const createSpec = (volumeId: string, description: string): string =>
  `<snapshotSpecs>${id('volumeId', volumeId)}<description>${esc(description)}</description></snapshotSpecs>`;
const deleteSpec = (volumeId: string, snapshotId: string): string =>
  `<snapshotDeleteSpecs>${id('volumeId', volumeId)}${id('snapshotId', snapshotId)}</snapshotDeleteSpecs>`;
const querySpec = (volumeId: string, snapshotId?: string): string =>
  `<snapshotQuerySpecs>${id('volumeId', volumeId)}${snapshotId ? id('snapshotId', snapshotId) : ''}</snapshotQuerySpecs>`;
const cursor = (offset: number, limit: number): string => `<cursor><offset>${offset}</offset><limit>${limit}</limit></cursor>`;
const volumeSpec = (name: string, ds: string, capacityMb: number, source?: { volumeId: string; snapshotId: string }): string =>
  `<createSpecs><name>${esc(name)}</name><volumeType>BLOCK</volumeType><datastores type="Datastore">${esc(ds)}</datastores>` +
  '<metadata><containerCluster><clusterType>KUBERNETES</clusterType><clusterId>snap</clusterId><vSphereUser>u</vSphereUser></containerCluster></metadata>' +
  `<backingObjectDetails xsi:type="CnsBlockBackingDetails"><capacityInMb>${capacityMb}</capacityInMb></backingObjectDetails>` +
  (source ? `<volumeSource xsi:type="CnsSnapshotVolumeSource">${id('volumeId', source.volumeId)}${id('snapshotId', source.snapshotId)}</volumeSource>` : '') +
  '</createSpecs>';

const text = (xml: string, tag: string): string | undefined => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
const nestedId = (xml: string, tag: string): string | undefined => new RegExp(`<${tag}>\\s*<id>([^<]*)</id>`).exec(xml)?.[1];
const faultType = (xml: string): string | undefined => /<fault [^>]*type="(?:[A-Za-z0-9]+:)?([^"]+)"/.exec(xml)?.[1];

interface Item {
  type: string;
  volumeId?: string;
  snapshotId?: string;
  description?: string;
  createTime?: string;
  fault?: string;
  message?: string;
  xml: string;
}

/** The volumeResults of a batch task result, one per spec. */
function volumeResults(result: string): Item[] {
  return result
    .split('<volumeResults ')
    .slice(1)
    .map((chunk) => {
      const xml = chunk.slice(0, chunk.indexOf('</volumeResults>'));
      const snapshot = /<snapshot>([\s\S]*?)<\/snapshot>/.exec(xml)?.[1] ?? '';
      return {
        type: /type="(?:[A-Za-z0-9]+:)?([^"]+)"/.exec(xml)?.[1] ?? '',
        volumeId: nestedId(xml, 'volumeId'),
        snapshotId: nestedId(snapshot, 'snapshotId') ?? nestedId(xml, 'snapshotId'),
        description: text(snapshot, 'description'),
        createTime: text(snapshot, 'createTime'),
        fault: faultType(xml),
        message: text(xml, 'localizedMessage'),
        xml,
      };
    });
}

interface QueryAnswer {
  type: string;
  entries: Array<{ volumeId?: string; snapshotId?: string; description?: string; error?: string; xml: string }>;
  cursor: { offset: number; limit: number; totalRecords: number };
}

function queryAnswer(result: string): QueryAnswer {
  const entries = [...result.matchAll(/<entries>([\s\S]*?)<\/entries>/g)].map((m) => {
    const xml = m[1]!;
    const error = /<error>([\s\S]*?)<\/error>/.exec(xml)?.[1];
    return {
      volumeId: error ? undefined : nestedId(xml, 'volumeId'),
      snapshotId: error ? undefined : nestedId(xml, 'snapshotId'),
      description: text(xml, 'description'),
      error: error ? faultType(error) : undefined,
      xml,
    };
  });
  const c = /<cursor>([\s\S]*?)<\/cursor>/.exec(result)?.[1] ?? '';
  return {
    type: /<result [^>]*type="(?:[A-Za-z0-9]+:)?([^"]+)"/.exec(result)?.[1] ?? '',
    entries,
    cursor: { offset: Number(text(c, 'offset')), limit: Number(text(c, 'limit')), totalRecords: Number(text(c, 'totalRecords') ?? 0) },
  };
}

async function run(method: string, inner: string): Promise<Item[]> {
  const info = await cns.settled(await cns.startTask(method, inner));
  if (info.state !== 'success') throw new Error(`${method} failed: ${info.fault}`);
  return volumeResults(info.result);
}

async function query(inner: string): Promise<QueryAnswer> {
  const info = await cns.settled(await cns.startTask('CnsQuerySnapshots', `<snapshotQueryFilter>${inner}</snapshotQueryFilter>`));
  if (info.state !== 'success') throw new Error(`CnsQuerySnapshots failed: ${info.fault}`);
  return queryAnswer(info.result);
}

async function newVolume(name: string, capacityMb = 16, ds = shared): Promise<string> {
  const [r] = await run('CnsCreateVolume', volumeSpec(name, ds, capacityMb));
  if (!r?.volumeId) throw new Error(`no volume created: ${r?.xml}`);
  return r.volumeId;
}

async function snapshot(volumeId: string, description = 'snap'): Promise<string> {
  const [r] = await run('CnsCreateSnapshots', createSpec(volumeId, description));
  if (!r?.snapshotId) throw new Error(`no snapshot: ${r?.xml}`);
  return r.snapshotId;
}

/** The volume as CnsQueryVolume reports it. */
async function volume(volumeId: string): Promise<{ capacityMb: number; datastoreUrl?: string } | undefined> {
  const answer = await raw.call(
    `<CnsQueryVolume xmlns="urn:vsan"><_this type="CnsVolumeManager">cns-volume-manager</_this><filter>${id('volumeIds', volumeId)}</filter></CnsQueryVolume>`,
    '/vsanHealth',
  );
  const v = /<volumes>([\s\S]*?)<\/volumes>/.exec(answer)?.[1];
  return v ? { capacityMb: Number(text(v, 'capacityInMb')), datastoreUrl: text(v, 'datastoreUrl') } : undefined;
}

async function deleteVolume(volumeId: string): Promise<Item> {
  return (await run('CnsDeleteVolume', `${id('volumeIds', volumeId)}<deleteDisk>true</deleteDisk>`))[0]!;
}

/** The simulator's host morefs and its LocalDS_0 datastore moref, read with raw property-collector calls. */
async function inventory(vim: RawVim): Promise<{ hosts: string[]; localDs: string }> {
  const hostsXml = await vim.call(
    '<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>HostSystem</type><pathSet>name</pathSet></propSet>' +
      '<objectSet><obj type="Folder">group-d1</obj><skip>false</skip><selectSet xsi:type="TraversalSpec"><name>all</name><type>Folder</type><path>childEntity</path><skip>false</skip>' +
      '<selectSet><name>all</name></selectSet><selectSet><name>dcHosts</name></selectSet><selectSet><name>crHosts</name></selectSet></selectSet>' +
      '<selectSet xsi:type="TraversalSpec"><name>dcHosts</name><type>Datacenter</type><path>hostFolder</path><skip>false</skip><selectSet><name>all</name></selectSet></selectSet>' +
      '<selectSet xsi:type="TraversalSpec"><name>crHosts</name><type>ComputeResource</type><path>host</path><skip>false</skip></selectSet></objectSet></specSet><options></options></RetrievePropertiesEx>',
  );
  const hosts = [...hostsXml.matchAll(/<obj type="HostSystem">([^<]+)<\/obj>/g)].map((m) => m[1]!);
  const dsXml = await vim.call(
    '<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>Datastore</type><pathSet>name</pathSet></propSet>' +
      `<objectSet><obj type="HostSystem">${esc(hosts[0] ?? '')}</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>ds</name><type>HostSystem</type><path>datastore</path><skip>false</skip></selectSet></objectSet></specSet><options></options></RetrievePropertiesEx>`,
  );
  const localDs = /<obj type="Datastore">([^<]+)<\/obj>\s*<propSet>\s*<name>name<\/name>\s*<val[^>]*>LocalDS_0<\/val>/.exec(dsXml)?.[1];
  if (hosts.length === 0 || !localDs) throw new Error(`hosts or LocalDS_0 not found: ${hostsXml.slice(0, 300)} ${dsXml.slice(0, 300)}`);
  return { hosts, localDs };
}

beforeAll(async () => {
  sim = await startVcsim();
  await sim.setCnsTiming(0, 0);
  raw = new RawVim(sim);
  await raw.login();
  cns = new RawCns(raw);
  const { hosts, localDs } = await inventory(raw);
  shared = localDs;
  otherDir = mkdtempSync(join(tmpdir(), 'snap-second-ds-'));
  other = await raw.createLocalDatastore(hosts, 'second-ds', otherDir);
}, 60_000);

afterAll(async () => {
  await sim?.stop();
  if (otherDir) rmSync(otherDir, { recursive: true, force: true });
});

describe('CnsCreateSnapshots', () => {
  test('each method answers <Method>Response with the task as returnval (the element a SOAP client looks for)', async () => {
    for (const [method, inner] of [
      ['CnsCreateSnapshots', createSpec('x', 'y')],
      ['CnsDeleteSnapshots', deleteSpec('x', 'y')],
      ['CnsQuerySnapshots', '<snapshotQueryFilter></snapshotQueryFilter>'],
      ['CnsCreateVolume', volumeSpec('restored', shared, 16, { volumeId: 'x', snapshotId: 'y' })],
    ] as const) {
      const answer = await raw.call(`<${method} xmlns="urn:vsan"><_this type="CnsVolumeManager">cns-volume-manager</_this>${inner}</${method}>`, '/vsanHealth');
      expect(answer).toMatch(new RegExp(`<${method}Response xmlns="urn:vsan"><returnval type="Task">task-\\d+</returnval></${method}Response>`));
    }
  });

  test('answers with a queued task; the snapshot (fresh UUID, the description, createTime = when the task ran) exists once it succeeds', async () => {
    const vol = await newVolume('snap-async');
    await sim.setCnsTiming(300, 0);
    let task: string;
    const before = Date.now();
    try {
      task = await cns.startTask('CnsCreateSnapshots', createSpec(vol, 'my-csi-snapshot'));
      expect((await cns.taskInfo(task)).state).toBe('queued');
      expect(await sim.snapshotCount(vol)).toBe(0);
    } finally {
      await sim.setCnsTiming(0, 0);
    }
    const info = await cns.settled(task);
    expect(info.state).toBe('success');
    expect(info.result).toMatch(/<result [^>]*type="(?:[A-Za-z0-9]+:)?CnsVolumeOperationBatchResult"/);
    const [r, ...rest] = volumeResults(info.result);
    expect(rest).toHaveLength(0);
    expect(r).toMatchObject({ type: 'CnsSnapshotCreateResult', volumeId: vol, description: 'my-csi-snapshot', fault: undefined });
    expect(r!.snapshotId).toMatch(UUID);
    expect(nestedId(/<snapshot>([\s\S]*?)<\/snapshot>/.exec(r!.xml)![1]!, 'volumeId')).toBe(vol);
    const created = Date.parse(r!.createTime!);
    expect(created).toBeGreaterThanOrEqual(before + 250); // when the task ran, not when it was asked for
    expect(created).toBeLessThanOrEqual(Date.now());
    expect(await sim.snapshotCount(vol)).toBe(1);
  });

  test('several specs in one call: a result per spec, an unknown volume gets its own CnsVolumeNotFoundFault; an injected fault fails the task', async () => {
    const vol = await newVolume('snap-many');
    const results = await run('CnsCreateSnapshots', createSpec(vol, 'a') + createSpec('no-such-volume', 'b') + createSpec(vol, 'c'));
    expect(results.map((r) => [r.type, r.volumeId, r.fault, r.description])).toEqual([
      ['CnsSnapshotCreateResult', vol, undefined, 'a'],
      ['CnsSnapshotCreateResult', 'no-such-volume', 'CnsVolumeNotFoundFault', undefined],
      ['CnsSnapshotCreateResult', vol, undefined, 'c'],
    ]);
    expect(results[1]!.xml).not.toContain('<snapshot>'); // a failed result has no snapshot
    expect(results[0]!.snapshotId).not.toBe(results[2]!.snapshotId);
    expect(await sim.snapshotCount(vol)).toBe(2);
    expect(await cns.settled(await cns.startTask('CnsCreateSnapshots', ''))).toMatchObject({ state: 'error', fault: 'InvalidArgument', property: 'snapshotSpecs' });
    await sim.failNextCns('CnsCreateSnapshots', 'CnsFault');
    expect(await cns.settled(await cns.startTask('CnsCreateSnapshots', createSpec(vol, 'd')))).toMatchObject({ state: 'error', fault: 'CnsFault' });
    expect(await sim.snapshotCount(vol)).toBe(2);
  });

  test('a first-class disk has at most 32 snapshots: the 33rd is a CnsFault naming the limit; deleting one makes room', async () => {
    const vol = await newVolume('snap-limit');
    const specs = Array.from({ length: 32 }, (_, i) => createSpec(vol, `s${i}`)).join('');
    const results = await run('CnsCreateSnapshots', specs);
    expect(results.filter((r) => r.fault === undefined)).toHaveLength(32);
    const [over] = await run('CnsCreateSnapshots', createSpec(vol, 'one too many'));
    expect(over).toMatchObject({ fault: 'CnsFault', volumeId: vol });
    expect(over!.message).toMatch(/32/);
    expect(await sim.snapshotCount(vol)).toBe(32);
    const [deleted] = await run('CnsDeleteSnapshots', deleteSpec(vol, results[5]!.snapshotId!));
    expect(deleted!.fault).toBeUndefined();
    expect((await run('CnsCreateSnapshots', createSpec(vol, 'room again')))[0]!.fault).toBeUndefined();
    await run('CnsDeleteSnapshots', (await query(querySpec(vol))).entries.map((e) => deleteSpec(vol, e.snapshotId!)).join(''));
    expect(await sim.snapshotCount(vol)).toBe(0);
    expect((await deleteVolume(vol)).fault).toBeUndefined();
  });
});

describe('CnsQuerySnapshots', () => {
  let v1: string;
  let v2: string;
  let empty: string;
  let s: string[];

  beforeAll(async () => {
    // The counts below are of this block's volumes only: start from no snapshots at all.
    for (const e of (await query('')).entries) await run('CnsDeleteSnapshots', deleteSpec(e.volumeId!, e.snapshotId!));
    v1 = await newVolume('query-1');
    v2 = await newVolume('query-2');
    empty = await newVolume('query-empty');
    s = [await snapshot(v1, 'v1-a'), await snapshot(v2, 'v2-a'), await snapshot(v1, 'v1-b')];
  });

  test('is a task whose result is a CnsSnapshotQueryResult; no spec = every snapshot, by volume creation order then snapshot order', async () => {
    const answer = await query('');
    expect(answer.type).toBe('CnsSnapshotQueryResult');
    expect(answer.entries.map((e) => [e.volumeId, e.snapshotId, e.description])).toEqual([
      [v1, s[0], 'v1-a'],
      [v1, s[2], 'v1-b'],
      [v2, s[1], 'v2-a'],
    ]);
    expect(answer.cursor).toEqual({ offset: 3, limit: 100, totalRecords: 3 });
    expect(answer.entries[0]!.xml).toMatch(/<createTime>[^<]+<\/createTime>/);
  });

  test('by volume, by snapshot; an unknown snapshot or volume is an entry with only an error; one spec per call', async () => {
    expect((await query(querySpec(v1))).entries.map((e) => e.snapshotId)).toEqual([s[0], s[2]]);
    expect((await query(querySpec(empty))).entries).toEqual([]);
    expect((await query(querySpec(v2, s[1]))).entries.map((e) => [e.volumeId, e.snapshotId])).toEqual([[v2, s[1]]]);
    const missing = await query(querySpec(v2, s[0])); // s[0] is v1's
    expect(missing.entries.map((e) => e.error)).toEqual(['CnsSnapshotNotFoundFault']);
    expect(missing.entries[0]!.xml).not.toContain('<snapshot>');
    expect(missing.entries[0]!.xml).toContain(`<SnapshotId><id>${s[0]}</id></SnapshotId>`);
    expect((await query(querySpec('no-such-volume'))).entries.map((e) => e.error)).toEqual(['CnsVolumeNotFoundFault']);
    const two = await cns.settled(await cns.startTask('CnsQuerySnapshots', `<snapshotQueryFilter>${querySpec(v1)}${querySpec(v2)}</snapshotQueryFilter>`));
    expect(two).toMatchObject({ state: 'error', fault: 'InvalidArgument', property: 'snapshotQuerySpecs' });
  });

  test('pages with offset and limit; the cursor has the next offset, the limit and totalRecords', async () => {
    const first = await query(cursor(0, 2));
    expect(first.entries.map((e) => e.snapshotId)).toEqual([s[0], s[2]]);
    expect(first.cursor).toEqual({ offset: 2, limit: 2, totalRecords: 3 });
    const second = await query(cursor(2, 2));
    expect(second.entries.map((e) => e.snapshotId)).toEqual([s[1]]);
    expect(second.cursor).toEqual({ offset: 3, limit: 2, totalRecords: 3 });
    expect((await query(querySpec(v1) + cursor(1, 5))).entries.map((e) => e.snapshotId)).toEqual([s[2]]);
    expect((await query(cursor(7, 2))).entries).toEqual([]);
  });
});

describe('CnsDeleteSnapshots', () => {
  test('a result per spec (CnsSnapshotDeleteResult with the snapshot id); an unknown snapshot or volume is a CnsSnapshotNotFoundFault of its own', async () => {
    const vol = await newVolume('snap-delete');
    const [a, b] = [await snapshot(vol, 'a'), await snapshot(vol, 'b')];
    const results = await run('CnsDeleteSnapshots', deleteSpec(vol, a) + deleteSpec(vol, 'no-such-snapshot') + deleteSpec('no-such-volume', b));
    expect(results.map((r) => [r.type, r.volumeId, r.snapshotId, r.fault])).toEqual([
      ['CnsSnapshotDeleteResult', vol, a, undefined],
      ['CnsSnapshotDeleteResult', vol, 'no-such-snapshot', 'CnsSnapshotNotFoundFault'],
      ['CnsSnapshotDeleteResult', 'no-such-volume', b, 'CnsSnapshotNotFoundFault'],
    ]);
    expect((await query(querySpec(vol))).entries.map((e) => e.snapshotId)).toEqual([b]);
    // Deleting it again: not found (the driver treats that as done).
    expect((await run('CnsDeleteSnapshots', deleteSpec(vol, a)))[0]!.fault).toBe('CnsSnapshotNotFoundFault');
    expect(await cns.settled(await cns.startTask('CnsDeleteSnapshots', ''))).toMatchObject({ state: 'error', fault: 'InvalidArgument', property: 'snapshotDeleteSpecs' });
    await run('CnsDeleteSnapshots', deleteSpec(vol, b));
    expect(await sim.snapshotCount(vol)).toBe(0);
  });
});

describe('a volume with snapshots', () => {
  test('is neither deleted nor extended (CnsFault in its result); once its snapshots are gone both work', async () => {
    const vol = await newVolume('snap-guarded');
    const snap = await snapshot(vol);
    const del = await deleteVolume(vol);
    expect(del.fault).toBe('CnsFault');
    expect(del.message).toMatch(/snapshots/);
    const [ext] = await run('CnsExtendVolume', `<extendSpecs>${id('volumeId', vol)}<capacityInMb>32</capacityInMb></extendSpecs>`);
    expect(ext!.fault).toBe('CnsFault');
    expect(await volume(vol)).toMatchObject({ capacityMb: 16 });
    await run('CnsDeleteSnapshots', deleteSpec(vol, snap));
    expect((await run('CnsExtendVolume', `<extendSpecs>${id('volumeId', vol)}<capacityInMb>32</capacityInMb></extendSpecs>`))[0]!.fault).toBeUndefined();
    expect(await volume(vol)).toMatchObject({ capacityMb: 32 });
    expect((await deleteVolume(vol)).fault).toBeUndefined();
    expect(await volume(vol)).toBeUndefined();
  });
});

describe('restore: CnsCreateVolume with a CnsSnapshotVolumeSource', () => {
  test('makes a new volume (new id, an FCD file on the spec datastore) of the snapshot size; the source is unchanged', async () => {
    const src = await newVolume('restore-src', 16);
    await run('CnsExtendVolume', `<extendSpecs>${id('volumeId', src)}<capacityInMb>48</capacityInMb></extendSpecs>`);
    const snap = await snapshot(src, 'before restore');
    const [r] = await run('CnsCreateVolume', volumeSpec('restored', other, 48, { volumeId: src, snapshotId: snap }));
    expect(r).toMatchObject({ type: 'CnsVolumeCreateResult', fault: undefined });
    const restored = r!.volumeId!;
    expect(restored).toMatch(UUID);
    expect(restored).not.toBe(src);
    const info = await volume(restored);
    expect(info?.capacityMb).toBe(48);
    expect(info?.datastoreUrl).toBe(otherDir);
    expect(existsSync(join(otherDir, 'fcd', `${restored}.vmdk`))).toBe(true);
    expect(await volume(src)).toMatchObject({ capacityMb: 48 });
    expect(await sim.snapshotCount(src)).toBe(1);
    expect(await sim.snapshotCount(restored)).toBe(0);
    // The restored volume is independent: it can be deleted while the source keeps its snapshot.
    expect((await deleteVolume(restored)).fault).toBeUndefined();
  });

  test('a larger spec capacity still gives the snapshot size (the caller extends); a smaller one is InvalidArgument; an unknown snapshot is CnsSnapshotNotFoundFault', async () => {
    const src = await newVolume('restore-sizes', 32);
    const snap = await snapshot(src);
    const [bigger] = await run('CnsCreateVolume', volumeSpec('restored-bigger', shared, 64, { volumeId: src, snapshotId: snap }));
    expect(bigger!.fault).toBeUndefined();
    expect(await volume(bigger!.volumeId!)).toMatchObject({ capacityMb: 32 });
    const before = await sim.cnsCounts();
    const [smaller] = await run('CnsCreateVolume', volumeSpec('restored-smaller', shared, 16, { volumeId: src, snapshotId: snap }));
    expect(smaller!.fault).toBe('InvalidArgument');
    expect(smaller!.xml).toContain('<invalidProperty>capacityInMb</invalidProperty>');
    // Without reading volumeSource the simulator would have made a plain 16 MB volume here.
    const [unknown] = await run('CnsCreateVolume', volumeSpec('restored-unknown', shared, 32, { volumeId: src, snapshotId: 'no-such-snapshot' }));
    expect(unknown!.fault).toBe('CnsSnapshotNotFoundFault');
    const [unknownVolume] = await run('CnsCreateVolume', volumeSpec('restored-unknown-volume', shared, 32, { volumeId: 'no-such-volume', snapshotId: snap }));
    expect(unknownVolume!.fault).toBe('CnsSnapshotNotFoundFault');
    expect(await sim.cnsCounts()).toEqual(before);
  });
});

describe('before vSphere 7.0 Update 3', () => {
  test('the snapshot methods and a create with a volumeSource answer MethodNotFound; a plain create still works', async () => {
    const old = await startVcsim({ version: '7.0.2', cnsQueueDelayMs: 0, cnsRunTimeMs: 0 });
    try {
      const oldRaw = new RawVim(old);
      await oldRaw.login();
      const oldCns = new RawCns(oldRaw);
      for (const [method, inner] of [
        ['CnsCreateSnapshots', createSpec('x', 'y')],
        ['CnsDeleteSnapshots', deleteSpec('x', 'y')],
        ['CnsQuerySnapshots', '<snapshotQueryFilter></snapshotQueryFilter>'],
        ['CnsCreateVolume', volumeSpec('restored', 'ds', 16, { volumeId: 'x', snapshotId: 'y' })],
      ] as const) {
        await expect(oldCns.startTask(method, inner)).rejects.toThrow(/MethodNotFound/);
      }
      const plain = await oldCns.settled(await oldCns.startTask('CnsCreateVolume', volumeSpec('plain', (await inventory(oldRaw)).localDs, 16)));
      expect(volumeResults(plain.result)[0]).toMatchObject({ type: 'CnsVolumeCreateResult', fault: undefined });
    } finally {
      await old.stop();
    }
  });
});
