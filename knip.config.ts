// Dead-code check (`npm run lint` runs it): files, exports and dependencies nothing reaches from
// the bundled entry points, the tests, the benchmarks and the scripts.
import { nodeEntries, webEntries } from './scripts/entryPoints.mjs';

export default {
  entry: [
    ...[...nodeEntries, ...webEntries].map(([entry]) => entry),
    '{src,test,scripts}/**/*.test.ts',
    'bench/*.bench.{ts,mjs}',
    'scripts/*.{ts,mjs}',
  ],
  project: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.{ts,mjs}', 'scripts/**/*.{ts,mjs}'],
  // An export the module itself uses is its own business; one nothing uses at all is reported.
  ignoreExportsUsedInFile: true,
  ignoreDependencies: [
    // Its grammar (tree-sitter-c.wasm) is copied into dist/ by esbuild.mjs, never imported.
    'tree-sitter-c',
    // Loaded with `node --import tsx` by scripts/run-tests.mjs and scripts/run-bench.mjs.
    'tsx',
  ],
  // Programs from the machine (Debian packages), not from npm.
  ignoreBinaries: ['clang', 'xz', 'qemu-img', 'qemu-system-x86_64'],
};
