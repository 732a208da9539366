/**
 * Node address selection from VMware Tools guest data, following the
 * reference cloud provider's precedence so nodes keep the same addresses:
 * per IP family, subnet CIDR rules first, then VM network names, and with
 * no match the first usable address serves as both InternalIP and ExternalIP.
 */
import { BlockList, isIP } from 'node:net';

export type IpFamily = 'ipv4' | 'ipv6';

export interface NodeAddress {
  type: 'Hostname' | 'InternalIP' | 'ExternalIP';
  address: string;
}

export interface GuestNic {
  /** VM network (port group) name the NIC is connected to. */
  network?: string;
  ipAddresses: string[];
  /** Virtual device key; -1 marks an interface that is not a vNIC (bridges, tunnels). */
  deviceConfigId?: number;
}

/** The `nodes:` section of the CPI config. CIDR fields take a list or a comma-separated string. */
export interface AddressRules {
  internalNetworkSubnetCidr?: string | string[];
  externalNetworkSubnetCidr?: string | string[];
  internalVmNetworkName?: string;
  externalVmNetworkName?: string;
  excludeInternalNetworkSubnetCidr?: string | string[];
  excludeExternalNetworkSubnetCidr?: string | string[];
}

export interface AddressSelection {
  addresses: NodeAddress[];
  /** Why the node cannot be given addresses; empty when it can. Each names what is missing. */
  problems: string[];
  /** Non-fatal notes (only one of internal/external found). */
  warnings: string[];
}

const LOCAL_ONLY = new BlockList();
LOCAL_ONLY.addSubnet('127.0.0.0', 8, 'ipv4');
LOCAL_ONLY.addSubnet('169.254.0.0', 16, 'ipv4');
LOCAL_ONLY.addSubnet('224.0.0.0', 24, 'ipv4');
LOCAL_ONLY.addAddress('0.0.0.0', 'ipv4');
LOCAL_ONLY.addAddress('::1', 'ipv6');
LOCAL_ONLY.addAddress('::', 'ipv6');
LOCAL_ONLY.addSubnet('fe80::', 10, 'ipv6');
LOCAL_ONLY.addSubnet('ff02::', 16, 'ipv6');

export function ipFamilyOf(ip: string): IpFamily | undefined {
  const v = isIP(ip);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** Loopback, link-local (unicast and multicast), unspecified or unparsable: only meaningful inside the guest. */
export function isLocalOnly(ip: string): boolean {
  const family = ipFamilyOf(ip);
  return family === undefined || LOCAL_ONLY.check(ip, family);
}

/** Parses a comma-separated CIDR list; throws naming the config key on a bad entry. */
export function parseCidrList(value: string | string[] | undefined, key: string): BlockList | undefined {
  const entries = (Array.isArray(value) ? value : (value ?? '').split(',')).map((s) => s.trim()).filter(Boolean);
  if (!entries.length) return undefined;
  const list = new BlockList();
  for (const raw of entries) {
    const cidr = raw.trim();
    if (!cidr) continue;
    const [addr, bits, extra] = cidr.split('/');
    const family = addr ? ipFamilyOf(addr) : undefined;
    const prefix = Number(bits);
    const max = family === 'ipv6' ? 128 : 32;
    if (!family || extra !== undefined || bits === undefined || !/^\d+$/.test(bits) || prefix > max) {
      throw new Error(`nodes.${key}: '${cidr}' is not a CIDR such as 10.0.0.0/24 or fd00::/64`);
    }
    list.addSubnet(addr!, prefix, family);
  }
  return list;
}

interface Candidate {
  ip: string;
  family: IpFamily;
  network: string;
}

export interface CompiledRules {
  internalSubnet?: BlockList;
  externalSubnet?: BlockList;
  excludeInternal?: BlockList;
  excludeExternal?: BlockList;
  internalName?: string;
  externalName?: string;
}

/** Validates and compiles the rules once; throws with the config key named. */
export function compileAddressRules(rules: AddressRules): CompiledRules {
  return {
    internalSubnet: parseCidrList(rules.internalNetworkSubnetCidr, 'internalNetworkSubnetCidr'),
    externalSubnet: parseCidrList(rules.externalNetworkSubnetCidr, 'externalNetworkSubnetCidr'),
    excludeInternal: parseCidrList(rules.excludeInternalNetworkSubnetCidr, 'excludeInternalNetworkSubnetCidr'),
    excludeExternal: parseCidrList(rules.excludeExternalNetworkSubnetCidr, 'excludeExternalNetworkSubnetCidr'),
    internalName: rules.internalVmNetworkName?.trim() || undefined,
    externalName: rules.externalVmNetworkName?.trim() || undefined,
  };
}

const inList = (list: BlockList | undefined, c: Candidate): boolean => !!list && list.check(c.ip, c.family);
const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

function pick(
  candidates: Candidate[],
  subnet: BlockList | undefined,
  name: string | undefined,
  exclude: BlockList | undefined,
): Candidate | undefined {
  const allowed = candidates.filter((c) => !inList(exclude, c));
  if (subnet) {
    const bySubnet = allowed.find((c) => inList(subnet, c));
    if (bySubnet) return bySubnet;
  }
  if (name) return allowed.find((c) => sameName(c.network, name));
  return undefined;
}

export function selectNodeAddresses(
  hostName: string | undefined,
  nics: GuestNic[],
  rules: CompiledRules,
  families: IpFamily[] = ['ipv4'],
): AddressSelection {
  const problems: string[] = [];
  const warnings: string[] = [];
  const addresses: NodeAddress[] = [];
  const add = (a: NodeAddress): void => {
    if (!addresses.some((x) => x.type === a.type && x.address === a.address)) addresses.push(a);
  };

  if (!hostName) problems.push('VMware Tools reports no guest host name (guest.hostName is empty)');
  else add({ type: 'Hostname', address: hostName });

  const vnics = nics.filter((n) => n.deviceConfigId !== -1);
  if (vnics.length === 0) {
    problems.push('VMware Tools reports no guest network interfaces (guest.net is empty)');
    return { addresses, problems, warnings };
  }
  if (rules.internalName && rules.externalName) {
    const names = vnics.map((n) => n.network ?? '');
    if (!names.some((n) => sameName(n, rules.internalName!) || sameName(n, rules.externalName!))) {
      problems.push(
        `no NIC is on VM network '${rules.internalName}' (nodes.internalVmNetworkName) or ` +
          `'${rules.externalName}' (nodes.externalVmNetworkName); NICs are on: ${names.join(', ') || '(unnamed)'}`,
      );
      return { addresses, problems, warnings };
    }
  }

  const all: Candidate[] = vnics.flatMap((n) =>
    n.ipAddresses
      .filter((ip) => !isLocalOnly(ip))
      .map((ip) => ({ ip, family: ipFamilyOf(ip)!, network: n.network ?? '' })),
  );

  for (const family of families) {
    const ofFamily = all.filter((c) => c.family === family);
    if (ofFamily.length === 0) {
      problems.push(`no usable ${family} address: guest reports ${describeIps(vnics)} (loopback and link-local are never used)`);
      continue;
    }
    let internal = pick(ofFamily, rules.internalSubnet, rules.internalName, rules.excludeInternal);
    let external = pick(ofFamily, rules.externalSubnet, rules.externalName, rules.excludeExternal);
    if (!internal && !external) {
      // No rule matched (or none configured): the reference's single-address behaviour.
      const internalFallback = ofFamily.find((c) => !inList(rules.excludeInternal, c));
      const externalFallback = ofFamily.find((c) => !inList(rules.excludeExternal, c));
      internal = internalFallback;
      external = externalFallback;
      if (!internal && !external) {
        problems.push(`every ${family} address is excluded by nodes.exclude*NetworkSubnetCidr: ${ofFamily.map((c) => c.ip).join(', ')}`);
        continue;
      }
    } else if (!external) {
      warnings.push(`${family}: internal address ${internal!.ip} found, but no external address matches the nodes: rules`);
    } else if (!internal) {
      warnings.push(`${family}: external address ${external.ip} found, but no internal address matches the nodes: rules`);
    }
    if (internal) add({ type: 'InternalIP', address: internal.ip });
    if (external) add({ type: 'ExternalIP', address: external.ip });
  }
  return { addresses, problems, warnings };
}

function describeIps(nics: GuestNic[]): string {
  const ips = nics.flatMap((n) => n.ipAddresses);
  return ips.length ? ips.join(', ') : 'no IP addresses';
}
