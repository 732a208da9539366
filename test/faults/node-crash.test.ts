/**
 * The node plugin killed between mkfs and mount, then restarted: the
 * retried NodeStageVolume mounts the filesystem the first attempt made,
 * without formatting again (same filesystem UUID from blkid).
 *
 * To stop exactly between the two, the first node process gets a `mount`
 * earlier in its PATH that records that it was reached and then blocks;
 * the test SIGKILLs the process there. Needs root and loop devices.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ServiceError } from '@grpc/grpc-js';
import { createCsiClient } from '../../src/csi/client.js';
import { GrpcCode } from '../../src/csi/errors.js';
import { LoopLab, loopUnavailableReason } from '../../src/harness/loop-lab.js';
import { compiledMain } from './compiled.js';
import { spawnDriver, waitReady, type DriverProcess } from './driver-process.js';

const exec = promisify(execFile);
const skipReason = loopUnavailableReason();
const describeDevices = skipReason ? describe.skip : describe;
if (skipReason) process.stderr.write(`node crash test skipped: ${skipReason}\n`);

/** Blocks only the filesystem mount (`mount -t ...`), the step right after mkfs. */
const BLOCKING_MOUNT = `#!/bin/sh
# Test wrapper: the driver's stage mount stops here so the test can kill the driver between mkfs and mount.
case " $* " in
  *" -t "*)
    echo $$ > "$CRASH_TEST_MARKER"
    while [ ! -e "$CRASH_TEST_RELEASE" ]; do sleep 0.1; done
    exit 32 ;;
esac
exec /usr/bin/mount "$@"
`;

async function blkid(device: string): Promise<{ uuid: string; type: string }> {
  const { stdout } = await exec('blkid', ['-p', '-o', 'export', device], { timeout: 10_000 });
  const get = (k: string): string => new RegExp(`^${k}=(.*)$`, 'm').exec(stdout)?.[1] ?? '';
  return { uuid: get('UUID'), type: get('TYPE') };
}

describeDevices('node killed between mkfs and mount', () => {
  let main: string;
  let lab: LoopLab;
  const procs: DriverProcess[] = [];

  beforeAll(async () => {
    [main, lab] = await Promise.all([compiledMain(), LoopLab.create('crash')]);
  }, 300_000);

  afterAll(async () => {
    if (lab) writeFileSync(lab.path('release'), '');
    for (const p of procs) await p.stop(3_000);
    await lab?.destroy();
  });

  test('the retried NodeStageVolume completes on the existing filesystem', async () => {
    const disk = await lab.addDisk(64);
    writeFileSync(lab.path('dmi', 'product_serial'), 'VMware-42 1e 8c 4a 2b 3c 4d 5e-6f 70 81 92 a3 b4 c5 d6\n');
    const bin = lab.path('bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'mount'), BLOCKING_MOUNT);
    chmodSync(join(bin, 'mount'), 0o755);
    const marker = lab.path('mount-reached');
    const endpoint = `unix://${lab.path('node.sock')}`;
    const staging = lab.path('staging');
    const args = ['node', '--endpoint', endpoint, '--node-name', 'crash-node', '--device-dir', lab.byIdDir, '--dmi-dir', lab.dmiDir, '--kubelet-root-dir', lab.root, '--config', lab.path('none.conf')];
    const request = {
      volume_id: 'crash-vol',
      publish_context: { diskUUID: disk.uuid },
      staging_target_path: staging,
      volume_capability: { mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
    };

    const first = spawnDriver(main, args, { PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`, CRASH_TEST_MARKER: marker, CRASH_TEST_RELEASE: lab.path('release') });
    procs.push(first);
    await waitReady(endpoint, first);
    const client = createCsiClient(endpoint);
    const staged = client.call('Node', 'NodeStageVolume', request, { timeoutMs: 60_000 }).then(
      () => 'ok' as const,
      (err: ServiceError) => err.code,
    );
    for (let i = 0; i < 600 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(marker)).toBe(true);
    const made = await blkid(disk.device);
    expect(made.type).toBe('ext4');
    expect(made.uuid).not.toBe('');

    first.child.kill('SIGKILL');
    await first.exited;
    writeFileSync(lab.path('release'), ''); // let the orphaned wrapper exit
    expect(await staged).toBe(GrpcCode.UNAVAILABLE);
    client.close();
    expect((await lab.mountsUnderRoot()).includes(staging)).toBe(false);

    // kubelet retries against the restarted plugin (normal PATH: the real mount).
    const second = spawnDriver(main, args);
    procs.push(second);
    await waitReady(endpoint, second);
    const retry = createCsiClient(endpoint);
    try {
      await retry.call('Node', 'NodeStageVolume', request, { timeoutMs: 60_000 });
      expect(await blkid(disk.device)).toEqual(made);
      expect(await lab.mountsUnderRoot()).toContain(staging);
      const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
      expect(mountinfo).toContain(` ${staging} `);
      await retry.call('Node', 'NodeUnstageVolume', { volume_id: 'crash-vol', staging_target_path: staging }, { timeoutMs: 60_000 });
      expect(await lab.mountsUnderRoot()).not.toContain(staging);
    } finally {
      retry.close();
    }
  }, 120_000);
});
