// The Recordings view and the "Run Migration Lab…" command in a real VS Code (code-server),
// with a real QEMU migrating between two processes on this host.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { runLab } from '../../src/core/lab/index';
import { chromiumInstalled, codeServerInstalled, extensionBuilt, repoRoot, Workbench } from '../support/codeServer';
import { hasProgram, requireComponent } from '../support/components';

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
    const result = await runLab({ scenario: 'precopy-multifd', outDir: join(recordings, 'precopy-multifd-seed'), qemuBinary, timeoutMs: labTimeoutMs });
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

  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-recordings-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const { workspace, recordings } = await makeWorkspace(root);
  const seeded = await recordingFolders(recordings);
  assert.ok(seeded.length > 0, 'the workspace has a recording');

  const started = Date.now();
  const wb = await Workbench.launch({ settings: { 'qemuMigration.recordingsDir': recordings, 'qemuMigration.qemuBinary': qemuBinary } });
  t.after(async () => {
    await wb.saveLogs('recordings');
    await wb.close();
  });
  await wb.openWorkbench(workspace);
  t.diagnostic(`workbench up in ${Date.now() - started} ms`);

  await t.test('the QEMU Migration container is in the activity bar', async () => {
    const item = wb.activityBarItem('QEMU Migration');
    await item.waitFor({ state: 'visible', timeout: 30_000 });
    await item.click();
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
    const message = await wb.waitForNotification(/Migration lab precopy-multifd (completed|failed|ended|was cancelled)/, labTimeoutMs);
    await wb.screenshot('lab-finished');
    assert.match(message, /Migration lab precopy-multifd completed in [\d.]+ s/);
    t.diagnostic(`lab via the command: ${Date.now() - labStarted} ms`);

    const added = (await recordingFolders(recordings)).filter((f) => !seeded.includes(f));
    assert.equal(added.length, 1, `one new recording folder (${added.join(', ')})`);
    const folder = added[0] ?? '';
    const run = /^precopy-multifd-(\d{8}-\d{6})$/.exec(folder)?.[1];
    assert.ok(run, `the recording folder is named <scenario>-<time>: ${folder}`);
    const rows = wb.viewRows('Recordings');
    // Until the view refreshes, the new folder's trace logs may still be listed as loose trace files.
    const row = rows.filter({ hasText: new RegExp(`precopy-multifd\\s*completed · QEMU \\d+\\.\\d+\\.\\d+ · ${run}`) }).first();
    await row.waitFor({ timeout: 30_000 });
    // The command reveals, selects and expands the new recording: its files are listed under it,
    // and no longer among the loose trace files.
    await rows.filter({ hasText: folder }).first().waitFor({ state: 'detached', timeout: 30_000 });
    assert.match(await rows.and(wb.page.locator('[aria-selected="true"]')).first().innerText(), new RegExp(run));
    await rows.filter({ hasText: 'scenario.json' }).first().waitFor({ timeout: 30_000 });
    await rows.filter({ hasText: 'src-trace.log' }).first().waitFor({ timeout: 30_000 });
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
    workspaceTrust: true,
    settings: { 'qemuMigration.recordingsDir': recordings, 'security.workspace.trust.startupPrompt': 'never' },
  });
  t.after(async () => {
    await wb.saveLogs('recordings-untrusted');
    await wb.close();
  });
  await wb.openWorkbench(workspace);
  await wb.page.locator('.statusbar', { hasText: 'Restricted Mode' }).waitFor({ timeout: 30_000 });

  const item = wb.activityBarItem('QEMU Migration');
  await item.waitFor({ state: 'visible', timeout: 30_000 });
  await item.click();
  await wb.setSideBarWidth(520);
  const rows = wb.viewRows('Recordings');
  await rows.filter({ hasText: 'Lab Recordings' }).waitFor({ timeout: 30_000 });

  await wb.runCommand('QEMU Migration: Run Migration Lab…');
  const message = await wb.waitForNotification(/untrusted workspace/, 30_000);
  assert.match(message, /launches QEMU/);
  await wb.screenshot('lab-untrusted-refused');
  assert.equal(await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'precopy-multifd' }).count(), 0, 'no scenario was offered');
  assert.deepEqual(await recordingFolders(recordings), before, 'nothing was recorded');
});
