// The migration view's bundle in headless Chromium outside VS Code (acquireVsCodeApi is a test
// double): exports, state restored after a reload, keyboard, and trace text in the tooltip.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { loadMigration } from '../../src/core/analysis/load';
import type { MigrationModel } from '../../src/core/analysis/model';
import { chromiumInstalled, chromiumPath, repoRoot } from '../support/codeServer';
import { requireComponent } from '../support/components';
import { loadView, postModel } from '../support/migrationViewPage';

type Posted = { type: string; text?: string; data?: Uint8Array | Record<string, number> }[];

const posted = (page: Page): Promise<Posted> => page.evaluate(() => (window as unknown as { __posted: Posted }).__posted);

test('migration view page: exports, state, keyboard, text', { timeout: 120_000 }, async (t) => {
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  const xss = join(repoRoot, 'test', 'e2e', 'fixtures', 'xss-ramblock', 'dst-trace.log');
  const multifd = join(repoRoot, '..', 'shared', 'fixtures', 'recordings', 'qemu-10.2.50-multifd-legacy');
  const models: Record<string, MigrationModel> = {
    xss: (await loadMigration([xss], { inProcess: true })).model,
    multifd: (await loadMigration([process.env.QMW_FIXTURES ? join(process.env.QMW_FIXTURES, 'recordings', 'qemu-10.2.50-multifd-legacy') : multifd], { inProcess: true })).model,
  };
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); void d.dismiss(); });

  await t.test('Export CSV posts the visible packets; Export PNG posts a PNG', async () => {
    await loadView(page, repoRoot);
    await postModel(page, models.multifd!, 'multifd', ['a', 'b']);
    await page.getByRole('button', { name: 'Export CSV' }).click();
    await page.getByRole('button', { name: 'Export PNG' }).click();
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'savePng'));
    const msgs = await posted(page);
    const csv = msgs.find((m) => m.type === 'saveCsv')!.text!;
    const lines = csv.trim().split('\n');
    assert.match(lines[0]!, /^kind,side,/);
    assert.equal(lines.filter((l) => l.startsWith('packet,src,')).length, 401, 'every source packet of the visible window');
    const png = msgs.find((m) => m.type === 'savePng')!.data!;
    const bytes = png instanceof Uint8Array ? png : Uint8Array.from(Object.values(png));
    assert.deepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  });

  await t.test('zoom, selection, panels and mode are restored after a reload', async () => {
    const lanes = page.locator('details[data-panel="lanes"] canvas');
    await lanes.focus();
    await lanes.press('+');
    await lanes.press('+');
    const box = (await lanes.boundingBox())!;
    await page.keyboard.down('Shift');
    await page.mouse.move(box.x + 400, box.y + 40);
    await page.mouse.down();
    await page.mouse.move(box.x + 700, box.y + 40, { steps: 5 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await page.locator('details[data-panel="throughput"] > summary').click();
    await page.locator('.toolbar select').selectOption('channels');
    const before = await page.evaluate(() => (window as unknown as { __state: unknown }).__state) as { view: number[]; selection: number[]; panels: Record<string, boolean>; throughput: string };
    assert.ok(before.selection, 'a selection was made');
    assert.equal(before.panels.throughput, false);
    await page.waitForTimeout(300);
    const selected = await page.locator('[data-testid="packets-send"] .value').innerText();
    // Reload: a new document whose test double starts from the saved state, as VS Code's does.
    await loadView(page, repoRoot, 'dark', before);
    await postModel(page, models.multifd!, 'multifd', ['a', 'b']);
    const after = await page.evaluate(() => (window as unknown as { __state: unknown }).__state) as typeof before;
    assert.deepEqual(after.view, before.view);
    assert.deepEqual(after.selection, before.selection);
    assert.equal(await page.locator('details[data-panel="throughput"]').getAttribute('open'), null);
    assert.equal(await page.locator('.toolbar select').inputValue(), 'channels');
    assert.match(await page.locator('.summary .range').innerText(), /selection/);
    assert.equal(await page.locator('[data-testid="packets-send"] .value').innerText(), selected);
  });

  await t.test('the toolbar is reachable with Tab and Escape clears the selection', async () => {
    await page.locator('details[data-panel="lanes"] canvas').focus();
    await page.keyboard.press('Escape');
    assert.equal((await page.evaluate(() => (window as unknown as { __state: { selection: unknown } }).__state)).selection, null);
    await page.locator('.toolbar button').first().focus();
    const names: string[] = [];
    for (let i = 0; i < 8; i++) { names.push(await page.evaluate(() => document.activeElement?.textContent ?? document.activeElement?.tagName ?? '')); await page.keyboard.press('Tab'); }
    assert.ok(names.includes('Reset') && names.includes('Export CSV'), names.join(' | '));
  });

  await t.test('a RAMBlock named as markup shows as text in the tables and the tooltip', async () => {
    await loadView(page, repoRoot);
    await postModel(page, models.xss!, 'xss', ['x']);
    assert.equal(await page.locator('[data-testid="faults-per-ramblock"] td').first().innerText(), '<img src=x onerror=alert(1)>');
    const canvas = page.locator('details[data-panel="postcopy"] canvas').first();
    const box = (await canvas.boundingBox())!;
    let tip = '';
    for (let x = 112; x < box.width && !tip; x += 2) {
      for (const y of [20, 40, 60]) {
        await canvas.hover({ position: { x, y } });
        if (await page.locator('.tooltip.shown').count()) { tip = await page.locator('.tooltip').innerText(); break; }
      }
    }
    assert.match(tip, /fault <img src=x onerror=alert\(1\)> \+ 0x/);
    assert.equal(await page.locator('img').count(), 0);
    assert.deepEqual(errors, []);
  });
});
