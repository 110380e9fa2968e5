import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

// The folders of src/ and which of them each may import: docs/ARCHITECTURE.md says why.
// A folder may always import its own files. Tests and their support files may reach further.
const folders = ['core', 'cli', 'debug', 'server', 'worker', 'webview', 'extension'];
const mayImport = {
  core: [],
  cli: ['core'],
  debug: ['core'],
  server: ['core'],
  worker: ['core'],
  webview: ['core'],
  extension: ['core', 'debug', 'server', 'webview'],
};
/** The parts of another folder the extension may import: the protocols of what it hosts. */
const extensionReaches = { server: ['**/src/server/protocol.ts'], webview: ['**/src/webview/*/protocol.ts', '**/src/webview/shared/messages.ts'] };

const layerZones = folders.flatMap((from) => folders
  .filter((to) => to !== from && !mayImport[from].includes(to))
  .map((to) => ({ target: `./src/${from}/**`, from: `./src/${to}/**`, message: `src/${from} must not import src/${to} (docs/ARCHITECTURE.md)` })))
  .concat(Object.entries(extensionReaches).map(([to, except]) => ({
    target: './src/extension/**', from: `./src/${to}/**`, except,
    message: `src/extension imports only the protocol of src/${to} (docs/ARCHITECTURE.md)`,
  })));

/** Node's built-in modules, by either name: not in what runs in a webview. */
const nodeBuiltins = ['assert', 'buffer', 'child_process', 'crypto', 'events', 'fs', 'http', 'https', 'module', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'timers', 'tty', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib'];
const noVscode = { name: 'vscode', message: 'only src/extension imports vscode (docs/ARCHITECTURE.md).' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-output/**', 'demo/**', 'bench/.data/**', '*.mjs', 'scripts/**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Which folder may import which, on the paths the imports resolve to.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/**/testSupport.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })] },
    rules: { 'import-x/no-restricted-paths': ['error', { zones: layerZones }] },
  },
  {
    // The core is shared by the CLI, the servers, the webviews and the tests: it must never depend on VS Code.
    files: ['src/core/**/*.ts', 'src/cli/**/*.ts', 'src/worker/**/*.ts', 'src/debug/**/*.ts', 'src/server/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [noVscode] }] },
  },
  {
    // What runs in a webview, and the core modules it uses: browser code, no Node built-ins. (The
    // webview bundles are built for the browser, so a Node module reached through them fails the build.)
    files: ['src/webview/**/*.ts', 'src/core/units.ts', 'src/core/monitor/samples.ts', 'src/core/analysis/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/**/testSupport.ts', 'src/core/analysis/load.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [noVscode, { name: '../analysis/load', message: 'load.ts reads files: Node only.' }, { name: './load', message: 'load.ts reads files: Node only.' }],
        patterns: [{ regex: `^(node:|(${nodeBuiltins.join('|')})(/|$))`, message: 'browser code (webviews and the core modules they use) must not import Node built-ins; Node-only work goes in src/core/analysis/load.ts or src/extension.' }],
      }],
    },
  },
);
