/**
 * SOAP envelope builder. Values are small typed trees (SoapObject, MoRefValue,
 * primitives, arrays); every complex type and every method request has a
 * declared field order (schema.ts), because XSD sequences are ordered and
 * vCenter rejects out-of-order elements. All text goes through escapeXml.
 */
import type { MoRef } from '../api.js';
import { FIELD_ORDER } from './schema.js';
import { escapeXml } from './xml.js';

/** A complex value of a declared type. `xsiType` marks a polymorphic position (emits xsi:type). */
export class SoapObject {
  constructor(
    readonly type: string,
    readonly fields: Readonly<Record<string, SoapValue>>,
    readonly xsiType: boolean,
  ) {}
}

/** A primitive in an xsd:anyType position (e.g. OptionValue.value), which needs an explicit xsi:type. */
export class TypedPrimitive {
  constructor(
    readonly xsdType: 'xsd:string' | 'xsd:int' | 'xsd:long' | 'xsd:boolean',
    readonly value: string,
  ) {}
}

export class MoRefValue {
  constructor(readonly ref: MoRef) {}
}

export type SoapValue =
  | string
  | number
  | bigint
  | boolean
  | SoapObject
  | TypedPrimitive
  | MoRefValue
  | readonly SoapValue[]
  | undefined;

/** A value of a declared type at a position whose declared type is exactly this type. */
export function obj(type: string, fields: Record<string, SoapValue>): SoapObject {
  return new SoapObject(type, fields, false);
}

/** A value of a subtype at a polymorphic position (base type declared, subtype sent). */
export function poly(type: string, fields: Record<string, SoapValue>): SoapObject {
  return new SoapObject(type, fields, true);
}

export function moref(ref: MoRef): MoRefValue {
  return new MoRefValue(ref);
}

export function anyString(value: string): TypedPrimitive {
  return new TypedPrimitive('xsd:string', value);
}

function primitiveText(value: string | number | bigint | boolean): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot send non-finite number ${value} to vCenter`);
    return String(value);
  }
  return typeof value === 'string' ? escapeXml(value) : String(value);
}

function orderedFields(type: string, fields: Readonly<Record<string, SoapValue>>): [string, SoapValue][] {
  const order = FIELD_ORDER[type];
  if (!order) throw new TypeError(`no field order declared for SOAP type ${type}`);
  for (const key of Object.keys(fields)) {
    if (!order.includes(key)) throw new TypeError(`field ${key} is not declared for SOAP type ${type}`);
  }
  return order.filter((k) => fields[k] !== undefined).map((k) => [k, fields[k]]);
}

/** Serialises one element (or, for arrays, one element per item). Element names are ours, never user input. */
export function element(name: string, value: SoapValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((v: SoapValue) => element(name, v)).join('');
  if (value instanceof MoRefValue) {
    return `<${name} type="${escapeXml(value.ref.type)}">${escapeXml(value.ref.value)}</${name}>`;
  }
  if (value instanceof TypedPrimitive) {
    return `<${name} xsi:type="${value.xsdType}">${escapeXml(value.value)}</${name}>`;
  }
  if (value instanceof SoapObject) {
    const attr = value.xsiType ? ` xsi:type="${value.type}"` : '';
    const body = orderedFields(value.type, value.fields)
      .map(([k, v]) => element(k, v))
      .join('');
    return `<${name}${attr}>${body}</${name}>`;
  }
  return `<${name}>${primitiveText(value as string | number | bigint | boolean)}</${name}>`;
}

export const NAMESPACES = { vim25: 'urn:vim25', cns: 'urn:vsan', pbm: 'urn:pbm' } as const;
export type SoapNamespace = keyof typeof NAMESPACES;

/**
 * A whole request envelope. `params` are checked against the method's
 * declared parameter order. `sessionCookie` becomes the vcSessionCookie header
 * that non-vim25 endpoints (PBM, CNS) use to join the vim25 session.
 */
export function envelope(
  namespace: SoapNamespace,
  method: string,
  params: Record<string, SoapValue>,
  sessionCookie?: string,
): string {
  const header = sessionCookie ? `<soapenv:Header><vcSessionCookie>${escapeXml(sessionCookie)}</vcSessionCookie></soapenv:Header>` : '';
  const body = orderedFields(method, params)
    .map(([k, v]) => element(k, v))
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    header +
    `<soapenv:Body><${method} xmlns="${NAMESPACES[namespace]}">${body}</${method}></soapenv:Body></soapenv:Envelope>`
  );
}
