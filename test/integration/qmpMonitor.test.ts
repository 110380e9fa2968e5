// The migration monitor, the paired migration, jobs and reconnects against real QEMU 7.2, and
// the postcopy recovery and snapshot jobs against QEMU 10.0 as well.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasProgram, requireComponent } from '../support/components';
import { runQmig } from '../support/qmigProcess';
import { needQemu as needQemuVersion, qemuBin, monitor, started, TestQemu, type TestQemuVersion } from '../support/qemuPair';
import type { QemuInstall } from '../../src/core/qemu/installs';
import { QmpClient } from '../../src/core/qmp/client';
import { ConnectionManager } from '../../src/core/monitor/connectionManager';
import { MigrationMonitor, type JobInfo } from '../../src/core/monitor/monitor';
import {
  pausePostcopyPair, recoverPostcopyPair, runPairedMigration, setCapabilities, setParameters, startIncoming, startMigration, startPostcopy, waitForStatus,
} from '../../src/core/migration/actions';
import { buildGuest } from '../../src/core/lab/guest';
import { guestCommandLine } from '../../src/core/lab/guest';

const qemuPresent = hasProgram(qemuBin);

function needQemu(t: TestContext): boolean {
  return requireComponent(t, `QEMU (${qemuBin})`, qemuPresent);
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('connect and feature detection on QEMU 7.2', async (t) => {
  if (!needQemu(t)) return;
  const q = await started(t, TestQemu.start({ name: 'fd' }));
  const m = await monitor(t, q);
  assert.match(m.version, /^7\.2\./);
  assert.equal(m.runState?.status, 'running');
  assert.equal(m.status, 'none');
  assert.ok(m.features.capabilities.includes('multifd'));
  assert.ok(m.features.capabilities.includes('postcopy-ram'));
  assert.deepEqual(m.features.zeroPageDetection, [], '7.2 has no zero-page-detection');
  assert.deepEqual(m.features.modes, [], '7.2 has no migration modes');
  assert.equal(m.features.migrationThreads, false, '7.2 has no query-migrationthreads');
  assert.ok(m.features.oobCommands.has('migrate-pause'));
  assert.equal(m.client.oobEnabled, true);
  assert.ok(m.parameters['multifd-channels'] !== undefined);
  assert.deepEqual(m.warnings(), []);
});

test('a multifd migration through the paired orchestration reaches completed; the monitors follow it', { timeout: 240_000 }, async (t) => {
  if (!needQemu(t)) return;
  const src = await started(t, TestQemu.start({ name: 'src' }));
  const dst = await started(t, TestQemu.start({ name: 'dst', incoming: true }));
  const [ms, md] = await Promise.all([monitor(t, src, 'source'), monitor(t, dst, 'destination')]);
  const steps: string[] = [];
  const r = await runPairedMigration(ms, md, { capabilities: { multifd: true, events: true }, parameters: { 'multifd-channels': 4 }, timeoutMs: 60_000 }, { onStep: (s) => steps.push(s) });
  assert.equal(r.status, 'completed', JSON.stringify(r.source));
  assert.equal(r.destination?.status, 'completed');
  assert.deepEqual(r.warnings, []);
  assert.ok(r.source.ram && r.source.ram.transferred > 0);
  await until('source monitor shows completed', () => ms.status === 'completed');
  await until('destination monitor shows completed', () => md.status === 'completed');
  // Parameters are read at attach and by refresh (not by the status polls): read both again.
  await Promise.all([ms.refresh(), md.refresh()]);
  assert.equal(ms.capabilities['multifd'], true);
  assert.equal(md.parameters['multifd-channels'], 4);
  assert.ok(ms.events.toArray().some((e) => e.event.event === 'MIGRATION' && e.event.data['status'] === 'completed'));
  assert.equal(ms.runState?.status, 'postmigrate');
});

test('qmig migrate and qmig watch drive and follow a real migration', { timeout: 240_000 }, async (t) => {
  if (!needQemu(t)) return;
  const src = await started(t, TestQemu.start({ name: 'src', secondMonitor: true }));
  const dst = await started(t, TestQemu.start({ name: 'dst', incoming: true, secondMonitor: true }));
  // QEMU serves one client per QMP socket: watch uses each QEMU's second monitor.
  const watching = runQmig(['watch', src.socket.replace(/\.sock$/, '-2.sock'), dst.socket.replace(/\.sock$/, '-2.sock'), '--timeout', '60000']);
  await new Promise((r) => setTimeout(r, 1500));
  const migrated = await runQmig(['migrate', src.socket, dst.socket, '--cap', 'multifd=on', '--param', 'multifd-channels=2', '--param', 'max-bandwidth=268435456', '--timeout', '60000']);
  assert.equal(migrated.code, 0, migrated.stdout + migrated.stderr);
  assert.match(migrated.stdout, /migrate-incoming unix:.*migration\.sock on the destination/);
  assert.match(migrated.stdout, /source: completed/);
  const watched = await watching;
  assert.equal(watched.code, 0, watched.stdout + watched.stderr);
  assert.match(watched.stdout, /MIGRATION \{"status":"completed"\}|src: .*completed/);

  const bad = await runQmig(['migrate', src.socket, dst.socket, '--param', 'multifd-channels=999']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /multifd-channels must be between 1 and 255/);
});

/**
 * A source and a destination QEMU both booting the lab's dirtying guest, with monitors attached;
 * undefined when a component is missing (and the test skipped).
 */
async function dirtyingPair(t: TestContext, prefix: string, version: TestQemuVersion = '7.2'): Promise<{ ms: MigrationMonitor; md: MigrationMonitor; dir: string } | undefined> {
  const install = await needQemuVersion(t, version);
  if (!install) return undefined;
  if (!requireComponent(t, 'nasm', hasProgram('nasm', ['-v']))) return undefined;
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kernel = join(dir, 'guest.bin');
  await buildGuest('nasm', kernel);
  // Under nested KVM here the guest prints nothing and dirties nothing; TCG runs it everywhere.
  const guest = ['-kernel', kernel, '-append', guestCommandLine({ rateMiBps: 32, zeroSixteenths: 4, regionMiB: 16 })];
  const src = await started(t, TestQemu.start({ name: 'src', install, memoryMiB: 256, accelerators: ['tcg'], extraArgs: guest }));
  const dst = await started(t, TestQemu.start({ name: 'dst', install, memoryMiB: 256, accelerators: ['tcg'], incoming: true, extraArgs: guest }));
  const [ms, md] = await Promise.all([monitor(t, src, 'source'), monitor(t, dst, 'destination')]);
  return { ms, md, dir };
}

test('postcopy switch with the dirtying guest', { timeout: 240_000 }, async (t) => {
  const pair = await dirtyingPair(t, 'qmig-mon-pc-');
  if (!pair) return;
  const { ms, md } = pair;
  await new Promise((r) => setTimeout(r, 1500));
  const seen = new Set<string>();
  const r = await runPairedMigration(ms, md, {
    capabilities: { 'postcopy-ram': true, events: true },
    parameters: { 'max-bandwidth': 16 * 1024 * 1024, 'max-postcopy-bandwidth': 8 * 1024 * 1024 },
    postcopyAfterMs: 1000,
    timeoutMs: 120_000,
  }, { onProgress: (i) => seen.add(i.status ?? 'none') });
  assert.equal(r.status, 'completed', JSON.stringify(r.source));
  assert.ok(seen.has('postcopy-active'), `statuses seen: ${[...seen].join(', ')}`);
  assert.ok((r.source.ram?.['dirty-sync-count'] ?? 0) >= 2);
  assert.ok(ms.events.toArray().some((e) => e.event.data['status'] === 'postcopy-active'));
});

for (const version of ['7.2', '10.0'] as const) {
  test(`postcopy recovery on QEMU ${version}: pause out-of-band (the destination pauses as its stream breaks), recover on a fresh URI, complete`, { timeout: 240_000 }, async (t) => {
    const pair = await dirtyingPair(t, 'qmig-mon-rec-', version);
    if (!pair) return;
    const { ms, md, dir } = pair;
    assert.ok(ms.version.startsWith(`${version}.`) && md.version.startsWith(`${version}.`), `QEMU ${ms.version} and ${md.version}`);
    assert.ok(ms.client.oobEnabled && md.client.oobEnabled, 'both connections negotiated oob');
    await new Promise((r) => setTimeout(r, 1500));

    // The same core functions the palette's Set Capabilities, Migrate Incoming, Migrate, Start
    // Postcopy, Pause and Recover commands call.
    for (const m of [ms, md]) {
      await setCapabilities(m, { 'postcopy-ram': true, events: true });
      // Slow enough that the background copy is still running when the pause arrives.
      await setParameters(m, { 'max-bandwidth': 16 * 1024 * 1024, 'max-postcopy-bandwidth': 2 * 1024 * 1024 });
    }
    const first = `unix:${join(dir, 'migration.sock')}`;
    await startIncoming(md, first);
    await startMigration(ms, first);
    await waitForStatus(ms, ['active'], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 1000));
    await startPostcopy(ms);
    await waitForStatus(ms, ['postcopy-active'], { timeoutMs: 30_000 });
    await waitForStatus(md, ['postcopy-active'], { timeoutMs: 30_000 });

    const paused = await pausePostcopyPair(ms, md, { timeoutMs: 30_000 });
    t.diagnostic(`pause: ${JSON.stringify(paused)}`);
    assert.equal(paused.source.oob, true, 'migrate-pause went out-of-band on the source');
    assert.equal(paused.destination.oob, true, 'migrate-pause would go out-of-band on the destination');
    // Shutting the source's stream pauses the destination, which then gets no migrate-pause of its
    // own; if it was sent one just as it paused, QEMU refused it.
    if (paused.destination.refusal !== undefined) assert.match(paused.destination.refusal, /^GenericError: /);
    const pausedSent = (m: MigrationMonitor): string[] => m.timings.toArray().filter((x) => x.command === 'migrate-pause').map((x) => (x.ok ? 'ok' : 'refused'));
    t.diagnostic(`migrate-pause replies: source ${pausedSent(ms).join(',')}, destination ${pausedSent(md).join(',')}`);
    assert.equal((await waitForStatus(ms, ['postcopy-paused'])).status, 'postcopy-paused');
    assert.equal((await waitForStatus(md, ['postcopy-paused'])).status, 'postcopy-paused');

    const fresh = `unix:${join(dir, 'recovery.sock')}`;
    const recovered = await recoverPostcopyPair(ms, md, fresh);
    assert.equal(recovered.destinationOob, true, 'migrate-recover went out-of-band on the destination');
    const done = await waitForStatus(ms, ['completed'], { timeoutMs: 180_000, pollMs: 200 });
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal((await waitForStatus(md, ['completed'], { timeoutMs: 30_000 })).status, 'completed');
    await until('source monitor shows completed', () => ms.status === 'completed', 30_000);
    const statuses = (m: MigrationMonitor): string[] => m.events.toArray().filter((e) => e.event.event === 'MIGRATION').map((e) => String(e.event.data['status']));
    t.diagnostic(`source MIGRATION events: ${statuses(ms).join(' → ')}`);
    t.diagnostic(`destination MIGRATION events: ${statuses(md).join(' → ')}`);
    for (const s of ['postcopy-active', 'postcopy-paused', 'postcopy-recover', 'completed']) {
      assert.ok(statuses(ms).includes(s), `source passed through ${s}: ${statuses(ms).join(', ')}`);
    }
    assert.ok(statuses(md).includes('postcopy-paused') && statuses(md).includes('completed'), statuses(md).join(', '));
    const running = await md.execute<{ running: boolean; status: string }>('query-status');
    assert.deepEqual([running.running, running.status], [true, 'running'], 'the guest runs on the destination');
  });
}

for (const version of ['7.2', '10.0'] as const) {
  test(`snapshot-save, -load and -delete as jobs on a qcow2 disk on QEMU ${version}, with progress and the monitor-blocked check`, { timeout: 240_000 }, async (t) => {
    const install: QemuInstall | undefined = await needQemuVersion(t, version);
    if (!install) return;
    if (!requireComponent(t, 'qemu-img', hasProgram('qemu-img'))) return;
    const dir = mkdtempSync(join(tmpdir(), 'qmig-mon-snap-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const disk = join(dir, 'disk.qcow2');
    const made = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '64M']);
    assert.equal(made.status, 0, made.stderr.toString());
    const q = await started(t, TestQemu.start({
      name: 'snap', dir, install,
      extraArgs: ['-blockdev', `driver=file,filename=${disk},node-name=file0`, '-blockdev', 'driver=qcow2,file=file0,node-name=disk0', '-device', 'virtio-blk-pci,drive=disk0'],
    }));
    const m = await monitor(t, q);
    assert.ok(m.version.startsWith(`${version}.`), m.version);
    const progress: JobInfo[] = [];
    const saved = await m.runJob('snapshot-save', { 'job-id': 'save0', tag: 'snap0', vmstate: 'disk0', devices: ['disk0'] }, (j) => progress.push(j));
    assert.equal(saved.status, 'concluded');
    assert.equal(saved.error, undefined);
    assert.ok(progress.length >= 1, 'progress reported');
    assert.equal(progress[progress.length - 1]?.['current-progress'], progress[progress.length - 1]?.['total-progress']);
    const save = m.timings.toArray().find((x) => x.command === 'snapshot-save');
    assert.ok(save && save.repliedAt >= save.sentAt, 'round-trip time recorded');
    const blocked = m.jobWarnings.some((w) => w.id === 'monitor-blocked');
    t.diagnostic(`snapshot-save replied in ${(save.repliedAt - save.sentAt).toFixed(1)} ms; monitor blocked: ${blocked}`);
    assert.deepEqual(m.jobs.filter((j) => j.id === 'save0'), [], 'the concluded job was dismissed');
    const info = spawnSync('qemu-img', ['snapshot', '-l', '-U', disk]).stdout.toString();
    assert.match(info, /snap0/);
    assert.equal((await m.runJob('snapshot-load', { 'job-id': 'load0', tag: 'snap0', vmstate: 'disk0', devices: ['disk0'] })).error, undefined);
    assert.equal((await m.runJob('snapshot-delete', { 'job-id': 'del0', tag: 'snap0', devices: ['disk0'] })).error, undefined);
    const failed = await m.runJob('snapshot-load', { 'job-id': 'load1', tag: 'no-such-snap', vmstate: 'disk0', devices: ['disk0'] });
    assert.match(failed.error ?? '', /snapshot|no-such-snap|not found/i);
  });
}

test('reconnects after QEMU restarts on the same socket', { timeout: 240_000 }, async (t) => {
  if (!needQemu(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'qmig-mon-rc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let q = await started(t, TestQemu.start({ name: 'q', dir }));
  const mgr = new ConnectionManager({ baseBackoffMs: 100, maxBackoffMs: 400 });
  t.after(() => mgr.dispose());
  const c = mgr.add({ id: 'q', label: 'q', role: 'none', address: q.socket });
  await until('connected', () => c.state.kind === 'connected');
  const kinds: string[] = [];
  c.onChange(() => kinds.push(c.state.kind));
  await q.stop(false);
  await until('waiting to reconnect', () => c.state.kind === 'waiting');
  assert.ok(c.state.kind === 'waiting' && c.state.error.length > 0);
  q = await started(t, TestQemu.start({ name: 'q', dir }));
  await until('reconnected', () => c.state.kind === 'connected', 30_000);
  assert.ok(kinds.includes('connecting'));
  assert.match(c.monitor?.version ?? '', /^7\.2\./);
});

test('a bad socket path and a QEMU that goes away mid-command give clear errors', async (t) => {
  if (!needQemu(t)) return;
  await assert.rejects(QmpClient.connect('/nonexistent/qmig/q.sock'), /ENOENT.*-qmp unix:PATH,server=on,wait=off/);
  const dir = mkdtempSync(join(tmpdir(), 'qmig-mon-bad-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(QmpClient.connect(dir), /socket|ENOTSOCK|EISDIR|ECONNREFUSED/i);
  const q = await started(t, TestQemu.start({ name: 'q' }));
  const m = await monitor(t, q);
  // `quit` makes QEMU close the connection; the command that follows it never gets a reply.
  const quit = m.execute('quit').catch((e: unknown) => e);
  const pending = m.execute('query-status');
  await assert.rejects(pending, /closed|connection/i);
  await quit;
});
