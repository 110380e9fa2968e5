// The Connections view and "Migrate Source → Destination" in a real VS Code (code-server),
// with two real QEMUs (the destination started with -incoming defer) on sockets in the workspace;
// and the view's schema-aware editing on a QEMU 10.0, which has what 7.2 lacks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { chromiumInstalled, codeServerInstalled, repoRoot, Workbench } from '../support/codeServer';
import { hasProgram, requireComponent } from '../support/components';
import { needQemu, qemuBin, TestQemu } from '../support/qemuPair';
import { buildGuest } from '../../src/core/lab/guest';
import { guestCommandLine } from '../../src/core/lab/guest';

before(() => {
  // Always rebuild: the test must run the extension as it is in the tree now.
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

/** code-server on the workspace with the Connections view open (Recordings collapsed, so the tree gets the height). */
async function connectionsView(t: TestContext, workspace: string, logName: string, sideBarWidth: number): Promise<Workbench> {
  const wb = await Workbench.launch();
  t.after(async () => {
    await wb.saveLogs(logName);
    await wb.close();
  });
  await wb.openWorkbench(workspace);
  await wb.showViewContainer('QEMU Migration');
  await wb.page.locator('.pane-header', { hasText: 'Connections' }).waitFor({ state: 'visible', timeout: 30_000 });
  await wb.setSideBarWidth(sideBarWidth);
  await wb.page.locator('.pane-header', { hasText: 'Recordings' }).click();
  return wb;
}

test('Connections view: connect source and destination, Migrate Source → Destination reaches completed', { timeout: 600_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  if (!requireComponent(t, 'qemu', hasProgram(qemuBin))) return;
  if (!requireComponent(t, 'nasm', hasProgram('nasm', ['-v']))) return;

  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-conn-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const workspace = join(root, 'ws');
  const sockets = join(workspace, 'qemu');
  await mkdir(sockets, { recursive: true });
  // The lab's dirtying guest (TCG: it does not run under the nested KVM here) keeps the
  // migration busy for a few seconds and several passes, so the view and the chart have a course to show.
  const kernel = join(root, 'guest.bin');
  await buildGuest('nasm', kernel);
  const guest = ['-kernel', kernel, '-append', guestCommandLine({ rateMiBps: 16, zeroSixteenths: 4, regionMiB: 64 })];
  const src = TestQemu.start({ name: 'src', dir: sockets, memoryMiB: 256, accelerators: ['tcg'], extraArgs: guest });
  t.after(() => src.stop());
  const dst = TestQemu.start({ name: 'dst', dir: sockets, memoryMiB: 256, accelerators: ['tcg'], incoming: true, extraArgs: guest });
  t.after(() => dst.stop());
  await Promise.all([src.ready(), dst.ready()]);

  const wb = await connectionsView(t, workspace, 'connections', 620);
  const rows = wb.viewRows('Connections');

  const input = wb.page.locator('.quick-input-widget input');
  const pickRows = wb.page.locator('.quick-input-list .monaco-list-row');
  // Connect offers the running QEMUs' own sockets first, read from their command lines.
  await wb.runCommand('QEMU Migration: Connect to QMP…');
  await pickRows.filter({ hasText: 'src.sock' }).first().waitFor({ timeout: 30_000 });
  await wb.screenshot('connections-connect-pick');
  const offered = await pickRows.allInnerTexts();
  assert.match(offered[0] ?? '', /^qmig-test-(src|dst) · QEMU pid \d+/, `the first offer is a running QEMU, named by its -name: ${offered.join(' | ')}`);
  assert.match(offered.find((o) => o.includes('dst.sock')) ?? '', /started with -incoming: a destination/);
  // The destination, started with -incoming, is connected as one without another question.
  await wb.pick('dst.sock');
  await rows.filter({ hasText: /^qmig-test-dst\s*destination · QEMU 7\.2\.\d+/ }).first().waitFor({ timeout: 60_000 });
  assert.equal(await input.isVisible(), false, 'no second step for a QEMU whose command line says its role');
  // With only a destination, the pair migration is not offered.
  await assert.rejects(wb.runCommand('QEMU Migration: Migrate Source → Destination', 8_000), /timed out/);
  await wb.page.keyboard.press('Escape');
  // A typed address is taken as it is: one box, then the role (source guessed from the name).
  await wb.runCommand('QEMU Migration: Connect to QMP…');
  await input.fill(`unix:${src.socket}`);
  await pickRows.filter({ hasText: 'the address typed' }).first().waitFor({ timeout: 30_000 });
  await wb.page.keyboard.press('Enter');
  await pickRows.filter({ hasText: 'the QEMU that sends' }).first().waitFor({ timeout: 30_000 });
  assert.match((await pickRows.first().innerText()), /^source/, 'the guessed role comes first');
  await wb.page.keyboard.press('Enter');
  await rows.filter({ hasText: /source · QEMU 7\.2\.\d+/ }).first().waitFor({ timeout: 60_000 });
  await wb.screenshot('connections-connected');
  const before = (await rows.allInnerTexts()).join('\n');
  assert.match(before, /source · QEMU 7\.2\.\d+ · running · migration none/);
  assert.match(before, /destination · QEMU 7\.2\.\d+ · inmigrate · migration none/);

  // Edit a parameter in place, with the schema's validation: 32 MiB/s keeps the migration a few seconds long.
  await wb.runCommand('QEMU Migration: Set Parameter…');
  await wb.pick('src');
  await input.fill('max-bandwidth');
  await wb.pick('max-bandwidth');
  await input.fill('-5');
  await wb.page.locator('.quick-input-widget', { hasText: /max-bandwidth must be/ }).waitFor({ timeout: 10_000 });
  await input.fill(String(32 * 1024 * 1024));
  await wb.page.keyboard.press('Enter');
  await rows.filter({ hasText: /^src/ }).first().waitFor();

  await wb.runCommand('QEMU Migration: Migrate Source → Destination');
  await input.waitFor({ state: 'visible' });
  for (const cap of ['multifd', 'events']) {
    await input.fill(cap);
    await wb.pick(cap);
  }
  await wb.page.keyboard.press('Enter');
  // The status bar follows the migration; a fast one may already be over when the page is read.
  await wb.page.locator('.statusbar-item', { hasText: /src: (active|setup|migration completed)/ }).first().waitFor({ timeout: 30_000 });
  await wb.screenshot('connections-migration-active');
  const done = await wb.waitForNotification(/Migration src → qmig-test-dst (completed|failed|cancelled)/, 120_000);
  assert.match(done, /Migration src → qmig-test-dst completed/);
  await rows.filter({ hasText: /source · QEMU 7\.2\.\d+ · postmigrate · migration completed/ }).first().waitFor({ timeout: 30_000 });
  await rows.filter({ hasText: /destination · QEMU 7\.2\.\d+ · running · migration completed/ }).first().waitFor({ timeout: 30_000 });
  const after = (await rows.allInnerTexts()).join('\n');
  assert.match(after, /status\s*completed/);
  assert.match(after, /transferred\s*[\d.]+ (KiB|MiB)/);
  assert.match(after, /passes \(dirty-sync-count\)\s*\d+/);
  await wb.screenshot('connections-migration-completed');

  // A capability toggled in place: its checkbox in the tree sends migrate-set-capabilities.
  // The Migration group is closed to make room.
  await wb.collapse(rows.filter({ hasText: /^Migration$/ }).first());
  const capabilities = rows.filter({ hasText: /^Capabilities$/ }).first();
  const xbzrle = rows.filter({ hasText: /^xbzrleoff$/ }).first();
  await wb.expand(capabilities, xbzrle);
  await xbzrle.locator('.custom-view-tree-node-item-checkbox').click();
  await rows.filter({ hasText: /^xbzrleon$/ }).first().waitFor({ timeout: 30_000 });

  // An HMP command, answered in the connection's output channel.
  await wb.runCommand('QEMU Migration: Send HMP Command…');
  await wb.pick('src');
  await input.fill('info status');
  await wb.page.keyboard.press('Enter');
  await wb.page.locator('.part.panel', { hasText: 'VM status: paused (postmigrate)' }).waitFor({ timeout: 30_000 });
  await wb.screenshot('connections-capability-and-hmp');

  await wb.runCommand('QEMU Migration: Open Live Chart');
  await wb.pick('src');
  const frame = await (async () => {
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      for (const f of wb.page.frames()) {
        if ((await f.locator('#chart').count().catch(() => 0)) > 0) return f;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error('the live chart webview did not appear');
  })();
  await frame.locator('h2', { hasText: 'Live migration: src' }).waitFor({ timeout: 30_000 });
  // The samples arrived as Float64Array columns and were drawn.
  await frame.locator('#chart[aria-label*=" samples"]').waitFor({ timeout: 30_000 });
  const described = (await frame.locator('#chart').getAttribute('aria-label')) ?? '';
  assert.match(described, /: [1-9]\d* samples, [1-9]\d* event markers$/, described);
  // Series under query-migrate's names, values in the unit their size calls for.
  assert.deepEqual((await frame.locator('.toggles label').allInnerTexts()).map((s) => s.trim()),
    ['transferred', 'remaining', 'mbps', 'dirty-pages-rate', 'pages-per-second', 'dirty-sync-count', 'postcopy-requests']);
  assert.match(described, /transferred \(last [\d.]+ (KiB|MiB|GiB)\), remaining \(last [\d.]+ (B|KiB|MiB|GiB)\), mbps \(last [\d.]+ [kMG]?bit\/s\), dirty-pages-rate \(last [\d,]+ pages\/s\)/, described);
  await new Promise((r) => setTimeout(r, 1000));
  await wb.screenshot('connections-live-chart');
});

test('Connections view on QEMU 10.0: the mode and zero-page-detection offered from its schema, and the checks they trigger', { timeout: 600_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  const install = await needQemu(t, '10.0');
  if (!install) return;

  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-conn10-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const workspace = join(root, 'ws');
  const sockets = join(workspace, 'qemu');
  await mkdir(sockets, { recursive: true });
  const q = TestQemu.start({ name: 'q10', dir: sockets, install, memoryMiB: 128, accelerators: ['tcg'] });
  t.after(() => q.stop());
  await q.ready();

  const wb = await connectionsView(t, workspace, 'connections-qemu10', 760);
  const rows = wb.viewRows('Connections');
  const input = wb.page.locator('.quick-input-widget input');

  await wb.runCommand('QEMU Migration: Connect to QMP…');
  await wb.pick('q10.sock');
  await wb.pick('source');
  await rows.filter({ hasText: /source · QEMU 10\.0\.\d+/ }).first().waitFor({ timeout: 60_000 });
  // 10.0 detects zero pages in the multifd threads by default; with multifd off the view says what
  // happens instead, as a note (nothing goes wrong): a closed "Notes" group, not a warning.
  const notes = rows.filter({ hasText: /^Notes$/ }).first();
  await notes.waitFor({ timeout: 30_000 });
  assert.equal(await rows.filter({ hasText: /^Warnings$/ }).count(), 0, 'no warnings on a QEMU 10.0 with its defaults');
  await wb.expand(notes, rows.filter({ hasText: /zero-page-detection is 'multifd' \(QEMU's default\) but the multifd capability is off/ }).first());

  // The mode: exactly the values this QEMU's schema has (no cpr-exec, a later QEMU's).
  await wb.runCommand('QEMU Migration: Set Migration Mode…');
  const modeRows = wb.page.locator('.quick-input-list .monaco-list-row');
  await modeRows.filter({ hasText: 'cpr-transfer' }).first().waitFor({ timeout: 30_000 });
  // Each row is a value; the current one is described as such.
  const offered = async (): Promise<string[]> => {
    const names = await modeRows.locator('.label-name:visible').allInnerTexts();
    const current = await modeRows.filter({ has: wb.page.locator('.label-description', { hasText: 'current' }) }).locator('.label-name:visible').allInnerTexts();
    return names.map((n) => (current.includes(n) ? `${n} (current)` : n));
  };
  assert.deepEqual(await offered(), ['normal (current)', 'cpr-reboot', 'cpr-transfer']);
  await wb.screenshot('connections-qemu10-modes');
  await wb.pick('cpr-reboot');
  // Guest RAM here is private memory: cpr-reboot would write all of it into the state file.
  await rows.filter({ hasText: /mode cpr-reboot keeps guest RAM in place only in a shared file/ }).first().waitFor({ timeout: 30_000 });
  await rows.filter({ hasText: /^Warnings$/ }).first().waitFor({ timeout: 30_000 });

  // zero-page-detection: an enum of this QEMU's values, picked rather than typed.
  await wb.runCommand('QEMU Migration: Set Parameter…');
  await input.fill('zero-page-detection');
  await wb.pick('zero-page-detection');
  await modeRows.filter({ hasText: 'legacy' }).first().waitFor({ timeout: 30_000 });
  assert.deepEqual(await offered(), ['none', 'legacy', 'multifd (current)']);
  await wb.pick('legacy');
  await rows.filter({ hasText: /zero-page-detection is 'multifd'/ }).first().waitFor({ state: 'detached', timeout: 30_000 });
  await wb.collapse(rows.filter({ hasText: /^Migration$/ }).first());
  await wb.expand(rows.filter({ hasText: /^Parameters$/ }).first(), rows.filter({ hasText: /^modecpr-reboot$/ }).first());
  await rows.filter({ hasText: /^zero-page-detectionlegacy$/ }).first().waitFor({ timeout: 30_000 });
  // Parameters in name order, each with its unit; the raw value stays in the tooltip and the edit box.
  const labels = await rows.locator('.label-name').allInnerTexts();
  const params = labels.slice(labels.indexOf('Parameters') + 1).filter((n) => /^[a-z]/.test(n));
  assert.ok(params.length >= 10, `parameters listed: ${params.join(', ')}`);
  assert.deepEqual(params, [...params].sort((a, b) => a.localeCompare(b)), 'parameters in name order');
  const bandwidth = rows.filter({ hasText: /^max-bandwidth128 MiB\/s$/ }).first();
  await bandwidth.waitFor({ timeout: 30_000 });
  await wb.screenshot('connections-qemu10-parameters');
  // A click edits it, starting from QEMU's own value.
  await bandwidth.click();
  await input.waitFor({ state: 'visible', timeout: 30_000 });
  assert.equal(await input.inputValue(), String(128 * 1024 * 1024));
  await wb.page.keyboard.press('Escape');
  await wb.page.mouse.wheel(0, 2000);
  await rows.filter({ hasText: /^xbzrle-cache-size64 MiB$/ }).first().waitFor({ timeout: 30_000 });
});
