/**
 * Taints of the cloud-provider contract: kubelet started with
 * `--cloud-provider=external` adds the uninitialized taint, a CPI removes
 * it once the Node is initialized, and the node plugin waits for that before
 * reporting topology. Shared by the cpi and node modes, so it lives below both.
 */
export const UNINITIALIZED_TAINT = 'node.cloudprovider.kubernetes.io/uninitialized';
export const SHUTDOWN_TAINT = 'node.cloudprovider.kubernetes.io/shutdown';
