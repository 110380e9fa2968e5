// The Connections view and "Migrate Source → Destination" in a real VS Code (code-server),
// with two real QEMUs (the destination started with -incoming defer) on sockets in the workspace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { chromiumInstalled, codeServerInstalled, repoRoot, Workbench } from '../support/codeServer';
import { hasProgram, requireComponent } from '../support/components';
import { qemuBin, TestQemu } from '../support/qemuPair';
import { buildGuest } from '../../src/core/lab/guest';
import { guestCommandLine } from '../../src/core/lab';

before(() => {
  // Always rebuild: the test must run the extension as it is in the tree now.
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

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

  const wb = await Workbench.launch();
  t.after(async () => {
    await wb.saveLogs('connections');
    await wb.close();
  });
  await wb.openWorkbench(workspace);
  const item = wb.activityBarItem('QEMU Migration');
  await item.waitFor({ state: 'visible', timeout: 30_000 });
  await item.click();
  await wb.page.locator('.pane-header', { hasText: 'Connections' }).waitFor({ state: 'visible', timeout: 30_000 });
  await wb.setSideBarWidth(620);
  // Collapse the Recordings view so the Connections tree gets the height.
  await wb.page.locator('.pane-header', { hasText: 'Recordings' }).click();
  const rows = wb.viewRows('Connections');

  for (const [sock, role] of [['src.sock', 'source'], ['dst.sock', 'destination']] as const) {
    await wb.runCommand('QEMU Migration: Connect to QMP…');
    await wb.pick(sock);
    await wb.page.locator('.quick-input-widget input').waitFor({ state: 'visible' });
    await wb.page.keyboard.press('Enter');
    await wb.pick(role);
    await rows.filter({ hasText: new RegExp(`${role} · QEMU 7\\.2\\.\\d+`) }).first().waitFor({ timeout: 60_000 });
  }
  await wb.screenshot('connections-connected');
  const before = (await rows.allInnerTexts()).join('\n');
  assert.match(before, /source · QEMU 7\.2\.\d+ · running · migration none/);
  assert.match(before, /destination · QEMU 7\.2\.\d+ · inmigrate · migration none/);

  // Edit a parameter in place, with the schema's validation: 32 MiB/s keeps the migration a few seconds long.
  const input = wb.page.locator('.quick-input-widget input');
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
  const done = await wb.waitForNotification(/Migration src → dst (completed|failed|cancelled)/, 120_000);
  assert.match(done, /Migration src → dst completed/);
  await rows.filter({ hasText: /source · QEMU 7\.2\.\d+ · postmigrate · migration completed/ }).first().waitFor({ timeout: 30_000 });
  await rows.filter({ hasText: /destination · QEMU 7\.2\.\d+ · running · migration completed/ }).first().waitFor({ timeout: 30_000 });
  const after = (await rows.allInnerTexts()).join('\n');
  assert.match(after, /status\s*completed/);
  assert.match(after, /transferred\s*[\d.]+ (KiB|MiB)/);
  assert.match(after, /passes \(dirty-sync-count\)\s*\d+/);
  await wb.screenshot('connections-migration-completed');

  // A capability toggled in place: its checkbox in the tree sends migrate-set-capabilities.
  await rows.filter({ hasText: /^Migration$/ }).first().click();
  await rows.filter({ hasText: /^Capabilities$/ }).first().click();
  const xbzrle = rows.filter({ hasText: /^xbzrleoff$/ }).first();
  await xbzrle.waitFor({ timeout: 30_000 });
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
  await new Promise((r) => setTimeout(r, 1000));
  await wb.screenshot('connections-live-chart');
});
