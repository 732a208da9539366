/**
 * No Docker engine runs here, so the Dockerfile is checked for what can be
 * checked without one: it parses into the stages we expect, every path it
 * copies exists (sources before the build, artefacts after `npm run build`),
 * .dockerignore does not hide any of them, and the runtime command it
 * declares starts the program.
 */
import { describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../src/harness/vcsim-build.js';
import { builtMain } from '../support/built-main.js';
import { IMAGE_NODE_OPTIONS } from '../../src/demo/processes.js';

const run = promisify(execFile);

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** Splits a Dockerfile into instructions (comments dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  let stage = -1;
  const out: Instruction[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`unparseable Dockerfile line: ${line}`);
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage += 1;
    out.push({ op, args: m[2]!.replace(/\s+/g, ' '), stage });
  }
  return out;
}

const dockerfile = parseDockerfile(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));
const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

describe('Dockerfile', () => {
  test('two stages: a build stage and a runtime stage with the node tools, non-root by default', () => {
    const froms = dockerfile.filter((i) => i.op === 'FROM');
    expect(froms).toHaveLength(2);
    expect(froms[0]!.args).toMatch(/AS build$/);
    const runtime = dockerfile.filter((i) => i.stage === 1);
    const apt = runtime.find((i) => i.op === 'RUN' && i.args.includes('apt-get install'))!.args;
    for (const pkg of ['e2fsprogs', 'xfsprogs', 'util-linux', 'mount']) expect(apt.split(' ')).toContain(pkg);
    expect(runtime.find((i) => i.op === 'USER')?.args).toMatch(/^[1-9]\d*:/);
    expect(runtime.some((i) => i.op === 'LABEL' && i.args.includes('org.opencontainers.image.source'))).toBe(true);
    // The locked dependencies, through the same npm ci wrapper as scripts/setup.sh.
    expect(dockerfile.some((i) => i.op === 'RUN' && i.args === 'bash scripts/npm-ci.sh')).toBe(true);
    expect(readFileSync(path.join(repoRoot, 'scripts', 'npm-ci.sh'), 'utf8')).toMatch(/^if npm ci /m);
  });

  test('every path the build stage copies from the context exists and is not dockerignored', () => {
    const copies = dockerfile.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const parts = c.args.split(' ');
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(path.join(repoRoot, src))).toBe(true);
        expect(ignored).not.toContain(src.replace(/^\.\//, ''));
      }
    }
  });

  test('every artefact the runtime stage copies from the build stage exists after npm run build', () => {
    builtMain();
    const fromBuild = dockerfile.filter((i) => i.op === 'COPY' && i.args.startsWith('--from=build'));
    expect(fromBuild.map((c) => c.args.split(' ')[1])).toEqual(expect.arrayContaining(['/src/dist', '/src/proto', '/src/node_modules', '/src/package.json']));
    for (const c of fromBuild) {
      const src = c.args.split(' ')[1]!.replace(/^\/src\//, '');
      expect(existsSync(path.join(repoRoot, src))).toBe(true);
    }
  });

  test('the image\'s NODE_OPTIONS are the heap settings the benchmarks and the demo run with, and Node accepts them', async () => {
    const env = dockerfile.filter((i) => i.stage === 1 && i.op === 'ENV' && i.args.startsWith('NODE_OPTIONS='));
    expect(env).toHaveLength(1);
    expect(env[0]!.args).toBe(`NODE_OPTIONS="${IMAGE_NODE_OPTIONS}"`);
    const { stdout } = await run(process.execPath, ['-p', 'require("v8").getHeapStatistics().heap_size_limit'], { env: { PATH: process.env.PATH, NODE_OPTIONS: IMAGE_NODE_OPTIONS } });
    // 1 GiB old generation plus the young generation: V8 took the flags (its default here is ~4 GiB).
    expect(Number(stdout) / 2 ** 20).toBeLessThan(1100);
  });

  test('the declared entry point starts the program', async () => {
    const runtime = dockerfile.filter((i) => i.stage === 1);
    expect(JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')!.args)).toEqual(['vsphere-csi']);
    // The image links /usr/local/bin/vsphere-csi to dist/main.js, which must carry its interpreter line.
    const link = runtime.find((i) => i.op === 'RUN' && i.args.includes('/usr/local/bin/vsphere-csi'))!.args;
    expect(link).toContain('/app/dist/main.js');
    const main = builtMain();
    expect(readFileSync(main, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    // The same command the image runs, here with the `version` mode and the image's environment.
    const { stdout } = await run(process.execPath, [main, 'version'], { env: { PATH: process.env.PATH, NODE_ENV: 'production', NODE_OPTIONS: IMAGE_NODE_OPTIONS }, cwd: '/' });
    expect(stdout).toMatch(/csi\.vsphere\.vmware\.com/);
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(stdout).toContain(pkg.version);
  });
});
