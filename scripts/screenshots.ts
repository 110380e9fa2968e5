// Retakes the walkthrough's pictures (media/walkthrough/) and the README's pictures of the
// first hour (docs/images/) in code-server, on a copy of the demo workspace, with the built
// extension as it is: `node esbuild.mjs && node --import tsx scripts/screenshots.ts`.
// Two QEMU 7.2 processes are started for the Connections pictures (own process group, sockets
// in a private folder) and ended at the end, whatever happens.
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Locator } from 'playwright-core';
import { Workbench } from '../test/support/codeServer';
import { openRow, viewFrame } from '../test/support/migrationViewFrame';

const repoRoot = resolve(__dirname, '..');
const media = join(repoRoot, 'media', 'walkthrough');
const docs = join(repoRoot, 'docs', 'images');

/** One picture into the repository, and into the running extension's copy so the walkthrough shows it at once. */
async function save(wb: Workbench, target: Locator | 'page', dir: string, name: string): Promise<void> {
  const files = [join(dir, name), ...(dir === media ? [join(wb.server.extensionDir, 'media', 'walkthrough', name)] : [])];
  for (const file of files) {
    await mkdir(resolve(file, '..'), { recursive: true });
    if (target === 'page') await wb.page.screenshot({ path: file });
    else await target.screenshot({ path: file });
  }
  console.log(`[screenshots] ${join(dir === media ? 'media/walkthrough' : 'docs/images', name)}`);
}

function startQemu(dir: string, name: string, incoming: boolean): ChildProcess {
  const args = ['-display', 'none', '-nodefaults', '-machine', 'pc', '-accel', 'tcg', '-m', '256', '-name', name, '-qmp', `unix:${join(dir, `${name}.sock`)},server=on,wait=off`, ...(incoming ? ['-incoming', 'defer'] : [])];
  return spawn('qemu-system-x86_64', args, { detached: true, stdio: 'ignore' });
}

function stopGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'qmw-shots-'));
  const workspace = join(root, 'demo');
  await cp(join(repoRoot, 'demo'), workspace, { recursive: true });
  const sockets = join(root, 'run');
  await mkdir(sockets);
  const qemus: ChildProcess[] = [];
  const wb = await Workbench.launch({ viewport: { width: 1600, height: 1000 } });
  const quick = wb.page.locator('.quick-input-widget');
  const editor = wb.page.locator('.part.editor');
  try {
    await wb.openWorkbench(workspace);
    await editor.getByText('Get Started with QEMU Migration Workbench').first().waitFor({ timeout: 60_000 });
    // The demo as it opens, when the walkthrough's pictures are there from an earlier run (else at the end).
    const firstPicture = editor.locator('img[alt^="The Recordings view"]').first();
    const walkthroughFirst = await firstPicture.waitFor({ timeout: 15_000 }).then(() => true, () => false);
    if (walkthroughFirst) {
      await sleep(1500);
      await save(wb, 'page', docs, 'walkthrough.png');
    }
    await wb.activityBarItem('QEMU Migration').click();
    await wb.setSideBarWidth(460);

    // Step 1: the Recordings view, a recording open to its files, a trace file's actions shown.
    const rows = wb.viewRows('Recordings');
    await rows.filter({ hasText: /^precopy-multifd\s*completed · QEMU 7\.2/ }).first().click();
    const trace = rows.filter({ hasText: /^src-trace\.log$/ }).first();
    await trace.waitFor({ timeout: 30_000 });
    // The row's actions show at once on hover; its tooltip (the file's path) only after a while.
    await trace.hover();
    await sleep(150);
    await save(wb, wb.page.locator('.pane').filter({ has: wb.page.locator('.pane-header', { hasText: 'Recordings' }) }).first(), media, 'recordings.png');

    // Step 2: the migration view of that recording.
    await wb.runCommand('View: Close All Editors');
    await openRow(wb, 'precopy-multifd');
    const frame = viewFrame(wb);
    await frame.locator('[data-testid="packets-send"]').waitFor({ timeout: 90_000 });
    await wb.page.mouse.move(5, 5);
    await sleep(1000);
    await save(wb, editor, media, 'migration-view.png');
    // The README's picture, tall enough for the balance table.
    await wb.page.setViewportSize({ width: 1600, height: 1300 });
    await sleep(1500);
    await save(wb, 'page', docs, 'migration-view.png');
    await wb.page.setViewportSize({ width: 1600, height: 1000 });

    // Step 5: a vhost-user flow checked from the view, its ladder.
    await wb.runCommand('View: Close All Editors');
    await openRow(wb, 'postcopy-vhost-user-bridge');
    await frame.locator('.summary').first().waitFor({ timeout: 90_000 });
    await wb.runCommand('QEMU Migration: Check vhost-user Flow');
    await wb.pick('postcopy-vhost-user-bridge: both sides');
    await wb.waitForNotification(/vhost-user flows of postcopy-vhost-user-bridge/, 120_000);
    const ladder = editor.locator('.editor-group-container').filter({ has: wb.page.locator('.tab.active', { hasText: 'vhost-user: dst-trace.log' }) }).first();
    await ladder.waitFor({ timeout: 30_000 });
    await sleep(1000);
    await save(wb, ladder, media, 'vhost-user-ladder.png');
    await wb.runCommand('Notifications: Clear All Notifications');

    // Step 3: the lab's last question, its defaults in the first row.
    await wb.runCommand('View: Close All Editors');
    await wb.runCommand('QEMU Migration: Run Migration Lab…');
    await wb.pick('precopy-multifd');
    const qemuRow = wb.page.locator('.quick-input-list .monaco-list-row', { hasText: /^QEMU 7\.2/ }).first();
    const runRow = wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'multifd channels: 4' }).first();
    await Promise.race([qemuRow.waitFor({ timeout: 30_000 }), runRow.waitFor({ timeout: 30_000 })]);
    if (await qemuRow.isVisible()) await qemuRow.click();
    await runRow.waitFor({ timeout: 30_000 });
    await save(wb, quick, media, 'lab-options.png');
    // Run with the defaults: the README's picture of the Recordings view after a lab run.
    await wb.page.keyboard.press('Enter');
    await wb.waitForNotification(/Migration lab precopy-multifd completed/, 180_000);
    await rows.filter({ hasText: /^scenario\.json$/ }).first().waitFor({ timeout: 30_000 });
    await wb.page.mouse.move(5, 500);
    await sleep(1000);
    await save(wb, 'page', docs, 'recordings-view.png');
    await wb.runCommand('Notifications: Clear All Notifications');

    // Step 4: two QEMUs running; Connect to QMP offers them first.
    qemus.push(startQemu(sockets, 'dst', true), startQemu(sockets, 'src', false));
    await sleep(3000);
    await wb.runCommand('QEMU Migration: Connect to QMP…');
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'src.sock' }).first().waitFor({ timeout: 30_000 });
    await wb.page.mouse.move(5, 500);
    await sleep(800);
    await save(wb, quick, media, 'connect-pick.png');
    await wb.pick('dst.sock');
    const conn = wb.viewRows('Connections');
    await conn.filter({ hasText: /^dst\s*destination · QEMU/ }).first().waitFor({ timeout: 60_000 });
    await wb.runCommand('QEMU Migration: Connect to QMP…');
    await wb.pick('src.sock');
    await wb.pick('the QEMU that sends');
    await conn.filter({ hasText: /^src\s*source · QEMU/ }).first().waitFor({ timeout: 60_000 });
    // The README's picture: after a migration between them, the source's parameters open.
    await wb.page.locator('.pane-header', { hasText: 'Recordings' }).click();
    await wb.runCommand('QEMU Migration: Migrate Source → Destination');
    await quick.waitFor({ timeout: 30_000 });
    await wb.page.keyboard.press('Enter');
    await wb.waitForNotification(/Migration src → dst (completed|failed)/, 120_000);
    // The destination folded, the source's figures and parameters open.
    await conn.filter({ hasText: /^dst\s*destination/ }).first().locator('.monaco-tl-twistie').click();
    await conn.filter({ hasText: /^Parameters$/ }).last().click();
    await wb.page.mouse.move(5, 5);
    await sleep(1000);
    await save(wb, 'page', docs, 'connections.png');

    // The walkthrough with its pictures, when they were not there at the start.
    if (walkthroughFirst) return;
    await wb.runCommand('Notifications: Clear All Notifications');
    await wb.page.locator('.pane-header', { hasText: 'Recordings' }).click();
    await wb.runCommand('View: Close All Editors');
    await wb.runCommand('QEMU Migration: Get Started');
    await editor.getByText('Open a recorded migration', { exact: true }).first().click();
    await editor.locator('img[alt^="The Recordings view"]').first().waitFor({ timeout: 30_000 });
    await wb.page.mouse.move(5, 500);
    await sleep(1500);
    await save(wb, 'page', docs, 'walkthrough.png');
  } finally {
    for (const q of qemus) stopGroup(q);
    await wb.saveLogs('screenshots');
    await wb.close();
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`[screenshots] ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
