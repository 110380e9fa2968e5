// Shared by the vhost-user tests: where the QEMU fixtures and this folder's recordings are.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(__dirname, '..', '..', '..');
export const fixtures = process.env.QMW_FIXTURES ?? join(repoRoot, '..', 'shared', 'fixtures');
export const rstPath = join(fixtures, 'qemu', '10.2.50', 'docs', 'interop', 'vhost-user.rst');
/** The plain-text spec as of 2019 (master/slave wording, 32 front-end messages). */
export const txtPath = join(fixtures, 'qemu', 'history', 'vhost-user-5ad204bf2a.txt');
/** The plain-text spec as of 2018 (30 front-end messages). */
export const oldTxtPath = join(fixtures, 'qemu', 'history', 'vhost-user-c639187e33.txt');
export const testdata = join(__dirname, 'testdata');

/** A real QEMU 7.2 destination + DPDK 22.11 testpmd postcopy run recorded by test/integration/vhostuser.test.ts. */
export function recording(kind: 'dst-trace.log' | 'dst-testpmd.log' | 'dst-strace.txt'): string {
  return readFileSync(join(testdata, `qemu72-testpmd-postcopy.${kind}`), 'utf8');
}

/** 1-based number of the first line matching `re` (after `from`). */
export function lineOf(text: string, re: RegExp, from = 0): number {
  const lines = text.split('\n');
  for (let i = from; i < lines.length; i++) if (re.test(lines[i] ?? '')) return i + 1;
  throw new Error(`no line matches ${String(re)}`);
}
