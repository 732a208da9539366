/**
 * Compiles src/ to a private dist/ for running the real CLI as a process,
 * without type checking (ts.transpileModule per file, with the compiler
 * options of tsconfig.build.json): valid because the project compiles with
 * isolatedModules, and it takes a second or two instead of a minute of full
 * `tsc` on a loaded machine. Type errors are `npx tsc --noEmit`'s job. The
 * output sits under .cache/ so Node resolves node_modules from the repo and
 * dist/ is never rewritten while other suites run it.
 */
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const repo = resolve(import.meta.dirname, '../..');

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

export interface BuiltCli {
  /** Absolute path of main.js. */
  main: string;
  remove(): Promise<void>;
}

export async function buildCli(name: string): Promise<BuiltCli> {
  const root = join(repo, '.cache', `${name}-${process.pid}`);
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  try {
    // proto/ and package.json beside dist/, as in the image.
    await symlink(join(repo, 'proto'), join(root, 'proto'));
    await symlink(join(repo, 'package.json'), join(root, 'package.json'));
    const configPath = join(repo, 'tsconfig.build.json');
    const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, repo, undefined, configPath);
    // transpileModule cannot read package.json's "type": force ES module output (the package is ESM).
    const options = { ...parsed.options, module: ts.ModuleKind.ES2022, moduleResolution: ts.ModuleResolutionKind.Bundler };
    const src = join(repo, 'src');
    for (const file of await sources(src)) {
      const output = ts.transpileModule(await readFile(file, 'utf8'), { compilerOptions: options, fileName: file });
      const target = join(root, 'dist', relative(src, file)).replace(/\.ts$/, '.js');
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, output.outputText);
    }
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  return { main: join(root, 'dist', 'main.js'), remove: () => rm(root, { recursive: true, force: true }) };
}
