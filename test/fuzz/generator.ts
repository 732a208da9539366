/**
 * Test-only: a seeded, deterministic generator of malformed and hostile CSI
 * requests (missing/oversized/odd fields, int64 strings that are not
 * numbers, unknown enums, XML metacharacters, unicode, 1 MiB strings, path
 * tricks, unknown StorageClass keys). The same seed gives the same requests,
 * so a failure is replayable from the seed and index printed by the suite.
 *
 * Generated node paths stay harmless even if a check regressed: "outside"
 * paths are ones that cannot exist (under /proc or /dev/null), never a real
 * mount point. The node plugin refuses paths outside its --kubelet-root-dir;
 * the suite checks that separately on real mount points (/proc, /dev).
 */

export type Rng = () => number;

/** mulberry32: small, fast, good enough to pick fuzz cases. */
export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const chance = (rng: Rng, p: number): boolean => rng() < p;

export const MIB_STRING = 'x'.repeat(1024 * 1024);
export const XML_META = `<>&"'`;

/** Strings that go into ids, names, keys and values. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  'a',
  XML_META,
  'pvc-<script>alert(1)</script>',
  'a&b&amp;c',
  ']]><injected/><![CDATA[',
  '<?xml version="1.0"?><x/>',
  '"quoted" \'single\'',
  'пвц-données-卷-😀',
  '\u202etxt.exe',
  'tab\tnew\nline',
  'ctl\u0001\u007f',
  'nul\u0000byte',
  '%00%3C',
  '../../etc/passwd',
  'a'.repeat(129),
  'é'.repeat(65),
  MIB_STRING,
  '00000000-0000-0000-0000-000000000000',
  'file:vol-<1>',
];

/** int64 fields as strings: proto-loader sends and receives int64 as strings. */
export const INT64_STRINGS: readonly string[] = [
  'abc', '-1', '1e309', '1.5', '0x10', ' 1', '', '0', '1',
  '9223372036854775807', '9223372036854775808', '-9223372036854775808', '18446744073709551615',
  '1' + '0'.repeat(30), '1048576', '10737418240', '-10737418240', '1125899906842624000',
];

const ACCESS_MODES: readonly (string | number)[] = [
  'SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'MULTI_NODE_READER_ONLY', 'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_MULTI_WRITER', 'UNKNOWN', 99, -1,
];
const FS_TYPES: readonly string[] = ['ext4', 'xfs', 'ext3', 'ntfs', 'btrfs', '', XML_META, '../ext4', MIB_STRING.slice(0, 5000)];
const PARAM_KEYS: readonly string[] = [
  'storagepolicyname', 'StoragePolicyName', 'datastoreurl', 'fstype', 'csi.storage.k8s.io/pvc/name',
  'csi.storage.k8s.io/pvc/namespace', 'csi.storage.k8s.io/pv/name', 'unknownkey', 'hostfailurestotolerate', XML_META, '',
];

export function hostileString(rng: Rng): string {
  return pick(rng, HOSTILE_STRINGS);
}

function stringMap(rng: Rng, keys: readonly string[] = HOSTILE_STRINGS): Record<string, string> {
  const out: Record<string, string> = {};
  const n = Math.floor(rng() * 4);
  for (let i = 0; i < n; i++) out[pick(rng, keys)] = hostileString(rng);
  return out;
}

/** A VolumeCapability that is wrong in some way (or, sometimes, right). */
export function capability(rng: Rng): unknown {
  const access = chance(rng, 0.85) ? { mode: pick(rng, ACCESS_MODES) } : pick(rng, [null, {}]);
  const r = rng();
  if (r < 0.4) return { mount: { fs_type: pick(rng, FS_TYPES), mount_flags: chance(rng, 0.3) ? [hostileString(rng), 'bind', 'remount,rw'] : [] }, access_mode: access };
  if (r < 0.7) return { block: {}, access_mode: access };
  if (r < 0.8) return { block: {}, mount: { fs_type: 'ext4' }, access_mode: access };
  if (r < 0.9) return { access_mode: access };
  return {};
}

function capacityRange(rng: Rng): unknown {
  if (chance(rng, 0.15)) return null;
  return { required_bytes: pick(rng, INT64_STRINGS), limit_bytes: pick(rng, INT64_STRINGS) };
}

function topology(rng: Rng): unknown {
  const segment = (): Record<string, string> => stringMap(rng, [...PARAM_KEYS, 'topology.csi.vmware.com/k8s-zone', XML_META]);
  return { requisite: chance(rng, 0.5) ? [{ segments: segment() }] : [], preferred: chance(rng, 0.5) ? [{ segments: segment() }, {}] : [] };
}

/** Paths for node RPCs, confined as the header explains; `root` is a scratch folder without mounts. */
export function nodePath(rng: Rng, root: string): string {
  return pick(rng, [
    '',
    '/',
    'relative/path',
    `${root}/../../etc`,
    `${root}/./x`,
    `${root}//double`,
    `${root}/staging/${encodeURIComponent(hostileString(rng)).slice(0, 200)}`,
    `${root}/target-${Math.floor(rng() * 5)}`,
    `${root}/missing/deeper/path`,
    `${root}/${'n'.repeat(300)}/x`,
    `${root}/${XML_META}`,
    `${root}/nul\u0000x`,
    '/proc/nonexistent-csi-fuzz/target',
    '/dev/null/not-a-dir',
    `/${MIB_STRING.slice(0, 5000)}`,
    MIB_STRING,
  ]);
}

function volumeId(rng: Rng): string {
  return chance(rng, 0.2) ? pick(rng, ['', MIB_STRING]) : hostileString(rng);
}

export type RequestGen = (rng: Rng, ctx: FuzzContext) => Record<string, unknown>;

export interface FuzzContext {
  /** A real node VM BIOS UUID, so some publishes reach vCenter with a real node. */
  nodeId: string;
  /** Scratch folder for node paths. */
  root: string;
}

/** Drops or nulls fields at random: "missing" and "null message" cases. */
function maybeStrip(rng: Rng, req: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(req)) {
    if (chance(rng, 0.12)) delete req[key];
    else if (chance(rng, 0.05)) req[key] = null;
  }
  return req;
}

export const CONTROLLER_REQUESTS: Record<string, RequestGen> = {
  CreateVolume: (rng) =>
    // A few fully valid creates whose names carry XML metacharacters (they must reach CNS escaped);
    // the rest break at least one rule most of the time (name length or controls, capability, range, keys).
    chance(rng, 0.08)
      ? { name: pick(rng, [`pvc-fuzz-${XML_META}`, 'pvc-fuzz-ünï-1', 'pvc-fuzz-]]>']), volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] }
      : maybeStrip(rng, {
          name: pick(rng, ['', MIB_STRING, `pvc-${XML_META}-${'y'.repeat(90)}`, 'ctl\u0001', `pvc-fuzz-${XML_META}`, `pvc-fuzz-ünï-${Math.floor(rng() * 3)}`]),
          capacity_range: capacityRange(rng),
          volume_capabilities: chance(rng, 0.2) ? [] : [capability(rng)],
          parameters: stringMap(rng, PARAM_KEYS),
          secrets: stringMap(rng),
          accessibility_requirements: chance(rng, 0.3) ? topology(rng) : null,
          volume_content_source: chance(rng, 0.1) ? { snapshot: { snapshot_id: hostileString(rng) } } : null,
        }),
  DeleteVolume: (rng) => maybeStrip(rng, { volume_id: volumeId(rng), secrets: stringMap(rng) }),
  ControllerPublishVolume: (rng, ctx) =>
    maybeStrip(rng, {
      volume_id: volumeId(rng),
      node_id: chance(rng, 0.3) ? ctx.nodeId : hostileString(rng),
      volume_capability: capability(rng),
      readonly: chance(rng, 0.5),
      volume_context: stringMap(rng),
    }),
  ControllerUnpublishVolume: (rng, ctx) => maybeStrip(rng, { volume_id: volumeId(rng), node_id: chance(rng, 0.3) ? ctx.nodeId : hostileString(rng) }),
  ValidateVolumeCapabilities: (rng) =>
    maybeStrip(rng, { volume_id: volumeId(rng), volume_capabilities: [capability(rng)], parameters: stringMap(rng, PARAM_KEYS), volume_context: stringMap(rng) }),
  ListVolumes: (rng) => ({ max_entries: pick(rng, [-1, 0, 1, 2 ** 31 - 1, -(2 ** 31)]), starting_token: hostileString(rng) }),
  GetCapacity: (rng) =>
    maybeStrip(rng, { volume_capabilities: [capability(rng)], parameters: stringMap(rng, PARAM_KEYS), accessible_topology: { segments: stringMap(rng) } }),
  ControllerGetCapabilities: () => ({}),
  ControllerExpandVolume: (rng) => maybeStrip(rng, { volume_id: volumeId(rng), capacity_range: capacityRange(rng), volume_capability: capability(rng) }),
  ControllerGetVolume: (rng) => ({ volume_id: volumeId(rng) }),
  ControllerModifyVolume: (rng) => ({ volume_id: volumeId(rng), mutable_parameters: stringMap(rng, PARAM_KEYS) }),
  CreateSnapshot: (rng) => ({ source_volume_id: volumeId(rng), name: hostileString(rng), parameters: stringMap(rng) }),
  DeleteSnapshot: (rng) => ({ snapshot_id: hostileString(rng) }),
  ListSnapshots: (rng) => ({ max_entries: -1, starting_token: hostileString(rng), source_volume_id: volumeId(rng) }),
  GetSnapshot: (rng) => ({ snapshot_id: chance(rng, 0.5) ? `${volumeId(rng)}+${hostileString(rng)}` : hostileString(rng) }),
};

const diskContext = (rng: Rng): Record<string, string> =>
  pick(rng, [{}, { diskUUID: '' }, { diskUUID: 'zz' + '0'.repeat(30) }, { diskUUID: '6000c29' + '0'.repeat(25) }, { diskUUID: XML_META }, stringMap(rng)]);

/** Node requests that pass validation, so the handlers behind it run too (the disk never exists: NOT_FOUND / FAILED_PRECONDITION). */
function plausibleNode(rng: Rng, ctx: FuzzContext, method: 'stage' | 'publish'): Record<string, unknown> {
  const base = {
    volume_id: `fuzz-vol-${Math.floor(rng() * 3)}`,
    publish_context: { diskUUID: '6000c29' + '0'.repeat(24) + String(Math.floor(rng() * 10)) },
    staging_target_path: `${ctx.root}/staging`,
    volume_capability: pick(rng, [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }, { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }]),
  };
  return method === 'stage' ? base : { ...base, target_path: `${ctx.root}/target-${Math.floor(rng() * 2)}`, readonly: chance(rng, 0.5) };
}

export const NODE_REQUESTS: Record<string, RequestGen> = {
  NodeStageVolume: (rng, ctx) =>
    chance(rng, 0.15) ? plausibleNode(rng, ctx, 'stage') : maybeStrip(rng, {
      volume_id: volumeId(rng),
      publish_context: diskContext(rng),
      staging_target_path: nodePath(rng, ctx.root),
      volume_capability: capability(rng),
      secrets: stringMap(rng),
      volume_context: stringMap(rng),
    }),
  NodeUnstageVolume: (rng, ctx) => maybeStrip(rng, { volume_id: volumeId(rng), staging_target_path: nodePath(rng, ctx.root) }),
  NodePublishVolume: (rng, ctx) =>
    chance(rng, 0.15) ? plausibleNode(rng, ctx, 'publish') : maybeStrip(rng, {
      volume_id: volumeId(rng),
      publish_context: diskContext(rng),
      staging_target_path: nodePath(rng, ctx.root),
      target_path: nodePath(rng, ctx.root),
      volume_capability: capability(rng),
      readonly: chance(rng, 0.5),
      volume_context: stringMap(rng),
    }),
  NodeUnpublishVolume: (rng, ctx) => maybeStrip(rng, { volume_id: volumeId(rng), target_path: nodePath(rng, ctx.root) }),
  NodeGetVolumeStats: (rng, ctx) => maybeStrip(rng, { volume_id: volumeId(rng), volume_path: nodePath(rng, ctx.root), staging_target_path: nodePath(rng, ctx.root) }),
  NodeExpandVolume: (rng, ctx) =>
    maybeStrip(rng, {
      volume_id: volumeId(rng),
      volume_path: nodePath(rng, ctx.root),
      capacity_range: capacityRange(rng),
      staging_target_path: nodePath(rng, ctx.root),
      volume_capability: capability(rng),
    }),
  NodeGetCapabilities: () => ({}),
  NodeGetInfo: () => ({}),
};

export const IDENTITY_REQUESTS: Record<string, RequestGen> = {
  GetPluginInfo: () => ({}),
  GetPluginCapabilities: () => ({}),
  Probe: () => ({}),
};
