/** CNS snapshot wire shapes (no simulator): request elements in WSDL order, and tolerant decoding of task results. */
import { describe, expect, test } from '@jest/globals';
import { element } from '../../src/vsphere/soap/envelope.js';
import { one, parseXml } from '../../src/vsphere/soap/decode.js';
import {
  decodeSnapshotQueryResult,
  decodeSnapshotResults,
  encodeCreateSpec,
  encodeSnapshotCreateSpec,
  encodeSnapshotDeleteSpec,
  encodeSnapshotFilter,
} from '../../src/vsphere/cns-codec.js';
import { isFault } from '../../src/vsphere/faults.js';
import type { XmlValue } from '../../src/vsphere/api.js';

/** A task's info.result as the task waiter hands it over (xsi prefix stripped to @xsiType). */
function result(xml: string): XmlValue {
  const doc = parseXml(`<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vsan="urn:vsan">${xml}</r>`);
  return one(doc, 'r')!;
}

const SNAP = (vol: string, snap: string, desc: string, at = '2024-05-01T10:20:30.456Z') =>
  `<snapshotId><id>${snap}</id></snapshotId><volumeId><id>${vol}</id></volumeId><description>${desc}</description><createTime>${at}</createTime>`;

describe('requests', () => {
  test('snapshot create/delete specs and the query filter, in declared order', () => {
    expect(element('snapshotSpecs', encodeSnapshotCreateSpec('v1', 'snap-a'))).toBe('<snapshotSpecs><volumeId><id>v1</id></volumeId><description>snap-a</description></snapshotSpecs>');
    expect(element('snapshotDeleteSpecs', encodeSnapshotDeleteSpec('v1', 's1'))).toBe(
      '<snapshotDeleteSpecs><volumeId><id>v1</id></volumeId><snapshotId><id>s1</id></snapshotId></snapshotDeleteSpecs>',
    );
    expect(element('snapshotQueryFilter', encodeSnapshotFilter({ cursor: { offset: 5, limit: 2 }, specs: [{ volumeId: 'v1', snapshotId: 's1' }] }))).toBe(
      '<snapshotQueryFilter><snapshotQuerySpecs><volumeId><id>v1</id></volumeId><snapshotId><id>s1</id></snapshotId></snapshotQuerySpecs>' +
        '<cursor><offset>5</offset><limit>2</limit></cursor></snapshotQueryFilter>',
    );
    expect(element('f', encodeSnapshotFilter({}))).toBe('<f></f>');
  });

  test('a restore: volumeSource last in the create spec, with xsi:type CnsSnapshotVolumeSource', () => {
    const xml = element(
      'createSpecs',
      encodeCreateSpec({ name: 'r', capacityMb: 1024, datastores: [], clusterId: 'c', vSphereUser: 'u', volumeSource: { volumeId: 'v1', snapshotId: 's1' }, profileId: 'p' }),
    );
    expect(xml).toMatch(/<\/profile><volumeSource xsi:type="CnsSnapshotVolumeSource"><volumeId><id>v1<\/id><\/volumeId><snapshotId><id>s1<\/id><\/snapshotId><\/volumeSource><\/createSpecs>$/);
    expect(element('x', encodeCreateSpec({ name: 'r', capacityMb: 1, datastores: [], clusterId: 'c', vSphereUser: 'u' }))).not.toContain('volumeSource');
  });
});

describe('task results', () => {
  test('create results: the snapshot with its time; a per-volume fault typed', () => {
    const [ok, bad] = decodeSnapshotResults(
      result(
        `<volumeResults xsi:type="vsan:CnsSnapshotCreateResult"><volumeId><id>v1</id></volumeId><snapshot>${SNAP('v1', 's1', 'snap-a')}</snapshot></volumeResults>` +
          `<volumeResults xsi:type="vsan:CnsSnapshotCreateResult"><volumeId><id>v2</id></volumeId><fault><fault xsi:type="vsan:CnsFault"><reason>too many</reason></fault><localizedMessage>volume v2 has 32 snapshots</localizedMessage></fault></volumeResults>`,
      ),
      'CnsCreateSnapshots',
    );
    expect(ok).toEqual({ volumeId: 'v1', snapshot: { volumeId: 'v1', snapshotId: 's1', description: 'snap-a', createTime: new Date('2024-05-01T10:20:30.456Z') } });
    expect(bad!.snapshot).toBeUndefined();
    expect(isFault(bad!.fault, 'CnsFault')).toBe(true);
    expect(bad!.fault!.message).toContain('32 snapshots');
  });

  test('a delete of an unknown snapshot: CnsSnapshotNotFoundFault recognisable with isFault', () => {
    const [r] = decodeSnapshotResults(
      result(
        '<volumeResults xsi:type="vsan:CnsSnapshotDeleteResult"><volumeId><id>v1</id></volumeId><fault><fault xsi:type="vsan:CnsSnapshotNotFoundFault"><volumeId><id>v1</id></volumeId><SnapshotId><id>s9</id></SnapshotId></fault><localizedMessage>no</localizedMessage></fault><snapshotId><id>s9</id></snapshotId></volumeResults>',
      ),
      'CnsDeleteSnapshots',
    );
    expect(r!.snapshotId).toBe('s9');
    expect(isFault(r!.fault, 'CnsSnapshotNotFoundFault')).toBe(true);
  });

  const entries =
    `<entries><snapshot>${SNAP('v1', 's1', 'a')}</snapshot></entries>` +
    `<entries><error><fault xsi:type="vsan:CnsSnapshotNotFoundFault"></fault><localizedMessage>gone</localizedMessage></error></entries>` +
    '<cursor><offset>2</offset><limit>128</limit><totalRecords>7</totalRecords></cursor>';

  test('query: the batch wrapper (volumeResults[0]) and a bare CnsSnapshotQueryResult decode alike', () => {
    const wrapped = decodeSnapshotQueryResult(result(`<volumeResults xsi:type="vsan:CnsSnapshotQueryResult">${entries}</volumeResults>`));
    const bare = decodeSnapshotQueryResult(result(entries));
    expect(wrapped).toEqual(bare);
    expect(bare.cursor).toEqual({ offset: 2, limit: 128, totalRecords: 7 });
    expect(bare.entries[0]!.snapshot).toMatchObject({ volumeId: 'v1', snapshotId: 's1', description: 'a' });
    expect(isFault(bare.entries[1]!.error, 'CnsSnapshotNotFoundFault')).toBe(true);
  });

  test('query: no entries, no cursor; a fault on the wrapper fails the query; an unreadable time is left out', () => {
    expect(decodeSnapshotQueryResult(undefined)).toEqual({ entries: [], cursor: { offset: 0, limit: 0, totalRecords: undefined } });
    expect(() =>
      decodeSnapshotQueryResult(result('<volumeResults><fault><fault xsi:type="vim25:NotFound"></fault><localizedMessage>x</localizedMessage></fault></volumeResults>')),
    ).toThrow(/NotFound/);
    const odd = decodeSnapshotQueryResult(result(`<entries><snapshot>${SNAP('v1', 's1', '', 'yesterday')}</snapshot></entries>`));
    expect(odd.entries[0]!.snapshot).toEqual({ volumeId: 'v1', snapshotId: 's1', description: '', createTime: undefined });
  });
});
