/**
 * Builds the vCenter simulator (test/vcsim/main.go) from Debian's govmomi
 * package, once per source version: the binary is cached under
 * .cache/vcsim/<hash>/vcsim. Used by scripts/setup.sh, the tests, the demo
 * and the benchmarks.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The repository root (this file lives in src/harness or dist/harness). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const GOPATH = '/usr/share/gocode';

export function vcsimSourceDir(): string {
  return path.join(repoRoot, 'test', 'vcsim');
}

export function vcsimBinaryPath(): string {
  const source = readFileSync(path.join(vcsimSourceDir(), 'main.go'));
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  return path.join(repoRoot, '.cache', 'vcsim', hash, 'vcsim');
}

/** Returns the path of a built simulator binary, building it if needed. */
export async function buildVcsim(): Promise<string> {
  const binary = vcsimBinaryPath();
  if (existsSync(binary)) return binary;
  if (!existsSync(path.join(GOPATH, 'src/github.com/vmware/govmomi/simulator'))) {
    throw new Error(
      'govmomi sources not found under /usr/share/gocode: install golang-go and golang-github-vmware-govmomi-dev (scripts/setup.sh does)',
    );
  }
  mkdirSync(path.dirname(binary), { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  await execFileAsync('go', ['build', '-o', tmp, '.'], {
    cwd: vcsimSourceDir(),
    env: {
      ...process.env,
      GOPATH,
      GO111MODULE: 'off',
      GOFLAGS: '-mod=mod',
      GOCACHE: process.env.GOCACHE ?? path.join(repoRoot, '.cache', 'go-build'),
    },
    timeout: 600_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  // Atomic: concurrent builders (parallel jest workers) each rename a complete binary.
  renameSync(tmp, binary);
  return binary;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  buildVcsim().then(
    (p) => process.stdout.write(`vcsim: ${path.relative(repoRoot, p)}\n`),
    (err: unknown) => {
      process.stderr.write(`vcsim build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
