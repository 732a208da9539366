/**
 * Typed configuration shared by every mode. Parsed from csi-vsphere.conf
 * (INI) for the CSI modes and from the CPI's YAML (or INI) for cpi mode.
 */

export interface VCenterConfig {
  /** Server host name or IP, the `[VirtualCenter "host"]` section name (or `server` in CPI YAML). */
  host: string;
  port: number;
  /** Domain-qualified: user@domain or DOMAIN\user. */
  user: string;
  password: string;
  /** true disables TLS verification (explicit, logged opt-out). */
  insecure: boolean;
  /** PEM CA bundle path to verify the server certificate. */
  caFile?: string;
  /** Pinned certificate fingerprint (SHA-1 or SHA-256, colon-separated hex). */
  thumbprint?: string;
  /** Datacenter names (or inventory paths) to search; empty = all. */
  datacenters: string[];
}

export interface LabelsConfig {
  /** `[Labels] topology-categories`: vSphere tag categories → topology.csi.vmware.com/<category>. */
  topologyCategories: string[];
  /** Legacy `[Labels] zone` / `region` tag category names. */
  zone?: string;
  region?: string;
}

export interface CsiConfig {
  /** File the config was read from (for messages). */
  source: string;
  clusterId: string;
  vcenters: VCenterConfig[];
  labels: LabelsConfig;
  /** Non-fatal findings (unknown keys/sections, deprecated keys) already logged once. */
  warnings: string[];
}
