// An untrusted workspace in a real VS Code (code-server with workspace trust on, the folder in
// Restricted Mode): its .vscode/settings.json names a fake QEMU, testpmd and bridge (a test
// double that writes a marker file whenever it runs), its tasks.json a qemu-migration task and its
// launch.json a launch and an attach configuration. The lab refuses with a message saying why,
// "Run Task" lists no qemu-migration task and F5 starts no session (VS Code asks for trust first,
// an attach included), and the fake binary never runs. Once the user trusts the folder, the
// qemu-migration tasks are offered. Screenshots in test-output/screenshots/untrusted-*.png.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { chromiumInstalled, codeServerInstalled, repoRoot, Workbench } from '../support/codeServer';
import { requireComponent } from '../support/components';
import { waitFor } from '../support/processes';

before(() => {
  // Always rebuild: the test must run the extension as it is in the tree now.
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

interface Workspace {
  folder: string;
  recordings: string;
  /** Written by the fake binaries each time one runs. */
  marker: string;
  fakeDir: string;
}

/** A test double for every binary a workspace could name: it records that it ran, and fails. */
async function fakeBinary(path: string, marker: string): Promise<void> {
  await writeFile(path, `#!/bin/sh\necho "$0 $*" >> '${marker}'\nexit 1\n`);
  await chmod(path, 0o755);
}

async function makeWorkspace(root: string): Promise<Workspace> {
  const folder = join(root, 'ws');
  const fakeDir = join(folder, 'fake');
  const marker = join(root, 'fake-binary-ran.txt');
  const recordings = join(root, 'recordings');
  for (const d of [join(folder, '.vscode'), join(fakeDir, 'build', 'tests'), join(fakeDir, 'src', 'build', 'tests'), recordings]) await mkdir(d, { recursive: true });
  for (const b of ['qemu-system-x86_64', 'dpdk-testpmd', join('build', 'tests', 'vhost-user-bridge'), join('src', 'build', 'tests', 'vhost-user-bridge')]) {
    await fakeBinary(join(fakeDir, b), marker);
  }
  const fakeQemu = join(fakeDir, 'qemu-system-x86_64');
  const qemus = [fakeQemu, { path: fakeQemu, firmwareDir: fakeDir }];
  // Every setting that names a binary or a build, under its name and its former one.
  await writeFile(join(folder, '.vscode', 'settings.json'), JSON.stringify({
    'QEMUMigration.QEMUBinary': fakeQemu,
    'qemuMigration.qemuBinary': fakeQemu,
    'QEMUMigration.moreQEMUBinaries': qemus,
    'qemuMigration.qemuBinaries': qemus,
    'QEMUMigration.testpmdBinary': join(fakeDir, 'dpdk-testpmd'),
    'qemuMigration.testpmdBinary': join(fakeDir, 'dpdk-testpmd'),
    'QEMUMigration.QEMUBuildFolder': join(fakeDir, 'build'),
    'qemuMigration.qemuBuildDir': join(fakeDir, 'build'),
    'QEMUMigration.QEMUSourceFolder': join(fakeDir, 'src'),
    'qemuMigration.qemuSourceDir': join(fakeDir, 'src'),
  }, null, 2));
  await writeFile(join(folder, '.vscode', 'tasks.json'), JSON.stringify({
    version: '2.0.0',
    tasks: [{ label: 'workspace bridge', type: 'qemu-migration', kind: 'vhost-user-bridge', role: 'destination' }],
  }, null, 2));
  await writeFile(join(folder, '.vscode', 'launch.json'), JSON.stringify({
    version: '0.2.0',
    configurations: [
      { type: 'qemu-migration', request: 'launch', name: 'Launch a lab pair', lab: { memoryMiB: 128 } },
      { type: 'qemu-migration', request: 'attach', name: 'Attach to sockets', source: join(root, 'src.sock'), destination: join(root, 'dst.sock') },
    ],
  }, null, 2));
  return { folder, recordings, marker, fakeDir };
}

/** Processes whose command line names the fake binaries' folder. */
function fakeProcesses(fakeDir: string): string[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).flatMap((n) => {
    try {
      const argv = readFileSync(`/proc/${n}/cmdline`, 'utf8');
      return argv.split('\0')[0]?.startsWith(fakeDir) ? [`${n} ${argv.replace(/\0/g, ' ')}`] : [];
    } catch {
      return [];
    }
  });
}

test('an untrusted workspace: no lab, no qemu-migration task, no debug session, its binaries never run; trusting it offers the tasks', { timeout: 300_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;

  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-untrusted-ws-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const ws = await makeWorkspace(root);
  const wb = await Workbench.launch({ untrusted: true, settings: { 'QEMUMigration.outputFolder': ws.recordings } });
  t.after(async () => {
    await wb.saveLogs('untrusted-workspace');
    await wb.close();
  });
  const page = wb.page;
  const dialog = page.locator('.monaco-dialog-box');
  const rows = page.locator('.quick-input-list .monaco-list-row');
  await wb.openWorkbench(ws.folder);
  await page.locator('.statusbar', { hasText: 'Restricted Mode' }).waitFor({ timeout: 30_000 });

  // The lab: the workbench's own refusal, saying why, and no scenario offered.
  await wb.runCommand('QEMU Migration: Run Migration Lab…');
  const refusal = await wb.waitForNotification(/untrusted workspace/, 30_000);
  assert.match(refusal, /The migration lab launches QEMU processes, which this extension does not do in an untrusted workspace/);
  const labShot = await wb.screenshot('untrusted-lab-refused');
  assert.equal(await rows.filter({ hasText: 'postcopy-vhost-user' }).count(), 0, 'no lab scenario was offered');
  await waitFor('the extension to say why it offers no tasks', 30_000, () => (/tasks: none offered in an untrusted workspace/.test(wb.extensionLog()) ? true : undefined));
  assert.doesNotMatch(wb.extensionLog(), /task provider registered/);

  // Run Task: VS Code asks for trust first; declined, no task list opens at all.
  await wb.runCommand('Tasks: Run Task');
  await dialog.waitFor({ timeout: 30_000 });
  assert.match(await dialog.innerText(), /Listing and running tasks requires that some of the files in this workspace be executed as code/);
  const taskShot = await wb.screenshot('untrusted-run-task-asks-trust');
  await dialog.locator('.monaco-button', { hasText: /^Cancel$/ }).click();
  await dialog.waitFor({ state: 'detached', timeout: 10_000 });
  // Whatever opens now would be the task list: give it the time it takes, then look.
  await new Promise((r) => setTimeout(r, 3000));
  const taskRows = (await page.locator('.quick-input-widget').isVisible()) ? await rows.allInnerTexts() : [];
  assert.ok(!taskRows.some((r) => /qemu-migration|workspace bridge|vhost-user-bridge/.test(r)), `no qemu-migration task is offered: ${taskRows.join(' | ')}`);
  const declinedShot = await wb.screenshot('untrusted-run-task-declined');

  // F5 on the launch configuration, then on the attach one: VS Code asks for trust before any
  // debug session, so neither starts (the workbench refuses launch by itself as well).
  for (const name of ['Launch a lab pair', 'Attach to sockets']) {
    await wb.runCommand('Debug: Select and Start Debugging');
    await wb.pick(name);
    await dialog.waitFor({ timeout: 30_000 });
    assert.match(await dialog.innerText(), /Debugging executes build tasks and program code from your workspace/);
    await wb.screenshot(`untrusted-debug-${name.startsWith('Launch') ? 'launch' : 'attach'}-asks-trust`);
    await dialog.locator('.monaco-button', { hasText: /^Cancel$/ }).click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
  }
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(await page.locator('.debug-toolbar').isVisible(), false, 'no debug session runs');
  const debugShot = await wb.screenshot('untrusted-debug-declined');

  // The workspace's binaries never ran: no marker, no process, nothing recorded.
  assert.equal(existsSync(ws.marker), false, `a binary named by the workspace settings ran:\n${existsSync(ws.marker) ? readFileSync(ws.marker, 'utf8') : ''}`);
  assert.deepEqual(fakeProcesses(ws.fakeDir), []);
  assert.deepEqual(await readdir(ws.recordings), [], 'nothing was recorded');

  // The user trusts the folder from the Run Task prompt: the qemu-migration tasks are offered now.
  await wb.runCommand('Tasks: Run Task');
  await dialog.waitFor({ timeout: 30_000 });
  await dialog.locator('.monaco-button', { hasText: 'Trust Folder & Continue' }).click();
  await page.locator('.statusbar', { hasText: 'Restricted Mode' }).waitFor({ state: 'detached', timeout: 30_000 });
  await rows.filter({ hasText: /^\s*qemu-migration(?!:)/ }).first().click({ timeout: 60_000 });
  await rows.filter({ hasText: 'Postcopy migration with vhost-user-bridge' }).first().waitFor({ timeout: 60_000 });
  const trustedShot = await wb.screenshot('untrusted-then-trusted-tasks');
  assert.match(wb.extensionLog(), /task provider registered/);
  await page.keyboard.press('Escape');
  t.diagnostic(`screenshots: ${[labShot, taskShot, declinedShot, debugShot, trustedShot].join(', ')}`);
});
