/**
 * Test-only: the driver compiled once per jest run for the suites that run
 * it as a real process (faults, fuzz, metrics). Jest runs those files in
 * parallel workers; compiling takes over a minute on a loaded machine, so
 * the first worker compiles (incrementally, into .cache/, never touching
 * dist/ that other suites run) and the others wait for its stamp.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const root = join(repo, '.cache', 'robustness-build');
/** All workers of one jest run share the parent's pid. */
const runId = String(process.ppid);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Path of main.js of a build of the current sources. */
export async function compiledMain(): Promise<string> {
  const main = join(root, 'dist', 'main.js');
  const stamp = join(root, `built-${runId}`);
  const lock = join(root, `lock-${runId}`);
  mkdirSync(root, { recursive: true });
  if (existsSync(stamp)) return main;
  try {
    mkdirSync(lock);
  } catch {
    // Another worker of this run compiles: wait for its stamp (or its failure).
    for (let i = 0; i < 1200; i++) {
      if (existsSync(stamp)) return main;
      if (!existsSync(lock)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (existsSync(stamp)) return main;
    throw new Error('the worker compiling the driver gave up; see its output');
  }
  try {
    // Stamps and locks of finished runs.
    for (const name of readdirSync(root)) {
      const m = /^(built|lock)-(\d+)$/.exec(name);
      if (m && m[2] !== runId && !alive(Number(m[2]))) rmSync(join(root, name), { recursive: true, force: true });
    }
    // proto/ and package.json sit beside dist/ exactly as in the image.
    if (!existsSync(join(root, 'proto'))) symlinkSync(join(repo, 'proto'), join(root, 'proto'));
    if (!existsSync(join(root, 'package.json'))) symlinkSync(join(repo, 'package.json'), join(root, 'package.json'));
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['-p', join(repo, 'tsconfig.build.json'), '--outDir', join(root, 'dist'), '--incremental', '--tsBuildInfoFile', join(root, 'tsbuildinfo')];
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
