// The migration view in a real VS Code (code-server): a real lab recording opened from the
// Recordings view, its numbers against `qmig analyze`, zoom, click-through to the trace line,
// and a trace whose RAMBlock name is markup.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { FrameLocator, Locator } from 'playwright-core';
import { chromiumInstalled, codeServerInstalled, extensionBuilt, repoRoot, Workbench } from '../support/codeServer';
import { hasFile, requireComponent } from '../support/components';

const demo = join(repoRoot, 'demo', 'recordings');
const xssDir = join(repoRoot, 'test', 'e2e', 'fixtures', 'xss-ramblock');
const XSS = '<img src=x onerror=alert(1)>';

before(() => {
  if (extensionBuilt() && existsSync(join(repoRoot, 'dist', 'migrationView.js'))) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

interface AnalyzeJson { multifd: { send: { packets: number; normalPages: number | null }[] | null; recv: { packets: number }[] | null } }

function analyze(dir: string): AnalyzeJson {
  return JSON.parse(execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'analyze', dir, '--json'], { encoding: 'utf8' })) as AnalyzeJson;
}

/** The migration view's document inside VS Code's two webview iframes (the last one opened). */
function viewFrame(wb: Workbench): FrameLocator {
  return wb.page.frameLocator('iframe.webview.ready >> nth=-1').frameLocator('#active-frame');
}

async function statValue(frame: FrameLocator, id: string): Promise<string> {
  return (await frame.locator(`[data-testid="${id}"] .value`).innerText()).trim();
}

/** Opens a Recordings row in the migration view through its inline action. */
async function openRow(wb: Workbench, text: string): Promise<void> {
  const row = wb.viewRows('Recordings').filter({ hasText: text }).first();
  await row.waitFor({ timeout: 30_000 });
  await row.hover();
  await row.locator('a.action-label[aria-label="Open in Migration View"]').click();
}

/** Moves across a lane until the tooltip names a packet; returns the x and the line it names. */
async function findMark(frame: FrameLocator, canvas: Locator, y: number): Promise<{ x: number; line: number }> {
  const box = await canvas.boundingBox();
  assert.ok(box, 'the lanes canvas has a box');
  for (let x = 112; x < box.width - 2; x += 2) {
    await canvas.hover({ position: { x, y } });
    const tip = frame.locator('.tooltip.shown');
    if (await tip.count()) {
      const m = /opens (?:the first )?\(?line (\d+)/.exec(await tip.innerText());
      if (m) return { x, line: Number(m[1]) };
    }
  }
  throw new Error('no packet mark found along the first lane');
}

/** QEMU 7.2 multifd_send lines for packets [from, to), one per channel in turn, 10 ms apart. */
function liveLines(from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) {
    const t = (1795296000.1 + i * 0.01).toFixed(6);
    out += `500@${t}:multifd_send channel ${i % 2} packet_num ${i} normal pages 128 flags 0x0 next packet size 524288\n`;
  }
  return out;
}

test('migration view in code-server', { timeout: 600_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  if (!requireComponent(t, 'lab recording demo/recordings/precopy-multifd', hasFile(join(demo, 'precopy-multifd', 'scenario.json')))) return;

  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-migview-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const workspace = join(root, 'workspace');
  const recordings = join(workspace, 'recordings');
  await mkdir(recordings, { recursive: true });
  for (const name of ['precopy-multifd', 'postcopy']) {
    if (existsSync(join(demo, name))) await cp(join(demo, name), join(recordings, name), { recursive: true });
  }
  await cp(xssDir, join(workspace, 'xss'), { recursive: true });
  await mkdir(join(workspace, 'live'), { recursive: true });
  await writeFile(join(workspace, 'live', 'src-trace.log'), liveLines(0, 4));

  const wb = await Workbench.launch({ settings: { 'qemuMigration.recordingsDir': recordings }, viewport: { width: 1600, height: 1000 } });
  const dialogs: string[] = [];
  wb.page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  t.after(async () => {
    await wb.saveLogs('migration-view');
    await wb.close();
  });
  await wb.openWorkbench(workspace);
  const item = wb.activityBarItem('QEMU Migration');
  await item.waitFor({ state: 'visible', timeout: 30_000 });
  await item.click();
  await wb.setSideBarWidth(380);

  const expected = analyze(join(recordings, 'precopy-multifd'));
  const frame = viewFrame(wb);

  await t.test('a lab recording opens with source and destination together', async () => {
    await openRow(wb, 'precopy-multifd');
    await frame.locator('[data-testid="packets-send"]').waitFor({ timeout: 60_000 });
    const lanes = (expected.multifd.send?.length ?? 0) + (expected.multifd.recv?.length ?? 0);
    assert.ok(lanes > 0);
    assert.match(await frame.locator('details[data-panel="lanes"] > summary').innerText(), new RegExp(`\\(${lanes} lanes\\)`));
    assert.equal(await statValue(frame, 'channels-send'), String(expected.multifd.send!.length));
    await wb.screenshot('migration-view-precopy-multifd');
  });

  await t.test('the totals shown equal qmig analyze', async () => {
    const sum = (xs: { packets: number }[]): string => xs.reduce((n, c) => n + c.packets, 0).toLocaleString('en-US');
    assert.equal(await statValue(frame, 'packets-send'), sum(expected.multifd.send!));
    assert.equal(await statValue(frame, 'packets-recv'), sum(expected.multifd.recv!));
    const normal = expected.multifd.send!.reduce((n, c) => n + (c.normalPages ?? 0), 0).toLocaleString('en-US');
    assert.equal(await statValue(frame, 'normal-send'), normal);
    assert.equal(await statValue(frame, 'zero-send'), 'n/a', 'QEMU 7.2 does not trace zero pages');
  });

  await t.test('zooming changes the numbers', async () => {
    const before = await statValue(frame, 'packets-send');
    const lanes = frame.locator('details[data-panel="lanes"] canvas');
    await lanes.focus();
    for (let i = 0; i < 6; i++) await lanes.press('+');
    await wb.page.waitForTimeout(600);
    const after = await statValue(frame, 'packets-send');
    assert.notEqual(after, before);
    assert.ok(Number(after.replace(/,/g, '')) < Number(before.replace(/,/g, '')));
    assert.match(await frame.locator('.summary .range').innerText(), /visible/);
    await wb.screenshot('migration-view-zoomed');
    await lanes.dblclick({ position: { x: 400, y: 5 } });
    await wb.page.waitForTimeout(600);
    assert.equal(await statValue(frame, 'packets-send'), before, 'a double click resets');
  });

  await t.test('clicking a mark opens the trace at its line', async () => {
    const lanes = frame.locator('details[data-panel="lanes"] canvas');
    const { x, line } = await findMark(frame, lanes, 31);
    await lanes.click({ position: { x, y: 31 } });
    const tab = wb.page.locator('.tabs-container .tab.active', { hasText: 'src-trace.log' });
    await tab.waitFor({ timeout: 30_000 });
    await wb.page.locator('.statusbar-item', { hasText: new RegExp(`Ln ${line}, Col 1`) }).first().waitFor({ timeout: 30_000 });
    await wb.screenshot('migration-view-click-to-line');
  });

  if (existsSync(join(recordings, 'postcopy'))) {
    await t.test('a postcopy recording shows its faults', async () => {
      await openRow(wb, 'postcopy');
      await frame.locator('[data-testid="faults"]').waitFor({ timeout: 60_000 });
      assert.match(await frame.locator('details[data-panel="postcopy"] > summary').innerText(), /Postcopy faults \(\d+ requests/);
      await wb.screenshot('migration-view-postcopy');
    });
  }

  await t.test('a RAMBlock named as markup renders as text', async () => {
    await openRow(wb, 'dst-trace.log');
    const cell = frame.locator('[data-testid="faults-per-ramblock"] td').first();
    await cell.waitFor({ timeout: 60_000 });
    assert.equal(await cell.innerText(), XSS);
    assert.equal(await frame.locator('img').count(), 0, 'no <img> element came from the trace');
    assert.equal(await frame.locator('[onerror]').count(), 0, 'no element carries the onerror handler');
    assert.equal(await frame.locator('script', { hasText: 'alert' }).count(), 0, 'no script came from the trace');
    await frame.locator('details[data-panel="postcopy"] canvas').first().hover({ position: { x: 300, y: 40 } });
    assert.deepEqual(dialogs, [], 'no alert ran');
    await wb.screenshot('migration-view-xss-as-text');
  });

  await t.test('"QEMU Migration: Open Trace…" opens a chosen trace with its other side', async () => {
    await wb.runCommand('View: Close All Editors');
    await wb.runCommand('QEMU Migration: Open Trace…');
    const input = wb.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 30_000 });
    // code-server's simple file dialog fills in its start folder asynchronously: wait for its
    // listing before typing the path, then accept.
    await wb.page.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout: 30_000 });
    await wb.page.waitForTimeout(500);
    await input.fill(join(recordings, 'postcopy', 'dst-trace.log'));
    await wb.page.waitForTimeout(800);
    await input.press('Enter');
    if (await input.isVisible()) { await wb.page.waitForTimeout(800); if (await input.isVisible()) await input.press('Enter'); }
    try {
      await frame.locator('[data-testid="faults"]').waitFor({ timeout: 60_000 });
    } finally {
      await wb.screenshot('migration-view-open-trace');
    }
    assert.match(await wb.page.locator('.tabs-container .tab.active').innerText(), /dst-trace\.log \+ src-trace\.log/);
  });

  await t.test('"Open With… QEMU Migration Trace" shows a trace file in the view', async () => {
    await wb.runCommand('View: Close All Editors');
    await wb.page.keyboard.press('Control+P');
    await wb.page.locator('.quick-input-widget input').fill('xss/dst-trace.log');
    await wb.pick('dst-trace.log');
    await wb.page.locator('.tabs-container .tab.active', { hasText: 'dst-trace.log' }).waitFor({ timeout: 30_000 });
    await wb.runCommand('View: Reopen Editor With...');
    await wb.pick('QEMU Migration Trace');
    await frame.locator('[data-testid="faults-per-ramblock"] td').first().waitFor({ timeout: 60_000 });
    await wb.screenshot('migration-view-open-with');
  });

  await t.test('follow mode shows lines appended to a growing trace within a second', async () => {
    await openRow(wb, 'src-trace.log');
    await frame.locator('[data-testid="packets-send"]').waitFor({ timeout: 60_000 });
    assert.equal(await statValue(frame, 'packets-send'), '4');
    await frame.locator('.toolbar input[type="checkbox"]').check();
    await frame.locator('.status', { hasText: 'following' }).waitFor({ timeout: 10_000 });
    await appendFile(join(workspace, 'live', 'src-trace.log'), liveLines(4, 10));
    const t0 = Date.now();
    await frame.locator('[data-testid="packets-send"] .value', { hasText: /^10$/ }).waitFor({ timeout: 5_000 });
    const ms = Date.now() - t0;
    t.diagnostic(`appended packets shown after ${ms} ms`);
    assert.ok(ms < 1000, `the view updated after ${ms} ms`);
  });

  for (const [theme, name] of [['Dark Modern', 'dark'], ['Dark High Contrast', 'high-contrast'], ['Light High Contrast', 'light-high-contrast']] as const) {
    await t.test(`looks right in the ${name} theme`, async () => {
      await wb.runCommand('View: Close All Editors');
      await wb.runCommand('Preferences: Color Theme');
      await wb.page.locator('.quick-input-widget input').fill(theme);
      await wb.pick(theme);
      await openRow(wb, 'postcopy');
      await frame.locator('[data-testid="faults"]').waitFor({ timeout: 60_000 });
      await wb.page.waitForTimeout(500);
      await wb.screenshot(`migration-view-postcopy-${name}`);
      await wb.runCommand('View: Close All Editors');
      await openRow(wb, 'precopy-multifd');
      await frame.locator('[data-testid="packets-send"]').waitFor({ timeout: 60_000 });
      await wb.page.waitForTimeout(1500);
      await wb.screenshot(`migration-view-${name}`);
    });
  }
});
