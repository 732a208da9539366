import { describe, expect, test } from '@jest/globals';
import { CsiError, GrpcCode, aborted, notFound } from '../../src/csi/errors.js';
import { codeName, toGrpcStatus } from '../../src/csi/status.js';
import { VsphereConnectionError, VsphereFault, VsphereTimeoutError } from '../../src/vsphere/faults.js';

describe('toGrpcStatus', () => {
  test('CsiError keeps its code and message', () => {
    expect(toGrpcStatus(notFound('volume v1 does not exist'))).toEqual({
      code: GrpcCode.NOT_FOUND,
      message: 'volume v1 does not exist',
      unexpected: false,
    });
    expect(toGrpcStatus(aborted('busy')).code).toBe(GrpcCode.ABORTED);
  });

  test.each([
    ['NotFound', GrpcCode.NOT_FOUND],
    ['FileNotFound', GrpcCode.NOT_FOUND],
    ['ResourceInUse', GrpcCode.FAILED_PRECONDITION],
    ['InvalidState', GrpcCode.FAILED_PRECONDITION],
    // vCenter refusing a request the driver built is the driver's problem, not the caller's.
    ['InvalidArgument', GrpcCode.INTERNAL],
    ['InvalidRequest', GrpcCode.INTERNAL],
    ['InvalidProperty', GrpcCode.INTERNAL],
    ['ManagedObjectNotFound', GrpcCode.INTERNAL],
    ['TooManyDevices', GrpcCode.RESOURCE_EXHAUSTED],
    ['TaskInProgress', GrpcCode.ABORTED],
    ['NoDiskSpace', GrpcCode.RESOURCE_EXHAUSTED],
    ['NotAuthenticated', GrpcCode.UNAVAILABLE],
    ['InvalidLogin', GrpcCode.UNAVAILABLE],
    ['NoPermission', GrpcCode.PERMISSION_DENIED],
    ['RequestCanceled', GrpcCode.CANCELLED],
    ['CnsFault', GrpcCode.INTERNAL],
    ['SomethingNew', GrpcCode.INTERNAL],
  ])('VsphereFault %s → %s', (faultType, code) => {
    const status = toGrpcStatus(new VsphereFault(faultType, `fault ${faultType}`, { method: 'CnsAttachVolume' }));
    expect(status.code).toBe(code);
    expect(status.message).toContain(faultType);
    expect(status.message).toContain('CnsAttachVolume');
    expect(status.unexpected).toBe(code === GrpcCode.INTERNAL);
  });

  test('a refused request names the fault, the method and the property, and says the request fields are not at fault', () => {
    const status = toGrpcStatus(new VsphereFault('InvalidArgument', 'CnsCreateVolume: InvalidArgument', { method: 'CnsVolumeManager.CnsCreateVolume', invalidProperty: 'InputSpec' }));
    expect(status.code).toBe(GrpcCode.INTERNAL);
    expect(status.message).toBe(
      'vCenter refused a request the driver built: InvalidArgument during CnsVolumeManager.CnsCreateVolume (property "InputSpec"). The request\'s own fields are not at fault; this is a driver bug or a vCenter that behaves differently: see the driver log and report it',
    );
  });

  test('InvalidLogin tells the operator what to fix, without echoing vCenter text', () => {
    const status = toGrpcStatus(new VsphereFault('InvalidLogin', 'Cannot complete login due to an incorrect user name or password.'));
    expect(status.message).toBe(
      'vCenter InvalidLogin: vCenter rejected the driver credentials: fix user/password in the csi-vsphere.conf Secret',
    );
  });

  test('a fault names the vCenter that answered when the transport stamped it', () => {
    const status = toGrpcStatus(new VsphereFault('InvalidLogin', 'incorrect user name or password', { method: 'Login', vcenter: 'vc-b.example.com' }));
    expect(status.message).toBe(
      'vCenter vc-b.example.com InvalidLogin during Login: vCenter rejected the driver credentials: fix user/password in the csi-vsphere.conf Secret',
    );
    expect(toGrpcStatus(new VsphereFault('CnsFault', 'x', { vcenter: 'vc-b.example.com' })).message).toBe('vCenter vc-b.example.com reported CnsFault; see the driver log');
  });

  test('connection and timeout errors are retriable codes', () => {
    expect(toGrpcStatus(new VsphereConnectionError('connect ECONNREFUSED 127.0.0.1:443')).code).toBe(GrpcCode.UNAVAILABLE);
    expect(toGrpcStatus(new VsphereTimeoutError('CreateVolume deadline')).code).toBe(GrpcCode.DEADLINE_EXCEEDED);
    expect(toGrpcStatus(new DOMException('gone', 'AbortError')).code).toBe(GrpcCode.CANCELLED);
  });

  test('anything else is INTERNAL with a generic message (details stay in the log)', () => {
    const status = toGrpcStatus(new TypeError("Cannot read properties of undefined (reading 'password')"));
    expect(status).toEqual({ code: GrpcCode.INTERNAL, message: 'internal error in the driver; see the driver log for details', unexpected: true });
    expect(toGrpcStatus('a string').code).toBe(GrpcCode.INTERNAL);
    expect(toGrpcStatus(new CsiError(GrpcCode.INTERNAL, 'explicit')).unexpected).toBe(false);
  });

  test('codeName gives upper-case labels', () => {
    expect(codeName(GrpcCode.INVALID_ARGUMENT)).toBe('INVALID_ARGUMENT');
    expect(codeName(GrpcCode.OK)).toBe('OK');
  });
});
