// The migration view in a real VS Code (code-server): a real lab recording opened from the
// Recordings view, its numbers against `qmig analyze`, zoom, click-through to the trace line,
// and a trace whose RAMBlock name is markup.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { chromiumInstalled, codeServerInstalled, extensionBuilt, repoRoot, Workbench } from '../support/codeServer';
import { hasFile, requireComponent } from '../support/components';
import { findMark, openRow, readTheme, statValue, viewFrame } from '../support/migrationViewFrame';
import { waitFor } from '../support/processes';

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

  const wb = await Workbench.launch({ settings: { 'QEMUMigration.outputFolder': recordings }, viewport: { width: 1600, height: 1300 } });
  const dialogs: string[] = [];
  wb.page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  t.after(async () => {
    await wb.saveLogs('migration-view');
    await wb.close();
  });
  await wb.openWorkbench(workspace);
  await wb.showViewContainer('QEMU Migration', 380);

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
    // The editor's tab (the view's own tab names src-trace.log too).
    const tab = wb.page.locator('.tabs-container .tab.active[data-resource-name="src-trace.log"]');
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
    const cell = frame.locator('[data-testid="faults-per-ramblock"] td').first();
    // The panel may still show the previous recording's table (the postcopy run's `pc.ram`):
    // wait for the cell to change before reading it.
    const previous = (await cell.count()) > 0 ? await cell.innerText() : undefined;
    await openRow(wb, 'dst-trace.log');
    await waitFor('the RAMBlock table of dst-trace.log', 60_000, async () =>
      (await cell.count()) > 0 && (await cell.innerText()) !== previous ? true : undefined, 250);
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

  // Each theme: the view takes the theme's background (dark or light), its figures are readable
  // on it (WCAG contrast 4.5 or more), and the charts draw marks that stand out from it.
  for (const [theme, name, light] of [['Dark Modern', 'dark', false], ['Dark High Contrast', 'high-contrast', false], ['Light High Contrast', 'light-high-contrast', true]] as const) {
    await t.test(`looks right in the ${name} theme`, async () => {
      await wb.runCommand('View: Close All Editors');
      await wb.runCommand('Preferences: Color Theme');
      await wb.page.locator('.quick-input-widget input').fill(theme);
      await wb.pick(theme);
      await openRow(wb, 'postcopy');
      await frame.locator('[data-testid="faults"]').waitFor({ timeout: 60_000 });
      await wb.page.waitForTimeout(500);
      const postcopy = await readTheme(frame, 'faults', 'details[data-panel="postcopy"] canvas');
      await wb.screenshot(`migration-view-postcopy-${name}`);
      await wb.runCommand('View: Close All Editors');
      await openRow(wb, 'precopy-multifd');
      await frame.locator('[data-testid="packets-send"]').waitFor({ timeout: 60_000 });
      await wb.page.waitForTimeout(1500);
      const lanes = await readTheme(frame, 'packets-send', 'details[data-panel="lanes"] canvas');
      await wb.screenshot(`migration-view-${name}`);
      t.diagnostic(`${name}: postcopy ${JSON.stringify(postcopy)}, lanes ${JSON.stringify(lanes)}`);
      for (const [what, r] of [['postcopy', postcopy], ['lanes', lanes]] as const) {
        if (light) assert.ok(r.backgroundLuminance > 0.8, `${what}: a light background in ${theme} (${r.backgroundLuminance})`);
        else assert.ok(r.backgroundLuminance < 0.05, `${what}: a dark background in ${theme} (${r.backgroundLuminance})`);
        assert.ok(r.textContrast >= 4.5, `${what}: figures readable in ${theme} (contrast ${r.textContrast.toFixed(2)})`);
        assert.ok(r.visiblePixels > 500, `${what}: the chart's marks stand out in ${theme} (${r.visiblePixels} pixels)`);
      }
    });
  }
});
