/**
 * The Node service end to end on real loop devices, real mkfs/mount and a
 * real gRPC client over the unix socket served by startCsiServer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, open, readFile, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { startCsiServer, type CsiServer } from '../../src/csi/server.js';
import { silentLogger } from '../../src/log.js';
import { createNodeOs } from '../../src/node/os/index.js';
import { createNodeService } from '../../src/node/service.js';
import { volumeStats } from '../../src/node/stats.js';
import { hasCapSysResource, LoopLab, loopUnavailableReason } from './loop-fixture.js';
import { connectNodeClient, grpc, statusOf, type NodeClient } from './node-client.js';
import { blockCap, mountCap, publishRequest, stageRequest } from './requests-helpers.js';

const exec = promisify(execFile);
const skipReason = loopUnavailableReason();
if (skipReason) console.warn(`Skipping Node service device tests: ${skipReason}`);
const describeDevices = skipReason ? describe.skip : describe;
const Code = grpc.status;

describeDevices('Node service over gRPC on loop devices', () => {
  let lab: LoopLab;
  let server: CsiServer;
  let client: NodeClient;
  const leaks: string[] = [];

  beforeAll(async () => {
    lab = await LoopLab.create('svc');
    await writeFile(lab.path('dmi', 'product_serial'), 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6\n');
    const os = createNodeOs({ deviceDir: lab.byIdDir, deviceWaitMs: 300 });
    const node = createNodeService({ os, nodeName: 'node-1', dmiDir: lab.dmiDir });
    server = await startCsiServer({ endpoint: `unix://${lab.path('csi.sock')}`, logger: silentLogger, services: { Identity: {}, Node: node } });
    client = connectNodeClient(server.socketPath);
  });

  afterEach(async () => {
    // Each test unpublishes/unstages through the service; anything left is a leak of ours.
    leaks.push(...(await lab.mountsUnderRoot()));
    await lab.cleanMounts();
    await lab.detachDisks();
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    await lab?.destroy();
  });

  const vol = (n: string): string => `vol-${n}`;

  test('NodeGetCapabilities lists stage, expand, stats and volume condition', async () => {
    const res = await client.call<{ capabilities: Array<{ rpc: { type: string } }> }>('NodeGetCapabilities', {});
    expect(res.capabilities.map((c) => c.rpc.type).sort()).toEqual(['EXPAND_VOLUME', 'GET_VOLUME_STATS', 'STAGE_UNSTAGE_VOLUME', 'VOLUME_CONDITION']);
  });

  test('NodeGetInfo reports the BIOS UUID from product_serial and 59 volumes', async () => {
    const res = await client.call<{ node_id: string; max_volumes_per_node: string; accessible_topology: unknown }>('NodeGetInfo', {});
    expect(res.node_id).toBe('421e8c4a-2b3c-4d5e-6f70-8192a3b4c5d6');
    expect(res.max_volumes_per_node).toBe('59');
    expect(res.accessible_topology).toBeNull();
  });

  test('stages ext4 on a blank disk, is idempotent, refuses other flags, publishes rw and ro', async () => {
    const disk = await lab.addDisk();
    const staging = lab.path('ext4', 'globalmount');
    const rw = lab.path('pods', 'a', 'mount');
    const ro = lab.path('pods', 'b', 'mount');
    await client.call('NodeStageVolume', stageRequest(vol('1'), disk.uuid, staging, mountCap('ext4')));
    const blkid = await exec('blkid', ['-p', '-o', 'value', '-s', 'TYPE', disk.device]);
    expect(blkid.stdout.trim()).toBe('ext4');
    // Retry: same → OK; other flags → ALREADY_EXISTS; another fs type → FAILED_PRECONDITION.
    await client.call('NodeStageVolume', stageRequest(vol('1'), disk.uuid, staging, mountCap('ext4')));
    expect((await statusOf(client.call('NodeStageVolume', stageRequest(vol('1'), disk.uuid, staging, mountCap('ext4', ['noatime']))))).code).toBe(Code.ALREADY_EXISTS);
    expect((await statusOf(client.call('NodeStageVolume', stageRequest(vol('1'), disk.uuid, staging, mountCap('xfs'))))).code).toBe(Code.FAILED_PRECONDITION);

    await client.call('NodePublishVolume', publishRequest(vol('1'), disk.uuid, staging, rw));
    await client.call('NodePublishVolume', publishRequest(vol('1'), disk.uuid, staging, rw));
    await client.call('NodePublishVolume', publishRequest(vol('1'), disk.uuid, staging, ro, mountCap('ext4'), true));
    await writeFile(`${rw}/hello.txt`, 'hello');
    expect(await readFile(`${ro}/hello.txt`, 'utf8')).toBe('hello');
    await expect(writeFile(`${ro}/nope.txt`, 'x')).rejects.toMatchObject({ code: 'EROFS' });
    // Same target, other read-only-ness → ALREADY_EXISTS.
    expect((await statusOf(client.call('NodePublishVolume', publishRequest(vol('1'), disk.uuid, staging, rw, mountCap('ext4'), true)))).code).toBe(Code.ALREADY_EXISTS);

    const busy = await statusOf(client.call('NodeUnstageVolume', { volume_id: vol('1'), staging_target_path: staging }));
    expect(busy.code).toBe(Code.FAILED_PRECONDITION);
    expect(busy.details).toContain(rw);

    for (const target of [rw, ro, rw]) await client.call('NodeUnpublishVolume', { volume_id: vol('1'), target_path: target });
    await expect(stat(rw)).rejects.toMatchObject({ code: 'ENOENT' });
    await client.call('NodeUnstageVolume', { volume_id: vol('1'), staging_target_path: staging });
    await client.call('NodeUnstageVolume', { volume_id: vol('1'), staging_target_path: staging });
    expect(await lab.mountsUnderRoot()).toEqual([]);

    // The data survived: staging again mounts the existing filesystem without formatting.
    await client.call('NodeStageVolume', stageRequest(vol('1'), disk.uuid, staging, mountCap('')));
    expect(await readFile(`${staging}/hello.txt`, 'utf8')).toBe('hello');
    await client.call('NodeUnstageVolume', { volume_id: vol('1'), staging_target_path: staging });
  });

  test('stages xfs with mount flags and never reformats it as ext4', async () => {
    const disk = await lab.addDisk(320); // mkfs.xfs needs at least 300 MiB
    const staging = lab.path('xfs', 'globalmount');
    const target = lab.path('pods', 'x', 'mount');
    await client.call('NodeStageVolume', stageRequest(vol('x'), disk.uuid, staging, mountCap('xfs', ['noatime', 'nodiratime'])));
    const table = await readFile('/proc/self/mountinfo', 'utf8');
    expect(table).toMatch(new RegExp(`${staging} \\S*noatime\\S* - xfs `));
    // Retried: the target inherited noatime/nodiratime from the staging mount, which is not a difference.
    for (let i = 0; i < 2; i++) await client.call('NodePublishVolume', publishRequest(vol('x'), disk.uuid, staging, target, mountCap('xfs', ['noexec'])));
    const other = await statusOf(client.call('NodePublishVolume', publishRequest(vol('x'), disk.uuid, staging, target, mountCap('xfs'))));
    expect(other.code).toBe(Code.ALREADY_EXISTS);
    expect(other.details).toContain('noexec');
    expect(await readFile('/proc/self/mountinfo', 'utf8')).toMatch(new RegExp(`${target} \\S*noexec`));
    await client.call('NodeUnpublishVolume', { volume_id: vol('x'), target_path: target });
    await client.call('NodeUnstageVolume', { volume_id: vol('x'), staging_target_path: staging });
    const wrong = await statusOf(client.call('NodeStageVolume', stageRequest(vol('x'), disk.uuid, staging, mountCap('ext4'))));
    expect(wrong.code).toBe(Code.FAILED_PRECONDITION);
    expect(wrong.details).toContain('xfs');
    expect((await exec('blkid', ['-p', '-o', 'value', '-s', 'TYPE', disk.device])).stdout.trim()).toBe('xfs');
  });

  test('never formats a disk with a partition table or another signature', async () => {
    const partitioned = await lab.addDisk();
    // A DOS partition table: one Linux partition from sector 2048, and the 0x55AA signature.
    const handle = await open(partitioned.device, 'r+');
    const mbr = Buffer.alloc(512);
    mbr[446 + 4] = 0x83;
    mbr.writeUInt32LE(2048, 446 + 8);
    mbr.writeUInt32LE(4096, 446 + 12);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    await handle.write(mbr, 0, 512, 0);
    await handle.close();
    const pt = await statusOf(client.call('NodeStageVolume', stageRequest(vol('p'), partitioned.uuid, lab.path('p', 'g'))));
    expect(pt.code).toBe(Code.FAILED_PRECONDITION);
    expect(pt.details).toContain('partition table');

    const swap = await lab.addDisk();
    await exec('mkswap', [swap.device]);
    const other = await statusOf(client.call('NodeStageVolume', stageRequest(vol('s'), swap.uuid, lab.path('s', 'g'))));
    expect(other.code).toBe(Code.FAILED_PRECONDITION);
    expect(other.details).toContain('swap');
    expect((await exec('blkid', ['-p', '-o', 'value', '-s', 'TYPE', swap.device])).stdout.trim()).toBe('swap');
  });

  test('raw block: nothing to stage, publish binds the device onto a file, ro bind is read-only', async () => {
    const disk = await lab.addDisk();
    const staging = lab.path('blk', 'staging');
    const target = lab.path('pods', 'blk', 'dev');
    const roTarget = lab.path('pods', 'blk', 'dev-ro');
    await client.call('NodeStageVolume', stageRequest(vol('b'), disk.uuid, staging, blockCap()));
    expect(await lab.mountsUnderRoot()).toEqual([]);
    await client.call('NodePublishVolume', publishRequest(vol('b'), disk.uuid, staging, target, blockCap()));
    await client.call('NodePublishVolume', publishRequest(vol('b'), disk.uuid, staging, target, blockCap()));
    await client.call('NodePublishVolume', publishRequest(vol('b'), disk.uuid, staging, roTarget, blockCap(), true));
    expect((await stat(target)).isBlockDevice()).toBe(true);

    const payload = Buffer.from('written through the published block target');
    const w = await open(target, 'r+');
    await w.write(payload, 0, payload.length, 4096);
    await w.sync();
    await w.close();
    const r = await open(disk.device, 'r');
    const back = Buffer.alloc(payload.length);
    await r.read(back, 0, payload.length, 4096);
    await r.close();
    expect(back.toString()).toBe(payload.toString());
    // A ro bind of a device node does not stop writes through it (the kernel checks the mount's
    // ro flag for files, not device nodes); the container runtime enforces it with the device
    // cgroup. What we own is the ro mount, as the reference driver does.
    expect(await readFile('/proc/self/mountinfo', 'utf8')).toMatch(new RegExp(`${roTarget} ro,`));

    const stats = await client.call<{ usage: Array<{ total: string; unit: string }> }>('NodeGetVolumeStats', { volume_id: vol('b'), volume_path: target });
    expect(stats.usage[0]).toMatchObject({ total: String(64 * 1024 * 1024), unit: 'BYTES' });
    // Raw block expand: nothing to grow but the kernel's idea of the device size.
    await lab.growDisk(disk, 96);
    const expanded = await client.call<{ capacity_bytes: string }>('NodeExpandVolume', { volume_id: vol('b'), volume_path: target, volume_capability: blockCap() });
    expect(expanded.capacity_bytes).toBe(String(96 * 1024 * 1024));

    for (const t of [target, roTarget, target]) await client.call('NodeUnpublishVolume', { volume_id: vol('b'), target_path: t });
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
    await client.call('NodeUnstageVolume', { volume_id: vol('b'), staging_target_path: staging });
  });

  // Online ext4 growth (EXT4_IOC_RESIZE_FS) needs CAP_SYS_RESOURCE, which the privileged node
  // DaemonSet has; some CI containers drop it.
  const growCases = hasCapSysResource() ? ([['ext4', 64, 128], ['xfs', 320, 400]] as const) : ([['xfs', 320, 400]] as const);
  if (!hasCapSysResource()) console.warn('Skipping the online ext4 grow test: this process lacks CAP_SYS_RESOURCE (resize2fs needs it)');
  test.each(growCases)('NodeExpandVolume grows a mounted %s filesystem online', async (fsType, from, to) => {
    const disk = await lab.addDisk(from);
    const staging = lab.path(`grow-${fsType}`, 'g');
    const target = lab.path('pods', `grow-${fsType}`, 'mount');
    await client.call('NodeStageVolume', stageRequest(vol(fsType), disk.uuid, staging, mountCap(fsType)));
    await client.call('NodePublishVolume', publishRequest(vol(fsType), disk.uuid, staging, target, mountCap(fsType)));
    const total = async (): Promise<number> =>
      Number((await client.call<{ usage: Array<{ total: string }> }>('NodeGetVolumeStats', { volume_id: vol(fsType), volume_path: target })).usage[0]!.total);
    const before = await total();
    await lab.growDisk(disk, to);
    const tooBig = await statusOf(
      client.call('NodeExpandVolume', { volume_id: vol(fsType), volume_path: target, capacity_range: { required_bytes: String((to + 1) * 1024 * 1024) } }),
    );
    expect(tooBig.code).toBe(Code.FAILED_PRECONDITION);
    const res = await client.call<{ capacity_bytes: string }>('NodeExpandVolume', {
      volume_id: vol(fsType),
      volume_path: target,
      capacity_range: { required_bytes: String(to * 1024 * 1024) },
    });
    expect(res.capacity_bytes).toBe(String(to * 1024 * 1024));
    const after = await total();
    expect(after).toBeGreaterThan(before + (to - from - 16) * 1024 * 1024);
    await client.call('NodeUnpublishVolume', { volume_id: vol(fsType), target_path: target });
    await client.call('NodeUnstageVolume', { volume_id: vol(fsType), staging_target_path: staging });
  });

  test('stats count bytes and inodes, and report abnormal volumes', async () => {
    const disk = await lab.addDisk();
    const staging = lab.path('stats', 'g');
    const target = lab.path('pods', 'stats', 'mount');
    type Stats = { usage: Array<{ used: string; total: string; available: string; unit: string }>; volume_condition: { abnormal: boolean; message: string } };
    const statsOf = (path: string): Promise<Stats> => client.call<Stats>('NodeGetVolumeStats', { volume_id: vol('st'), volume_path: path });
    await client.call('NodeStageVolume', stageRequest(vol('st'), disk.uuid, staging));
    await client.call('NodePublishVolume', publishRequest(vol('st'), disk.uuid, staging, target));
    const before = await statsOf(target);
    expect(before.volume_condition.abnormal).toBe(false);
    expect(before.usage.map((u) => u.unit)).toEqual(['BYTES', 'INODES']);
    await writeFile(`${target}/data.bin`, Buffer.alloc(8 * 1024 * 1024, 1));
    for (let i = 0; i < 10; i++) await writeFile(`${target}/f${i}`, '');
    await exec('sync', []);
    const after = await statsOf(target);
    expect(Number(after.usage[0]!.used) - Number(before.usage[0]!.used)).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(Number(after.usage[1]!.used) - Number(before.usage[1]!.used)).toBe(11);

    // The filesystem hits errors and the kernel makes it read-only (simulated with ext4's "abort").
    await exec('mount', ['-o', 'remount,abort', staging]);
    const broken = await statsOf(target);
    expect(broken.volume_condition.abnormal).toBe(true);
    expect(broken.volume_condition.message).toContain('read-only after errors');

    // Someone unmounts the pod's path behind kubelet's back.
    await exec('umount', [target]);
    const gone = await statsOf(target);
    expect(gone.volume_condition).toMatchObject({ abnormal: true });
    expect(gone.volume_condition.message).toContain('not mounted');
    // kubelet ignores an answer without usage, condition included: one zeroed entry is sent.
    expect(gone.usage).toEqual([{ available: '0', total: '0', used: '0', unit: 'BYTES' }]);
    expect((await statusOf(statsOf(lab.path('no', 'such', 'path')))).code).toBe(Code.NOT_FOUND);

    await client.call('NodeUnpublishVolume', { volume_id: vol('st'), target_path: target });
    await client.call('NodeUnstageVolume', { volume_id: vol('st'), staging_target_path: staging });
  });

  test('request errors name the field and the fix', async () => {
    const disk = await lab.addDisk();
    const staging = lab.path('err', 'g');
    const noUuid = await statusOf(client.call('NodeStageVolume', { ...stageRequest(vol('e'), disk.uuid, staging), publish_context: {} }));
    expect(noUuid).toMatchObject({ code: Code.INVALID_ARGUMENT });
    expect(noUuid.details).toContain('publish_context.diskUUID');
    const missing = await statusOf(client.call('NodeStageVolume', stageRequest(vol('e'), 'ab'.repeat(16), staging)));
    expect(missing.code).toBe(Code.NOT_FOUND);
    expect(missing.details).toContain('disk.EnableUUID=TRUE');
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['NodeStageVolume', { ...stageRequest('', disk.uuid, staging) }, 'volume_id'],
      ['NodeStageVolume', stageRequest(vol('e'), disk.uuid, 'relative/path'), 'staging_target_path'],
      ['NodeStageVolume', stageRequest(vol('e'), disk.uuid, staging, mountCap('btrfs')), 'fs_type'],
      ['NodeStageVolume', stageRequest(vol('e'), disk.uuid, staging, mountCap('ext4', ['bind'])), 'mount_flags'],
      ['NodeStageVolume', stageRequest(vol('e'), disk.uuid, staging, mountCap('ext4', [], 'MULTI_NODE_MULTI_WRITER')), 'access_mode'],
      ['NodeStageVolume', { ...stageRequest(vol('e'), disk.uuid, staging), volume_capability: null }, 'volume_capability'],
      ['NodePublishVolume', publishRequest(vol('e'), disk.uuid, staging, `${lab.root}/pods/../escape`), 'target_path'],
      ['NodePublishVolume', publishRequest(vol('e'), disk.uuid, staging, ''), 'target_path'],
      ['NodeUnpublishVolume', { volume_id: vol('e'), target_path: 'x/../y' }, 'target_path'],
      ['NodeGetVolumeStats', { volume_id: vol('e'), volume_path: '' }, 'volume_path'],
      ['NodeGetVolumeStats', { volume_id: '', volume_path: staging }, 'volume_id'],
    ];
    for (const [method, request, field] of cases) {
      const s = await statusOf(client.call(method, request));
      expect([method, field, s.code]).toEqual([method, field, Code.INVALID_ARGUMENT]);
      expect(s.details).toContain(field);
    }
    // Publish before stage: the staged filesystem is missing.
    const unstaged = await statusOf(client.call('NodePublishVolume', publishRequest(vol('e'), disk.uuid, staging, lab.path('pods', 'e', 'm'))));
    expect(unstaged.code).toBe(Code.FAILED_PRECONDITION);
    // Unknown paths: unpublish/unstage are already done; expand has nothing to grow.
    await client.call('NodeUnpublishVolume', { volume_id: vol('e'), target_path: lab.path('never', 'published') });
    await client.call('NodeUnstageVolume', { volume_id: vol('e'), staging_target_path: lab.path('never', 'staged') });
    expect((await statusOf(client.call('NodeExpandVolume', { volume_id: vol('e'), volume_path: lab.path('never') }))).code).toBe(Code.NOT_FOUND);
  });

  test('a concurrent call on the same volume gets ABORTED', async () => {
    const disk = await lab.addDisk(320);
    const staging = lab.path('race', 'g');
    const request = stageRequest(vol('race'), disk.uuid, staging, mountCap('xfs'));
    const results = await Promise.allSettled([client.call('NodeStageVolume', request), client.call('NodeStageVolume', request)]);
    const codes = results.map((r) => (r.status === 'fulfilled' ? Code.OK : (r.reason as { code: number }).code)).sort();
    expect(codes).toEqual([Code.OK, Code.ABORTED].sort());
    // Other volumes are not blocked, and the retry of the aborted one succeeds.
    await client.call('NodeStageVolume', request);
    await client.call('NodeUnstageVolume', { volume_id: vol('race'), staging_target_path: staging });
  });

  test('paths through a symlink (kubelet dir moved to another disk) are recognized on retry', async () => {
    const disk = await lab.addDisk();
    await mkdir(lab.path('real-kubelet'), { recursive: true });
    await symlink(lab.path('real-kubelet'), lab.path('kubelet'));
    const staging = lab.path('kubelet', 'plugins', 'pv', 'globalmount');
    const target = lab.path('kubelet', 'pods', 'p', 'mount');
    for (let i = 0; i < 2; i++) {
      await client.call('NodeStageVolume', stageRequest(vol('ln'), disk.uuid, staging));
      await client.call('NodePublishVolume', publishRequest(vol('ln'), disk.uuid, staging, target));
    }
    // One mount each, not a stack of retries.
    expect((await lab.mountsUnderRoot()).sort()).toEqual([lab.path('real-kubelet', 'plugins', 'pv', 'globalmount'), lab.path('real-kubelet', 'pods', 'p', 'mount')]);
    const stats = await client.call<{ volume_condition: { abnormal: boolean } }>('NodeGetVolumeStats', { volume_id: vol('ln'), volume_path: target });
    expect(stats.volume_condition.abnormal).toBe(false);
    await client.call('NodeUnpublishVolume', { volume_id: vol('ln'), target_path: target });
    await client.call('NodeUnstageVolume', { volume_id: vol('ln'), staging_target_path: staging });
    expect(await lab.mountsUnderRoot()).toEqual([]);
  });

  test('waits briefly for a disk link that appears after the attach', async () => {
    const disk = await lab.addDisk();
    await unlink(disk.link);
    const staging = lab.path('late', 'g');
    const relink = new Promise<void>((done) => setTimeout(() => void symlink(disk.device, disk.link).then(done), 100));
    await client.call('NodeStageVolume', stageRequest(vol('late'), disk.uuid, staging));
    await relink;
    await client.call('NodeUnstageVolume', { volume_id: vol('late'), staging_target_path: staging });
  });

  test('a blank disk is not formatted for a read-only access mode', async () => {
    const disk = await lab.addDisk();
    const status = await statusOf(client.call('NodeStageVolume', stageRequest(vol('rdo'), disk.uuid, lab.path('rdo', 'g'), mountCap('ext4', [], 'MULTI_NODE_READER_ONLY'))));
    expect(status.code).toBe(Code.FAILED_PRECONDITION);
    expect(status.details).toContain('read-only');
    await expect(exec('blkid', ['-p', disk.device])).rejects.toMatchObject({ code: 2 });
  });

  test('a mount whose device vanished is abnormal', async () => {
    const disk = await lab.addDisk();
    const staging = lab.path('vanish', 'g');
    await client.call('NodeStageVolume', stageRequest(vol('v'), disk.uuid, staging));
    // The real mount, seen through a sysfs in which the kernel no longer lists its device.
    const emptySys = lab.path('empty-sys');
    await mkdir(emptySys, { recursive: true });
    const stats = await volumeStats(createNodeOs({ sysDir: emptySys }), vol('v'), staging);
    expect(stats.volume_condition.abnormal).toBe(true);
    expect(stats.volume_condition.message).toContain('vanished');
    await client.call('NodeUnstageVolume', { volume_id: vol('v'), staging_target_path: staging });
  });

  test('no mount under the test root survives any test', async () => {
    expect(leaks).toEqual([]);
    expect(await lab.mountsUnderRoot()).toEqual([]);
  });
});
