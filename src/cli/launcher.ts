/**
 * `qmig` as built (dist/cli.js): runs the command-line bundle beside it (dist/qmig.js) from a
 * V8 code cache of an earlier run, so that a run does not compile again what the runs before
 * it compiled (BENCHMARKS.md, Simpletrace). The cache is one file per bundle build, Node
 * version and architecture in the workbench's cache folder, written at the end of a run that
 * found none. A cache that cannot be read, that V8 refuses, or that cannot be written is left
 * alone: the bundle is then compiled as usual.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { workbenchCacheDir } from '../core/qemu/installs';

interface CommandLineBundle {
  readonly runFromCommandLine: () => void;
}

/** The bundle's file name next to this one (scripts/entryPoints.mjs). */
export const bundleName = 'qmig.js';

/**
 * Where the code cache of a bundle build goes, for this Node and command: each command
 * (`trace stats`, `analyze`, …) compiles functions of its own, so each has its own cache.
 */
export function codeCachePath(prefix: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const words: string[] = [];
  for (const a of args.slice(0, 2)) { if (/^[a-z][a-z-]{0,30}$/.test(a)) words.push(a); else break; }
  return join(workbenchCacheDir(env), 'code-cache', `${prefix}${words.join('-') || 'qmig'}.bin`);
}

/** How the names of the cache files of a bundle build, for this Node, start. */
export function buildPrefix(bundle: string): string {
  const st = statSync(bundle);
  return `qmig-${process.version}-${process.arch}-${st.size.toString(36)}-${Math.trunc(st.mtimeMs).toString(36)}-`;
}

function readCache(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Writes the cache beside its place, then moves it there (a run reading it meanwhile sees all
 * or nothing); the caches of other bundle builds and Node versions go.
 */
function writeCache(path: string, prefix: string, data: Buffer): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
    const partial = `${path}.${process.pid}`;
    writeFileSync(partial, data);
    renameSync(partial, path);
    for (const f of readdirSync(dir)) if (f.startsWith('qmig-') && !f.startsWith(prefix) && f.endsWith('.bin')) rmSync(join(dir, f), { force: true });
  } catch {
    // No cache this time; the next run compiles again.
  }
}

function run(): void {
  const bundle = join(__dirname, bundleName);
  const source = readFileSync(bundle, 'utf8');
  let prefix = '';
  let cachePath: string | undefined;
  try {
    prefix = buildPrefix(bundle);
    cachePath = codeCachePath(prefix, process.argv.slice(2));
  } catch {
    cachePath = undefined;
  }
  const cachedData = cachePath === undefined ? undefined : readCache(cachePath);
  // The bundle is CommonJS: it runs as a module body, with its own file name and folder.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  const body = script.runInThisContext() as (exports: object, req: NodeJS.Require, mod: { exports: object }, filename: string, dirname: string) => void;
  const mod = { exports: {} };
  body.call(mod.exports, mod.exports, require, mod, bundle, __dirname);
  if (cachePath !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    // At the end, the functions this run compiled are in the cache too.
    const path = cachePath;
    process.once('exit', () => writeCache(path, prefix, script.createCachedData()));
  }
  const exported = mod.exports as Partial<CommandLineBundle>;
  if (typeof exported.runFromCommandLine !== 'function') throw new Error(`${bundle} is not the qmig command-line bundle (it exports no runFromCommandLine): run the build again`);
  exported.runFromCommandLine();
}

if (require.main === module) run();
