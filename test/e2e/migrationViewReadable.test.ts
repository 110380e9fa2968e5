// The migration view as a new user reads it, in a real VS Code (code-server) at the default
// window size, on the demo's QEMU 7.2 recordings: the wheel scrolls the page and Ctrl+wheel (or
// the wheel over a focused chart) zooms, within the data; every time, rate and size is in the
// unit its size calls for, the selection in the axis's unit; tooltips say what a sync round's
// steps and a packet's flags mean; nothing is cut at the view's edge; a run without vhost-user
// shows no empty shared-pages table; the legend's colours tell a slow fault from a back-end's wake-up.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { FrameLocator, Locator } from 'playwright-core';
import { chromiumInstalled, codeServerInstalled, extensionBuilt, repoRoot, Workbench } from '../support/codeServer';
import { hasFile, requireComponent } from '../support/components';
import { statValue, viewFrame } from '../support/migrationViewFrame';

const demo = join(repoRoot, 'demo', 'recordings');

before(() => {
  if (extensionBuilt() && existsSync(join(repoRoot, 'dist', 'migrationView.js'))) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

/** Opens the Recordings row named exactly `name` (not one it is the prefix of) in the migration view. */
async function open(wb: Workbench, frame: FrameLocator, name: string): Promise<void> {
  await wb.runCommand('View: Close All Editors');
  const row = wb.viewRows('Recordings').filter({ hasText: new RegExp(`^\\s*${name}(?!-)`) }).first();
  await row.waitFor({ timeout: 30_000 });
  await row.hover();
  await row.locator('a.action-label[aria-label="Open in Migration View"]').click();
  await frame.locator('.summary .range').waitFor({ timeout: 120_000 });
  await wb.page.waitForTimeout(800);
}

const range = async (frame: FrameLocator): Promise<string> => (await frame.locator('.summary .range').innerText()).trim();
const scrollTop = (frame: FrameLocator): Promise<number> => frame.locator('body').evaluate(() => document.scrollingElement?.scrollTop ?? 0);
/** The seconds of "visible 0.000 s – 2.693 s (2.69 s)". */
function seconds(text: string): [number, number] {
  const m = /(−?[\d.]+) s – (−?[\d.]+) s/.exec(text);
  assert.ok(m, `a range in seconds: ${text}`);
  return [Number(m[1]!.replace('−', '-')), Number(m[2]!.replace('−', '-'))];
}

/** Moves along y over a canvas until the tooltip matches; returns its text. */
async function tooltipAlong(frame: FrameLocator, canvas: Locator, y: number, pattern: RegExp): Promise<string> {
  const box = await canvas.boundingBox();
  assert.ok(box);
  for (let x = 112; x < box.width - 2; x += 2) {
    await canvas.hover({ position: { x, y } });
    const tip = frame.locator('.tooltip.shown');
    if (await tip.count()) {
      const text = await tip.innerText();
      if (pattern.test(text)) return text;
    }
  }
  throw new Error(`no tooltip matching ${String(pattern)} along y=${y}`);
}

test('migration view readable at the default size in code-server', { timeout: 600_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  for (const name of ['precopy-multifd', 'postcopy', 'postcopy-vhost-user']) {
    if (!requireComponent(t, `lab recording demo/recordings/${name}`, hasFile(join(demo, name, 'scenario.json')))) return;
  }
  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-readable-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const recordings = join(root, 'demo', 'recordings');
  await mkdir(recordings, { recursive: true });
  for (const name of ['precopy-multifd', 'postcopy', 'postcopy-vhost-user']) await cp(join(demo, name), join(recordings, name), { recursive: true });

  const wb = await Workbench.launch({ settings: { 'QEMUMigration.outputFolder': recordings } });
  t.after(async () => {
    await wb.saveLogs('migration-view-readable');
    await wb.close();
  });
  await wb.openWorkbench(join(root, 'demo'));
  await wb.activityBarItem('QEMU Migration').click();
  const frame = viewFrame(wb);
  const lanes = frame.locator('details[data-panel="lanes"] canvas');

  await t.test('the view starts at 0; the wheel scrolls the page, Ctrl+wheel zooms, within the data', async () => {
    await open(wb, frame, 'precopy-multifd');
    const first = await range(frame);
    assert.match(first, /^visible 0\.000 s – 2\.\d{3} s \(2\.\d+ s\)$/, 'from the first trace line, not before it');
    const box = (await lanes.boundingBox())!;
    await wb.page.mouse.move(box.x + box.width / 2, box.y + 30);
    await wb.page.mouse.wheel(0, 300);
    await wb.page.waitForTimeout(600);
    assert.ok(await scrollTop(frame) > 0, 'the plain wheel scrolled the page');
    assert.equal(await range(frame), first, 'and zoomed nothing');
    await wb.screenshot('readable-wheel-scrolls');

    const now = (await lanes.boundingBox())!;
    await wb.page.mouse.move(now.x + now.width / 2, now.y + 30);
    await wb.page.keyboard.down('Control');
    await wb.page.mouse.wheel(0, -400);
    await wb.page.keyboard.up('Control');
    await wb.page.waitForTimeout(600);
    const [a, b] = seconds(await range(frame));
    const [a0, b0] = seconds(first);
    assert.ok(b - a < (b0 - a0) * 0.75, `Ctrl+wheel zoomed in: ${await range(frame)}`);

    // Zooming out as far as it goes ends at the traces' span (2.719 s), never before 0.
    await wb.page.keyboard.down('Control');
    for (let i = 0; i < 12; i++) await wb.page.mouse.wheel(0, 2000);
    await wb.page.keyboard.up('Control');
    await wb.page.waitForTimeout(600);
    assert.match(await range(frame), /^visible 0\.000 s – 2\.719 s \(2\.72 s\)$/);
    await lanes.dblclick({ position: { x: 400, y: 5 } });
    await wb.page.waitForTimeout(600);

    // A focused chart zooms with the plain wheel.
    await lanes.focus();
    const f = (await lanes.boundingBox())!;
    await wb.page.mouse.move(f.x + f.width / 2, f.y + 30);
    await wb.page.mouse.wheel(0, -400);
    await wb.page.waitForTimeout(600);
    assert.notEqual(await range(frame), first, 'the focused chart zoomed');
    await wb.screenshot('readable-zoomed');
    await lanes.dblclick({ position: { x: 400, y: 5 } });
    await wb.page.waitForTimeout(600);
  });

  await t.test('times in their unit; a selection in the axis\'s unit', async () => {
    const cellsText = (await frame.locator('table.balance td').allInnerTexts()).join('\n');
    assert.doesNotMatch(cellsText, /\d{5,} µs/, 'no long times left in µs');
    assert.match(cellsText, /\n1\d\.\d ms\n/, 'the p95 transit of 12.4 ms is written in ms');
    const box = (await lanes.boundingBox())!;
    await wb.page.keyboard.down('Shift');
    await wb.page.mouse.move(box.x + 400, box.y + 40);
    await wb.page.mouse.down();
    await wb.page.mouse.move(box.x + 480, box.y + 40, { steps: 5 });
    await wb.page.mouse.up();
    await wb.page.keyboard.up('Shift');
    await wb.page.waitForTimeout(600);
    assert.match(await range(frame), /^selection \d\.\d{3} s – \d\.\d{3} s \(\d+(\.\d+)? ms\)$/);
    await frame.locator('.toolbar button', { hasText: 'Clear selection' }).click();
  });

  await t.test('throughput in MiB/s per 100 ms beside max-bandwidth', async () => {
    const canvas = frame.locator('details[data-panel="throughput"] canvas');
    await canvas.scrollIntoViewIfNeeded();
    const tip = await tooltipAlong(frame, canvas, 120, /: [1-9]\d* packets\n/);
    assert.match(tip, /^\d\.\d+ s – \d\.\d+ s: [1-9]\d* packets\n[\d.]+ (KiB|MiB) as multifd-bytes counts them: [\d.]+ (KiB|MiB)\/s \(max-bandwidth 32 MiB\/s\)/);
    await wb.screenshot('readable-throughput');
  });

  await t.test('a sync round says which side does what; a packet\'s flags are decoded', async () => {
    await lanes.scrollIntoViewIfNeeded();
    const send = await tooltipAlong(frame, lanes, 31, /^sync round/);
    assert.match(send, /1\. signal \(multifd_send_sync_main_signal\).*\n {3}channels 0, 1, 2, 3\n2\. wait \(multifd_send_sync_main_wait\)/);
    await wb.screenshot('readable-sync-tooltip');
    const packet = await tooltipAlong(frame, lanes, 31, /· packet \d+ at/);
    assert.match(packet, /\nflags 0x\d+(: sync \(MULTIFD_FLAG_SYNC| \(a page packet, not compressed\))/);
    const legend = await frame.locator('details[data-panel="lanes"] .legend').innerText();
    assert.doesNotMatch(legend, /\[ \]/, 'the thread bracket is drawn, not written');
  });

  await t.test('nothing cut at the right edge; one note per fact', async () => {
    const width = await frame.locator('body').evaluate(() => document.documentElement.clientWidth);
    for (const cell of await frame.locator('table.balance th, table.qemu-figures th').all()) {
      const right = await cell.evaluate((e) => e.getBoundingClientRect().right);
      assert.ok(right <= width, `"${await cell.innerText()}" ends at ${right} within ${width}`);
    }
    const notes = await frame.locator('details[data-panel="balance"] p.note').allInnerTexts();
    assert.equal(new Set(notes).size, notes.length);
    assert.equal(notes.filter((n) => /zero.page/i.test(n) && /9\.0/.test(n)).length, 1, `one note on zero pages before 9.0: ${notes.join(' | ')}`);
    await frame.locator('details[data-panel="balance"]').scrollIntoViewIfNeeded();
    await wb.screenshot('readable-balance');
  });

  await t.test('postcopy without vhost-user: units, and no empty shared-pages table', async () => {
    await open(wb, frame, 'postcopy');
    assert.match(await statValue(frame, 'latency'), /^[\d.]+ (µs|ms) \/ [\d.]+ ms$/);
    const notes = (await frame.locator('details[data-panel="postcopy"] p.note').allInnerTexts()).join('\n');
    assert.match(notes, /^blocktime: 603 ms/m);
    assert.match(notes, /shared pages with vhost-user back-ends: none/);
    assert.equal(await frame.locator('[data-testid="shared-pages"]').count(), 0);
    assert.equal(await frame.locator('details[data-panel="postcopy"] .legend', { hasText: 'shared pages:' }).isVisible(), false);
    await frame.locator('details[data-panel="postcopy"]').scrollIntoViewIfNeeded();
    await wb.screenshot('readable-postcopy');
  });

  await t.test('postcopy with vhost-user: long RAMBlock names whole, a slow fault and a back-end wake-up in different colours', async () => {
    await open(wb, frame, 'postcopy-vhost-user');
    const colour = (cls: string): Promise<string> => frame.locator(`details[data-panel="postcopy"] .legend .sw.${cls}`).first()
      .evaluate((e) => getComputedStyle(e, '::before').backgroundColor);
    const swatches = await Promise.all(['heatLo', 'heatHi', 'unknown', 'sh0', 'sh1', 'sh2', 'sh3', 'sh4'].map(colour));
    assert.equal(new Set(swatches).size, swatches.length, `every legend colour differs: ${swatches.join(' ')}`);
    const canvas = frame.locator('details[data-panel="postcopy"] canvas').first();
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    let tip = '';
    for (let y = 2; y < box.height && !tip.includes('/rom@etc/acpi/tables'); y += 4) {
      await canvas.hover({ position: { x: 30, y } });
      const shown = frame.locator('.tooltip.shown');
      tip = (await shown.count()) ? await shown.innerText() : '';
    }
    assert.match(tip, /^RAMBlock \/rom@etc\/acpi\/tables\n/);
    await wb.screenshot('readable-postcopy-vhost-user');
    const rows = await frame.locator('[data-testid="shared-pages"] tr').allInnerTexts();
    assert.ok(rows.length > 0 && rows.every((r) => !/\t0$/.test(r)), `only kinds that occurred: ${rows.join(' | ')}`);
  });

  for (const [theme, name] of [['Dark Modern', 'dark'], ['Light Modern', 'light']] as const) {
    await t.test(`legend colours stay apart in the ${name} theme`, async () => {
      await wb.runCommand('Preferences: Color Theme');
      await wb.page.locator('.quick-input-widget input').fill(theme);
      await wb.pick(theme);
      await open(wb, frame, 'postcopy-vhost-user');
      const swatches = await Promise.all(['heatHi', 'sh4', 'heatLo', 'sh2'].map((cls) => frame.locator(`details[data-panel="postcopy"] .legend .sw.${cls}`).first()
        .evaluate((e) => getComputedStyle(e, '::before').backgroundColor)));
      assert.equal(new Set(swatches).size, 4, swatches.join(' '));
      await frame.locator('details[data-panel="postcopy"]').scrollIntoViewIfNeeded();
      await wb.screenshot(`readable-postcopy-vhost-user-${name}`);
    });
  }
});
