// The migration view's figures in a real VS Code (code-server), as a new user meets them: the
// demo's QEMU 7.2 multifd recording opened in a workspace that is a QEMU 10.2.50 tree. The
// summary strip must say which catalogue decoded each side and why, warn that the trace does not
// fit the workspace's trace-events, and show the trace's figures beside QEMU's own query-migrate
// (read here from the recording's JSON) with the difference; the channel balance table too.
// Packets and pages are counted here from the raw lines with a plain regex.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { chromiumInstalled, codeServerInstalled, extensionBuilt, repoRoot, Workbench } from '../support/codeServer';
import { hasFile, requireComponent } from '../support/components';
import { openRow, statValue, viewFrame } from '../support/migrationViewFrame';
import { qemuFixtures } from '../../src/core/trace/testSupport';
import { formatMillis } from '../../src/core/units';

const demo = join(repoRoot, 'demo', 'recordings', 'precopy-multifd');
const tree10 = join(qemuFixtures, '10.2.50');

before(() => {
  if (extensionBuilt() && existsSync(join(repoRoot, 'dist', 'migrationView.js'))) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

const int = (n: number): string => n.toLocaleString('en-US');

/** The cells of a table row by its data-testid. */
async function cells(frame: FrameLocator, testId: string): Promise<string[]> {
  return (await frame.locator(`[data-testid="${testId}"] td`).allInnerTexts()).map((s) => s.trim());
}

test('migration view figures beside QEMU\'s, and the catalogue said aloud, in code-server', { timeout: 300_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  if (!requireComponent(t, 'lab recording demo/recordings/precopy-multifd', hasFile(join(demo, 'final-query-migrate-src.json')))) return;
  if (!requireComponent(t, 'QEMU 10.2.50 trace-events (QMW_FIXTURES)', hasFile(join(tree10, 'migration', 'trace-events')))) return;

  // The workspace is a QEMU 10.2.50 tree holding the 7.2 recording.
  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-figures-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const workspace = join(root, 'qemu');
  await cp(tree10, workspace, { recursive: true });
  const recordings = join(workspace, 'recordings');
  await mkdir(recordings, { recursive: true });
  await cp(demo, join(recordings, 'precopy-multifd'), { recursive: true });

  const q = JSON.parse(readFileSync(join(demo, 'final-query-migrate-src.json'), 'utf8')) as { 'total-time': number; ram: Record<string, number> };
  const src = readFileSync(join(demo, 'src-trace.log'), 'utf8');
  const sends = [...src.matchAll(/:multifd_send channel \d+ packet_num \d+ normal pages (\d+) /g)];
  const rawPages = sends.reduce((n, m) => n + Number(m[1]), 0);

  const wb = await Workbench.launch({ settings: { 'QEMUMigration.outputFolder': recordings }, viewport: { width: 1600, height: 1300 } });
  t.after(async () => {
    await wb.saveLogs('migration-view-figures');
    await wb.close();
  });
  await wb.openWorkbench(workspace);
  await wb.showViewContainer('QEMU Migration', 330);
  const frame = viewFrame(wb);
  await openRow(wb, 'precopy-multifd');
  await frame.locator('[data-testid="qemu-src-multifd-bytes"]').waitFor({ timeout: 90_000 });

  await t.test('each side names its catalogue, why, and warns that the workspace\'s trace-events do not fit', async () => {
    for (const side of ['src', 'dst']) {
      assert.equal(await statValue(frame, `catalogue-${side}`), 'built-in QEMU 7.2');
      assert.match(await frame.locator(`[data-testid="catalogue-${side}"] .why`).innerText(), /fits best: it decodes (\d+) of \1 event lines/);
      assert.match(await frame.locator(`[data-testid="catalogue-warning-${side}"]`).innerText(), /does not fit trace-events of qemu \(workspace\) \(it decodes \d+ of \d+ event lines\): decoded with built-in QEMU 7\.2 instead/);
      assert.equal(await statValue(frame, `malformed-${side}`), '0');
    }
    assert.equal(await statValue(frame, 'packets-send'), int(sends.length), 'every multifd_send line is a packet');
  });

  await t.test('the strip shows the trace\'s figures beside QEMU\'s own, with the difference', async () => {
    const bytes = await cells(frame, 'qemu-src-multifd-bytes');
    assert.deepEqual(bytes.slice(0, 4), ['multifd bytes', `${int(q.ram['multifd-bytes']!)} B`, `${int(q.ram['multifd-bytes']!)} B`, 'equal']);
    const normal = await cells(frame, 'qemu-src-normal');
    assert.deepEqual(normal.slice(0, 4), ['normal pages', int(rawPages), int(q.ram.normal!), `+${int(rawPages - q.ram.normal!)}`]);
    assert.match(normal[4]!, /queue the page that filled a packet a second time/);
    assert.match(await frame.locator('table.qemu-figures caption').innerText(), /whole migration; source: final-query-migrate-src\.json/);
    assert.deepEqual((await cells(frame, 'qemu-src-duplicate')).slice(1, 3), ['n/a', int(q.ram.duplicate!)]);
    assert.equal(await statValue(frame, 'duration'), `${formatMillis(q['total-time'])} (QEMU total-time)`);
    assert.equal(await statValue(frame, 'bytes-send'), `${(q.ram['multifd-bytes']! / (1 << 20)).toFixed(1)} MiB`, 'not the 149.6 MiB of stale packet sizes');
    await wb.screenshot('migration-view-figures-strip');
  });

  await t.test('the channel balance table has the totals, QEMU\'s row and the difference', async () => {
    const balance = frame.locator('details[data-panel="balance"]');
    await balance.scrollIntoViewIfNeeded();
    const total = await cells(frame, 'balance-total-send');
    assert.deepEqual(total.slice(0, 5), ['send', 'total', int(sends.length), '100 %', int(rawPages)]);
    assert.equal(total[7], `${(q.ram['multifd-bytes']! / (1 << 20)).toFixed(1)} MiB`);
    assert.match(total[11]!, /^ok \(\d+ figures\)$/);
    const qemu = await cells(frame, 'balance-qemu');
    assert.deepEqual([qemu[0], qemu[4], qemu[5]], ['QEMU', int(q.ram.normal!), int(q.ram.duplicate!)]);
    assert.match(qemu[11]!, /final-query-migrate-src\.json/);
    const diff = await cells(frame, 'balance-qemu-diff');
    assert.deepEqual([diff[0], diff[4], diff[7]], ['trace − QEMU', `+${int(rawPages - q.ram.normal!)}`, 'equal']);
    assert.match(await balance.innerText(), /Bytes as QEMU counts multifd-bytes: normal pages × 4,096 B \+ 1,344 B header per packet\. The traced next packet sizes sum to [\d,]+ B: \d+ of \d+ packets carry a stale one/);
    await wb.screenshot('migration-view-figures-balance');
  });
});
