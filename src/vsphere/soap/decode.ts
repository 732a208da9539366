/**
 * Response decoding: fast-xml-parser configured for vim25 wire data, plus the
 * small accessors the typed layers use to read it, and SOAP fault → typed
 * error. Namespace prefixes are stripped from tag names only; the `xsi:type`
 * attribute is mapped to "@xsiType" so it can never collide with a MoRef's
 * own `type` attribute ("@type"). Values stay strings (xsd:long is never a
 * lossy JS number); callers convert with toInt/toBigInt.
 */
import { XMLParser } from 'fast-xml-parser';
import type { MoRef, XmlObject, XmlValue } from '../api.js';
import { VsphereFault } from '../faults.js';
import { decodeEntities } from './xml.js';

/** Elements that repeat in the shapes we read: always arrays, even with one item. */
const REPEATED = new Set([
  'returnval',
  'objects',
  'propSet',
  'missingSet',
  'filterSet',
  'objectSet',
  'changeSet',
  'volumes',
  'volumeResults',
  'entityMetadata',
  'labels',
  'datastores',
  'placementResults',
  'referredEntity',
  'containerClusterArray',
  'ManagedObjectReference',
  'DatastoreHostMount',
  'GuestNicInfo',
  'OptionValue',
  'ipAddress',
  'string',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  ignoreDeclaration: true,
  // Hand callbacks the path matcher instead of a path string built for every tag (ours ignore the path).
  jPath: false,
  transformTagName: (name: string) => name.slice(name.indexOf(':') + 1),
  // fast-xml-parser passes the attribute name with its '@' prefix already applied.
  transformAttributeName: (name: string) => (/^@?[^:@]+:type$/.test(name) ? '@xsiType' : name),
  isArray: (name: string, _jpath: unknown, _isLeaf: boolean, isAttribute: boolean) => !isAttribute && REPEATED.has(name),
  tagValueProcessor: (_name: string, value: string) => decodeEntities(value),
  attributeValueProcessor: (_name: string, value: string) => decodeEntities(value),
});

export function parseXml(text: string): XmlObject {
  return parser.parse(text) as XmlObject;
}

// ---------------------------------------------------------------- accessors

export function isObject(v: XmlValue | undefined): v is XmlObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** All values of a (possibly repeated) child. */
export function all(parent: XmlValue | undefined, name: string): XmlValue[] {
  if (!isObject(parent)) return [];
  const v = parent[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** The first value of a child. */
export function one(parent: XmlValue | undefined, name: string): XmlValue | undefined {
  return all(parent, name)[0];
}

/** Text content of a value (an element with attributes keeps its text under "#text"). */
export function text(v: XmlValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (isObject(v)) {
    const t = v['#text'];
    if (typeof t === 'string') return t;
    // An empty element with attributes has no text node.
    return Object.keys(v).every((k) => k.startsWith('@')) ? '' : undefined;
  }
  return undefined;
}

export function childText(parent: XmlValue | undefined, name: string): string | undefined {
  return text(one(parent, name));
}

export function xsiType(v: XmlValue | undefined): string | undefined {
  if (!isObject(v)) return undefined;
  const t = v['@xsiType'];
  return typeof t === 'string' ? t.slice(t.indexOf(':') + 1) : undefined;
}

export function toMoRef(v: XmlValue | undefined): MoRef | undefined {
  if (!isObject(v)) return undefined;
  const type = v['@type'];
  const value = text(v);
  return typeof type === 'string' && value !== undefined ? { type, value } : undefined;
}

export function toInt(s: string | undefined): number | undefined {
  if (s === undefined || s === '') return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function toBigInt(s: string | undefined): bigint {
  if (s === undefined || !/^-?\d+$/.test(s)) return 0n;
  return BigInt(s);
}

export function toBool(s: string | undefined): boolean | undefined {
  if (s === undefined) return undefined;
  return s === 'true' || s === '1';
}

// ---------------------------------------------------------------- faults

/**
 * A MethodFault value (SOAP fault detail child, or a task's info.error.fault)
 * → VsphereFault with the fault's type name.
 */
export function faultFromValue(fault: XmlValue | undefined, elementName: string | undefined, message: string, method: string, httpStatus?: number): VsphereFault {
  let type = xsiType(fault);
  if (!type && elementName) type = elementName.endsWith('Fault') && elementName !== 'Fault' ? elementName.slice(0, -5) : elementName;
  const obj = toMoRef(one(fault, 'obj')) ?? toMoRef(one(fault, 'object'));
  const faultType = type ?? 'UnknownFault';
  return new VsphereFault(faultType, `${method}: ${faultType}${message ? `: ${message}` : ''}`, {
    method,
    detail: fault,
    obj,
    httpStatus,
    invalidProperty: childText(fault, 'invalidProperty') || undefined,
  });
}

/** The Body's single response element, or throws the SOAP fault as VsphereFault. */
export function responseBody(doc: XmlObject, method: string, httpStatus: number): XmlObject {
  const body = one(one(doc, 'Envelope'), 'Body');
  if (!isObject(body)) {
    throw new VsphereFault('InvalidResponse', `${method}: vCenter answered HTTP ${httpStatus} without a SOAP body`, { method, httpStatus });
  }
  const fault = one(body, 'Fault');
  if (fault !== undefined) {
    const detail = one(fault, 'detail');
    const detailName = isObject(detail) ? Object.keys(detail).find((k) => !k.startsWith('@') && k !== '#text') : undefined;
    const faultValue = detailName && isObject(detail) ? one(detail, detailName) : undefined;
    const message = childText(fault, 'faultstring') ?? '';
    throw faultFromValue(faultValue, detailName, message.trim(), method, httpStatus);
  }
  const response = one(body, `${method}Response`);
  return isObject(response) ? response : {};
}
