import { describe, expect, test } from '@jest/globals';
import { candidateUuids, normalizeUuid, providerIdFor, swapUuidByteOrder, uuidFromProviderId } from '../../src/contract/uuid.js';
import { guestOsShortName, instanceTypeFor } from '../../src/cpi/instance-type.js';

describe('BIOS UUID handling', () => {
  test('byte-swaps the first three groups (the reference example)', () => {
    expect(swapUuidByteOrder('56492e42-22ad-3911-6d72-59cc8f26bc90')).toBe('422e4956-ad22-1139-6d72-59cc8f26bc90');
  });
  test('swapping twice gives the original', () => {
    const u = '4211a0b2-c3d4-e5f6-0718-293a4b5c6d7e';
    expect(swapUuidByteOrder(swapUuidByteOrder(u))).toBe(u);
  });
  test('candidates: as reported first, then swapped; uppercase and spaces normalized', () => {
    expect(candidateUuids(' 56492E42-22AD-3911-6D72-59CC8F26BC90 ')).toEqual([
      '56492e42-22ad-3911-6d72-59cc8f26bc90',
      '422e4956-ad22-1139-6d72-59cc8f26bc90',
    ]);
  });
  test('a palindromic UUID yields one candidate; junk yields none', () => {
    expect(candidateUuids('00000000-0000-0000-0000-000000000000')).toHaveLength(1);
    expect(candidateUuids('not-a-uuid')).toEqual([]);
    expect(candidateUuids(undefined)).toEqual([]);
    expect(normalizeUuid('56492e42-22ad-3911-6d72-59cc8f26bc9')).toBeUndefined();
  });
  test('providerID round trip and foreign providers', () => {
    expect(providerIdFor('422E4956-AD22-1139-6D72-59CC8F26BC90')).toBe('vsphere://422e4956-ad22-1139-6d72-59cc8f26bc90');
    expect(uuidFromProviderId('vsphere://422e4956-ad22-1139-6d72-59cc8f26bc90')).toBe('422e4956-ad22-1139-6d72-59cc8f26bc90');
    expect(uuidFromProviderId('aws:///us-east-1a/i-123')).toBeUndefined();
    expect(uuidFromProviderId(undefined)).toBeUndefined();
  });
});

describe('instance type', () => {
  test('reference format: floor of MB/1024, short guest name', () => {
    expect(instanceTypeFor(4, 8192, 'ubuntu64Guest')).toBe('vsphere-vm.cpu-4.mem-8gb.os-ubuntu');
    expect(instanceTypeFor(2, 3000, 'vmwarePhoton64Guest')).toBe('vsphere-vm.cpu-2.mem-2gb.os-photon');
    expect(instanceTypeFor(1, 512, 'otherGuest')).toBe('vsphere-vm.cpu-1.mem-0gb.os-other');
  });
  test('unknown and missing guest ids are "unknown"', () => {
    expect(instanceTypeFor(1, 1024, 'someFutureGuest')).toBe('vsphere-vm.cpu-1.mem-1gb.os-unknown');
    expect(guestOsShortName(undefined)).toBe('unknown');
  });
  test('a sample of the reference table', () => {
    expect(guestOsShortName('windows9Server64Guest')).toBe('win10server');
    expect(guestOsShortName('other3xLinux64Guest')).toBe('linux');
    expect(guestOsShortName('centos64Guest')).toBe('centos64');
    expect(guestOsShortName('rhel7_64Guest')).toBe('rhel7');
    expect(guestOsShortName('darwin16_64Guest')).toBe('darwin');
  });
});
