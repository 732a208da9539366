/**
 * volume_path of NodeGetVolumeStats and NodeExpandVolume, as the CSI
 * conformance suite sends it, over the real socket on a loop device: a
 * path that is not (or cannot be) a published volume is NOT_FOUND, relative
 * or not; empty values and control characters stay INVALID_ARGUMENT, and
 * so does a path outside the kubelet root.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { startCsiServer, type CsiServer } from '../../src/csi/server.js';
import { silentLogger } from '../../src/log.js';
import { createNodeOs } from '../../src/node/os/index.js';
import { createNodeService } from '../../src/node/service.js';
import { LoopLab, loopUnavailableReason } from './loop-fixture.js';
import { connectNodeClient, grpc, statusOf, type NodeClient } from './node-client.js';
import { mountCap, publishRequest, stageRequest } from './requests-helpers.js';

const skipReason = loopUnavailableReason();
if (skipReason) console.warn(`Skipping the volume_path tests: ${skipReason}`);
const describeDevices = skipReason ? describe.skip : describe;
const Code = grpc.status;
const METHODS = ['NodeGetVolumeStats', 'NodeExpandVolume'] as const;

describeDevices('volume_path: NOT_FOUND where the spec says so', () => {
  let lab: LoopLab;
  let server: CsiServer;
  let client: NodeClient;

  beforeAll(async () => {
    lab = await LoopLab.create('volpath');
    await writeFile(lab.path('dmi', 'product_serial'), 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6\n');
    const node = createNodeService({ os: createNodeOs({ deviceDir: lab.byIdDir, deviceWaitMs: 300 }), nodeName: 'node-1', dmiDir: lab.dmiDir, pathRoot: lab.root });
    server = await startCsiServer({ endpoint: `unix://${lab.path('csi.sock')}`, logger: silentLogger, services: { Identity: {}, Node: node } });
    client = connectNodeClient(server.socketPath);
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    await lab?.cleanMounts();
    await lab?.destroy();
  });

  const call = (method: string, volumePath: unknown) => statusOf(client.call(method, { volume_id: 'vol-p', volume_path: volumePath }));

  test('a published volume answers; once unpublished its path is NOT_FOUND', async () => {
    const disk = await lab.addDisk();
    const staging = lab.path('stage', 'g');
    const target = lab.path('pods', 'p', 'mount');
    await client.call('NodeStageVolume', stageRequest('vol-p', disk.uuid, staging, mountCap('ext4')));
    await client.call('NodePublishVolume', publishRequest('vol-p', disk.uuid, staging, target, mountCap('ext4')));
    const stats = await client.call<{ usage: Array<{ unit: string }> }>('NodeGetVolumeStats', { volume_id: 'vol-p', volume_path: target });
    expect(stats.usage.map((u) => u.unit)).toEqual(['BYTES', 'INODES']);
    await client.call('NodeUnpublishVolume', { volume_id: 'vol-p', target_path: target });
    await client.call('NodeUnstageVolume', { volume_id: 'vol-p', staging_target_path: staging });
    for (const method of METHODS) expect([method, (await call(method, target)).code]).toEqual([method, Code.NOT_FOUND]);
    expect(await lab.mountsUnderRoot()).toEqual([]);
  });

  test('relative, absent, or impossible paths are NOT_FOUND, with the path in the message', async () => {
    const paths = ['some/path', 'relative', lab.path('never', 'published'), lab.path('x'.repeat(300))];
    for (const method of METHODS) {
      for (const path of paths) {
        const status = await call(method, path);
        expect([method, path, status.code]).toEqual([method, path, Code.NOT_FOUND]);
        expect(status.details).toContain('volume_path');
      }
    }
    expect((await call('NodeGetVolumeStats', 'some/path')).details).toContain('not an absolute path');
  });

  test('empty, control characters, and paths outside the kubelet root stay INVALID_ARGUMENT', async () => {
    for (const method of METHODS) {
      for (const path of ['', 'some\u0001path', '/etc', `${lab.root}/pods/../../escape`]) {
        const status = await call(method, path);
        expect([method, path, status.code]).toEqual([method, path, Code.INVALID_ARGUMENT]);
        expect(status.details).toContain('volume_path');
      }
    }
  });
});
