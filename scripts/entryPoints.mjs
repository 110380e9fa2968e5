// Every bundled entry point: esbuild.mjs builds each, and knip.config.mjs starts its search
// for unused files and exports from them. A listed file that does not exist fails both.

/** Node-side entry points: [entry, output, extra options]. */
export const nodeEntries = [
  ['src/extension/extension.ts', 'dist/extension.js', { external: ['vscode'] }],
  // `qmig`: a launcher that runs the command-line bundle from a V8 code cache.
  ['src/cli/launcher.ts', 'dist/cli.js', { banner: { js: '#!/usr/bin/env node' } }],
  ['src/cli/main.ts', 'dist/qmig.js', {}],
  ['src/worker/traceWorker.ts', 'dist/traceWorker.js', {}],
  // The migration debugger as a stand-alone adapter (the extension runs the same session inline).
  ['src/debug/adapterMain.ts', 'dist/debugAdapter.js', {}],
  // The trace-events language server (its own process) and its call-index worker thread.
  ['src/server/main.ts', 'dist/traceEventsServer.js', {}],
  ['src/server/index/worker.ts', 'dist/traceIndexWorker.js', {}],
];

/** Browser-side entry points (webviews). */
export const webEntries = [
  ['src/webview/migrationView/main.ts', 'dist/migrationView.js'],
  ['src/webview/chart/main.ts', 'dist/webview-chart.js'],
];
