/**
 * Test-only: the driver compiled once for the suites that run it as a real
 * process (faults, fuzz, metrics). Compiling takes a minute on a loaded
 * machine and jest runs those files in parallel workers, so builds are keyed
 * by the sources (paths, sizes, mtimes of src/, proto/ and the configs):
 * the first worker to need a key compiles it into .cache/robustness-build/<key>/
 * (never dist/, which other suites run) and the others wait for its stamp.
 * Unchanged sources reuse the build; builds older than a day are removed.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const root = join(repo, '.cache', 'robustness-build');
const STALE_LOCK_MS = 5 * 60_000;
const OLD_BUILD_MS = 24 * 3600_000;

function sourceKey(): string {
  const hash = createHash('sha1');
  const files: string[] = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
  for (const dir of ['src', 'proto']) {
    for (const f of readdirSync(join(repo, dir), { recursive: true }) as string[]) files.push(join(dir, f));
  }
  for (const f of files.sort()) {
    const st = statSync(join(repo, f));
    if (st.isFile()) hash.update(`${f}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

function removeOldBuilds(keep: string): void {
  for (const name of readdirSync(root)) {
    if (name.startsWith(keep)) continue;
    const path = join(root, name);
    if (Date.now() - statSync(path).mtimeMs > OLD_BUILD_MS) rmSync(path, { recursive: true, force: true });
  }
}

/** Path of main.js of a build of the current sources. */
export async function compiledMain(): Promise<string> {
  mkdirSync(root, { recursive: true });
  const key = sourceKey();
  const dir = join(root, key);
  const main = join(dir, 'dist', 'main.js');
  const stamp = join(dir, 'built');
  const lock = join(root, `${key}.lock`);
  if (existsSync(stamp)) return main;
  // A lock left by a killed compile must not block every later run.
  if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
  try {
    mkdirSync(lock);
  } catch {
    // Another worker compiles these sources: wait for its stamp (or its failure).
    for (let i = 0; i < 1200; i++) {
      if (existsSync(stamp)) return main;
      if (!existsSync(lock)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (existsSync(stamp)) return main;
    throw new Error('the worker compiling the driver gave up; see its output');
  }
  try {
    removeOldBuilds(key);
    rmSync(dir, { recursive: true, force: true }); // a half-written build of a killed compile
    mkdirSync(dir, { recursive: true });
    // proto/ and package.json sit beside dist/ exactly as in the image.
    if (!existsSync(join(dir, 'proto'))) symlinkSync(join(repo, 'proto'), join(dir, 'proto'));
    if (!existsSync(join(dir, 'package.json'))) symlinkSync(join(repo, 'package.json'), join(dir, 'package.json'));
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['-p', join(repo, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')];
    await run(process.execPath, [tsc, ...args], { cwd: repo, timeout: 240_000 }).catch((err: { stdout?: string }) => {
      // Type errors elsewhere still emit JavaScript; only a missing entry point is fatal.
      process.stderr.write(`tsc reported problems (continuing if main.js was emitted):\n${(err.stdout ?? '').slice(0, 2000)}\n`);
    });
    if (!existsSync(main)) throw new Error(`compiling the driver produced no ${main}`);
    writeFileSync(stamp, new Date().toISOString());
    return main;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
