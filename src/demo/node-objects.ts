/** Kubernetes Node objects as a kubelet registers them on vSphere, before the CPI initialized them. */
import type { V1Node } from '@kubernetes/client-node';

import { UNINITIALIZED_TAINT } from '../contract/taints.js';

export { UNINITIALIZED_TAINT };

export function kubeletNode(name: string, biosUuid: string): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
    spec: { taints: [{ key: UNINITIALIZED_TAINT, value: 'true', effect: 'NoSchedule' }] },
    status: {
      nodeInfo: {
        systemUUID: biosUuid.toUpperCase(),
        machineID: biosUuid.replace(/-/g, ''),
        bootID: '',
        kernelVersion: '6.1.0',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.7.0',
        kubeletVersion: 'v1.31.0',
        kubeProxyVersion: 'v1.31.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

/** /sys/class/dmi/id/product_serial as a VMware guest shows it: "VMware-42 1e 8c ... 7a-9b 52 ... 1d". */
export function vmwareProductSerial(biosUuid: string): string {
  const hex = biosUuid.replace(/-/g, '').toLowerCase();
  const bytes = hex.match(/../g) ?? [];
  return `VMware-${bytes.slice(0, 8).join(' ')}-${bytes.slice(8).join(' ')}\n`;
}
