/**
 * Snapshots in deploy/: the csi-snapshotter sidecar in the controller pod,
 * exactly the RBAC it needs (checked against the sidecar's own, v8 with
 * group snapshots off), and the examples (VolumeSnapshotClass →
 * VolumeSnapshot of example-pvc → a PVC restored from it) refer to each
 * other consistently. kubernetes-models has no snapshot.storage.k8s.io
 * schemas, so the two CRD kinds are checked against the fields of their v1
 * CRDs here.
 */
import { describe, expect, test } from '@jest/globals';
import { envOf, flagValue, loadManifests, podSpec, type Container, type Manifest } from './manifests.js';

const DRIVER = 'csi.vsphere.vmware.com';
const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
const manifests = loadManifests();
const examples = manifests.filter((m) => m.file.startsWith('examples/'));

const one = (list: Manifest[], what: string): Manifest => {
  if (list.length !== 1) throw new Error(`expected one ${what} in deploy/, found ${list.length}`);
  return list[0]!;
};
const controller = one(manifests.filter((m) => m.kind === 'Deployment' && m.metadata.name === 'vsphere-csi-controller'), 'controller Deployment');
const container = (name: string): Container => {
  const c = podSpec(controller).containers.find((x) => x.name === name);
  if (!c) throw new Error(`${controller.file}: no container ${name}`);
  return c;
};

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
/** The rules bound to a ServiceAccount: cluster-wide (ClusterRoleBindings) and in its namespace (RoleBindings). */
function rulesOf(serviceAccount: string): { cluster: Rule[]; namespaced: Rule[] } {
  const bound = (bindingKind: string, roleKind: string): Rule[] =>
    manifests
      .filter((b) => b.kind === bindingKind && b.subjects.some((s: { kind: string; name: string }) => s.kind === 'ServiceAccount' && s.name === serviceAccount))
      .flatMap((b) => manifests.filter((r) => r.kind === roleKind && r.metadata.name === b.roleRef.name).flatMap((r) => r.rules as Rule[]));
  return { cluster: bound('ClusterRoleBinding', 'ClusterRole'), namespaced: bound('RoleBinding', 'Role') };
}
/** resource → verbs (sorted) granted in one API group. */
function grantsIn(rules: Rule[], group: string): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const r of rules.filter((x) => x.apiGroups.includes(group))) {
    for (const res of r.resources) for (const v of r.verbs) (out[res] ??= new Set()).add(v);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}
const grants = (rules: Rule[], group: string, resource: string, verb: string): boolean =>
  rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));

/** Kubernetes quantity → bytes (the binary and decimal suffixes a PVC size uses). */
function bytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`not a quantity: ${q}`);
  const mult: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * mult[m[2] ?? '']!;
}

/**
 * The fields of the snapshot.storage.k8s.io/v1 CRDs (external-snapshotter
 * client/config/crd): required ones, types, the deletionPolicy enum, and the
 * source that must name exactly one of a claim or a pre-provisioned content.
 * Unknown fields are errors here (the API server would prune them silently).
 */
function snapshotObjectProblems(m: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const only = (o: Record<string, unknown>, keys: string[], where: string): void => {
    for (const k of Object.keys(o)) if (!keys.includes(k)) problems.push(`${where}.${k} is not a field of ${String(m.kind)}`);
  };
  if (m.apiVersion !== `${SNAPSHOT_GROUP}/v1`) problems.push(`apiVersion ${String(m.apiVersion)} is not ${SNAPSHOT_GROUP}/v1`);
  const meta = m.metadata;
  if (!obj(meta) || !str(meta.name)) problems.push('metadata.name is required');
  if (m.kind === 'VolumeSnapshotClass') {
    only(m, ['apiVersion', 'kind', 'metadata', 'driver', 'deletionPolicy', 'parameters'], '');
    if (!str(m.driver)) problems.push('driver is required');
    if (m.deletionPolicy !== 'Delete' && m.deletionPolicy !== 'Retain') problems.push(`deletionPolicy must be Delete or Retain, not ${String(m.deletionPolicy)}`);
    if (m.parameters !== undefined && (!obj(m.parameters) || Object.values(m.parameters).some((v) => typeof v !== 'string'))) problems.push('parameters must map strings to strings');
    if (obj(meta) && meta.namespace !== undefined) problems.push('VolumeSnapshotClass is cluster-scoped: no metadata.namespace');
  } else if (m.kind === 'VolumeSnapshot') {
    only(m, ['apiVersion', 'kind', 'metadata', 'spec'], '');
    if (obj(meta) && !str(meta.namespace)) problems.push('VolumeSnapshot is namespaced: set metadata.namespace');
    const spec = m.spec;
    if (!obj(spec)) return [...problems, 'spec is required'];
    only(spec, ['source', 'volumeSnapshotClassName'], 'spec');
    if (spec.volumeSnapshotClassName !== undefined && !str(spec.volumeSnapshotClassName)) problems.push('spec.volumeSnapshotClassName must be a string');
    const source = spec.source;
    if (!obj(source)) return [...problems, 'spec.source is required'];
    only(source, ['persistentVolumeClaimName', 'volumeSnapshotContentName'], 'spec.source');
    const set = ['persistentVolumeClaimName', 'volumeSnapshotContentName'].filter((k) => source[k] !== undefined);
    if (set.length !== 1 || !str(source[set[0]!])) problems.push('spec.source must name exactly one of persistentVolumeClaimName, volumeSnapshotContentName');
  } else {
    problems.push(`kind ${String(m.kind)} is not checked here`);
  }
  return problems;
}

describe('csi-snapshotter sidecar in the controller Deployment', () => {
  const snapshotter = container('csi-snapshotter');
  const attacher = container('csi-attacher');

  test('pinned image of the external-snapshotter v8 release line', () => {
    expect(snapshotter.image).toMatch(/^registry\.k8s\.io\/sig-storage\/csi-snapshotter:v8\.\d+\.\d+$/);
  });

  test('on the driver socket, leader-elected, with the timeout and Kubernetes client settings of the other sidecars', () => {
    const socket = envOf(container('vsphere-csi-controller'), 'CSI_ENDPOINT')!.replace(/^unix:\/\//, '');
    expect(flagValue(snapshotter, '--csi-address')).toBe(socket);
    expect(snapshotter.args).toContain('--leader-election');
    expect(snapshotter.args).toContain('--timeout=300s');
    for (const flag of ['--leader-election-lease-duration', '--leader-election-renew-deadline', '--leader-election-retry-period', '--kube-api-qps', '--kube-api-burst']) {
      expect(flagValue(snapshotter, flag)).toBe(flagValue(attacher, flag));
    }
    // Group snapshots stay off: the driver has no GroupController service, and the RBAC below has no groupsnapshot rules.
    expect(snapshotter.args!.some((a) => a.startsWith('--feature-gates'))).toBe(false);
  });

  test('every argument is a flag csi-snapshotter v8 defines (an unknown flag makes it exit at start)', () => {
    // From the sidecar's cmd/csi-snapshotter/main.go (v8) plus klog's -v.
    const known = new Set([
      'v', 'kubeconfig', 'csi-address', 'resync-period', 'snapshot-name-prefix', 'snapshot-name-uuid-length', 'worker-threads', 'timeout',
      'extra-create-metadata', 'leader-election', 'leader-election-namespace', 'leader-election-lease-duration', 'leader-election-renew-deadline',
      'leader-election-retry-period', 'kube-api-qps', 'kube-api-burst', 'http-endpoint', 'metrics-path', 'retry-interval-start', 'retry-interval-max',
      'node-deployment', 'feature-gates',
    ]);
    const unknown = (args: string[]): string[] =>
      args.filter((arg) => {
        const name = /^--?([a-z-]+)(=|$)/.exec(arg)?.[1];
        return name === undefined || !known.has(name);
      });
    expect(unknown(snapshotter.args!)).toEqual([]);
    // The check is live: a typo, a flag of another sidecar, a bare value are caught.
    expect(unknown(['--leader-elections', '--handle-volume-inuse-error=false', '300s', '--v=4'])).toEqual(['--leader-elections', '--handle-volume-inuse-error=false', '300s']);
  });

  test('shares the socket volume and the hardened securityContext of the other sidecars', () => {
    expect(snapshotter.volumeMounts).toEqual([{ name: 'socket-dir', mountPath: '/csi' }]);
    expect(podSpec(controller).volumes!.find((v) => v.name === 'socket-dir')?.emptyDir).toBeDefined();
    const sc = (snapshotter as { securityContext?: unknown }).securityContext;
    expect(sc).toEqual((attacher as { securityContext?: unknown }).securityContext);
    expect(sc).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  });

  test('the driver advertises CREATE_DELETE_SNAPSHOT (csi-snapshotter exits at start when a driver does not)', async () => {
    const { CONTROLLER_CAPABILITIES } = await import('../../src/controller/service.js');
    expect(CONTROLLER_CAPABILITIES as readonly string[]).toContain('CREATE_DELETE_SNAPSHOT');
  });
});

describe('RBAC for snapshots', () => {
  const sa = controller.spec.template.spec.serviceAccountName as string;
  const rules = rulesOf(sa);

  test('the controller ServiceAccount gets exactly what csi-snapshotter needs in snapshot.storage.k8s.io', () => {
    expect(sa).toBe('vsphere-csi-controller');
    expect(grantsIn(rules.cluster, SNAPSHOT_GROUP)).toEqual({
      volumesnapshotclasses: ['get', 'list', 'watch'],
      volumesnapshotcontents: ['get', 'list', 'patch', 'update', 'watch'],
      'volumesnapshotcontents/status': ['patch', 'update'],
    });
    // VolumeSnapshots, and creating or deleting contents, are the snapshot-controller's job, not the sidecar's.
    expect(grantsIn(rules.namespaced, SNAPSHOT_GROUP)).toEqual({});
    expect(grantsIn([...rules.cluster, ...rules.namespaced], 'groupsnapshot.storage.k8s.io')).toEqual({});
  });

  test('its Events and its leader-election Lease are granted', () => {
    for (const verb of ['create', 'patch']) expect(grants(rules.cluster, '', 'events', verb)).toBe(true);
    // csi-lib-utils leader election: get, create, update of a Lease in the pod's namespace.
    for (const verb of ['get', 'create', 'update']) expect(grants(rules.namespaced, 'coordination.k8s.io', 'leases', verb)).toBe(true);
    expect(grants(rules.cluster, 'coordination.k8s.io', 'leases', 'get')).toBe(false);
  });

  test('no role in deploy/ uses a wildcard, and no other ServiceAccount touches snapshots', () => {
    const roles = manifests.filter((m) => m.kind === 'Role' || m.kind === 'ClusterRole');
    expect(roles.length).toBeGreaterThanOrEqual(4);
    for (const role of roles) {
      for (const r of role.rules as Rule[]) {
        for (const field of [r.apiGroups, r.resources, r.verbs]) expect(field.filter((x) => x.includes('*'))).toEqual([]);
      }
    }
    const accounts = manifests.filter((m) => m.kind === 'ServiceAccount').map((m) => m.metadata.name);
    expect(accounts).toContain('vsphere-csi-node');
    for (const other of accounts.filter((a) => a !== sa)) {
      const r = rulesOf(other);
      expect(grantsIn([...r.cluster, ...r.namespaced], SNAPSHOT_GROUP)).toEqual({});
    }
  });
});

describe('snapshot examples', () => {
  const classes = examples.filter((m) => m.kind === 'VolumeSnapshotClass');
  const snapshots = examples.filter((m) => m.kind === 'VolumeSnapshot');
  const claims = examples.filter((m) => m.kind === 'PersistentVolumeClaim');
  const restored = one(claims.filter((c) => c.spec.dataSource?.kind === 'VolumeSnapshot'), 'PVC restored from a VolumeSnapshot');

  test('the VolumeSnapshotClass and VolumeSnapshot match their v1 CRDs (and the check rejects broken ones)', () => {
    expect(classes).toHaveLength(1);
    expect(snapshots).toHaveLength(1);
    for (const m of [...classes, ...snapshots]) {
      const { file, ...object } = m;
      expect([file, snapshotObjectProblems(object)]).toEqual([file, []]);
    }
    const { file: _sf, ...snap } = snapshots[0]!;
    const { file: _cf, ...cls } = classes[0]!;
    void [_sf, _cf];
    const both = { ...snap, spec: { ...snap.spec, source: { persistentVolumeClaimName: 'a', volumeSnapshotContentName: 'b' } } };
    expect(snapshotObjectProblems(both)).toEqual(['spec.source must name exactly one of persistentVolumeClaimName, volumeSnapshotContentName']);
    expect(snapshotObjectProblems({ ...cls, deletionPolicy: 'delete' })).toEqual(['deletionPolicy must be Delete or Retain, not delete']);
    expect(snapshotObjectProblems({ ...snap, spec: { ...snap.spec, volumeSnapshotClass: 'x' } })).toEqual(['spec.volumeSnapshotClass is not a field of VolumeSnapshot']);
  });

  test('the class is this driver\'s, deletes the CNS snapshot with the VolumeSnapshot, and is the only default', () => {
    const c = classes[0]!;
    expect(c.driver).toBe(DRIVER);
    expect(c.deletionPolicy).toBe('Delete');
    // The driver takes no CreateSnapshot parameters.
    expect(c.parameters).toBeUndefined();
    const defaults = classes.filter((x) => (x.metadata as { annotations?: Record<string, string> }).annotations?.['snapshot.storage.kubernetes.io/is-default-class'] === 'true');
    expect(defaults).toHaveLength(1);
  });

  test('snapshot → class and source claim; restore → snapshot, in one namespace, at least the source size', () => {
    const snap = snapshots[0]!;
    expect(snap.spec.volumeSnapshotClassName).toBe(classes[0]!.metadata.name);
    const source = one(claims.filter((c) => c.metadata.name === snap.spec.source.persistentVolumeClaimName && c.metadata.namespace === snap.metadata.namespace), 'source PVC');
    expect(source.metadata.name).toBe('example-pvc');
    expect(source.spec.dataSource).toBeUndefined();
    // The snapshot's source is the claim the example pod mounts.
    const pod = one(examples.filter((m) => m.kind === 'Pod'), 'example Pod');
    expect(pod.spec.volumes.map((v: { persistentVolumeClaim?: { claimName: string } }) => v.persistentVolumeClaim?.claimName)).toContain(source.metadata.name);

    expect(restored.spec.dataSource).toEqual({ apiGroup: SNAPSHOT_GROUP, kind: 'VolumeSnapshot', name: snap.metadata.name });
    expect(restored.metadata.namespace).toBe(snap.metadata.namespace);
    expect(restored.metadata.name).not.toBe(source.metadata.name);
    // Smaller than the snapshot is OUT_OF_RANGE.
    expect(bytes(restored.spec.resources.requests.storage)).toBeGreaterThanOrEqual(bytes(source.spec.resources.requests.storage));
    expect(restored.spec.accessModes).toEqual(['ReadWriteOnce']);
    // Both claims provision through a StorageClass of this driver.
    for (const claim of [source, restored]) {
      const sc = one(examples.filter((m) => m.kind === 'StorageClass' && m.metadata.name === claim.spec.storageClassName), `StorageClass ${claim.spec.storageClassName}`);
      expect(sc.provisioner).toBe(DRIVER);
    }
    expect(bytes('5Gi')).toBe(5 * 2 ** 30);
  });
});
