// The Recordings view and the "Run Migration Lab…" command in a real VS Code (code-server),
// with a real QEMU migrating between two processes on this host.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { runLab } from '../../src/core/lab/runner';
import { chromiumInstalled, codeServerInstalled, extensionBuilt, repoRoot, Workbench } from '../support/codeServer';
import { hasProgram, requireComponent } from '../support/components';
import { statValue, viewFrame } from '../support/migrationViewFrame';
import { needQemu } from '../support/qemuPair';
import { formatMillis } from '../../src/core/units';

const qemuBinary = process.env.QMW_QEMU ?? 'qemu-system-x86_64';
const demoRecordings = join(repoRoot, 'demo', 'recordings');
const labTimeoutMs = 180_000;

before(() => {
  if (extensionBuilt()) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

/** A workspace with at least one lab recording and one loose trace log, in a temporary folder. */
async function makeWorkspace(root: string): Promise<{ workspace: string; recordings: string }> {
  const workspace = join(root, 'workspace');
  const recordings = join(workspace, 'recordings');
  await mkdir(recordings, { recursive: true });
  if (existsSync(demoRecordings)) {
    await cp(demoRecordings, recordings, { recursive: true });
  } else {
    const result = await runLab({ scenario: 'precopy-multifd', outDir: join(recordings, 'precopy-multifd-seed'), qemu: qemuBinary, timeoutMs: labTimeoutMs });
    assert.equal(result.status, 'completed', `seeding the workspace: lab ended ${result.status}`);
  }
  await mkdir(join(workspace, 'logs'), { recursive: true });
  await writeFile(
    join(workspace, 'logs', 'manual-trace.log'),
    '2789@1795292513.862584:multifd_new_send_channel_async channel 0\n2789@1795292513.862601:multifd_send_sync_main_signal channel 0\n',
  );
  return { workspace, recordings };
}

async function scenarioOf(folder: string): Promise<string> {
  const parsed = JSON.parse(await readFile(join(folder, 'scenario.json'), 'utf8')) as { scenario?: unknown };
  assert.equal(typeof parsed.scenario, 'string', `${folder}/scenario.json names its scenario`);
  return String(parsed.scenario);
}

async function recordingFolders(recordings: string): Promise<string[]> {
  const entries = await readdir(recordings, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && existsSync(join(recordings, e.name, 'scenario.json'))).map((e) => e.name);
}

test('Recordings view and Run Migration Lab in code-server', { timeout: 600_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  if (!requireComponent(t, 'qemu', hasProgram(qemuBinary))) return;
  // With 7.2 and 10.0 installed the lab asks which QEMU to run.
  const qemu10 = await needQemu(t, '10.0');
  if (!qemu10) return;

  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-recordings-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const { workspace, recordings } = await makeWorkspace(root);
  const seeded = await recordingFolders(recordings);
  assert.ok(seeded.length > 0, 'the workspace has a recording');

  const started = Date.now();
  // No output folder set: the lab records into the workspace's storage, not into the checkout.
  const wb = await Workbench.launch({ settings: { 'QEMUMigration.QEMUBinary': qemuBinary } });
  t.after(async () => {
    await wb.saveLogs('recordings');
    await wb.close();
  });
  await wb.openWorkbench(workspace);
  t.diagnostic(`workbench up in ${Date.now() - started} ms`);

  await t.test('the QEMU Migration container is in the activity bar', async () => {
    await wb.showViewContainer('QEMU Migration');
    await wb.page.locator('.pane-header', { hasText: 'Recordings' }).waitFor({ state: 'visible', timeout: 30_000 });
    await wb.setSideBarWidth(520);
  });

  await t.test('the Recordings view lists the recording with its scenario', async () => {
    const rows = wb.viewRows('Recordings');
    await rows.filter({ hasText: 'Lab Recordings' }).waitFor({ timeout: 30_000 });
    for (const folder of seeded) {
      const scenario = await scenarioOf(join(recordings, folder));
      await rows.filter({ hasText: scenario }).first().waitFor({ timeout: 30_000 });
    }
    const text = (await rows.allInnerTexts()).join('\n');
    assert.match(text, /completed/, 'a recording row shows its status');
    assert.match(text, /QEMU \d+\.\d+/, 'a recording row shows the QEMU version');
    await rows.filter({ hasText: 'Trace Files' }).waitFor({ timeout: 30_000 });
    await rows.filter({ hasText: 'manual-trace.log' }).waitFor({ timeout: 30_000 });
    await wb.screenshot('recordings-view');
  });

  await t.test('Run Migration Lab… records precopy-multifd and the view shows it', async () => {
    const labStarted = Date.now();
    await wb.runCommand('QEMU Migration: Run Migration Lab…');
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'postcopy' }).first().waitFor({ timeout: 30_000 });
    await wb.screenshot('lab-scenario-pick');
    await wb.pick('precopy-multifd');
    // The second question: which QEMU, among the installs (newest first).
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: /QEMU 7\.2\.\d+/ }).first().waitFor({ timeout: 30_000 });
    await wb.screenshot('lab-qemu-pick');
    await wb.pick(`QEMU ${qemu10.versionText}`);
    // The last question: the scenario's defaults in one row (Enter runs them), each choice one row away.
    const choice = wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'multifd channels: 4' }).first();
    await choice.waitFor({ timeout: 30_000 });
    const offered = (await wb.page.locator('.quick-input-list .monaco-list-row').allInnerTexts()).join('\n');
    assert.match(offered, /Run\s*QEMU 10\.0\.\d+ · Accelerator tcg · multifd channels 4 · max-bandwidth 32 MiB\/s · Guest dirty rate 16 MiB\/s/);
    await wb.screenshot('lab-options-pick');
    await choice.click();
    await wb.pick('2');
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'multifd channels 2' }).first().waitFor({ timeout: 30_000 });
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Guest memory: 256 MiB' }).first().click();
    await wb.pick('128 MiB');
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Guest memory 128 MiB' }).first().waitFor({ timeout: 30_000 });
    await wb.page.keyboard.press('Enter');
    const message = await wb.waitForNotification(/Migration lab precopy-multifd (completed|failed|ended|was cancelled)/, labTimeoutMs);
    await wb.screenshot('lab-finished');
    const where = /^Migration lab precopy-multifd completed: the migration took (.+?) \(QEMU total-time\), the run [^;]+; recorded in this workspace's storage, (\/.+\/precopy-multifd-(\d{8}-\d{6}))\.$/.exec(message);
    assert.ok(where, `the toast says how long the migration took and where the recording went: ${message}`);
    t.diagnostic(`lab via the command: ${Date.now() - labStarted} ms`);
    const [, migrationTime = '', outDir = '', run = ''] = where;
    const final = JSON.parse(await readFile(join(outDir, 'final-query-migrate-src.json'), 'utf8')) as { 'total-time': number; ram: Record<string, number> };
    assert.equal(migrationTime, formatMillis(final['total-time']), 'the duration is QEMU\'s total-time, not the run\'s wall time');
    assert.deepEqual((await recordingFolders(recordings)).filter((f) => !seeded.includes(f)), [], 'nothing new in the checkout');
    assert.ok(!outDir.startsWith(workspace), `${outDir} is outside the workspace`);
    const record = JSON.parse(await readFile(join(outDir, 'scenario.json'), 'utf8')) as { parameters?: Record<string, unknown>; qemu?: { accelerators?: string[] }; guest?: { memoryMiB?: number } };
    assert.equal(record.parameters?.['multifd-channels'], 2, 'the channels chosen in the picker');
    assert.equal(record.guest?.memoryMiB, 128, 'the guest memory chosen in the picker');
    assert.deepEqual(record.qemu?.accelerators, ['tcg']);

    const rows = wb.viewRows('Recordings');
    const row = rows.filter({ hasText: new RegExp(`precopy-multifd\\s*completed · QEMU 10\\.0\\.\\d+ · ${run}`) }).first();
    await row.waitFor({ timeout: 30_000 });
    // The command reveals, selects and expands the new recording: its files are listed under it.
    assert.match(await rows.and(wb.page.locator('[aria-selected="true"]')).first().innerText(), new RegExp(run));
    await rows.filter({ hasText: 'scenario.json' }).first().waitFor({ timeout: 30_000 });
    await rows.filter({ hasText: 'src-trace.log' }).first().waitFor({ timeout: 30_000 });
    // The toast opens the recording in the migration view.
    await wb.page.locator('.notifications-toasts .notification-list-item', { hasText: 'precopy-multifd completed' }).locator('.monaco-button', { hasText: 'Open in Migration View' }).click();
    await viewFrame(wb).locator('[data-testid="packets-send"]').waitFor({ timeout: 90_000 });
    const frame = viewFrame(wb);
    assert.equal(await statValue(frame, 'channels-send'), '2');
    // The fresh 10.0 recording's figures in the view: counted here from the raw trace lines, and
    // equal to QEMU's own (with zero-page-detection=multifd every page goes through a channel).
    const raw = await readFile(join(outDir, 'src-trace.log'), 'utf8');
    const fills = [...raw.matchAll(/:multifd_send_fill channel \d+ packet_num \d+ /g)].length;
    const ramFills = [...raw.matchAll(/:multifd_send_ram_fill channel \d+ normal pages (\d+) zero pages (\d+)/g)];
    const normal = ramFills.reduce((n, m) => n + Number(m[1]), 0);
    const zero = ramFills.reduce((n, m) => n + Number(m[2]), 0);
    assert.ok(fills > 0 && normal > 0 && zero > 0, 'the raw trace has multifd packets with normal and zero pages');
    assert.equal(await statValue(frame, 'packets-send'), fills.toLocaleString('en-US'), 'one packet per multifd_send_fill line');
    await frame.locator('[data-testid="qemu-src-multifd-bytes"]').waitFor({ timeout: 30_000 });
    const figure = async (key: string): Promise<string[]> => (await frame.locator(`[data-testid="qemu-src-${key}"] td`).allInnerTexts()).slice(1, 4).map((c) => c.trim());
    const int = (n: number | undefined): string => (n ?? NaN).toLocaleString('en-US');
    assert.deepEqual(await figure('normal'), [int(normal), int(final.ram['normal']), 'equal']);
    assert.deepEqual(await figure('duplicate'), [int(zero), int(final.ram['duplicate']), 'equal']);
    const bytes = `${int(final.ram['multifd-bytes'])} B`;
    assert.deepEqual(await figure('multifd-bytes'), [bytes, bytes, 'equal']);
    await wb.screenshot('lab-recording-revealed');
  });
});

test('an untrusted workspace lists recordings but the lab refuses to launch QEMU', { timeout: 300_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  if (!requireComponent(t, 'qemu', hasProgram(qemuBinary))) return;

  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-untrusted-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const { workspace, recordings } = await makeWorkspace(root);
  const before = await recordingFolders(recordings);

  const wb = await Workbench.launch({
    untrusted: true,
    settings: { 'QEMUMigration.outputFolder': recordings },
  });
  t.after(async () => {
    await wb.saveLogs('recordings-untrusted');
    await wb.close();
  });
  await wb.openWorkbench(workspace);
  await wb.page.locator('.statusbar', { hasText: 'Restricted Mode' }).waitFor({ timeout: 30_000 });

  await wb.showViewContainer('QEMU Migration', 520);
  const rows = wb.viewRows('Recordings');
  await rows.filter({ hasText: 'Lab Recordings' }).waitFor({ timeout: 30_000 });

  await wb.runCommand('QEMU Migration: Run Migration Lab…');
  const message = await wb.waitForNotification(/untrusted workspace/, 30_000);
  assert.match(message, /launches QEMU/);
  await wb.screenshot('lab-untrusted-refused');
  assert.equal(await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'precopy-multifd' }).count(), 0, 'no scenario was offered');
  assert.deepEqual(await recordingFolders(recordings), before, 'nothing was recorded');
});
