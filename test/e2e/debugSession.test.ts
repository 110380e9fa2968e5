// The migration debugger in a real VS Code (code-server): F5 on an attach configuration of a
// running QEMU 7.2 pair, both QEMUs' threads and variables in the Run and Debug view, a stop
// before switchover during a real migration, continue to completed, disconnect leaving both running;
// then the same pair attached from the configurations the workbench finds, without launch.json.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { chromiumInstalled, codeServerInstalled, repoRoot, Workbench } from '../support/codeServer';
import { requireComponent } from '../support/components';
import { DebugPair, qemuBuild } from '../support/debugPair';

before(() => {
  // Always rebuild: the test must run the extension as it is in the tree now.
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

test('Run and Debug: F5 attaches to a pair, stops before switchover with both sides shown, continues to completed', { timeout: 600_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  const build = await qemuBuild('7.2');
  if (!requireComponent(t, `QEMU 7.2 (${build.problem})`, build.install !== undefined) || !build.install) return;

  const pair = await DebugPair.start(build.install, 'e2e');
  t.after(() => pair.stop());
  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-dap-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const workspace = join(root, 'ws');
  await mkdir(join(workspace, '.vscode'), { recursive: true });
  await writeFile(join(workspace, '.vscode', 'launch.json'), JSON.stringify({
    version: '0.2.0',
    configurations: [{ type: 'qemu-migration', request: 'attach', name: 'Attach to the lab pair', source: pair.source.socket, destination: pair.destination.socket }],
  }, null, 2));

  const wb = await Workbench.launch({ viewport: { width: 1600, height: 1000 } });
  t.after(async () => {
    await wb.screenshot('debug-last').catch(() => undefined);
    await wb.saveLogs('debug-session');
    await wb.close();
  });
  const page = wb.page;
  await wb.openWorkbench(workspace);
  // The source is already open in the Connections view: the debug session shares that connection
  // (QEMU serves one client per QMP socket).
  await wb.runCommand('QEMU Migration: Connect to QMP…');
  const input = page.locator('.quick-input-widget input');
  await input.fill(pair.source.socket);
  await page.locator('.quick-input-list .monaco-list-row').filter({ hasText: pair.source.socket }).first().waitFor({ timeout: 30_000 });
  await page.keyboard.press('Enter');
  await wb.pick('the QEMU that sends');
  await wb.runCommand('View: Show Run and Debug');
  await page.locator('.debug-view-content, .debug-pane, .pane-header').first().waitFor({ timeout: 30_000 });
  await wb.setSideBarWidth(560);

  // F5: the configuration of launch.json is the selected one.
  const callStack = wb.viewRows('Call Stack');
  const srcCpu = callStack.filter({ hasText: /source: CPU 0\/TCG \(tid \d+\)/ }).first();
  await wb.startDebugging(srcCpu, 30_000);
  await callStack.filter({ hasText: /destination: CPU 0\/TCG \(tid \d+\)/ }).first().waitFor({ timeout: 30_000 });

  await page.locator('.repl .repl-tree .monaco-list-row', { hasText: /source \(QEMU 7\.2\.\d+\) at .*src\.sock \(pid \d+, shared with the Connections view\)/ }).first().waitFor({ timeout: 30_000 });

  // The migration-state filters of the adapter appear in the Breakpoints view; turn on "Before switchover".
  const bpRow = wb.viewRows('Breakpoints').filter({ hasText: 'Before switchover' }).first();
  await bpRow.waitFor({ timeout: 30_000 });
  await bpRow.locator('.monaco-checkbox, input[type=checkbox]').first().click();
  const console = page.locator('.repl');
  await page.locator('.part.panel').waitFor({ timeout: 30_000 });
  await console.locator('.repl-tree .monaco-list-row', { hasText: /pause-before-switchover/ }).first().waitFor({ timeout: 30_000 });

  // Start the migration from the debug console: incoming on the destination, migrate on the source.
  const replInput = page.locator('.repl-input-wrapper .monaco-editor').first();
  for (const line of [
    '@dst migrate-set-capabilities {"capabilities": [{"capability": "multifd", "state": true}]}',
    '@src migrate-set-capabilities {"capabilities": [{"capability": "multifd", "state": true}]}',
    `@dst migrate-incoming {"uri": "unix:${pair.dir}/mig.sock"}`,
    `@src migrate {"uri": "unix:${pair.dir}/mig.sock"}`,
  ]) {
    await replInput.click();
    await page.keyboard.type(line);
    await page.keyboard.press('Enter');
  }
  await console.locator('.repl-tree .monaco-list-row', { hasText: /Before switchover: the source holds the migration/ }).first().waitFor({ timeout: 90_000 });
  // The source's threads are paused before switchover, its migration threads among them.
  await callStack.filter({ hasText: /Paused before switchover/i }).first().waitFor({ timeout: 30_000 });
  await callStack.filter({ hasText: /source: (live_migration|multifdsend_0)/ }).first().waitFor({ timeout: 30_000 });
  const variables = wb.viewRows('Variables');
  await variables.filter({ hasText: /Migration \(source\)/ }).first().waitFor({ timeout: 30_000 });
  await variables.filter({ hasText: /status\s*=?\s*"pre-switchover"/ }).first().waitFor({ timeout: 30_000 });
  const shotHeld = await wb.screenshot('debug-before-switchover');
  const stackText = (await callStack.allInnerTexts()).join('\n');
  assert.match(stackText, /source: CPU 0\/TCG/);
  assert.match(stackText, /destination: CPU 0\/TCG/);
  assert.match(stackText, /source: live_migration/);
  assert.match(stackText, /source: multifdsend_0/);

  // The destination's side: its frame's scopes show its own migration, still active.
  await callStack.filter({ hasText: /destination: CPU 0\/TCG/ }).first().click();
  const dstFrame = callStack.filter({ hasText: /inmigrate|migration active/ }).first();
  await dstFrame.waitFor({ timeout: 30_000 });
  await dstFrame.click();
  await variables.filter({ hasText: /Migration \(destination\)/ }).first().waitFor({ timeout: 30_000 });
  await variables.filter({ hasText: /status\s*=?\s*"active"/ }).first().waitFor({ timeout: 30_000 });
  // Capabilities of the destination, with the one the source differs in marked.
  await variables.filter({ hasText: /^Capabilities \(destination\)/ }).first().click();
  await variables.filter({ hasText: /pause-before-switchover\s*=?\s*off\s+≠ source: on/ }).first().waitFor({ timeout: 30_000 });
  const shotDst = await wb.screenshot('debug-destination-variables');

  // Continue the source: migrate-continue, and the migration completes on both sides.
  // Continue the source thread (its own Continue action in the Call Stack view).
  // The list renders only the rows in view: scroll it back to its first row, the source's vCPU.
  await callStack.filter({ hasText: /destination: CPU 0\/TCG/ }).first().click();
  await page.keyboard.press('Home');
  const srcRow = callStack.filter({ hasText: /source: CPU 0\/TCG/ }).first();
  await srcRow.hover();
  await srcRow.locator('.codicon-debug-continue').first().click();
  // Away from the row: while hovered it shows its actions instead of its state.
  await page.mouse.move(0, 0);
  // The two monitors report the end on their own sockets: either may come first.
  for (const side of ['destination', 'source']) {
    await console.locator('.repl-tree .monaco-list-row', { hasText: new RegExp(`${side}: migration completed`) }).first().waitFor({ timeout: 90_000 });
  }
  const replText = (await console.locator('.repl-tree').allInnerTexts()).join('\n');
  assert.match(replText, /migrate-continue \{"state": "pre-switchover"\}/);
  assert.match(replText, /source: migration completed/);
  // The source's guest stays paused after the switchover, and its threads say so.
  await callStack.filter({ hasText: /source: CPU 0\/TCG.*postmigrate/i }).first().waitFor({ timeout: 30_000 }).catch(async (e: unknown) => {
    await wb.screenshot('debug-postmigrate-missing');
    throw e;
  });
  await callStack.filter({ hasText: /destination: CPU 0\/TCG \(tid \d+\)\s*Running/i }).first().waitFor({ timeout: 30_000 });
  await variables.filter({ hasText: /status\s*=?\s*"completed"/ }).first().waitFor({ timeout: 30_000 });
  const shotDone = await wb.screenshot('debug-completed');

  // Shift+F5 disconnects: both QEMUs keep running, the capability the session set is restored.
  await page.keyboard.press('Shift+F5');
  await callStack.filter({ hasText: /source: CPU 0/ }).first().waitFor({ state: 'detached', timeout: 30_000 });
  assert.ok(!pair.source.process.hasExited && !pair.destination.process.hasExited, 'disconnect leaves the QEMUs running');
  for (const f of [shotHeld, shotDst, shotDone]) assert.ok(existsSync(f));

  // Without a launch.json entry: "Select and Start Debugging" → QEMU Migration… offers what the
  // workbench finds (the QMP sockets of the QEMUs running on this host), the pair first.
  await wb.runCommand('Debug: Select and Start Debugging');
  await wb.pick('QEMU Migration');
  const offered = wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Attach to migration' }).first();
  await offered.waitFor({ timeout: 30_000 });
  const offeredText = (await wb.page.locator('.quick-input-list .monaco-list-row').allInnerTexts()).join('\n');
  assert.ok(offeredText.includes(`Attach to ${pair.source.socket} as source`), offeredText);
  assert.ok(offeredText.includes(`Attach to ${pair.destination.socket} as destination`), offeredText);
  await wb.screenshot('debug-discovered-configurations');
  await offered.click();
  await callStack.filter({ hasText: /source: CPU 0\/TCG \(tid \d+\)/ }).first().waitFor({ timeout: 60_000 });
  await callStack.filter({ hasText: /destination: CPU 0\/TCG \(tid \d+\)/ }).first().waitFor({ timeout: 30_000 });
  await page.keyboard.press('Shift+F5');
  await callStack.filter({ hasText: /source: CPU 0/ }).first().waitFor({ state: 'detached', timeout: 30_000 });
  assert.ok(!pair.source.process.hasExited && !pair.destination.process.hasExited, 'disconnect leaves the QEMUs running');
});
