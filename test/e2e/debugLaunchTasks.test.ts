// The migration debugger's `launch` after a preLaunchTask, in a real VS Code (code-server): F5 on
// a launch configuration whose preLaunchTask starts the qemu-migration tasks (DPDK testpmd for the
// destination, tests/vhost-user-bridge for the source, then the two QEMU 7.2 on them), then
// attaches to the QEMUs' QMP sockets: the Run and Debug view shows both QEMUs' threads. Stopping
// the session ends everything the task started: every process (checked by pid), testpmd too,
// which outlives its QEMU, and every socket (checked by path). Screenshots in
// test-output/screenshots/debug-launch-tasks-*.png.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { chromiumInstalled, codeServerInstalled, repoRoot, Workbench } from '../support/codeServer';
import { bridgeInstalled, hasProgram, requireComponent } from '../support/components';
import { qemuBuild } from '../support/debugPair';
import { endProcessesNaming, processAlive as alive, processesNaming, waitFor } from '../support/processes';

before(() => {
  // Always rebuild: the test must run the extension as it is in the tree now.
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

/** Live processes whose command line names `marker` (a folder of this test's). */
test('Run and Debug: launch after the qemu-migration tasks shows both QEMUs\' threads; stopping it ends what the task started', { timeout: 420_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  if (!requireComponent(t, 'nasm', hasProgram('nasm', ['-v']))) return;
  if (!requireComponent(t, 'tests/vhost-user-bridge (scripts/setup.sh builds it)', bridgeInstalled())) return;
  if (!requireComponent(t, 'DPDK testpmd', existsSync('/usr/bin/dpdk-testpmd') || hasProgram('dpdk-testpmd', ['--version']))) return;
  const build = await qemuBuild('7.2');
  if (!requireComponent(t, `QEMU 7.2 (${build.problem})`, build.install !== undefined)) return;

  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-dbgtask-'));
  const workspace = join(root, 'ws');
  const recordings = join(root, 'recordings');
  // Every socket the tasks make goes here: the QMP sockets by these names, the bridges' by the run's folder.
  const sockets = join(root, 'sock');
  await mkdir(join(workspace, '.vscode'), { recursive: true });
  await mkdir(sockets, { recursive: true });
  const srcQmp = join(sockets, 'src.sock');
  const dstQmp = join(sockets, 'dst.sock');
  const vhost = { src: join(sockets, 'src-vu.sock'), dst: join(sockets, 'dst-vu.sock') };
  const common = { type: 'qemu-migration', run: 'dbg' };
  await writeFile(join(workspace, '.vscode', 'tasks.json'), JSON.stringify({
    version: '2.0.0',
    tasks: [
      { ...common, label: 'testpmd dst', kind: 'testpmd', role: 'destination', socket: vhost.dst },
      { ...common, label: 'bridge src', kind: 'vhost-user-bridge', role: 'source', socket: vhost.src },
      { ...common, label: 'qemu dst', kind: 'qemu', role: 'destination', qemu: '7.2', memoryMiB: 128, vhostUser: vhost.dst, qmp: dstQmp },
      { ...common, label: 'qemu src', kind: 'qemu', role: 'source', qemu: '7.2', memoryMiB: 128, vhostUser: vhost.src, qmp: srcQmp },
      { label: 'migration pair', dependsOn: ['testpmd dst', 'bridge src', 'qemu dst', 'qemu src'], dependsOrder: 'sequence' },
    ],
  }, null, 2));
  await writeFile(join(workspace, '.vscode', 'launch.json'), JSON.stringify({
    version: '0.2.0',
    configurations: [{ type: 'qemu-migration', request: 'launch', name: 'QEMUs of the tasks', preLaunchTask: 'migration pair', source: srcQmp, destination: dstQmp }],
  }, null, 2));

  const wb = await Workbench.launch({ settings: { 'QEMUMigration.outputFolder': recordings }, viewport: { width: 1600, height: 1000 } });
  const seen = new Set<number>();
  t.after(async () => {
    for (const pid of seen) if (alive(pid)) { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }
    await wb.screenshot('debug-launch-tasks-last').catch(() => undefined);
    await wb.saveLogs('debug-launch-tasks');
    await wb.close();
    endProcessesNaming(root, wb.runDir);
    await rm(root, { recursive: true, force: true });
  });
  const page = wb.page;
  await wb.openWorkbench(workspace);
  await wb.runCommand('View: Show Run and Debug');
  await page.locator('.pane-header', { hasText: 'Watch' }).first().waitFor({ timeout: 30_000 });
  await wb.setSideBarWidth(560);

  // F5: the tasks start one after the other, then the session attaches to both QEMUs.
  const callStack = wb.viewRows('Call Stack');
  const srcCpu = callStack.filter({ hasText: /source: CPU 0\/TCG \(tid \d+\)/ }).first();
  await wb.startDebugging(srcCpu, 120_000);
  await callStack.filter({ hasText: /destination: CPU 0\/TCG \(tid \d+\)/ }).first().waitFor({ timeout: 30_000 });
  // The QEMUs' second monitors (the Connections view's) are in the run's own socket folder.
  const runSockets = join(wb.runDir, 'server', 'tmp', 'qemu-migration-dbg');
  const all = [srcQmp, dstQmp, vhost.src, vhost.dst, join(runSockets, 'src-monitor.sock'), join(runSockets, 'dst-monitor.sock')];
  const procs = processesNaming(sockets);
  for (const p of procs) seen.add(p.pid);
  const kinds = procs.map((p) => (/qemu-system/.test(p.argv0) ? 'qemu' : /vhost-user-bridge/.test(p.argv0) ? 'bridge' : /testpmd/.test(p.argv0) ? 'testpmd' : p.argv0)).sort();
  assert.deepEqual(kinds, ['bridge', 'qemu', 'qemu', 'testpmd'], `the tasks run a bridge, testpmd and two QEMUs: ${procs.map((p) => `${p.pid} ${p.argv0}`).join(', ')}`);
  for (const s of all) assert.ok(existsSync(s), `${s} exists while the tasks run`);
  const stack = (await callStack.allInnerTexts()).join('\n');
  assert.match(stack, /source: CPU 0\/TCG/);
  assert.match(stack, /destination: CPU 0\/TCG/);
  assert.match(stack, /inmigrate/, 'the destination waits for its migration');
  const shotRunning = await wb.screenshot('debug-launch-tasks-threads');

  // Stop (Shift+F5): the session ends, and with it what its preLaunchTask started.
  await page.keyboard.press('Shift+F5');
  await srcCpu.waitFor({ state: 'detached', timeout: 30_000 });
  const left = await waitFor('the tasks\' processes to end', 30_000, () => (procs.some((p) => alive(p.pid)) ? undefined : [])).catch(() => procs.filter((p) => alive(p.pid)));
  assert.deepEqual(left.map((p) => `${p.pid} ${p.argv0}`), [], 'processes the preLaunchTask started still run after the session ended');
  await waitFor('the tasks\' sockets to be removed', 10_000, () => (all.some(existsSync) ? undefined : true))
    .catch(() => assert.fail(`sockets left: ${all.filter(existsSync).join(', ')}`));
  const shotEnded = await wb.screenshot('debug-launch-tasks-ended');
  // The QEMUs went because the user stopped the session: nothing says they were lost.
  const consoleText = (await page.locator('.repl .repl-tree').allInnerTexts()).join('\n');
  assert.doesNotMatch(consoleText, /QEMU is gone/, consoleText);
  assert.ok(!(await wb.notifications()).some((n) => /QEMU is gone/.test(n)), 'no notification says a QEMU was lost');
  t.diagnostic(`screenshots: ${shotRunning}, ${shotEnded}`);
});
