/**
 * Pure decoding of config.hardware.device values in shapes a real vCenter
 * sends and the simulator does not: capacityInBytes, an RDM backing, a
 * single device (not an array), a namespace-prefixed xsi:type.
 */
import { describe, expect, test } from '@jest/globals';
import { one, parseXml } from '../../src/vsphere/soap/decode.js';
import { decodeDisks } from '../../src/vsphere/vm-disks.js';

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

function devicesOf(inner: string) {
  const doc = parseXml(`<val ${XSI} xsi:type="ArrayOfVirtualDevice">${inner}</val>`);
  return one(doc, 'val');
}

describe('decodeDisks', () => {
  test('capacityInBytes wins over capacityInKB; an RDM backing keeps its uuid; vDiskId read', () => {
    const disks = decodeDisks(
      devicesOf(
        `<VirtualDevice xsi:type="VirtualDisk"><key>2001</key><backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[vsanDatastore] fcd/a.vmdk</fileName><uuid>6000C291-0000-1111-2222-333344445555</uuid></backing>` +
          `<controllerKey>1000</controllerKey><unitNumber>1</unitNumber><capacityInKB>1048576</capacityInKB><capacityInBytes>1073741825</capacityInBytes><vDiskId><id>0ab1-fcd</id></vDiskId></VirtualDevice>` +
          `<VirtualDevice xsi:type="VirtualDisk"><key>2002</key><backing xsi:type="VirtualDiskRawDiskMappingVer1BackingInfo"><fileName>[ds] vm/rdm.vmdk</fileName><uuid>6000c29aaaabbbbccccddddeeeeffff0</uuid></backing><controllerKey>1000</controllerKey><unitNumber>2</unitNumber><capacityInKB>4</capacityInKB></VirtualDevice>`,
      ),
    );
    expect(disks).toEqual([
      { key: 2001, volumeId: '0ab1-fcd', diskUuid: '6000c291000011112222333344445555', fileName: '[vsanDatastore] fcd/a.vmdk', capacityBytes: 1073741825n, controllerKey: 1000, unitNumber: 1 },
      { key: 2002, volumeId: undefined, diskUuid: '6000c29aaaabbbbccccddddeeeeffff0', fileName: '[ds] vm/rdm.vmdk', capacityBytes: 4096n, controllerKey: 1000, unitNumber: 2 },
    ]);
  });

  test('a single device is not an array; other device types and prefixed xsi:type values', () => {
    const single = decodeDisks(devicesOf(`<VirtualDevice xsi:type="vim25:VirtualDisk"><key>2000</key><capacityInKB>8</capacityInKB></VirtualDevice>`));
    expect(single).toEqual([{ key: 2000, volumeId: undefined, diskUuid: undefined, fileName: undefined, capacityBytes: 8192n, controllerKey: undefined, unitNumber: undefined }]);
    const none = decodeDisks(
      devicesOf(
        `<VirtualDevice xsi:type="VirtualLsiLogicController"><key>1000</key><busNumber>0</busNumber><device>2000</device></VirtualDevice>` +
          `<VirtualDevice xsi:type="VirtualCdrom"><key>3000</key><backing xsi:type="VirtualCdromIsoBackingInfo"><fileName>[ds] x.iso</fileName></backing></VirtualDevice>` +
          `<VirtualDevice xsi:type="VirtualDisk"><backing xsi:type="VirtualDiskFlatVer2BackingInfo"><uuid>6000</uuid></backing></VirtualDevice>`,
      ),
    );
    // The controller and CD-ROM are skipped; a disk without a key is not a device we can name.
    expect(none).toEqual([]);
    expect(decodeDisks(undefined)).toEqual([]);
  });
});
