// Builds every entry point of the extension into dist/.
// Usage: node esbuild.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';

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

/** Node-side entry points: [entry, output, extra options]. */
const nodeEntries = [
  ['src/extension/extension.ts', 'dist/extension.js', { external: ['vscode'] }],
  ['src/cli/main.ts', 'dist/cli.js', { banner: { js: '#!/usr/bin/env node' } }],
  ['src/worker/traceWorker.ts', 'dist/traceWorker.js', {}],
];

/** Browser-side entry points (webviews). */
const webEntries = [
  ['src/webview/main.ts', 'dist/webview.js'],
  ['src/webview/migrationView/main.ts', 'dist/migrationView.js'],
  ['src/webview/chart/main.ts', 'dist/webview-chart.js'],
];

const configs = [
  ...nodeEntries
    .filter(([entry]) => existsSync(entry))
    .map(([entry, outfile, extra]) => ({
      ...common,
      ...extra,
      entryPoints: [entry],
      outfile,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
    })),
  ...webEntries
    .filter(([entry]) => existsSync(entry))
    .map(([entry, outfile]) => ({
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

// The trace reader's WebAssembly line scanner (clang and lld from Debian: `clang`, `lld`).
const scannerSource = 'src/core/trace/wasm/logscan.c';
mkdirSync('dist', { recursive: true });
try {
  execFileSync('clang', [
    '--target=wasm32', '-O3', '-nostdlib', '-ffp-contract=off', '-mbulk-memory', '-mnontrapping-fptoint', '-msimd128', '-Wall', '-Wextra', '-Werror',
    '-Wl,--no-entry', '-o', 'dist/logscan.wasm', scannerSource,
  ], { stdio: 'inherit' });
} catch (e) {
  console.error(`building dist/logscan.wasm from ${scannerSource} failed (needs clang and lld: apt-get install clang lld): ${e.message}`);
  process.exit(1);
}

// Non-code assets the bundles load at run time.
mkdirSync('dist/guest', { recursive: true });
copyFileSync('src/core/lab/guest/dirty.asm', 'dist/guest/dirty.asm');
// The built-in trace catalogues (read when a version is first used).
mkdirSync('dist/catalogues', { recursive: true });
for (const f of readdirSync('src/core/trace/catalogues')) if (f.endsWith('.json')) copyFileSync(`src/core/trace/catalogues/${f}`, `dist/catalogues/${f}`);
// web-tree-sitter is loaded at run time (its ESM build needs import.meta.url): ship it and the C grammar.
for (const [from, to] of [
  ['node_modules/web-tree-sitter/web-tree-sitter.cjs', 'dist/web-tree-sitter.cjs'],
  ['node_modules/web-tree-sitter/web-tree-sitter.wasm', 'dist/web-tree-sitter.wasm'],
  ['node_modules/tree-sitter-c/tree-sitter-c.wasm', 'dist/tree-sitter-c.wasm'],
]) copyFileSync(from, to);
