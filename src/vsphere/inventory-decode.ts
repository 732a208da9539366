/**
 * Property paths read for each inventory type and the decoding of their
 * values into the public data types. Kept next to each other so a path added
 * here is decoded here.
 */
import type { ClusterInfo, DatastoreInfo, GuestNic, HostInfo, MoRef, VmInfo, XmlValue } from './api.js';
import { all, childText, one, text, toBigInt, toBool, toInt, toMoRef } from './soap/decode.js';
import type { ObjectContent } from './property-collector.js';

// config.extraConfig is read whole: the simulator cannot read a single key
// (config.extraConfig["disk.EnableUUID"]), which a real vCenter could.
export const VM_PATHS = [
  'name',
  'parent',
  'config.uuid',
  'config.instanceUuid',
  'config.guestId',
  'config.guestFullName',
  'config.extraConfig',
  'guest.hostName',
  'guest.ipAddress',
  'guest.net',
  'runtime.host',
  'runtime.powerState',
  'resourcePool',
  'summary.config.numCpu',
  'summary.config.memorySizeMB',
];

export const HOST_PATHS = ['name', 'parent', 'datastore', 'runtime.connectionState', 'runtime.inMaintenanceMode'];
export const CLUSTER_PATHS = ['name', 'parent', 'host', 'datastore'];
export const DATASTORE_PATHS = ['name', 'summary.url', 'summary.type', 'summary.accessible', 'summary.capacity', 'summary.freeSpace', 'summary.maintenanceMode', 'host'];
export const DATASTORE_CLUSTER_PATHS = ['name', 'childEntity'];

function str(c: ObjectContent, path: string): string | undefined {
  return text(c.props.get(path));
}

function ref(c: ObjectContent, path: string): MoRef | undefined {
  return toMoRef(c.props.get(path));
}

/** ArrayOfManagedObjectReference → MoRef[]. */
export function refList(v: XmlValue | undefined): MoRef[] {
  return all(v, 'ManagedObjectReference')
    .map((r) => toMoRef(r))
    .filter((r): r is MoRef => r !== undefined);
}

function decodeNics(v: XmlValue | undefined): GuestNic[] {
  return all(v, 'GuestNicInfo').map((nic) => ({
    network: childText(nic, 'network'),
    macAddress: childText(nic, 'macAddress'),
    connected: toBool(childText(nic, 'connected')) ?? false,
    ipAddresses: all(nic, 'ipAddress')
      .map((ip) => text(ip))
      .filter((ip): ip is string => !!ip),
  }));
}

function extraConfigValue(v: XmlValue | undefined, key: string): string | undefined {
  const lower = key.toLowerCase();
  // The last entry wins: vCenter keeps one per key, but the simulator appends on every ReconfigVM_Task.
  let value: string | undefined;
  for (const option of all(v, 'OptionValue')) {
    if (childText(option, 'key')?.toLowerCase() === lower) value = childText(option, 'value');
  }
  return value;
}

export function decodeVm(c: ObjectContent): VmInfo {
  const power = str(c, 'runtime.powerState');
  const enableUuid = extraConfigValue(c.props.get('config.extraConfig'), 'disk.EnableUUID');
  return {
    ref: c.ref,
    name: str(c, 'name') ?? c.ref.value,
    biosUuid: str(c, 'config.uuid')?.toLowerCase(),
    instanceUuid: str(c, 'config.instanceUuid')?.toLowerCase(),
    guestHostName: str(c, 'guest.hostName') || undefined,
    guestIpAddress: str(c, 'guest.ipAddress') || undefined,
    guestNics: decodeNics(c.props.get('guest.net')),
    powerState: power === 'poweredOn' || power === 'poweredOff' || power === 'suspended' ? power : undefined,
    host: ref(c, 'runtime.host'),
    resourcePool: ref(c, 'resourcePool'),
    parent: ref(c, 'parent'),
    numCpu: toInt(str(c, 'summary.config.numCpu')),
    memoryMb: toInt(str(c, 'summary.config.memorySizeMB')),
    guestId: str(c, 'config.guestId') || undefined,
    guestFullName: str(c, 'config.guestFullName') || undefined,
    diskEnableUuid: enableUuid === undefined ? undefined : enableUuid.trim().toLowerCase() === 'true',
  };
}

export function decodeHost(c: ObjectContent): HostInfo {
  return {
    ref: c.ref,
    name: str(c, 'name') ?? c.ref.value,
    parent: ref(c, 'parent'),
    datastores: refList(c.props.get('datastore')),
    connectionState: str(c, 'runtime.connectionState'),
    inMaintenanceMode: toBool(str(c, 'runtime.inMaintenanceMode')),
  };
}

export function decodeCluster(c: ObjectContent): ClusterInfo {
  return {
    ref: c.ref,
    name: str(c, 'name') ?? c.ref.value,
    parent: ref(c, 'parent'),
    hosts: refList(c.props.get('host')),
    datastores: refList(c.props.get('datastore')),
  };
}

export function decodeDatastore(c: ObjectContent): DatastoreInfo {
  return {
    ref: c.ref,
    name: str(c, 'name') ?? c.ref.value,
    url: str(c, 'summary.url') ?? '',
    type: str(c, 'summary.type'),
    accessible: toBool(str(c, 'summary.accessible')) ?? false,
    capacity: toBigInt(str(c, 'summary.capacity')),
    freeSpace: toBigInt(str(c, 'summary.freeSpace')),
    maintenanceMode: str(c, 'summary.maintenanceMode') || undefined,
    hostMounts: all(c.props.get('host'), 'DatastoreHostMount').flatMap((m) => {
      const host = toMoRef(one(m, 'key'));
      const info = one(m, 'mountInfo');
      if (!host) return [];
      return [{ host, mounted: toBool(childText(info, 'mounted')) ?? true, accessible: toBool(childText(info, 'accessible')) ?? false }];
    }),
  };
}
