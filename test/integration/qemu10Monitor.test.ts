// The monitor's feature detection and checks against a real QEMU 10.0.2 monitor (and 7.2 where
// the two differ): everything src/core/monitor's unit tests check on the hand-written "newer"
// schema (testdata/minimal-newer-migration-schema.json) is checked here on the real thing.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hasProgram, requireComponent } from '../support/components';
import { needQemu, monitor, started, TestQemu } from '../support/qemuPair';
import { QmpError } from '../../src/core/qmp/errors';
import { QmpSchema } from '../../src/core/qmp/schema';
import type { QemuInstall } from '../../src/core/qemu/installs';
import { MigrationMonitor } from '../../src/core/monitor/monitor';
import { detectFeatures, missingFeatures } from '../../src/core/monitor/features';
import { PairError, runPairedMigration, setCapabilities, setParameters, startIncoming, startMigration, waitForStatus } from '../../src/core/migration/actions';
import { buildGuest } from '../../src/core/lab/guest';
import { guestCommandLine } from '../../src/core/lab/guest';

const repoRoot = resolve(__dirname, '..', '..');
const newerSchema = QmpSchema.fromReply(JSON.parse(readFileSync(join(repoRoot, 'src/core/monitor/testdata/minimal-newer-migration-schema.json'), 'utf8')));

function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function qemuMonitor(t: TestContext, install: QemuInstall, name: string, extraArgs: string[] = [], opts: { incoming?: boolean; machine?: string } = {}): Promise<MigrationMonitor> {
  const q = await started(t, TestQemu.start({ name, install, memoryMiB: 128, accelerators: ['tcg'], extraArgs, ...opts }));
  return monitor(t, q, opts.incoming ? 'destination' : 'source');
}

const ids = (m: MigrationMonitor): string[] => m.warnings().map((w) => w.id);

test('feature detection on a real QEMU 10.0 agrees with the hand-written newer schema; 7.2 has none of it', async (t) => {
  const q10 = await needQemu(t, '10.0');
  const q72 = await needQemu(t, '7.2');
  if (!q10 || !q72) return;
  const m = await qemuMonitor(t, q10, 'fd10');
  assert.match(m.version, /^10\.0\./);
  const f = m.features;
  const hand = detectFeatures(newerSchema);
  assert.deepEqual(f.zeroPageDetection, hand.zeroPageDetection, 'none, legacy, multifd as written by hand');
  assert.deepEqual(f.zeroPageDetection, ['none', 'legacy', 'multifd']);
  assert.deepEqual(f.parameters.find((p) => p.name === 'zero-page-detection'), { name: 'zero-page-detection', kind: 'enum', values: ['none', 'legacy', 'multifd'] });
  // 10.0 has two CPR modes; the hand-written schema also lists cpr-exec (a later QEMU's).
  assert.deepEqual(f.modes, ['normal', 'cpr-reboot', 'cpr-transfer']);
  assert.ok(f.modes.every((mode) => hand.modes.includes(mode)));
  assert.equal(f.migrationThreads, true);
  assert.equal(hand.migrationThreads, true);
  assert.ok(f.commands.has('query-memdev'));
  assert.ok(f.oobCommands.has('migrate-pause') && f.oobCommands.has('migrate-recover'));
  assert.equal(m.parameters['zero-page-detection'], 'multifd', "10.0's default");
  assert.equal(m.parameters['mode'], 'normal');

  // The mode is offered only where the schema has it, and only the values it has.
  assert.deepEqual(missingFeatures(f, {}, { mode: 'cpr-reboot' }), []);
  assert.deepEqual(missingFeatures(f, {}, { mode: 'cpr-exec' }), ['no mode "cpr-exec" (it offers normal, cpr-reboot, cpr-transfer)']);
  const old = await qemuMonitor(t, q72, 'fd72');
  assert.match(old.version, /^7\.2\./);
  assert.deepEqual(old.features.modes, []);
  assert.deepEqual(old.features.zeroPageDetection, []);
  assert.equal(old.features.migrationThreads, false);
  assert.deepEqual(missingFeatures(old.features, {}, { mode: 'cpr-reboot' }), ["no migration parameter 'mode'"]);
  assert.equal(old.parameters['mode'], undefined);
  // Both QEMUs refuse what they do not offer, in their own words.
  await assert.rejects(setParameters(m, { mode: 'cpr-exec' }), (e: unknown) => e instanceof QmpError && /cpr-exec/.test(e.message));
  await assert.rejects(setParameters(old, { mode: 'cpr-reboot' }), (e: unknown) => e instanceof QmpError && /mode/.test(e.message));
});

test('zero-page-detection=multifd without multifd is flagged on a real 10.0 monitor, and cleared by multifd', async (t) => {
  const q10 = await needQemu(t, '10.0');
  if (!q10) return;
  const m = await qemuMonitor(t, q10, 'zp');
  assert.equal(m.parameters['zero-page-detection'], 'multifd');
  assert.equal(m.capabilities['multifd'], false);
  assert.deepEqual(ids(m), ['zero-page-detection-multifd']);
  await setCapabilities(m, { multifd: true });
  await m.refresh();
  assert.deepEqual(ids(m), []);
  await setCapabilities(m, { multifd: false });
  await setParameters(m, { 'zero-page-detection': 'legacy' });
  await m.refresh();
  assert.equal(m.parameters['zero-page-detection'], 'legacy');
  assert.deepEqual(ids(m), []);
});

test('postcopy-ram with multifd: QEMU 10.0 refuses the pair (8.1+), 7.2 accepts it', async (t) => {
  const q10 = await needQemu(t, '10.0');
  const q72 = await needQemu(t, '7.2');
  if (!q10 || !q72) return;
  const m10 = await qemuMonitor(t, q10, 'pm10');
  await assert.rejects(setCapabilities(m10, { 'postcopy-ram': true, multifd: true }), (e: unknown) => {
    assert.ok(e instanceof QmpError);
    assert.match(e.message, /Postcopy is not yet compatible with multifd/);
    return true;
  });
  await m10.refresh();
  assert.deepEqual([m10.capabilities['postcopy-ram'], m10.capabilities['multifd']], [false, false], 'nothing was changed');
  const m72 = await qemuMonitor(t, q72, 'pm72');
  await setCapabilities(m72, { 'postcopy-ram': true, multifd: true });
  await m72.refresh();
  assert.deepEqual([m72.capabilities['postcopy-ram'], m72.capabilities['multifd']], [true, true]);
});

test('one-sided capabilities: postcopy on one 10.0 only, and a capability only 10.0 has against a 7.2 source', async (t) => {
  const q10 = await needQemu(t, '10.0');
  const q72 = await needQemu(t, '7.2');
  if (!q10 || !q72) return;
  const src = await qemuMonitor(t, q10, 'os-src');
  const dst = await qemuMonitor(t, q10, 'os-dst', [], { incoming: true });
  await setCapabilities(src, { 'postcopy-ram': true });
  await assert.rejects(runPairedMigration(src, dst, {}), (e: unknown) => e instanceof PairError && /postcopy-ram is on on the source but off on the destination/.test(e.message));
  assert.equal((await src.execute<{ status?: string }>('query-migrate')).status, undefined, 'nothing started');

  // 7.2 → 10.0 on a machine type both know: mapped-ram (9.0+) exists on one side only.
  const old = await qemuMonitor(t, q72, 'os-old', [], { machine: 'pc-i440fx-7.2' });
  const newer = await qemuMonitor(t, q10, 'os-new', [], { incoming: true, machine: 'pc-i440fx-7.2' });
  assert.ok(newer.features.capabilities.includes('mapped-ram') && !old.features.capabilities.includes('mapped-ram'));
  await assert.rejects(
    runPairedMigration(old, newer, { capabilities: { 'mapped-ram': true } }),
    (e: unknown) => e instanceof PairError && /the source QEMU has no migration capability 'mapped-ram'/.test(e.message) && !/destination/.test(e.message),
  );
  await assert.rejects(runPairedMigration(old, newer, { parameters: { 'zero-page-detection': 'multifd' } }), /the source QEMU has no migration parameter 'zero-page-detection'/);
  // What both have migrates: multifd from 7.2 to 10.0.
  const r = await runPairedMigration(old, newer, { capabilities: { multifd: true }, parameters: { 'multifd-channels': 2 }, timeoutMs: 60_000 });
  assert.equal(r.status, 'completed', JSON.stringify(r.source));
  assert.equal(r.destination?.status, 'completed');
});

test('threads are read while a migration is active on a real 10.0 (query-migrationthreads)', async (t) => {
  const q10 = await needQemu(t, '10.0');
  if (!q10 || !requireComponent(t, 'nasm', hasProgram('nasm', ['-v']))) return;
  const dir = tempDir(t, 'qmig-q10-thr-');
  const kernel = join(dir, 'guest.bin');
  await buildGuest('nasm', kernel);
  const guest = ['-kernel', kernel, '-append', guestCommandLine({ rateMiBps: 32, zeroSixteenths: 4, regionMiB: 16 })];
  const ms = await monitor(t, await started(t, TestQemu.start({ name: 'src', install: q10, memoryMiB: 256, accelerators: ['tcg'], extraArgs: guest })), 'source');
  const md = await monitor(t, await started(t, TestQemu.start({ name: 'dst', install: q10, memoryMiB: 256, accelerators: ['tcg'], incoming: true, extraArgs: guest })), 'destination');
  for (const m of [ms, md]) {
    await setCapabilities(m, { multifd: true });
    await setParameters(m, { 'multifd-channels': 2, 'max-bandwidth': 16 * 1024 * 1024 });
  }
  assert.equal(ms.threads.length, 0, 'no migration threads before migrating');
  const uri = `unix:${join(dir, 'migration.sock')}`;
  await startIncoming(md, uri);
  await startMigration(ms, uri);
  const end = Date.now() + 30_000;
  while (!ms.threads.some((x) => x.kind === 'send') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  t.diagnostic(`threads: ${ms.threads.map((x) => `${x.name}=${x.kind}${x.channel ?? ''}`).join(', ')}`);
  assert.ok(ms.threads.some((x) => x.kind === 'main'), 'the migration thread');
  assert.deepEqual(ms.threads.filter((x) => x.kind === 'send').map((x) => x.channel).sort(), [0, 1], 'one send thread per channel');
  assert.equal((await waitForStatus(ms, ['completed'], { timeoutMs: 60_000 })).status, 'completed');
});

test('CPR preconditions on a real 10.0: RAM in place only from a shared file, aux-ram-share and shared backends for cpr-transfer, no postcopy', async (t) => {
  const q10 = await needQemu(t, '10.0');
  if (!q10) return;
  const dir = tempDir(t, 'qmig-q10-cpr-');

  // Private RAM: cpr-reboot works but writes all of it into the state file; cpr-transfer is refused.
  const plain = await qemuMonitor(t, q10, 'cpr-plain');
  assert.deepEqual(plain.memdevs?.map((d) => [d.id, d.share, d.backend]), [['pc.ram', false, 'memory-backend-ram']], 'the default guest RAM, as QEMU lists it');
  assert.deepEqual(plain.machine, { auxRamShare: false });
  await setParameters(plain, { mode: 'cpr-reboot' });
  await plain.refresh();
  assert.deepEqual(ids(plain), ['zero-page-detection-multifd', 'cpr-reboot-copies-ram']);
  await setParameters(plain, { mode: 'cpr-transfer' });
  await plain.refresh();
  assert.deepEqual(ids(plain), ['zero-page-detection-multifd', 'cpr-shared-memory', 'cpr-transfer-aux-ram-share']);
  assert.match(plain.warnings().find((w) => w.id === 'cpr-shared-memory')?.message ?? '', /memory backend pc\.ram needs share=on/);
  // QEMU agrees: its migration blocker names the RAM that is not shareable.
  const unix = (path: string): Record<string, string> => ({ transport: 'socket', type: 'unix', path });
  await assert.rejects(
    plain.execute('migrate', { channels: [{ 'channel-type': 'main', addr: unix(join(dir, 'm.sock')) }, { 'channel-type': 'cpr', addr: unix(join(dir, 'c.sock')) }] }),
    (e: unknown) => e instanceof QmpError && /Memory region \S+ is not compatible with CPR.*aux-ram-share=on/s.test(e.message),
  );

  // A memfd is shared but not a named file: cpr-reboot still copies it (QEMU 10.0 keeps only file-backed RAM in place).
  const memfd = await qemuMonitor(t, q10, 'cpr-memfd', ['-object', 'memory-backend-memfd,id=ram0,size=128M,share=on', '-M', 'pc,memory-backend=ram0,aux-ram-share=on']);
  assert.deepEqual(memfd.memdevs?.map((d) => [d.id, d.share, d.backend]), [['ram0', true, 'memory-backend-memfd']]);
  await setCapabilities(memfd, { 'x-ignore-shared': true });
  await setParameters(memfd, { mode: 'cpr-reboot', 'zero-page-detection': 'legacy' });
  await memfd.refresh();
  assert.deepEqual(ids(memfd), ['cpr-reboot-copies-ram']);
  await setParameters(memfd, { mode: 'cpr-transfer' });
  await memfd.refresh();
  assert.deepEqual(ids(memfd), [], 'cpr-transfer: shared backend and aux-ram-share=on');

  // A shared file with x-ignore-shared: nothing to say; postcopy with a CPR mode is.
  const file = await qemuMonitor(t, q10, 'cpr-file', [
    '-object', `memory-backend-file,id=ram0,size=128M,mem-path=${join(dir, 'ram')},share=on`, '-M', 'pc,memory-backend=ram0',
  ]);
  assert.deepEqual(file.memdevs?.map((d) => [d.id, d.share, d.backend]), [['ram0', true, 'memory-backend-file']]);
  await setParameters(file, { mode: 'cpr-reboot', 'zero-page-detection': 'legacy' });
  await file.refresh();
  assert.deepEqual(ids(file), ['cpr-reboot-ignore-shared']);
  await setCapabilities(file, { 'x-ignore-shared': true });
  await file.refresh();
  assert.deepEqual(ids(file), []);
  // QEMU refuses postcopy with x-ignore-shared itself; without it the check names the CPR rule.
  await assert.rejects(setCapabilities(file, { 'postcopy-ram': true }), /Postcopy is not compatible with ignore-shared/);
  await setCapabilities(file, { 'x-ignore-shared': false });
  await setCapabilities(file, { 'postcopy-ram': true });
  await file.refresh();
  assert.deepEqual(ids(file), ['cpr-postcopy', 'cpr-reboot-ignore-shared']);
});
