/**
 * `npm ci` accepts the committed lock file on this machine's npm (checked
 * with a dry run in a scratch copy, offline: it validates the lock against
 * package.json without touching node_modules), a lock with the defect it
 * used to have (optional platform packages missing) is refused, and
 * scripts/npm-ci.sh falls back to `npm install --no-save` with one line of
 * output instead of npm's usage text, leaving the lock as it was.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lockfile-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const env = { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_offline: 'true', npm_config_update_notifier: 'false' };

async function npmCiDryRun(project: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: project, env, timeout: 60_000 });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout: string; stderr: string };
    return { ok: false, output: e.stdout + e.stderr };
  }
}

function project(name: string, lock: unknown): string {
  const p = join(dir, name);
  mkdirSync(p);
  writeFileSync(join(p, 'package.json'), readFileSync(join(repo, 'package.json')));
  writeFileSync(join(p, 'package-lock.json'), JSON.stringify(lock, null, 2));
  return p;
}

describe('the committed lock file', () => {
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };

  test('npm ci accepts it', async () => {
    const result = await npmCiDryRun(project('committed', lock));
    expect(result).toMatchObject({ ok: true });
  }, 90_000);

  test('npm ci refuses it without the optional platform packages it used to lack (the check is live)', async () => {
    const packages = Object.fromEntries(Object.entries(lock.packages).filter(([k]) => !/@unrs\/resolver-binding-(?!linux-x64)/.test(k)));
    const result = await npmCiDryRun(project('defect', { ...lock, packages }));
    expect(result.ok).toBe(false);
    expect(result.output).toContain('Missing: @unrs/resolver-binding-');
  }, 90_000);
});

describe('scripts/npm-ci.sh', () => {
  test('a refused lock: one line, then npm install --no-save from it; the lock is not rewritten', async () => {
    const p = join(dir, 'fallback');
    mkdirSync(join(p, 'dep'), { recursive: true });
    writeFileSync(join(p, 'dep', 'package.json'), '{"name":"dep","version":"1.0.0"}');
    // package.json needs a (local, offline) dependency the lock does not list: npm ci refuses, as it did ours.
    writeFileSync(join(p, 'package.json'), '{"name":"t","version":"1.0.0","license":"MIT","dependencies":{"dep":"file:./dep"}}');
    const stale = '{"name":"t","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"t","version":"1.0.0","license":"MIT"}}}';
    writeFileSync(join(p, 'package-lock.json'), stale);
    const { stdout, stderr } = await run('bash', [join(repo, 'scripts', 'npm-ci.sh')], { cwd: p, env, timeout: 60_000 });
    expect(stderr).toBe('');
    expect(stdout.trimEnd().split('\n')).toEqual([
      'setup: npm ci refused the lock file (`npm ci` can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync.); installing from it with npm install --no-save',
    ]);
    expect(existsSync(join(p, 'node_modules', 'dep', 'package.json'))).toBe(true);
    expect(readFileSync(join(p, 'package-lock.json'), 'utf8')).toBe(stale);
  }, 90_000);
});
