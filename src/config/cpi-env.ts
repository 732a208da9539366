/**
 * The CPI reference's environment overrides (pkg/common/config FromEnv and
 * the CPI's FromCPIEnv), applied to the raw settings so messages name the
 * variable. VSPHERE_VCENTER_<ID>=host with VCENTER_<ID>_USERNAME, _PASSWORD,
 * _PORT, _INSECURE, _DATACENTERS, _ROUNDTRIP, _CAFILE, _THUMBPRINT defines
 * (replaces) a vCenter.
 */
import type { RawCpi } from './cpi-source.js';
import { applyEnvTable, envVCenters, LABEL_ENV, type EnvTable } from './csi-sections.js';

const GLOBAL_ENV: EnvTable = [
  ['VSPHERE_VCENTER', 'server'],
  ['VSPHERE_VCENTER_PORT', 'port'],
  ['VSPHERE_USER', 'user'],
  ['VSPHERE_PASSWORD', 'password'],
  ['VSPHERE_DATACENTER', 'datacenters'],
  ['VSPHERE_SECRET_NAME', 'secret-name'],
  ['VSPHERE_SECRET_NAMESPACE', 'secret-namespace'],
  ['VSPHERE_ROUNDTRIP_COUNT', 'soap-roundtrip-count'],
  ['VSPHERE_INSECURE', 'insecure-flag'],
  ['VSPHERE_API_DISABLE', 'api-disable'],
  ['VSPHERE_API_BINDING', 'api-binding'],
  ['VSPHERE_SECRETS_DIRECTORY', 'secrets-directory'],
  ['VSPHERE_CAFILE', 'ca-file'],
  ['VSPHERE_THUMBPRINT', 'thumbprint'],
  ['VSPHERE_IP_FAMILY', 'ip-family'],
  // Ours: turn Node deletion for vanished VMs on/off.
  ['VSPHERE_CPI_NODE_DELETION', 'node-deletion'],
];

const NODES_ENV: EnvTable = [
  ['VSPHERE_NODES_INTERNAL_NETWORK_SUBNET_CIDR', 'internal-network-subnet-cidr'],
  ['VSPHERE_NODES_EXTERNAL_NETWORK_SUBNET_CIDR', 'external-network-subnet-cidr'],
  ['VSPHERE_NODES_INTERNAL_VM_NETWORK_NAME', 'internal-vm-network-name'],
  ['VSPHERE_NODES_EXTERNAL_VM_NETWORK_NAME', 'external-vm-network-name'],
  // Ours, named like the reference's four above.
  ['VSPHERE_NODES_EXCLUDE_INTERNAL_NETWORK_SUBNET_CIDR', 'exclude-internal-network-subnet-cidr'],
  ['VSPHERE_NODES_EXCLUDE_EXTERNAL_NETWORK_SUBNET_CIDR', 'exclude-external-network-subnet-cidr'],
];

export function applyCpiEnv(raw: RawCpi, env: NodeJS.ProcessEnv): void {
  applyEnvTable(env, GLOBAL_ENV, raw.global);
  applyEnvTable(env, LABEL_ENV, raw.labels);
  applyEnvTable(env, NODES_ENV, raw.nodes);
  const extra = { ROUNDTRIP: 'soap-roundtrip-count', CAFILE: 'ca-file', THUMBPRINT: 'thumbprint' };
  for (const [vc, host] of envVCenters(env, extra)) {
    vc.values.set('server', { value: host, where: vc.label });
    raw.vcenters.set(host, vc);
  }
}
