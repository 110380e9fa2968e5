/** The workbench version; esbuild replaces QMIG_VERSION from package.json, tests fall back to the manifest. */
declare const QMIG_VERSION: string | undefined;

function readVersion(): string {
  if (typeof QMIG_VERSION === 'string') return QMIG_VERSION;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require('../../package.json') as { version: string };
  return pkg.version;
}

export const version: string = readVersion();
