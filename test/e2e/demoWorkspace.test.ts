// The demo workspace as a first-time user meets it in code-server: the walkthrough and the demo's
// README open on start; settings, welcome texts and the Recordings view read properly; the
// vhost-user check from a trace and from the focused migration view; a mark of the view opened
// in its trace without squeezing the view, with the line's time on the view's axis.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { chromiumInstalled, codeServerInstalled, repoRoot, Workbench } from '../support/codeServer';
import { hasFile, requireComponent } from '../support/components';
import { findMark, openRow, viewFrame } from '../support/migrationViewFrame';

const demo = join(repoRoot, 'demo');

before(() => {
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

/** The counts of the status bar's problems item: errors, warnings and (when there are any) infos. */
async function problemCounts(wb: Workbench): Promise<number[]> {
  const text = await wb.page.locator('.statusbar-item[id="status.problems"]').innerText();
  return (text.match(/\d+/g) ?? []).map(Number);
}

test('the demo workspace in code-server: first start, settings, views, vhost-user check, marks', { timeout: 900_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  if (!requireComponent(t, 'the demo workspace', hasFile(join(demo, 'recordings', 'postcopy-vhost-user-bridge', 'scenario.json')))) return;

  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-demo-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const workspace = join(root, 'demo');
  await cp(demo, workspace, { recursive: true });
  const wb = await Workbench.launch({ viewport: { width: 1600, height: 1000 } });
  t.after(async () => {
    await wb.saveLogs('demo-workspace');
    await wb.close();
  });
  await wb.openWorkbench(workspace);
  const editor = wb.page.locator('.part.editor');

  await t.test('the walkthrough opens, the demo README in the tab beside it', async () => {
    await editor.locator('.tab', { hasText: 'Preview README.md' }).first().waitFor({ timeout: 60_000 });
    await editor.getByText('Get Started with QEMU Migration Workbench').first().waitFor({ timeout: 60_000 });
    for (const step of ['Open a recorded migration', 'Read the migration view', 'Run a lab scenario', 'Connect to a running QEMU', 'Check a vhost-user flow']) {
      await editor.getByText(step, { exact: true }).first().waitFor({ timeout: 30_000 });
    }
    // The first step's picture, a screenshot shipped in media/walkthrough, is shown.
    const picture = editor.locator('img[alt^="The Recordings view"]').first();
    await picture.waitFor({ timeout: 30_000 });
    await wb.page.waitForFunction((img) => img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0, await picture.elementHandle(), { timeout: 30_000 });
    await wb.screenshot('demo-first-start');
  });

  await t.test('settings read as the product names them', async () => {
    await wb.runCommand('Preferences: Open Settings (UI)');
    // The search box has the focus once the editor is up.
    await wb.page.locator('.settings-editor .suggest-input-container').first().waitFor({ timeout: 30_000 });
    await wb.page.locator('.settings-editor .suggest-input-container').first().click();
    await wb.page.keyboard.type('@ext:qemu-migration-workbench.qemu-migration-workbench');
    const titles = wb.page.locator('.settings-editor .setting-item-title');
    await titles.filter({ hasText: 'QEMU Migration: QEMU Source Folder' }).first().waitFor({ timeout: 30_000 });
    const shown = (await titles.allInnerTexts()).map((x) => x.replace(/\(Modified in .*\)$/, '').trim());
    assert.ok(shown.includes('QEMU Migration: Output Folder'), `titles: ${shown.join(' | ')}`);
    assert.deepEqual(shown.filter((x) => !x.startsWith('QEMU Migration: ') || /Qemu|Dir\b/.test(x)), [], 'every title reads "QEMU Migration: …", none spells QEMU as Qemu or says Dir');
    await wb.screenshot('demo-settings');
    await wb.runCommand('View: Close Editor');
    await wb.page.locator('.settings-editor').waitFor({ state: 'detached', timeout: 30_000 });
  });

  await t.test('the views: welcome texts without markup, trace files of a recording with the graph action', async () => {
    await wb.activityBarItem('QEMU Migration').click();
    await wb.setSideBarWidth(440);
    const welcome = wb.page.locator('.pane', { has: wb.page.locator('.pane-header', { hasText: 'Connections' }) }).locator('.welcome-view-content');
    await welcome.waitFor({ timeout: 30_000 });
    assert.doesNotMatch(await welcome.innerText(), /`/, 'no literal backticks');
    const rows = wb.viewRows('Recordings');
    await rows.filter({ hasText: /^postcopy-vhost-user-bridge/ }).first().click();
    const trace = rows.filter({ hasText: /^dst-trace\.log$/ }).first();
    await trace.waitFor({ timeout: 30_000 });
    await trace.hover();
    await trace.locator('a.action-label[aria-label="Open in Migration View"]').waitFor({ timeout: 10_000 });
    await wb.screenshot('demo-recording-trace-actions');
  });

  await t.test('Check vhost-user Flow on a trace: only real problems are marked, the spec version is said', async () => {
    const rows = wb.viewRows('Recordings');
    await rows.filter({ hasText: /^dst-trace\.log$/ }).first().click();
    await editor.locator('.tab.active', { hasText: 'dst-trace.log' }).waitFor({ timeout: 30_000 });
    await wb.runCommand('QEMU Migration: Check vhost-user Flow');
    const toast = await wb.waitForNotification(/vhost-user flow of dst-trace\.log/, 120_000);
    assert.match(toast, /1 violation, \d+ rules the qemu-trace cannot decide\. Checked against the QEMU 10\.2\.50 vhost-user spec \(built-in\), while the trace is from QEMU 10\.0/);
    // The back-end's death is the one problem; the rules the trace cannot decide are no squiggles.
    await wb.page.waitForTimeout(1000);
    assert.deepEqual(await problemCounts(wb), [1, 0], 'one error, no warnings, no infos');
    await wb.screenshot('demo-vhost-user-trace-checked');
    await wb.page.keyboard.press('Escape');
  });

  await t.test('Check vhost-user Flow with the migration view focused offers its traces', async () => {
    await wb.runCommand('View: Close All Editors');
    await openRow(wb, 'postcopy-vhost-user-bridge');
    const frame = viewFrame(wb);
    await frame.locator('[data-testid="packets-send"], [data-testid="faults"], .summary').first().waitFor({ timeout: 90_000 });
    await wb.runCommand('QEMU Migration: Check vhost-user Flow');
    const both = wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'postcopy-vhost-user-bridge: both sides' }).first();
    await both.waitFor({ timeout: 30_000 });
    const offered = (await wb.page.locator('.quick-input-list .monaco-list-row').allInnerTexts()).join('\n');
    assert.match(offered, /src-trace\.log\s*in the migration view/);
    assert.match(offered, /dst-trace\.log\s*in the migration view/);
    await wb.screenshot('demo-vhost-user-from-view');
    await both.click();
    const toast = await wb.waitForNotification(/vhost-user flows of postcopy-vhost-user-bridge/, 120_000);
    assert.match(toast, /src 0 violations, dst 1 violation \(backend-died\/postcopy-add-mem-reg-ack\)/);
    await editor.locator('.tab', { hasText: 'vhost-user: dst-trace.log' }).first().waitFor({ timeout: 30_000 });
    await wb.screenshot('demo-vhost-user-ladder');
  });

  await t.test('a mark opens its trace line in the view\'s own group, with its time and a way back', async () => {
    await wb.runCommand('View: Close All Editors');
    await openRow(wb, 'precopy-multifd');
    const frame = viewFrame(wb);
    await frame.locator('[data-testid="packets-send"]').waitFor({ timeout: 90_000 });
    assert.equal(await editor.locator('.editor-group-container').count(), 1);
    const lanes = frame.locator('details[data-panel="lanes"] canvas');
    const { x, line } = await findMark(frame, lanes, 31);
    await lanes.click({ position: { x, y: 31 } });
    await editor.locator('.tab.active', { hasText: 'src-trace.log' }).waitFor({ timeout: 30_000 });
    await wb.page.locator('.statusbar-item', { hasText: new RegExp(`Ln ${line}, Col 1`) }).first().waitFor({ timeout: 30_000 });
    assert.equal(await editor.locator('.editor-group-container').count(), 1, 'no split: the trace takes the view\'s place');
    // The line's time on the view's axis (marked after the line, and on hover over its prefix), and the way back above it.
    await editor.locator('.view-lines .view-line').filter({ hasText: /^\d+@\d+\.\d+:/ }).first().waitFor({ timeout: 30_000 });
    // The highlight is drawn a frame after the status bar names the line, and the editor draws
    // its overlays anew on each frame: its box is asked for until one frame has it.
    const current = editor.locator('.view-overlays .current-line').first();
    await current.waitFor({ state: 'visible', timeout: 30_000 });
    let box = await current.boundingBox();
    for (const until = Date.now() + 30_000; box === null && Date.now() < until; box = await current.boundingBox()) await wb.page.waitForTimeout(100);
    assert.ok(box, 'the opened line is the current line');
    await wb.page.mouse.move(box.x + 40, box.y + box.height / 2);
    await wb.page.locator('.monaco-hover', { hasText: /t = \d+\.\d{6} s on the migration view's time axis/ }).first().waitFor({ timeout: 30_000 });
    const back = editor.locator('.codelens-decoration a', { hasText: 'Back to the migration view' }).first();
    await back.waitFor({ timeout: 30_000 });
    await wb.screenshot('demo-mark-opened');
    await back.click();
    await frame.locator('[data-testid="packets-send"]').waitFor({ timeout: 60_000 });
    assert.equal(await editor.locator('.tab.active').innerText().then((s) => s.includes('precopy-multifd')), true, 'the view is back');
  });

  await t.test('with a second editor group, a mark opens there and the view keeps its width', async () => {
    await wb.runCommand('View: Close All Editors');
    const rows = wb.viewRows('Recordings');
    await rows.filter({ hasText: /^precopy-multifd/ }).first().click();
    await rows.filter({ hasText: /^scenario\.json$/ }).first().click();
    await editor.locator('.tab.active', { hasText: 'scenario.json' }).waitFor({ timeout: 30_000 });
    await wb.runCommand('View: Split Editor Right');
    await wb.runCommand('View: Focus First Editor Group');
    assert.equal(await editor.locator('.editor-group-container').count(), 2);
    await openRow(wb, 'precopy-multifd');
    const frame = viewFrame(wb);
    await frame.locator('[data-testid="packets-send"]').waitFor({ timeout: 90_000 });
    const lanes = frame.locator('details[data-panel="lanes"] canvas');
    const { x } = await findMark(frame, lanes, 31);
    await lanes.click({ position: { x, y: 31 } });
    const second = editor.locator('.editor-group-container').nth(1);
    await second.locator('.tab.active', { hasText: 'src-trace.log' }).waitFor({ timeout: 30_000 });
    assert.equal(await editor.locator('.editor-group-container').count(), 2, 'no third group');
    assert.match(await editor.locator('.editor-group-container').first().locator('.tab.active').innerText(), /precopy-multifd/, 'the view stays where it was');
    await wb.screenshot('demo-mark-beside');
  });

  if (existsSync(join(workspace, '.vscode', 'settings.json'))) t.diagnostic('the demo turns the walkthrough on in .vscode/settings.json');
});
