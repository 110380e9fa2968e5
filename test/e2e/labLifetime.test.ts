// A lab run in a real VS Code (code-server) ends with the window: reloading the window while
// the lab's QEMUs and testpmds run leaves none of them running (checked by pid) and removes
// the lab's socket folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { chromiumInstalled, codeServerInstalled, extensionBuilt, repoRoot, Workbench } from '../support/codeServer';
import { hasProgram, requireComponent } from '../support/components';
import { processAlive as alive, waitFor } from '../support/processes';

const qemuBinary = process.env.QMW_QEMU ?? 'qemu-system-x86_64';
const testpmdBinary = process.env.QMW_TESTPMD ?? 'dpdk-testpmd';

before(() => {
  if (extensionBuilt()) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

interface Proc { pid: number; argv: string[] }

/** Live (not zombie) processes whose command line mentions `marker` (this run's private folder). */
function processesMentioning(marker: string): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      if (!argv.some((a) => a.includes(marker))) continue;
      if (/\) Z /.test(readFileSync(`/proc/${name}/stat`, 'utf8'))) continue;
      out.push({ pid: Number(name), argv });
    } catch {
      // the process ended while being looked at
    }
  }
  return out;
}



test('a window reload ends the lab run: no QEMU or testpmd left, sockets removed', { timeout: 300_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  if (!requireComponent(t, 'qemu', hasProgram(qemuBinary))) return;
  if (!requireComponent(t, 'DPDK testpmd', hasProgram(testpmdBinary, ['--version']) || existsSync('/usr/bin/dpdk-testpmd'))) return;

  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-lablife-'));
  const workspace = join(root, 'workspace');
  await mkdir(join(workspace, 'recordings'), { recursive: true });
  const wb = await Workbench.launch({ settings: { 'QEMUMigration.outputFolder': join(workspace, 'recordings') } });
  // The lab's temporary folder (its sockets, the guest) is under code-server's private TMPDIR,
  // inside this run's folder: its path marks the processes this test started.
  const marker = wb.runDir;
  const seen = new Set<number>();
  t.after(async () => {
    // Whatever the outcome, nothing this test started stays: end leftover groups by their pid.
    for (const pid of seen) if (alive(pid)) { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }
    await wb.saveLogs('lab-lifetime');
    await wb.close();
    await rm(root, { recursive: true, force: true });
  });
  await wb.openWorkbench(workspace);

  await wb.runCommand('QEMU Migration: Run Migration Lab…');
  // The scenario and the QEMU by their labels; any other question the lab asks keeps its default.
  const steps = await wb.answerQuickInputs(['postcopy-vhost-user', /^QEMU 7\.2\.\d+$/], async () => (await wb.notifications()).some((n) => /^Migration lab:? postcopy-vhost-user\b/.test(n)));
  t.diagnostic(`lab questions: ${steps.join('; ')}`);
  // Both testpmds and both QEMUs up: the run is in the middle of its migration.
  const procs = await waitFor('two QEMUs and two testpmds of the lab', 120_000, () => {
    const found = processesMentioning(marker).filter((p) => /qemu-system|testpmd/.test(p.argv[0] ?? ''));
    for (const p of found) seen.add(p.pid);
    const qemus = found.filter((p) => /qemu-system/.test(p.argv[0]!)), pmds = found.filter((p) => /testpmd/.test(p.argv[0]!));
    return qemus.length === 2 && pmds.length === 2 ? found : undefined;
  });
  const socketDirs = readdirSync(join(marker, 'server', 'tmp')).filter((n) => n.startsWith('qmig-lab-'));
  assert.equal(socketDirs.length, 1, 'the lab made its temporary folder');
  const socketDir = join(marker, 'server', 'tmp', socketDirs[0]!);
  assert.ok(readdirSync(socketDir).some((n) => n.endsWith('.sock')), `sockets in ${socketDir}`);
  t.diagnostic(`lab processes before the reload: ${procs.map((p) => `${p.pid} ${p.argv[0]}`).join(', ')}`);

  await wb.runCommand('Developer: Reload Window');
  // VS Code gives deactivate 5 s; the processes must be gone once it is over.
  const left = await waitFor('the lab processes to end', 20_000, () => (procs.some((p) => alive(p.pid)) ? undefined : [])).catch(() => procs.filter((p) => alive(p.pid)));
  assert.deepEqual(left.map((p) => `${p.pid} ${p.argv[0]}`), [], 'lab processes still running after the window reload');
  await waitFor(`${socketDir} to be removed`, 10_000, () => (existsSync(socketDir) ? undefined : true));
  await wb.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
});
