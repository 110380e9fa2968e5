// Shared by the vhost-user tests: where the QEMU fixtures and this folder's recordings are.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
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

/** A real bridge run (see testdata/README.md): `run` names it, `file` the side and source. */
export type BridgeRun = 'qemu1002-bridge-postcopy' | 'qemu72-bridge-postcopy' | 'qemu1002-bridge-precopy' | 'qemu1002-bridge-legacy';
export type BridgeFile = `${'src' | 'dst'}-${'trace' | 'bridge' | 'qemu-stderr'}.log`;

export function bridgePath(run: BridgeRun, file: BridgeFile): string {
  return join(testdata, `${run}.${file}`);
}

export function bridgeRecording(run: BridgeRun, file: BridgeFile): string {
  return readFileSync(bridgePath(run, file), 'utf8');
}

/** QEMU 10.0.2's source tree as scripts/setup-qemu10.sh unpacks it (its docs/interop/vhost-user.rst). */
export const qemu1002Tree = join(process.env.QMW_CACHE ?? join(homedir(), '.cache', 'qemu-migration-workbench'), 'qemu-src', '10.0.2');

/** 1-based number of the first line matching `re` (after `from`). */
export function lineOf(text: string, re: RegExp, from = 0): number {
  const lines = text.split('\n');
  for (let i = from; i < lines.length; i++) if (re.test(lines[i] ?? '')) return i + 1;
  throw new Error(`no line matches ${String(re)}`);
}
