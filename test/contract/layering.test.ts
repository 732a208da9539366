/**
 * The dependency rule of DESIGN.md, checked on the source: modes never
 * import each other, and the layers beneath them (contract values, config,
 * vSphere client, CSI plumbing, Kubernetes client) import no mode. A value
 * two modes share belongs in src/contract/ (or config/), not in one mode.
 */
import { describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SRC = resolve('src');
const MODES = ['controller', 'node', 'cpi', 'preflight'];
const BELOW_MODES = ['contract', 'config', 'vsphere', 'csi', 'kube', 'log.ts'];
const ABOVE_MODES = ['cli', 'main.ts', 'demo', 'bench', 'harness'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Top-level entry under src/ of a path: 'cpi', 'contract', 'log.ts', ... */
const topOf = (absPath: string): string => relative(SRC, absPath).split(sep)[0]!;

/** Relative specifiers of static imports/exports and dynamic import() calls. */
export function importSpecifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out.filter((s) => s.startsWith('.'));
}

/** Rule violations of one file, "from → to" strings. */
export function violations(file: string, text: string): string[] {
  const from = topOf(file);
  const bad: string[] = [];
  for (const spec of importSpecifiers(text)) {
    const to = topOf(resolve(dirname(file), spec));
    if (to === from) continue;
    const sideways = MODES.includes(from) && MODES.includes(to);
    const upwards = BELOW_MODES.includes(from) && (MODES.includes(to) || ABOVE_MODES.includes(to));
    if (sideways || upwards) bad.push(`${relative(SRC, file)} imports ${spec} (${from} → ${to})`);
  }
  return bad;
}

describe('layering', () => {
  test('no mode imports another mode, no lower layer imports a mode', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(100);
    expect(files.flatMap((f) => violations(f, readFileSync(f, 'utf8')))).toEqual([]);
  });

  test('the checker catches a sideways, an upward and a dynamic import', () => {
    expect(violations(join(SRC, 'node', 'x.ts'), "import { a } from '../cpi/uuid.js';")).toHaveLength(1);
    expect(violations(join(SRC, 'contract', 'x.ts'), "export { b } from '../node/topology.js';")).toHaveLength(1);
    expect(violations(join(SRC, 'preflight', 'x.ts'), "const m = await import('../controller/mode.js');")).toHaveLength(1);
    expect(violations(join(SRC, 'node', 'x.ts'), "import type { L } from '../config/types.js';\nimport { T } from '../contract/taints.js';")).toEqual([]);
  });

  test('every top-level source folder is placed in a layer', () => {
    const tops = new Set(sourceFiles(SRC).map(topOf));
    expect([...tops].filter((t) => ![...MODES, ...BELOW_MODES, ...ABOVE_MODES].includes(t))).toEqual([]);
  });
});
