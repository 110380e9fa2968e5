// Re-records the tests/vhost-user-bridge recordings of src/core/vhostuser/testdata with the
// project's own lab: `qmig lab` runs the postcopy and precopy pairs (the command lines are printed
// and listed in that folder's README), and the one-QEMU legacy-driver run is started from the
// lab's own command lines, guest and process handling. Each run's trace, bridge log and QEMU
// stderr are copied as `<name>.<side>-<source>.log`; the bridge's per-packet `TX::` hex dumps are
// left out. Needs QEMU 7.2 and 10.0.2, the bridge and nasm, as scripts/setup.sh installs them.
// Usage: node --import tsx scripts/record-vhostuser-testdata.ts [--out DIR] [--only NAME]...
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { main } from '../src/cli/main';
import { bridgeArgs, lineBuffered, qemuArgs } from '../src/core/lab/commandLines';
import { buildGuest, guestCommandLine } from '../src/core/lab/guest';
import { findExecutable, ManagedProcess } from '../src/core/lab/process';
import { traceEventsFor } from '../src/core/lab/qemuSides';
import { findVhostUserBridge, pickFreeUdpPorts } from '../src/core/qemu/bridge';
import { resolveQemu } from '../src/core/qemu/installs';

const testdata = join(__dirname, '..', 'src', 'core', 'vhostuser', 'testdata');

/**
 * The vhost-user messages and the migration's states; not the per-page postcopy wakers and fault
 * loop (thousands of lines that say nothing about the flow), nor the downtime events the lab adds.
 */
export const recordedTraceEvents = ['vhost_user_*', '-vhost_user_postcopy_waker*', '-vhost_user_postcopy_fault_handler_loop', 'migrate_set_state', '-vmstate_downtime_*'];

/** The lab runs, by recording name: `qmig lab <scenario> --qemu <version> <options>`. */
export const labRecordings: Readonly<Record<string, { scenario: string; qemu: string; options: readonly string[] }>> = {
  'qemu1002-bridge-postcopy': { scenario: 'postcopy-vhost-user-bridge', qemu: '10.0', options: ['--postcopy-after', '1000'] },
  'qemu72-bridge-postcopy': { scenario: 'postcopy-vhost-user-bridge', qemu: '7.2', options: ['--postcopy-after', '1000'] },
  'qemu1002-bridge-precopy': { scenario: 'precopy-vhost-user-bridge', qemu: '10.0', options: ['--dirty-rate', '1', '--cap', 'postcopy-ram=on'] },
};

const legacyName = 'qemu1002-bridge-legacy';

export function labArgs(name: string, outDir: string): string[] {
  const r = labRecordings[name];
  if (!r) throw new Error(`no lab recording ${name}`);
  return ['lab', r.scenario, '--qemu', r.qemu, ...r.options, ...recordedTraceEvents.flatMap((p) => ['--trace', p]), '--out', outDir];
}

/** A bridge log without the hex dump of every packet the guest sent. */
function withoutPacketDumps(text: string): string {
  return text.split('\n').filter((l) => !l.startsWith('TX:: ')).join('\n');
}

function copyRun(runDir: string, name: string, out: string, sides: readonly ('src' | 'dst')[]): void {
  for (const side of sides) {
    for (const kind of ['trace', 'bridge', 'qemu-stderr'] as const) {
      const from = join(runDir, `${side}-${kind}.log`);
      const to = join(out, `${name}.${side}-${kind}.log`);
      if (kind === 'bridge') writeFileSync(to, withoutPacketDumps(readFileSync(from, 'utf8')));
      else copyFileSync(from, to);
    }
  }
}

async function recordWithLab(name: string, out: string): Promise<void> {
  const runDir = mkdtempSync(join(tmpdir(), `qmig-testdata-${name}-`));
  try {
    const args = labArgs(name, runDir);
    process.stderr.write(`${name}: qmig ${args.map((a) => (/[*\s]/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
    const status = await main(args, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), signal: new AbortController().signal, isTty: false });
    if (status !== 0) throw new Error(`${name}: qmig lab exited with ${status}`);
    copyRun(runDir, name, out, ['src', 'dst']);
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

async function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * One QEMU 10.0.2 whose guest drives a transitional virtio-net device through the legacy
 * interface (guest `virtio=2`, no disable-legacy): its bridge refuses the driver. The lab's
 * command lines, guest and processes, without a migration (none is needed to show the refusal).
 */
async function recordLegacy(out: string): Promise<void> {
  const install = await resolveQemu('10.0');
  const dir = mkdtempSync(join(tmpdir(), `qmig-testdata-${legacyName}-`));
  const procs: ManagedProcess[] = [];
  try {
    const kernel = join(dir, 'guest.bin');
    await buildGuest('nasm', kernel);
    const socket = join(dir, 'src-vhost-user.sock');
    const bridgeLog = join(dir, 'src-bridge.log');
    const traceFile = join(dir, 'src-trace.log');
    const [local, remote] = await pickFreeUdpPorts('127.0.0.1', 2);
    const cmd = lineBuffered(findVhostUserBridge().path, bridgeArgs({ socket, local: `127.0.0.1:${local}`, remote: `127.0.0.1:${remote}` }), findExecutable('stdbuf'));
    process.stderr.write(`${legacyName}: ${cmd.binary} ${cmd.args.join(' ')}\n`);
    const bridge = new ManagedProcess(cmd.binary, cmd.args, { label: 'src vhost-user-bridge', logFile: bridgeLog });
    procs.push(bridge);
    await until(`the bridge's socket ${socket}`, 30_000, () => existsSync(socket) || bridge.hasExited);
    const args = qemuArgs({
      side: 'src',
      memoryMiB: 256,
      ramBackend: { kind: 'memfd' },
      accelerators: ['tcg'],
      kernel,
      append: guestCommandLine({ rateMiBps: 1, zeroSixteenths: 4, regionMiB: 16, virtio: 2 }),
      qmpSocket: join(dir, 'src-qmp.sock'),
      traceFile,
      traceEvents: await traceEventsFor(install, recordedTraceEvents),
      debugconFile: join(dir, 'src-guest.log'),
      vhostUserSocket: socket,
      ...(install.firmwareDir !== undefined ? { firmwareDir: install.firmwareDir } : {}),
    });
    process.stderr.write(`${legacyName}: ${install.binary} ${args.join(' ')}\n`);
    const qemu = new ManagedProcess(install.binary, args, { label: `src QEMU ${install.versionText}`, logFile: join(dir, 'src-qemu-stderr.log') });
    procs.push(qemu);
    // The bridge gives up on the driver, QEMU sees the socket close and falls back to userspace virtio.
    await until('the bridge\'s PANIC and QEMU seeing the socket close', 60_000, () =>
      qemu.hasExited || (readFileSync(bridgeLog, 'utf8').includes('PANIC: ') && existsSync(traceFile) && readFileSync(traceFile, 'utf8').includes('got event: 4')));
    await new Promise((r) => setTimeout(r, 500));
    await qemu.stop(3000);
    await bridge.stop(3000);
    copyRun(dir, legacyName, out, ['src']);
  } finally {
    await Promise.all(procs.map((p) => p.stop(2000)));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, only: { type: 'string', multiple: true } } });
  const out = values.out ?? testdata;
  const names = [...Object.keys(labRecordings), legacyName];
  const chosen = values.only ?? names;
  for (const n of chosen) if (!names.includes(n)) throw new Error(`unknown recording ${n}; choose from ${names.join(', ')}`);
  mkdirSync(out, { recursive: true });
  for (const name of chosen) {
    if (name === legacyName) await recordLegacy(out);
    else await recordWithLab(name, out);
    process.stderr.write(`${name}: written to ${out}\n`);
  }
}

if (require.main === module) {
  run().catch((e: unknown) => {
    process.stderr.write(`record-vhostuser-testdata: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
