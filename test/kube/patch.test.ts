/** Pure logic of the test API server: patch semantics and selectors. */
import { describe, expect, test } from '@jest/globals';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch, type Json } from '../../src/harness/kube-patch.js';
import { parseFieldSelector, parseLabelSelector } from '../../src/harness/kube-selectors.js';

const node = (): Json => ({
  metadata: { name: 'n', labels: { a: '1', b: '2' }, finalizers: ['x'] },
  spec: { taints: [{ key: 't1', effect: 'NoSchedule' }, { key: 't2', effect: 'NoExecute' }] },
  status: {
    addresses: [
      { type: 'Hostname', address: 'n' },
      { type: 'InternalIP', address: '10.0.0.1' },
    ],
  },
});

describe('merge patch (RFC 7386)', () => {
  test('maps merge, null deletes, lists replace', () => {
    expect(mergePatch(node(), { metadata: { labels: { a: null, c: '3' } }, spec: { taints: [] } })).toMatchObject({
      metadata: { labels: { b: '2', c: '3' } },
      spec: { taints: [] },
    });
    expect(mergePatch({ a: { b: 1 } }, { a: 'scalar' })).toEqual({ a: 'scalar' });
  });
});

describe('strategic merge patch subset', () => {
  test('addresses merge by type; an element with $patch: delete is removed', () => {
    const out = strategicMergePatch(node(), {
      status: { addresses: [{ type: 'InternalIP', address: '10.0.0.2' }, { type: 'ExternalIP', address: '1.2.3.4' }] },
    });
    expect(out).toMatchObject({
      status: {
        addresses: [
          { type: 'Hostname', address: 'n' },
          { type: 'InternalIP', address: '10.0.0.2' },
          { type: 'ExternalIP', address: '1.2.3.4' },
        ],
      },
    });
    const removed = strategicMergePatch(node(), { status: { addresses: [{ type: 'Hostname', $patch: 'delete' }] } });
    expect(removed).toMatchObject({ status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] } });
  });

  test('taints have no merge key and are replaced whole; finalizers merge as a set', () => {
    const out = strategicMergePatch(node(), {
      metadata: { finalizers: ['y', 'x'] },
      spec: { taints: [{ key: 't2', effect: 'NoExecute' }] },
    });
    expect(out).toMatchObject({ metadata: { finalizers: ['x', 'y'] }, spec: { taints: [{ key: 't2', effect: 'NoExecute' }] } });
  });

  test('$setElementOrder reorders, $retainKeys prunes, $patch: replace replaces a map, $deleteFromPrimitiveList removes', () => {
    const out = strategicMergePatch(node(), {
      metadata: { labels: { $patch: 'replace', only: 'this' }, '$deleteFromPrimitiveList/finalizers': ['x'] },
      status: { '$setElementOrder/addresses': [{ type: 'InternalIP' }, { type: 'Hostname' }], $retainKeys: ['addresses'] },
    });
    expect(out).toEqual({
      metadata: { name: 'n', labels: { only: 'this' }, finalizers: [] },
      spec: { taints: [{ key: 't1', effect: 'NoSchedule' }, { key: 't2', effect: 'NoExecute' }] },
      status: {
        addresses: [
          { type: 'InternalIP', address: '10.0.0.1' },
          { type: 'Hostname', address: 'n' },
        ],
      },
    });
  });

  test('keyed list elements without their key are rejected', () => {
    expect(() => strategicMergePatch(node(), { status: { addresses: [{ address: 'x' }] } })).toThrow(PatchError);
  });
});

describe('JSON patch (RFC 6902)', () => {
  test('add, replace, remove, move, copy, test, with ~1 escapes and "-" append', () => {
    const out = jsonPatch(node(), [
      { op: 'add', path: '/metadata/labels/topology.kubernetes.io~1zone', value: 'z' },
      { op: 'replace', path: '/metadata/labels/a', value: '9' },
      { op: 'remove', path: '/spec/taints/0' },
      { op: 'add', path: '/spec/taints/-', value: { key: 't3', effect: 'NoSchedule' } },
      { op: 'copy', from: '/metadata/name', path: '/spec/providerID' },
      { op: 'move', from: '/metadata/labels/b', path: '/metadata/labels/moved' },
      { op: 'test', path: '/spec/taints/0/key', value: 't2' },
    ]);
    expect(out).toMatchObject({
      metadata: { labels: { a: '9', moved: '2', 'topology.kubernetes.io/zone': 'z' } },
      spec: { providerID: 'n', taints: [{ key: 't2' }, { key: 't3' }] },
    });
  });

  test('a failed test or a missing path is a 422; the input is untouched', () => {
    const input = node();
    expect(() => jsonPatch(input, [{ op: 'remove', path: '/spec/taints/0' }, { op: 'test', path: '/metadata/name', value: 'other' }])).toThrow(
      expect.objectContaining({ code: 422 }),
    );
    expect(() => jsonPatch(input, [{ op: 'replace', path: '/nope/x', value: 1 }])).toThrow(PatchError);
    expect(input).toEqual(node());
  });
});

describe('selectors', () => {
  const object = { metadata: { name: 'n1', namespace: 'ns', labels: { role: 'worker', zone: 'a' } }, spec: { nodeName: 'h' } };

  test.each([
    ['role=worker', true],
    ['role==worker,zone=a', true],
    ['role!=worker', false],
    ['zone', true],
    ['!zone', false],
    ['!missing', true],
    ['zone in (a, b)', true],
    ['zone notin (a,b)', false],
    ['role=worker,zone in (b,c)', false],
    ['', true],
  ])('label selector %j → %s', (selector, expected) => {
    expect(parseLabelSelector(selector)(object)).toBe(expected);
  });

  test('field selectors compare dotted paths; bad syntax throws instead of matching everything', () => {
    expect(parseFieldSelector('metadata.name=n1,spec.nodeName!=x')(object)).toBe(true);
    expect(parseFieldSelector('metadata.namespace=other')(object)).toBe(false);
    expect(() => parseLabelSelector('a in b')).toThrow(/unable to parse/);
    expect(() => parseFieldSelector('metadata.name')).toThrow(/unable to parse/);
  });
});
