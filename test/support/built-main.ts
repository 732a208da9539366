/**
 * The compiled program for tests that run modes as real processes.
 * `npm test` builds dist/ in its pretest step, once, before any suite runs;
 * suites never rebuild it (parallel workers would rewrite files under each
 * other). A stale or missing build is a clear failure, not a silent rebuild.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/harness/vcsim-build.js';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Absolute path of dist/main.js; throws when it is missing, warns when it is older than src/. */
export function builtMain(): string {
  const main = join(repoRoot, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error('dist/main.js is missing: run `npm run build` (npm test does it first)');
  if (statSync(main).mtimeMs < newestMtime(join(repoRoot, 'src'))) {
    process.stderr.write('warning: dist/ is older than src/: these tests run the last build (`npm run build`; npm test does it first)\n');
  }
  return main;
}
