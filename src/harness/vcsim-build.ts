/**
 * Builds the vCenter simulator (test/vcsim/main.go) from Debian's govmomi
 * package, once per source version: the binary is cached under
 * .cache/vcsim/<hash>/vcsim. Used by scripts/setup.sh, the tests, the demo
 * and the benchmarks.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The repository root (this file lives in src/harness or dist/harness). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const GOPATH = '/usr/share/gocode';
const SIMULATOR_DIR = path.join(GOPATH, 'src/github.com/vmware/govmomi/simulator');
const PROPERTY_COLLECTOR = path.join(SIMULATOR_DIR, 'property_collector.go');
/**
 * The lines of Debian's property_collector.go (govmomi 0.24.2) the overlay
 * changes, and what they become:
 * - the fixed 250 ms ticker of a waiting WaitForUpdatesEx reads
 *   WaitForUpdatesInterval (vCenter answers as soon as updates exist);
 * - the filters' traversal is re-collected once per batch of changes instead
 *   of once per change (the result is the same: it reads the current state).
 *   vCenter computes updates incrementally; re-collecting 200 recent tasks for
 *   every one of a batch's changes made hundreds of tasks in flight cost
 *   seconds of simulator CPU (measured with Go's pprof: 80% in
 *   PropertyCollector.collect) and hid their results for as long;
 * - a new collector's first WaitForUpdatesEx (version "") starts listening for
 *   changes before it reads the current state, not after: a change made in
 *   between was otherwise lost for good (seen: a task that completed in that
 *   gap was never reported, and its waiter hung).
 */
const PATCHES: ReadonlyArray<readonly [string, string]> = [
  ['time.NewTicker(250 * time.Millisecond)', 'time.NewTicker(WaitForUpdatesInterval)'],
  ['apply := func() bool {', 'applied := false\n\tapply := func() bool {\n\t\tif applied {\n\t\t\treturn true\n\t\t}\n\t\tapplied = true'],
  ['pc.updates = nil // clear updates collected by the managed object CRUD listeners', 'pc.updates = nil // clear updates collected by the managed object CRUD listeners\n\t\t\tapplied = false'],
  [
    'apply()                // Collect current state\n\t\tset.Version = "-"      // Next request with Version set will wait via loop below\n\t\tctx.Map.AddHandler(pc) // Listen for create, update, delete of managed objects',
    'ctx.Map.AddHandler(pc) // Listen first: a change made while the state is read is reported by the next wait\n\t\tapply()                // Collect current state\n\t\tset.Version = "-"      // Next request with Version set will wait via loop below',
  ],
];

export function vcsimSourceDir(): string {
  return path.join(repoRoot, 'test', 'vcsim');
}

function overlaySource(): string {
  return path.join(vcsimSourceDir(), 'overlay', 'wait_interval.go');
}

/** Every input of the build: our Go files, the overlay, and the Debian file it patches. */
function buildInputs(): Buffer[] {
  const dir = vcsimSourceDir();
  const ours = readdirSync(dir)
    .filter((f) => f.endsWith('.go'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f)));
  const debian = existsSync(PROPERTY_COLLECTOR) ? [readFileSync(PROPERTY_COLLECTOR)] : [];
  return [...ours, readFileSync(overlaySource()), ...debian, Buffer.from(JSON.stringify(PATCHES))];
}

export function vcsimBinaryPath(): string {
  const hash = createHash('sha256');
  for (const input of buildInputs()) hash.update(input);
  return path.join(repoRoot, '.cache', 'vcsim', hash.digest('hex').slice(0, 16), 'vcsim');
}

/**
 * go build -overlay: Debian's simulator package gets our wait_interval.go and
 * a copy of its own property_collector.go with the PATCHES applied. Nothing
 * of govmomi is kept in this repository; the copy is made from the installed
 * file at build time, and the build stops if a patched line is not found.
 */
function writeOverlay(dir: string): string {
  let text = readFileSync(PROPERTY_COLLECTOR, 'utf8');
  for (const [from, to] of PATCHES) {
    if (text.split(from).length !== 2) {
      throw new Error(`${PROPERTY_COLLECTOR} no longer contains "${from}" exactly once: update the overlay in src/harness/vcsim-build.ts for this govmomi version`);
    }
    text = text.replace(from, to);
  }
  mkdirSync(dir, { recursive: true });
  const patched = path.join(dir, 'property_collector.go');
  writeFileSync(patched, text);
  const overlay = path.join(dir, 'overlay.json');
  writeFileSync(overlay, JSON.stringify({ Replace: { [PROPERTY_COLLECTOR]: patched, [path.join(SIMULATOR_DIR, 'zz_wait_interval.go')]: overlaySource() } }));
  return overlay;
}

/** Returns the path of a built simulator binary, building it if needed. */
export async function buildVcsim(): Promise<string> {
  const binary = vcsimBinaryPath();
  if (existsSync(binary)) return binary;
  if (!existsSync(SIMULATOR_DIR)) {
    throw new Error(
      'govmomi sources not found under /usr/share/gocode: install golang-go and golang-github-vmware-govmomi-dev (scripts/setup.sh does)',
    );
  }
  mkdirSync(path.dirname(binary), { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  const overlay = writeOverlay(path.join(path.dirname(binary), `overlay.${process.pid}`));
  await execFileAsync('go', ['build', '-overlay', overlay, '-o', tmp, '.'], {
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
