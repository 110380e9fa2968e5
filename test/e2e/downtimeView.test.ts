// The downtime waterfall in a real VS Code (code-server): a real QEMU 10.0.2 recording opened from
// the Recordings view shows each side's device time equal to its raw vmstate_downtime_* lines,
// beside query-migrate's downtime; a bar opens its trace line; a QEMU 7.2 recording says n/a.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { formatMicros } from '../../src/core/units';
import { rawDowntime, type RawDowntimeDevice } from '../../src/core/analysis/testSupport';
import { chromiumInstalled, codeServerInstalled, extensionBuilt, repoRoot, Workbench } from '../support/codeServer';
import { hasFile, requireComponent } from '../support/components';
import { openRow, statValue, viewFrame } from '../support/migrationViewFrame';

const recording10 = join(repoRoot, 'src', 'core', 'analysis', 'testdata', 'qemu-10.0.2-multifd-downtime');
const recording72 = join(repoRoot, 'demo', 'recordings', 'postcopy');

before(() => {
  if (extensionBuilt() && existsSync(join(repoRoot, 'dist', 'migrationView.js'))) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

/** One side's device lines, counted with a plain regex (not the workbench's decoder). */
function rawDevices(file: string, event: 'save' | 'load'): (RawDowntimeDevice & { key: string })[] {
  return rawDowntime(readFileSync(file, 'utf8'), event).devices.map((x) => ({ ...x, key: `${x.type} ${x.idstr} ${x.instanceId}` }));
}

test('downtime waterfall in code-server', { timeout: 600_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  if (!requireComponent(t, 'lab recording demo/recordings/postcopy', hasFile(join(recording72, 'scenario.json')))) return;

  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-downtime-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const workspace = join(root, 'workspace');
  const recordings = join(workspace, 'recordings');
  await mkdir(recordings, { recursive: true });
  await cp(recording10, join(recordings, 'qemu-10.0.2-multifd-downtime'), { recursive: true });
  await cp(recording72, join(recordings, 'postcopy'), { recursive: true });
  const src = rawDevices(join(recording10, 'src-trace.log'), 'save');
  const dst = rawDevices(join(recording10, 'dst-trace.log'), 'load');
  const reported = (JSON.parse(readFileSync(join(recording10, 'final-query-migrate-src.json'), 'utf8')) as { downtime: number }).downtime;

  const wb = await Workbench.launch({ settings: { 'QEMUMigration.outputFolder': recordings }, viewport: { width: 1600, height: 1000 } });
  t.after(async () => {
    await wb.saveLogs('downtime-view');
    await wb.close();
  });
  await wb.openWorkbench(workspace);
  await wb.showViewContainer('QEMU Migration', 300);
  const frame = viewFrame(wb);
  const panel = frame.locator('details[data-panel="downtime"]');

  await t.test('a QEMU 10.0.2 recording: device time per side equals its raw lines, beside query-migrate', async () => {
    await openRow(wb, 'precopy-multifd-downtime');
    await frame.locator('[data-testid="downtime-total-src"]').waitFor({ timeout: 60_000 });
    assert.match(await panel.locator('> summary').innerText(), /Downtime/);
    assert.equal(await statValue(frame, 'downtime-devices-src'), String(src.length));
    assert.equal(await statValue(frame, 'downtime-devices-dst'), String(dst.length));
    assert.equal(await statValue(frame, 'downtime-total-src'), formatMicros(src.reduce((n, x) => n + x.us, 0)));
    assert.equal(await statValue(frame, 'downtime-total-dst'), formatMicros(dst.reduce((n, x) => n + x.us, 0)));
    assert.equal(await statValue(frame, 'downtime-reported'), `${reported} ms`);
    // Save beside load: one row per device of either side, the costliest (the last RAM pass) first.
    const rows = panel.locator('[data-testid="downtime-pairs"] tr:has(td)');
    assert.equal(await rows.count(), new Set([...src, ...dst].map((x) => x.key)).size);
    const ram = (k: typeof src) => formatMicros(k.find((x) => x.type === 'iterable' && x.idstr === 'ram')!.us);
    assert.deepEqual((await rows.first().locator('td').allInnerTexts()).map((s) => s.trim()), ['ram', 'iterable', ram(src), ram(dst)]);
  });

  await t.test('zoomed to the downtime, a bar names its device and opens its trace line', async () => {
    for (const id of ['lanes', 'throughput', 'balance']) {
      const d = frame.locator(`details[data-panel="${id}"]`);
      if (await d.count() && await d.getAttribute('open') !== null) await d.locator('> summary').click();
    }
    await panel.getByRole('button', { name: 'Zoom to downtime' }).click();
    await frame.locator('.summary .range', { hasText: 'visible' }).waitFor();
    const canvas = panel.locator('canvas');
    await canvas.scrollIntoViewIfNeeded();
    await wb.page.waitForTimeout(600);
    const box = (await canvas.boundingBox())!;
    assert.ok(box.height > 100, 'the waterfall has rows');
    // The picture for the README: the phases and the whole waterfall with its numbers, no tooltip.
    await frame.locator('details[data-panel="phases"]').evaluate((e) => { e.scrollIntoView({ block: 'start' }); window.scrollBy(0, -(document.querySelector('.toolbar')?.clientHeight ?? 0)); });
    await wb.page.mouse.move(5, 5);
    await wb.page.waitForTimeout(300);
    await wb.screenshot('downtime-waterfall');
    // The first device row of the source (below the ruler and the checkpoint row) is the RAM save.
    await canvas.hover({ position: { x: box.width / 2, y: 43 } });
    const tip = frame.locator('.tooltip.shown');
    await tip.waitFor({ timeout: 10_000 });
    const ramLine = src.find((x) => x.type === 'iterable' && x.idstr === 'ram')!.line;
    assert.match(await tip.innerText(), new RegExp(`source iterable save: ram \\(instance 0\\)[\\s\\S]*click opens line ${ramLine}`));
    await wb.screenshot('downtime-waterfall-tooltip');
    await canvas.click({ position: { x: box.width / 2, y: 43 } });
    await wb.page.locator('.tabs-container .tab.active[data-resource-name="src-trace.log"]').waitFor({ timeout: 30_000 });
    await wb.page.locator('.statusbar-item', { hasText: new RegExp(`Ln ${ramLine}, Col 1`) }).first().waitFor({ timeout: 30_000 });
  });

  await t.test('a QEMU 7.2 recording says the events do not exist there', async () => {
    await wb.runCommand('View: Close All Editors');
    await openRow(wb, 'postcopy');
    await frame.locator('[data-testid="downtime-total-src"]').waitFor({ timeout: 60_000 });
    assert.equal(await statValue(frame, 'downtime-total-src'), 'n/a');
    assert.equal(await statValue(frame, 'downtime-total-dst'), 'n/a');
    assert.match(await frame.locator('[data-testid="downtime-src"]').innerText(), /QEMU 7\.2\.22 has no vmstate_downtime_\* trace events/);
    assert.equal(await panel.locator('canvas:visible').count(), 0, 'no empty waterfall');
    await panel.scrollIntoViewIfNeeded();
    await wb.screenshot('downtime-qemu-7.2');
  });
});
