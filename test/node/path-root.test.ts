import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CsiError, GrpcCode } from '../../src/csi/errors.js';
import { pathUnderRoot } from '../../src/node/path-root.js';

describe('node paths are confined to the kubelet root', () => {
  let base: string;
  let root: string;

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'path-root-'));
    root = join(base, 'kubelet');
    mkdirSync(join(root, 'pods', 'p1'), { recursive: true });
    mkdirSync(join(base, 'elsewhere'));
    // A link inside the root that leads out of it, and a root reached through a link.
    symlinkSync(join(base, 'elsewhere'), join(root, 'pods', 'escape'));
    symlinkSync(root, join(base, 'kubelet-link'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  const rejects = async (p: Promise<unknown>, text: RegExp): Promise<void> => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CsiError);
    expect((err as CsiError).code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect((err as CsiError).message).toMatch(text);
  };

  test('a path under the root is accepted (also before it exists)', async () => {
    const check = pathUnderRoot(root);
    await expect(check(join(root, 'pods', 'p1', 'mount'), 'target_path')).resolves.toBe(join(root, 'pods', 'p1', 'mount'));
  });

  test('a path outside the root is INVALID_ARGUMENT naming the field and the flag', async () => {
    await rejects(pathUnderRoot(root)('/etc/passwd', 'target_path'), /^target_path: '\/etc\/passwd' is outside the kubelet root .*--kubelet-root-dir/);
    await rejects(pathUnderRoot(root)(`${root}-other/x`, 'staging_target_path'), /^staging_target_path: .* is outside/);
  });

  test('a symlink under the root that leads out of it is refused', async () => {
    await rejects(pathUnderRoot(root)(join(root, 'pods', 'escape', 'mount'), 'target_path'), /resolves to .*elsewhere\/mount, outside the kubelet root/);
  });

  test('a kubelet root reached through a symlink still works', async () => {
    const link = join(base, 'kubelet-link');
    await expect(pathUnderRoot(link)(join(link, 'pods', 'p1', 'mount'), 'target_path')).resolves.toBe(join(root, 'pods', 'p1', 'mount'));
  });

  test('without a root (library use) only the path rules apply', async () => {
    await expect(pathUnderRoot(undefined)('/some/where', 'target_path')).resolves.toBe('/some/where');
    await rejects(pathUnderRoot(undefined)('/a/../b', 'target_path'), /^target_path/);
  });
});
