/**
 * `npm run demo`, the README's first command, end to end: the compiled demo
 * (dist/demo/main.js, built by npm test's pretest) runs against its embedded
 * default and must finish with every step, including the snapshot and
 * restore steps, the refused DeleteVolume while a snapshot exists, and
 * nothing left behind (it checks ListVolumes and ListSnapshots itself and
 * fails otherwise).
 */
import { expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { builtMain } from '../support/built-main.js';

const run = promisify(execFile);

test('npm run demo finishes every step and leaves nothing behind', async () => {
  const demo = join(builtMain(), '..', 'demo', 'main.js');
  const { stdout } = await run(process.execPath, ['--enable-source-maps', demo], { timeout: 150_000, maxBuffer: 16 * 1024 * 1024 });
  expect(stdout).toMatch(/demo finished: \d+ steps, \d+ vCenter requests in all/);
  expect(stdout).toMatch(/CreateSnapshot snapshot-9b1e-demo[^\n]*\n\s+snapshot [0-9a-f-]{36}\+[0-9a-f-]{36} /);
  expect(stdout).toMatch(/CreateVolume 3 GiB from the snapshot[^\n]*\n\s+volume [0-9a-f-]{36}, 3 GiB, from /);
  expect(stdout).toContain('FAILED_PRECONDITION: volume ');
  expect(stdout).toMatch(/ListVolumes \(nothing left behind\)[^\n]*\n\s+0 volumes/);
}, 180_000);
