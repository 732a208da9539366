/**
 * Runs every preflight check in order and collects the report. Checks that
 * depend on an earlier one (nothing works without a login) are reported as
 * skipped with the reason, so the report always has the same rows. With
 * several vCenters each per-vCenter row is prefixed with the host.
 */
import { loadCsiConfig } from '../config/csi-config.js';
import type { CsiConfig, VCenterConfig } from '../config/types.js';
import { refKey, type VmInfo, type VsphereClient, type VsphereClientOptions } from '../vsphere/api.js';
import { clientOptionsFromConfig, createVsphereClient } from '../vsphere/client.js';
import { checkCns, checkCnsSnapshots } from './cns.js';
import { checkConnection } from './connection.js';
import { checkDatastoreClusters, listClusterClasses, type ClusterClasses } from './datastore-clusters.js';
import { diskUuidCheck, listKubeNodes, matchNodes, nodesCheck, type KubeNodes } from './node-vms.js';
import { checkPrivileges } from './privileges.js';
import { checkTopology } from './topology.js';
import { fail, pass, reportOf, skip, whatFailed, type CheckResult, type PreflightReport } from './types.js';

export interface PreflightOptions {
  configPath: string;
  /** Out-of-cluster kubeconfig; undefined = KUBECONFIG, in-cluster, or ~/.kube/config, else VMs of the datacenters. */
  kubeconfig?: string;
  /** Environment for config overrides (VSPHERE_*). */
  env?: NodeJS.ProcessEnv;
  /** Deadline of each vCenter / Kubernetes call; default 20 s. */
  callTimeoutMs?: number;
}

const VCENTER_ROWS = ['vcenter-reachable', 'vcenter-tls', 'vcenter-login', 'vcenter-privileges', 'cns', 'cns-snapshots', 'disk-enable-uuid', 'tag-categories', 'node-topology-tags', 'shared-datastores', 'datastore-clusters'];

interface VcenterOutcome {
  checks: CheckResult[];
  matchedNodes: Set<string>;
  /** Its VMs were read: Nodes missing from it are really missing. */
  inspected: boolean;
}

export async function runPreflight(options: PreflightOptions): Promise<PreflightReport> {
  const timeoutMs = options.callTimeoutMs ?? 20_000;
  let config: CsiConfig;
  try {
    config = await loadCsiConfig(options.configPath, { env: options.env ?? process.env });
  } catch (err) {
    const finding = err instanceof Error ? err.message : String(err);
    return reportOf([
      fail('config', finding, `correct ${options.configPath} as the message says (keys and sections as in the reference driver's csi-vsphere.conf)`),
      skip('kubernetes-nodes', 'skipped: config did not parse'),
      ...VCENTER_ROWS.map((name) => skip(name, 'skipped: config did not parse')),
    ]);
  }
  const checks: CheckResult[] = [
    pass('config', `${config.source}: ${config.vcenters.length} vCenter${config.vcenters.length === 1 ? '' : 's'} (${config.vcenters.map((v) => v.host).join(', ')}), cluster-id ${config.clusterId}${config.warnings.length ? `; ${config.warnings.length} warning(s): ${config.warnings.join('; ')}` : ''}`),
  ];
  const [kube, classes] = await Promise.all([listKubeNodes(options.kubeconfig, timeoutMs), listClusterClasses(options.kubeconfig, timeoutMs)]);
  // All vCenters at once: one that does not answer costs its timeout once, not once per vCenter after it.
  const outcomes: VcenterOutcome[] = await Promise.all(config.vcenters.map((vc) => checkVcenter(vc, config, kube, classes, timeoutMs)));
  if (!kube.ok) checks.push(kube.check);
  else if (outcomes.some((o) => !o.inspected)) {
    checks.push(skip('kubernetes-nodes', `${kube.nodes.length} Nodes listed at ${kube.source}; not matched to VMs because a vCenter could not be inspected`));
  } else checks.push(nodesCheck(kube.nodes, kube.source, new Set(outcomes.flatMap((o) => [...o.matchedNodes]))));
  const prefix = config.vcenters.length > 1;
  outcomes.forEach((o, i) => {
    for (const c of o.checks) checks.push(prefix ? { ...c, name: `${config.vcenters[i]!.host}/${c.name}` } : c);
  });
  return reportOf(checks);
}

async function checkVcenter(vc: VCenterConfig, config: CsiConfig, kube: KubeNodes, classes: ClusterClasses, timeoutMs: number): Promise<VcenterOutcome> {
  const clientOptions: VsphereClientOptions = clientOptionsFromConfig(vc, { requestTimeoutMs: timeoutMs, keepAliveMs: 0, loginBackoffMs: 0 });
  let client: VsphereClient;
  try {
    client = createVsphereClient(clientOptions);
  } catch (err) {
    // createAgent reads ca-file up front.
    return {
      checks: [
        pass('vcenter-reachable', 'not tried: the TLS settings are unusable'),
        fail('vcenter-tls', err instanceof Error ? err.message : String(err), 'point ca-file at a readable PEM bundle of the vCenter CA, or set thumbprint instead'),
        ...VCENTER_ROWS.slice(2).map((name) => skip(name, 'skipped: no TLS connection')),
      ],
      matchedNodes: new Set(),
      inspected: false,
    };
  }
  let conn: Awaited<ReturnType<typeof checkConnection>> | undefined;
  try {
    conn = await checkConnection(client, vc, timeoutMs);
    if (!conn.loggedIn) {
      const reason = conn.login.status === 'fail' ? 'skipped: login failed' : conn.login.finding;
      return { checks: [conn.reachable, conn.tls, conn.login, ...VCENTER_ROWS.slice(3).map((name) => skip(name, reason))], matchedNodes: new Set(), inspected: false };
    }
    const cns = await checkCns(client, conn.about, timeoutMs);
    const allVms = await client.inventory.vms({ signal: AbortSignal.timeout(timeoutMs) });
    let nodeVms: VmInfo[];
    let population: string;
    let matchedNodes = new Set<string>();
    if (kube.ok && kube.nodes.length > 0) {
      const matched = matchNodes(kube.nodes, allVms);
      matchedNodes = new Set(matched.keys());
      nodeVms = [...new Map([...matched.values()].map((v) => [refKey(v.ref), v])).values()];
      population = `the VMs of ${nodeVms.length} Kubernetes Nodes`;
    } else {
      nodeVms = allVms;
      // Read only here: the datacenter names serve this finding alone.
      const dcNames = (await client.inventory.datacenters({ signal: AbortSignal.timeout(timeoutMs) })).map((d) => d.name).join(', ');
      population = `every VM in datacenter(s) ${dcNames}: Kubernetes Nodes not read`;
    }
    const topo = await checkTopology(client, config.labels, nodeVms, timeoutMs);
    const root = topo.ancestors.find((o) => o.parent === undefined);
    const privileges = root
      ? await checkPrivileges(
          client,
          {
            root: { ref: root.ref, name: 'root folder' },
            nodeVms: nodeVms.map((v) => ({ ref: v.ref, name: v.name })),
            ancestors: topo.ancestors.filter((o) => o !== root).map((o) => ({ ref: o.ref, name: o.name })),
            datastores: topo.shared.map((d) => ({ ref: d.ref, name: d.name })),
          },
          timeoutMs,
        )
      : skip('vcenter-privileges', 'no node VMs: nothing to check privileges on');
    const clusters = await checkDatastoreClusters(client, classes, topo.domains, topo.allDatastores, config.vcenters.length > 1, timeoutMs);
    return {
      checks: [conn.reachable, conn.tls, conn.login, privileges, cns, checkCnsSnapshots(conn.about, cns), diskUuidCheck(nodeVms, population), topo.categories, topo.tags, topo.datastores, clusters],
      matchedNodes,
      inspected: true,
    };
  } catch (err) {
    // A read failing after login (deadline, dropped connection): report it instead of crashing.
    const what = whatFailed(err);
    const broken = fail('vcenter-inventory', `reading the inventory failed: ${what}`, 'check that the user holds ReadOnly (System.Read) on the datacenters and that vCenter answers');
    const before = conn ? [conn.reachable, conn.tls, conn.login] : [];
    return { checks: [...before, broken, ...VCENTER_ROWS.slice(before.length).map((name) => skip(name, 'skipped: the inventory could not be read'))], matchedNodes: new Set(), inspected: false };
  } finally {
    await client.close();
  }
}
