import { describe, expect, test } from '@jest/globals';
import { compileAddressRules, isLocalOnly, selectNodeAddresses, type GuestNic } from '../../src/cpi/addresses.js';

const nic = (network: string, ...ipAddresses: string[]): GuestNic => ({ network, ipAddresses });
const noRules = compileAddressRules({});

describe('address selection', () => {
  test('without rules: Hostname plus the first usable address as internal and external', () => {
    const r = selectNodeAddresses('node-1', [nic('VM Network', '127.0.0.1', 'fe80::1', '169.254.3.4', '10.0.0.5', '10.0.0.6')], noRules);
    expect(r.problems).toEqual([]);
    expect(r.addresses).toEqual([
      { type: 'Hostname', address: 'node-1' },
      { type: 'InternalIP', address: '10.0.0.5' },
      { type: 'ExternalIP', address: '10.0.0.5' },
    ]);
  });

  test('subnet rules pick internal and external per CIDR, across NICs', () => {
    const rules = compileAddressRules({ internalNetworkSubnetCidr: '192.168.10.0/24', externalNetworkSubnetCidr: '203.0.113.0/24' });
    const r = selectNodeAddresses('n', [nic('public', '203.0.113.7'), nic('private', '192.168.10.9')], rules);
    expect(r.addresses.filter((a) => a.type !== 'Hostname')).toEqual([
      { type: 'InternalIP', address: '192.168.10.9' },
      { type: 'ExternalIP', address: '203.0.113.7' },
    ]);
  });

  test('VM network names are used when subnets do not match; case-insensitive', () => {
    const rules = compileAddressRules({ internalVmNetworkName: 'k8s-internal', externalVmNetworkName: 'DMZ' });
    const r = selectNodeAddresses('n', [nic('dmz', '198.51.100.2'), nic('K8S-Internal', '172.16.0.4')], rules);
    expect(r.addresses).toContainEqual({ type: 'InternalIP', address: '172.16.0.4' });
    expect(r.addresses).toContainEqual({ type: 'ExternalIP', address: '198.51.100.2' });
  });

  test('only an internal match: external left out with a warning', () => {
    const rules = compileAddressRules({ internalNetworkSubnetCidr: '10.1.0.0/16', externalNetworkSubnetCidr: '10.2.0.0/16' });
    const r = selectNodeAddresses('n', [nic('a', '10.1.2.3', '10.9.9.9')], rules);
    expect(r.addresses.map((a) => a.type)).toEqual(['Hostname', 'InternalIP']);
    expect(r.warnings[0]).toMatch(/no external address/);
  });

  test('exclusions skip addresses, including in the fallback', () => {
    const rules = compileAddressRules({ excludeInternalNetworkSubnetCidr: '10.0.0.0/24, 10.0.1.0/24', excludeExternalNetworkSubnetCidr: '10.0.0.0/24' });
    const r = selectNodeAddresses('n', [nic('a', '10.0.0.5', '10.0.1.5', '10.0.2.5')], rules);
    expect(r.addresses).toContainEqual({ type: 'InternalIP', address: '10.0.2.5' });
    expect(r.addresses).toContainEqual({ type: 'ExternalIP', address: '10.0.1.5' });
  });

  test('IPv6 and dual stack, in the configured family order', () => {
    const r = selectNodeAddresses('n', [nic('a', 'fe80::5', '2001:db8::10', '10.0.0.5')], noRules, ['ipv6', 'ipv4']);
    expect(r.addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address)).toEqual(['2001:db8::10', '10.0.0.5']);
  });

  test('missing Tools data and unusable addresses are problems that say what is missing', () => {
    expect(selectNodeAddresses(undefined, [], noRules).problems).toEqual([
      'VMware Tools reports no guest host name (guest.hostName is empty)',
      'VMware Tools reports no guest network interfaces (guest.net is empty)',
    ]);
    const onlyLocal = selectNodeAddresses('n', [nic('a', '127.0.0.1', 'fe80::1')], noRules);
    expect(onlyLocal.problems[0]).toMatch(/no usable ipv4 address: guest reports 127.0.0.1, fe80::1/);
    const v6missing = selectNodeAddresses('n', [nic('a', '10.0.0.1')], noRules, ['ipv4', 'ipv6']);
    expect(v6missing.problems).toHaveLength(1);
    expect(v6missing.problems[0]).toMatch(/ipv6/);
  });

  test('both network names configured but no NIC on either: a problem naming both', () => {
    const rules = compileAddressRules({ internalVmNetworkName: 'int', externalVmNetworkName: 'ext' });
    const r = selectNodeAddresses('n', [nic('other', '10.0.0.1')], rules);
    expect(r.problems[0]).toMatch(/'int' \(nodes.internalVmNetworkName\) or 'ext'.*NICs are on: other/);
  });

  test('non-vNIC interfaces (deviceConfigId -1) are ignored', () => {
    const r = selectNodeAddresses('n', [{ network: '', ipAddresses: ['172.17.0.1'], deviceConfigId: -1 }, nic('a', '10.0.0.9')], noRules);
    expect(r.addresses).toContainEqual({ type: 'InternalIP', address: '10.0.0.9' });
  });

  test('bad CIDR names the key', () => {
    expect(() => compileAddressRules({ internalNetworkSubnetCidr: '10.0.0.0/33' })).toThrow(/nodes.internalNetworkSubnetCidr: '10.0.0.0\/33'/);
    expect(() => compileAddressRules({ excludeExternalNetworkSubnetCidr: 'x' })).toThrow(/excludeExternalNetworkSubnetCidr/);
  });

  test('local-only classification', () => {
    for (const ip of ['127.0.0.1', '127.9.9.9', '169.254.1.1', '0.0.0.0', '::1', '::', 'fe80::abcd', 'ff02::1', 'garbage']) expect(isLocalOnly(ip)).toBe(true);
    for (const ip of ['10.0.0.1', '8.8.8.8', '2001:db8::1', 'fd00::1']) expect(isLocalOnly(ip)).toBe(false);
  });
});
