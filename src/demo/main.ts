#!/usr/bin/env node
/**
 * `npm run demo`: one PVC's life, the way Kubernetes drives the driver, on an
 * embedded default: the vCenter simulator (two zones tagged on two clusters),
 * the test Kubernetes API server, and the three modes as real processes on
 * real unix sockets (the controller with its metadata syncer, so a label on
 * the claim shows up in CNS), through a snapshot and a restore. When root
 * with loop devices, the node half stages a real loop device (mkfs + mount); otherwise it runs the control-plane half
 * and says why it skipped the rest. Everything is cleaned up at the end.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { createCsiClient, type CsiClient } from '../csi/client.js';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube-apiserver.js';
import { boundClaim, volumePv } from '../harness/kube-volumes.js';
import { mergePatchOptions } from '../kube/client.js';
import { hasCapSysResource, LoopLab, loopUnavailableReason, type LoopDisk } from '../harness/loop-lab.js';
import { startWorld, worldCsiConfig, ZONE_CATEGORY, type World } from '../harness/world.js';
import { kubeletNode, UNINITIALIZED_TAINT, vmwareProductSerial } from './node-objects.js';
import { startMode, waitReady, type ModeProcess } from './processes.js';
import { StepRunner } from './steps.js';

const GiB = 1024 ** 3;
const ZONE_KEY = `topology.csi.vmware.com/${ZONE_CATEGORY}`;
// Online ext4 growth needs CAP_SYS_RESOURCE (sandboxes often drop it); xfs_growfs does not.
const FS_TYPE = hasCapSysResource() ? 'ext4' : 'xfs';
const MOUNT_RWO = { mount: { fs_type: FS_TYPE }, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

type Cleanup = () => Promise<void>;

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForAsync(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The volume's CNS entities as vCenter's Cloud Native Storage view lists them (one query). */
async function describeEntities(w: World, volumeId: string): Promise<string> {
  const volume = (await w.client.cns.queryVolumes({ volumeIds: [volumeId] })).volumes[0];
  return (volume?.entityMetadata ?? [])
    .map((e) => `${e.entityType} ${e.namespace ? `${e.namespace}/` : ''}${e.entityName}${Object.keys(e.labels ?? {}).length ? ` ${JSON.stringify(e.labels)}` : ''}`)
    .join('; ');
}

async function main(): Promise<void> {
  const cleanups: Cleanup[] = [];
  let world: World | undefined;
  const steps = new StepRunner(() => world?.sim);
  const root = mkdtempSync(join(tmpdir(), 'vsphere-csi-demo-'));
  let failed = false;
  cleanups.push(async () => {
    // Keep the process logs when something went wrong: they say why.
    if (failed) process.stderr.write(`logs kept in ${join(root, 'logs')}\n`);
    else rmSync(root, { recursive: true, force: true });
  });
  const loopSkip = loopUnavailableReason();
  process.stdout.write(`vsphere-csi demo — work dir ${root}\n\n`);

  try {
    world = await steps.run('vCenter simulator: 2 zones tagged on 2 clusters', async () => {
      const w = await startWorld();
      cleanups.push(() => w.stop());
      return w;
    }, (w) => `${w.sim.url}, ${w.vms.length} VMs, zones ${w.zones.map((z) => `${z.name}=${z.clusterName}`).join(' ')}, cert pinned ${w.thumbprint.slice(0, 14)}…`);
    const w = world;

    const kube: KubeApiServer = await steps.run('Kubernetes API (test server) with kubelet-registered Nodes', async () => {
      const k = await startKubeApiServer();
      cleanups.push(() => k.stop());
      for (const [i, vm] of w.vms.entries()) k.put(kubeletNode(`k8s-node-${i}`, vm.biosUuid!));
      return k;
    }, (k) => `${k.url}, ${w.vms.length} nodes tainted ${UNINITIALIZED_TAINT}`);

    const configPath = join(root, 'csi-vsphere.conf');
    writeFileSync(configPath, worldCsiConfig(w, 'demo-cluster'), { mode: 0o600 });
    const kubeconfig = kube.writeKubeconfig(root);
    const logDir = join(root, 'logs');
    mkdirSync(logDir);
    const nodeName = 'k8s-node-0';
    const nodeVm = w.vms[0]!;
    // Node RPC paths must lie under the kubelet root; the demo's lives in its work dir.
    const kubeletRoot = join(root, 'kubelet');
    mkdirSync(kubeletRoot);
    const deviceDir = join(root, 'by-id');
    const dmiDir = join(root, 'dmi');
    mkdirSync(deviceDir);
    mkdirSync(dmiDir);
    writeFileSync(join(dmiDir, 'product_serial'), vmwareProductSerial(nodeVm.biosUuid!));

    const controllerEndpoint = `unix://${join(root, 'controller', 'csi.sock')}`;
    const nodeEndpoint = `unix://${join(root, 'node', 'csi.sock')}`;
    const procs: ModeProcess[] = [];
    cleanups.push(async () => {
      for (const p of procs.reverse()) await p.stop();
    });
    await steps.run('start cpi, controller and node as real processes', async () => {
      procs.push(startMode('cpi', ['cpi', '--cloud-config', configPath, '--kubeconfig', kubeconfig], { POD_NAMESPACE: 'kube-system' }, logDir));
      // With Kubernetes access the controller runs its metadata syncer (it leads: the only replica).
      const controller = startMode(
        'controller',
        ['controller', '--endpoint', controllerEndpoint, '--config', configPath, '--kubeconfig', kubeconfig],
        { POD_NAMESPACE: 'vmware-system-csi', POD_NAME: 'vsphere-csi-controller-0' },
        logDir,
      );
      const node = startMode(
        'node',
        ['node', '--endpoint', nodeEndpoint, '--config', configPath, '--kubeconfig', kubeconfig, '--node-name', nodeName, '--device-dir', deviceDir, '--dmi-dir', dmiDir, '--kubelet-root-dir', kubeletRoot],
        {},
        logDir,
      );
      procs.push(controller, node);
      const [c, n] = await Promise.all([waitReady(controllerEndpoint, controller), waitReady(nodeEndpoint, node)]);
      return { c, n };
    }, (r) => `controller ready (Probe) after ${r.c} ms, node after ${r.n} ms; logs in ${logDir}`);

    await steps.run('CPI initializes every Node (providerID, zone labels, taint removed)', () =>
      waitFor('the CPI to initialize all nodes', () => {
        const nodes = kube.list<V1Node>('Node');
        const done = nodes.filter((n) => n.spec?.providerID && !(n.spec.taints ?? []).some((t) => t.key === UNINITIALIZED_TAINT));
        return done.length === nodes.length ? nodes : undefined;
      }, 60_000),
    (nodes) => {
      const n0 = nodes.find((n) => n.metadata?.name === nodeName)!;
      const labels = Object.entries(n0.metadata?.labels ?? {}).filter(([k]) => k.startsWith('topology.') || k.includes('instance-type'));
      return `${nodeName}: ${n0.spec?.providerID}; ${labels.map(([k, v]) => `${k}=${v}`).join(', ')}`;
    });

    const controller: CsiClient = createCsiClient(controllerEndpoint);
    const node: CsiClient = createCsiClient(nodeEndpoint);
    cleanups.push(async () => {
      controller.close();
      node.close();
    });

    type Topology = { segments: Record<string, string> };
    const info = await steps.run('NodeGetInfo: node id from DMI, topology from Node labels', () =>
      node.call<{ node_id: string; max_volumes_per_node: string; accessible_topology: Topology }>('Node', 'NodeGetInfo', {}),
    (r) => `node_id ${r.node_id}, max ${r.max_volumes_per_node} volumes, topology ${JSON.stringify(r.accessible_topology?.segments)}`);

    const zone = info.accessible_topology.segments[ZONE_KEY];
    const zoneInfo = w.zones.find((z) => z.name === zone)!;
    const created = await steps.run(`CreateVolume 1 GiB on ${zone}-ds, requisite ${ZONE_KEY}=${zone}`, () =>
      controller.call<{ volume: { volume_id: string; capacity_bytes: string; accessible_topology: Topology[] } }>('Controller', 'CreateVolume', {
        name: 'pvc-4f0c1d2e-demo',
        capacity_range: { required_bytes: String(GiB) },
        volume_capabilities: [MOUNT_RWO],
        parameters: {
          datastoreurl: zoneInfo.datastoreUrl,
          'csi.storage.k8s.io/pvc/name': 'data-web-0',
          'csi.storage.k8s.io/pvc/namespace': 'default',
          'csi.storage.k8s.io/pv/name': 'pvc-4f0c1d2e-demo',
        },
        accessibility_requirements: { requisite: [info.accessible_topology], preferred: [info.accessible_topology] },
      }),
    (r) => `volume ${r.volume.volume_id}, ${Number(r.volume.capacity_bytes) / GiB} GiB, accessible ${JSON.stringify(r.volume.accessible_topology.map((t) => t.segments))}`);
    const volumeId = created.volume.volume_id;

    await steps.run('external-provisioner creates the PV, the claim binds; the syncer sees both', async () => {
      kube.put(volumePv('pvc-4f0c1d2e-demo', volumeId, { namespace: 'default', name: 'data-web-0' }));
      kube.put(boundClaim('default', 'data-web-0', 'pvc-4f0c1d2e-demo'));
      return describeEntities(w, volumeId);
    }, (e) => `CNS entities: ${e}`);
    await steps.run('kubectl label pvc data-web-0 app=web → the syncer updates CNS', async () => {
      const updates = async (): Promise<number> => (await w.sim.requests()).byMethod['/vsanHealth CnsUpdateVolumeMetadata'] ?? 0;
      const before = await updates();
      const core = kube.kubeConfig().makeApiClient(CoreV1Api);
      await core.patchNamespacedPersistentVolumeClaim({ namespace: 'default', name: 'data-web-0', body: { metadata: { labels: { app: 'web' } } } }, mergePatchOptions);
      await waitForAsync("the syncer's CnsUpdateVolumeMetadata", async () => (await updates()) > before, 30_000);
      return describeEntities(w, volumeId);
    }, (e) => `CNS entities: ${e}`);

    const published = await steps.run('ControllerPublishVolume (CNS attach to the node VM)', () =>
      controller.call<{ publish_context: Record<string, string> }>('Controller', 'ControllerPublishVolume', {
        volume_id: volumeId, node_id: info.node_id, volume_capability: MOUNT_RWO, readonly: false,
      }),
    (r) => `publish_context ${JSON.stringify(r.publish_context)}`);
    const diskUuid = published.publish_context.diskUUID!;

    if (loopSkip) {
      steps.note(`node half skipped: ${loopSkip}; NodeStage/NodePublish need a real block device`);
    } else {
      const lab = await LoopLab.create('demo', kubeletRoot);
      cleanups.push(() => lab.destroy());
      const staging = lab.path('staging');
      const target = lab.path('pods', 'web-0', 'volumes', 'data');
      mkdirSync(staging, { recursive: true });
      mkdirSync(join(target, '..'), { recursive: true });
      const disk: LoopDisk = await steps.run('the disk appears on the node (loop device linked as wwn-0x<diskUUID>)', async () => {
        const d = await lab.addDiskWithUuid(diskUuid, 1024, deviceDir);
        return d;
      }, (d) => `${d.device} → ${d.link}`);

      await steps.run(`NodeStageVolume (blkid, mkfs.${FS_TYPE}, mount)`, () =>
        node.call('Node', 'NodeStageVolume', { volume_id: volumeId, publish_context: published.publish_context, staging_target_path: staging, volume_capability: MOUNT_RWO }),
      () => `staged at ${staging}`);
      await steps.run('NodePublishVolume (bind mount into the pod)', () =>
        node.call('Node', 'NodePublishVolume', { volume_id: volumeId, publish_context: published.publish_context, staging_target_path: staging, target_path: target, volume_capability: MOUNT_RWO, readonly: false }),
      () => `published at ${target}`);
      await steps.run('the pod writes and reads a file', async () => {
        writeFileSync(join(target, 'hello.txt'), 'hello from vsphere-csi\n');
        return readFileSync(join(target, 'hello.txt'), 'utf8').trim();
      }, (text) => `read back: "${text}"`);
      await steps.run('ControllerExpandVolume to 2 GiB (CNS extend)', () =>
        controller.call<{ capacity_bytes: string; node_expansion_required: boolean }>('Controller', 'ControllerExpandVolume', {
          volume_id: volumeId, capacity_range: { required_bytes: String(2 * GiB) }, volume_capability: MOUNT_RWO,
        }),
      (r) => `capacity ${Number(r.capacity_bytes) / GiB} GiB, node expansion required: ${r.node_expansion_required}`);
      await steps.run(`NodeExpandVolume (device rescan, ${FS_TYPE === 'xfs' ? 'xfs_growfs' : 'resize2fs'} online)`, async () => {
        await lab.growDisk(disk, 2048);
        return node.call<{ capacity_bytes: string }>('Node', 'NodeExpandVolume', {
          volume_id: volumeId, volume_path: target, staging_target_path: staging, capacity_range: { required_bytes: String(2 * GiB) }, volume_capability: MOUNT_RWO,
        });
      }, (r) => `device now ${(Number(r.capacity_bytes) / GiB).toFixed(2)} GiB`);
      await steps.run('NodeGetVolumeStats', () =>
        node.call<{ usage: { unit: string; total: string; used: string; available: string }[]; volume_condition: { abnormal: boolean; message: string } }>('Node', 'NodeGetVolumeStats', { volume_id: volumeId, volume_path: target }),
      (r) => `${r.usage.map((u) => `${u.unit.toLowerCase()}: ${u.used}/${u.total} used`).join('; ')}; abnormal=${r.volume_condition?.abnormal}`);
      await steps.run('NodeUnpublishVolume', () => node.call('Node', 'NodeUnpublishVolume', { volume_id: volumeId, target_path: target }));
      await steps.run('NodeUnstageVolume', () => node.call('Node', 'NodeUnstageVolume', { volume_id: volumeId, staging_target_path: staging }));
    }
    if (loopSkip) {
      await steps.run('ControllerExpandVolume to 2 GiB (CNS extend)', () =>
        controller.call<{ capacity_bytes: string }>('Controller', 'ControllerExpandVolume', {
          volume_id: volumeId, capacity_range: { required_bytes: String(2 * GiB) }, volume_capability: MOUNT_RWO,
        }),
      (r) => `capacity ${Number(r.capacity_bytes) / GiB} GiB`);
    }
    // VolumeAttributesClass changes of the live (attached) volume, as external-resizer sends them.
    const describeVolume = async (): Promise<string> => {
      const [v] = (await w.client.cns.queryVolumes({ volumeIds: [volumeId] })).volumes;
      const ds = (await w.client.inventory.datastores()).find((d) => d.url === v?.datastoreUrl);
      const policy = (await w.client.pbm.policies()).find((p) => p.id === v?.storagePolicyId);
      return `volume now on ${ds?.name ?? v?.datastoreUrl}, policy ${policy ? `"${policy.name}"` : 'none'}`;
    };
    await steps.run('ControllerModifyVolume storagepolicyname="VM Encryption Policy" (CnsReconfigVolumePolicy)', () =>
      controller.call('Controller', 'ControllerModifyVolume', { volume_id: volumeId, mutable_parameters: { storagepolicyname: 'VM Encryption Policy' } }));
    steps.note(await describeVolume());
    await steps.run('ControllerModifyVolume datastoreurl=LocalDS_0 while attached (CnsRelocateVolume)', () =>
      controller.call('Controller', 'ControllerModifyVolume', { volume_id: volumeId, mutable_parameters: { datastoreurl: w.sharedDatastoreUrl } }));
    steps.note(await describeVolume());
    // VolumeSnapshot and restore, as csi-snapshotter and external-provisioner drive them.
    type Snapshot = { snapshot_id: string; source_volume_id: string; size_bytes: string; creation_time: { seconds: string }; ready_to_use: boolean };
    const snap = await steps.run('CreateSnapshot snapshot-9b1e-demo (CnsCreateSnapshots)', () =>
      controller.call<{ snapshot: Snapshot }>('Controller', 'CreateSnapshot', { source_volume_id: volumeId, name: 'snapshot-9b1e-demo' }),
    (r) => `snapshot ${r.snapshot.snapshot_id} (<volume id>+<CNS snapshot id>), ${Number(r.snapshot.size_bytes) / GiB} GiB, ready ${r.snapshot.ready_to_use}, taken ${new Date(Number(r.snapshot.creation_time.seconds) * 1000).toISOString()}`);
    const snapshotId = snap.snapshot.snapshot_id;
    const restored = await steps.run('CreateVolume 3 GiB from the snapshot (restore, then CNS extend)', () =>
      controller.call<{ volume: { volume_id: string; capacity_bytes: string; content_source?: { snapshot?: { snapshot_id: string } } } }>('Controller', 'CreateVolume', {
        name: 'pvc-7c2a-restore-demo',
        capacity_range: { required_bytes: String(3 * GiB) },
        volume_capabilities: [MOUNT_RWO],
        parameters: { datastoreurl: zoneInfo.datastoreUrl },
        volume_content_source: { snapshot: { snapshot_id: snapshotId } },
        accessibility_requirements: { requisite: [info.accessible_topology], preferred: [info.accessible_topology] },
      }),
    (r) => `volume ${r.volume.volume_id}, ${Number(r.volume.capacity_bytes) / GiB} GiB, from ${r.volume.content_source?.snapshot?.snapshot_id} (the simulator copies no data)`);
    await steps.run('ListSnapshots of the source volume', () =>
      controller.call<{ entries: { snapshot: Snapshot }[] }>('Controller', 'ListSnapshots', { source_volume_id: volumeId }),
    (r) => r.entries.map((e) => e.snapshot.snapshot_id).join(', '));
    await steps.run('ControllerUnpublishVolume (CNS detach)', () =>
      controller.call('Controller', 'ControllerUnpublishVolume', { volume_id: volumeId, node_id: info.node_id }));
    await steps.run('DeleteVolume while it has a snapshot → refused', async () => {
      try {
        await controller.call('Controller', 'DeleteVolume', { volume_id: volumeId });
      } catch (err) {
        const e = err as { code?: number; details?: string };
        if (e.code === 9 /* FAILED_PRECONDITION */) return e.details ?? '';
        throw err;
      }
      throw new Error('DeleteVolume of a volume with a snapshot succeeded; it must be refused');
    }, (message) => `FAILED_PRECONDITION: ${message}`);
    await steps.run('DeleteVolume of the restored volume', () => controller.call('Controller', 'DeleteVolume', { volume_id: restored.volume.volume_id }));
    await steps.run('DeleteSnapshot (CnsDeleteSnapshots)', () => controller.call('Controller', 'DeleteSnapshot', { snapshot_id: snapshotId }));
    await steps.run('DeleteVolume', () => controller.call('Controller', 'DeleteVolume', { volume_id: volumeId }));
    // As external-provisioner and the garbage collector do after DeleteVolume.
    kube.remove('v1', 'PersistentVolume', undefined, 'pvc-4f0c1d2e-demo');
    kube.remove('v1', 'PersistentVolumeClaim', 'default', 'data-web-0');
    const after = await steps.run('ListVolumes (nothing left behind)', () =>
      controller.call<{ entries: unknown[] }>('Controller', 'ListVolumes', {}),
    (r) => `${r.entries.length} volumes`);
    if (after.entries.length !== 0) throw new Error(`expected no volumes after DeleteVolume, found ${after.entries.length}`);
    const snapsLeft = await controller.call<{ entries: unknown[] }>('Controller', 'ListSnapshots', {});
    if (snapsLeft.entries.length !== 0) throw new Error(`expected no snapshots after DeleteSnapshot, found ${snapsLeft.entries.length}`);

    const total = steps.records.reduce((s, r) => s + r.vcenterRequests, 0);
    process.stdout.write(`\ndemo finished: ${steps.records.length} steps, ${total} vCenter requests in all\n`);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: unknown) => process.stderr.write(`cleanup: ${err instanceof Error ? err.message : String(err)}\n`));
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
