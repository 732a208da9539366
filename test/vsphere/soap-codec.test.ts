/** Unit tests of the SOAP envelope builder and response decoder (no simulator). */
import { describe, expect, test } from '@jest/globals';
import { anyString, element, envelope, moref, obj, poly } from '../../src/vsphere/soap/envelope.js';
import { all, childText, one, parseXml, responseBody, toMoRef, xsiType } from '../../src/vsphere/soap/decode.js';
import { decodeEntities, escapeXml } from '../../src/vsphere/soap/xml.js';
import { VsphereFault } from '../../src/vsphere/faults.js';
import { normalizeThumbprint } from '../../src/vsphere/tls.js';

describe('XML text', () => {
  test('escapes every metacharacter and keeps unicode', () => {
    expect(escapeXml(`<a href="x">&'</a> é😀`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt; é😀');
    expect(escapeXml('a\tb\nc\r')).toBe('a&#x9;b&#xA;c&#xD;');
  });

  test('refuses characters XML 1.0 cannot carry', () => {
    expect(() => escapeXml('a\u0001b')).toThrow(VsphereFault);
    expect(() => escapeXml('\uD800')).toThrow(/control character or unpaired surrogate/);
  });

  test('decodes named and numeric references (as Go emits them)', () => {
    expect(decodeEntities('&#34;&#39;&lt;&gt;&amp;&quot;&apos;&#xA;&#x1F600;&unknown;')).toBe(`"'<>&"'\n😀&unknown;`);
  });
});

describe('envelope builder', () => {
  test('emits fields in declared order whatever the object key order, with xsi:type only at polymorphic positions', () => {
    const xml = element(
      'spec',
      obj('PropertyFilterSpec', {
        objectSet: [obj('ObjectSpec', { skip: true, obj: moref({ type: 'ContainerView', value: 'session[x]"<' }) })],
        propSet: [obj('PropertySpec', { pathSet: ['name', 'config.uuid'], type: 'VirtualMachine' })],
      }),
    );
    expect(xml).toBe(
      '<spec><propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>config.uuid</pathSet></propSet>' +
        '<objectSet><obj type="ContainerView">session[x]&quot;&lt;</obj><skip>true</skip></objectSet></spec>',
    );
    expect(element('x', poly('TraversalSpec', { path: 'view', name: 'v', type: 'ContainerView' }))).toBe(
      '<x xsi:type="TraversalSpec"><name>v</name><type>ContainerView</type><path>view</path></x>',
    );
    expect(element('value', anyString('TRUE'))).toBe('<value xsi:type="xsd:string">TRUE</value>');
  });

  test('rejects undeclared fields and types (typos fail loudly, not on the server)', () => {
    expect(() => element('x', obj('PropertySpec', { typo: 'a' }))).toThrow(/field typo is not declared/);
    expect(() => element('x', obj('NoSuchType', {}))).toThrow(/no field order declared/);
  });

  test('method parameters follow the declared order; vcSessionCookie header only when given', () => {
    const xml = envelope('cns', 'CnsDeleteVolume', { deleteDisk: true, volumeIds: [obj('CnsVolumeId', { id: 'v1' })], _this: moref({ type: 'CnsVolumeManager', value: 'cns-volume-manager' }) }, '"abc"&');
    expect(xml).toContain('<soapenv:Header><vcSessionCookie>&quot;abc&quot;&amp;</vcSessionCookie></soapenv:Header>');
    expect(xml).toContain('<CnsDeleteVolume xmlns="urn:vsan"><_this type="CnsVolumeManager">cns-volume-manager</_this><volumeIds><id>v1</id></volumeIds><deleteDisk>true</deleteDisk></CnsDeleteVolume>');
    expect(envelope('vim25', 'Logout', { _this: moref({ type: 'SessionManager', value: 'sm' }) })).not.toContain('Header');
  });
});

describe('response decoder', () => {
  test('keeps xsi:type and a MoRef type apart, longs as strings, repeated elements as arrays', () => {
    const doc = parseXml(
      '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
        '<soapenv:Body><RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="VirtualMachine">vm-1</obj>' +
        '<propSet><name>runtime.host</name><val xsi:type="ManagedObjectReference" type="HostSystem">host-9</val></propSet>' +
        '<propSet><name>summary.capacity</name><val xsi:type="xsd:long">9007199254740993</val></propSet>' +
        '<propSet><name>name</name><val xsi:type="xsd:string">a&#34;b&lt;c&#xA;</val></propSet>' +
        '</objects></returnval></RetrievePropertiesExResponse></soapenv:Body></soapenv:Envelope>',
    );
    const body = responseBody(doc, 'RetrievePropertiesEx', 200);
    const objects = all(one(body, 'returnval'), 'objects');
    expect(objects).toHaveLength(1);
    const props = all(objects[0], 'propSet');
    expect(props).toHaveLength(3);
    const host = one(props[0], 'val');
    expect(xsiType(host)).toBe('ManagedObjectReference');
    expect(toMoRef(host)).toEqual({ type: 'HostSystem', value: 'host-9' });
    expect(childText(props[1], 'val')).toBe('9007199254740993');
    expect(childText(props[2], 'val')).toBe('a"b<c\n');
  });

  test('a SOAP fault becomes VsphereFault with the type from the detail xsi:type', () => {
    const doc = parseXml(
      '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>' +
        '<faultcode>ServerFaultCode</faultcode><faultstring>The object has already been deleted</faultstring><detail>' +
        '<ManagedObjectNotFoundFault xmlns="urn:vim25" xsi:type="ManagedObjectNotFound"><obj type="VirtualMachine">vm-7</obj></ManagedObjectNotFoundFault>' +
        '</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>',
    );
    let caught: unknown;
    try {
      responseBody(doc, 'RetrievePropertiesEx', 500);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(VsphereFault);
    const fault = caught as VsphereFault;
    expect(fault.faultType).toBe('ManagedObjectNotFound');
    expect(fault.details.obj).toEqual({ type: 'VirtualMachine', value: 'vm-7' });
    expect(fault.details.httpStatus).toBe(500);
    expect(fault.message).toContain('already been deleted');
  });

  test('fault type falls back to the detail element name without "Fault"', () => {
    const doc = parseXml('<Envelope><Body><Fault><faultstring>x</faultstring><detail><InvalidLoginFault/></detail></Fault></Body></Envelope>');
    expect(() => responseBody(doc, 'Login', 500)).toThrow(expect.objectContaining({ faultType: 'InvalidLogin' }) as unknown as Error);
  });
});

describe('thumbprints', () => {
  test('accepts SHA-1 and SHA-256 with or without colons; rejects anything else', () => {
    expect(normalizeThumbprint('AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01')).toBe('abcdef0123456789abcdef0123456789abcdef01');
    expect(normalizeThumbprint('a'.repeat(64))).toHaveLength(64);
    expect(() => normalizeThumbprint('abc')).toThrow(/SHA-1 \(40 hex digits\) or SHA-256/);
  });
});
