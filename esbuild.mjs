// Builds every entry point of the extension into dist/.
// Usage: node esbuild.mjs [--watch] [--production] [--no-scanner]
import * as esbuild from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { nodeEntries, webEntries } from './scripts/entryPoints.mjs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'info',
  target: 'es2022',
  define: { QMIG_VERSION: JSON.stringify(pkg.version) },
};

const configs = [
  ...nodeEntries.map(([entry, outfile, extra]) => ({
    ...common,
    ...extra,
    entryPoints: [entry],
    outfile,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
  })),
  ...webEntries.map(([entry, outfile]) => ({
    ...common,
    entryPoints: [entry],
    outfile,
    platform: 'browser',
    format: 'iife',
    loader: { '.css': 'text' },
  })),
];

// A production build ships no source maps: drop those left by development builds. It is
// packaged next, and a package left from before would be packed into the new one.
if (production && existsSync('dist')) {
  for (const f of readdirSync('dist')) if (f.endsWith('.map') || f.endsWith('.vsix')) rmSync(`dist/${f}`);
}

if (watch) {
  const contexts = await Promise.all(configs.map((c) => esbuild.context(c)));
  await Promise.all(contexts.map((c) => c.watch()));
  console.log(`watching ${contexts.length} entry points`);
} else {
  await Promise.all(configs.map((c) => esbuild.build(c)));
  if (existsSync('dist/cli.js')) chmodSync('dist/cli.js', 0o755);
}

// The trace reader's WebAssembly scanner (clang and lld from Debian: `clang`, `lld`). Without
// them (or with --no-scanner) the build goes on without it: the reader then runs its JavaScript
// scanner, with the same results, more slowly. With them, a scanner that does not compile fails the build.
const scannerSource = 'src/core/trace/wasm/logscan.c';
const scannerOutput = 'dist/logscan.wasm';
mkdirSync('dist', { recursive: true });
const runs = (program, args) => spawnSync(program, args, { stdio: 'ignore' }).status === 0;
const skipScanner = process.argv.includes('--no-scanner');
const missing = skipScanner ? [] : [['clang', ['--version']], ['wasm-ld', ['--version']]].filter(([p, a]) => !runs(p, a)).map(([p]) => p);
if (skipScanner || missing.length > 0) {
  // A scanner left from an earlier build would not match the source any more.
  rmSync(scannerOutput, { force: true });
  console.log(skipScanner
    ? `${scannerOutput} not built (--no-scanner): traces are read by the JavaScript scanner.`
    : `${scannerOutput} not built: ${missing.join(' and ')} not found (apt-get install clang lld). Traces are read by the JavaScript scanner, with the same results, more slowly.`);
} else {
  try {
    execFileSync('clang', [
      '--target=wasm32', '-O3', '-nostdlib', '-ffp-contract=off', '-mbulk-memory', '-mnontrapping-fptoint', '-msimd128', '-Wall', '-Wextra', '-Werror',
      '-Wl,--no-entry', '-o', scannerOutput, scannerSource,
    ], { stdio: 'inherit' });
  } catch (e) {
    console.error(`building ${scannerOutput} from ${scannerSource} failed: ${e.message}`);
    process.exit(1);
  }
}

// Non-code assets the bundles load at run time.
mkdirSync('dist/guest', { recursive: true });
copyFileSync('src/core/lab/guest/dirty.asm', 'dist/guest/dirty.asm');
// The built-in trace catalogues (read when a version is first used).
mkdirSync('dist/catalogues', { recursive: true });
for (const f of readdirSync('src/core/trace/catalogues')) if (f.endsWith('.events')) copyFileSync(`src/core/trace/catalogues/${f}`, `dist/catalogues/${f}`);
// web-tree-sitter is loaded at run time (its ESM build needs import.meta.url): ship it and the C grammar.
for (const [from, to] of [
  ['node_modules/web-tree-sitter/web-tree-sitter.cjs', 'dist/web-tree-sitter.cjs'],
  ['node_modules/web-tree-sitter/web-tree-sitter.wasm', 'dist/web-tree-sitter.wasm'],
  ['node_modules/tree-sitter-c/tree-sitter-c.wasm', 'dist/tree-sitter-c.wasm'],
]) copyFileSync(from, to);
