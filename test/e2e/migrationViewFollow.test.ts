// The migration view's data over its lifetime, in a real VS Code (code-server): a tab hidden
// and shown again gets the model the extension host kept (the traces are not read again),
// and Follow shows a real trace growing by megabytes with the right numbers while the
// extension host's memory stays flat.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { recordings as fixtureRecordings } from '../../src/core/trace/testSupport';
import { chromiumInstalled, codeServerInstalled, extensionBuilt, repoRoot, Workbench } from '../support/codeServer';
import { hasFile, requireComponent } from '../support/components';
import { openRow, statValue, viewFrame } from '../support/migrationViewFrame';
import { RealTraceLines, traceText } from '../support/traceGrowth';

const demo = join(repoRoot, 'demo', 'recordings', 'precopy-multifd');
/** A real QEMU 10.2.50 source trace: 78 thousand events of which 401 are multifd packets. */
const realSource = join(fixtureRecordings, 'qemu-10.2.50-multifd-legacy', 'src-trace.log.xz');

before(() => {
  if (extensionBuilt() && existsSync(join(repoRoot, 'dist', 'migrationView.js'))) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

/** Resident memory of a process, MiB. */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface AnalyzeJson { multifd: { send: { packets: number }[] | null }; traces: { events: number }[] }

test('migration view lifetime in code-server: hidden and shown, following a growing trace', { timeout: 900_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  if (!requireComponent(t, 'lab recording demo/recordings/precopy-multifd', hasFile(join(demo, 'scenario.json')))) return;
  if (!requireComponent(t, `real recording ${realSource}`, hasFile(realSource))) return;

  const root = await mkdtemp(join(tmpdir(), 'qmw-e2e-follow-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const workspace = join(root, 'workspace');
  const recordings = join(workspace, 'recordings');
  await mkdir(recordings, { recursive: true });
  await cp(demo, join(recordings, 'precopy-multifd'), { recursive: true });
  await mkdir(join(workspace, 'notes'), { recursive: true });
  await writeFile(join(workspace, 'notes', 'readme.txt'), 'an editor to put over the view\n');
  const live = join(workspace, 'live');
  await mkdir(live, { recursive: true });
  // A migration that goes on: the channel threads' start and end and the teardown left out.
  const lines = new RealTraceLines(traceText(realSource), { packets: /Z multifd_send_fill / }, /multifd_send_thread_(start|end)|terminate_threads|migration_cleanup|migration_cancel/);
  const growing = join(live, 'src-trace.log');
  await writeFile(growing, lines.copies(1));

  const wb = await Workbench.launch({ settings: { 'QEMUMigration.outputFolder': recordings }, viewport: { width: 1600, height: 1000 } });
  t.after(async () => {
    await wb.saveLogs('migration-view-follow');
    await wb.close();
  });
  await wb.openWorkbench(workspace);
  await wb.showViewContainer('QEMU Migration');
  const frame = viewFrame(wb);

  await t.test('a tab hidden and shown again is answered from the model kept: the traces are not read again', async () => {
    await openRow(wb, 'precopy-multifd');
    await frame.locator('[data-testid="packets-send"]').waitFor({ timeout: 60_000 });
    const before = { send: await statValue(frame, 'packets-send'), recv: await statValue(frame, 'packets-recv'), events: await statValue(frame, 'events-src') };
    const reads = (): number => wb.extensionLog().split('\n').filter((l) => l.includes('migration view: read ') && l.includes('precopy-multifd')).length;
    assert.equal(reads(), 1);
    // The files go away: a second read could only fail.
    for (const side of ['src', 'dst']) await rm(join(recordings, 'precopy-multifd', `${side}-trace.log`));
    // Another editor over the view hides it (its webview is destroyed); its tab shows it again.
    await wb.page.keyboard.press('Control+P');
    await wb.page.locator('.quick-input-widget input').fill('notes/readme.txt');
    await wb.pick('readme.txt');
    await wb.page.locator('.tabs-container .tab.active', { hasText: 'readme.txt' }).waitFor({ timeout: 30_000 });
    await wb.page.locator('.tabs-container .tab', { hasText: 'precopy-multifd' }).click();
    await frame.locator('[data-testid="packets-send"]').waitFor({ timeout: 60_000 });
    assert.deepEqual({ send: await statValue(frame, 'packets-send'), recv: await statValue(frame, 'packets-recv'), events: await statValue(frame, 'events-src') }, before);
    assert.equal(await frame.locator('.status.error').count(), 0, 'no error shown');
    assert.equal(reads(), 1, 'the traces were read once');
    await wb.screenshot('migration-view-shown-again');
  });

  await t.test('follow: a real trace growing by megabytes shows its numbers, the host\'s memory stays flat', async () => {
    await wb.runCommand('View: Close All Editors');
    await openRow(wb, 'src-trace.log');
    await frame.locator('[data-testid="packets-send"]').waitFor({ timeout: 60_000 });
    assert.equal(await statValue(frame, 'packets-send'), String(lines.perCopy.get('packets')));
    await frame.locator('.toolbar input[type="checkbox"]').check();
    await frame.locator('.status', { hasText: 'following' }).waitFor({ timeout: 10_000 });
    const host = wb.extensionHostPid();
    assert.ok(host, 'the extension host runs');
    // 60 steps of one copy (7.6 MB of real lines with fresh timestamps), 0.25 s apart: 450 MB.
    const rss: number[] = [];
    let copies = 1;
    for (let step = 0; step < 60; step++) {
      lines.restartAt(Date.now());
      await appendFile(growing, lines.copies(1));
      copies += 1;
      await new Promise((r) => setTimeout(r, 250));
      rss.push(rssMiB(host));
      if (step === 30) await wb.screenshot('migration-view-following');
    }
    const events = (copies * lines.linesPerCopy).toLocaleString('en-US');
    const packets = (copies * lines.perCopy.get('packets')!).toLocaleString('en-US');
    await frame.locator('[data-testid="events-src"] .value', { hasText: new RegExp(`^${events}$`) }).waitFor({ timeout: 60_000 }).catch(() => undefined);
    await wb.screenshot('migration-view-followed');
    const appendedMiB = ((copies - 1) * lines.bytesPerCopy) / 2 ** 20;
    t.diagnostic(`appended ${appendedMiB.toFixed(0)} MiB (${copies} copies); extension host RSS per step: ${rss.map((r) => r.toFixed(0)).join(' ')} MiB`);
    assert.equal(await statValue(frame, 'events-src'), events, 'events after growth');
    assert.equal(await statValue(frame, 'packets-send'), packets, 'packets after growth');
    // The same numbers as a fresh read of the grown file.
    const fresh = JSON.parse(execFileSync(process.execPath, [join(repoRoot, 'dist', 'cli.js'), 'analyze', growing, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 })) as AnalyzeJson;
    assert.equal(packets, fresh.multifd.send!.reduce((n, c) => n + c.packets, 0).toLocaleString('en-US'));
    assert.equal(events, fresh.traces[0]!.events.toLocaleString('en-US'));
    // Flat: over the second half of the growth (the follow worker and the view long started),
    // the host grows by less than a twentieth of what was appended meanwhile; a store of every
    // event grows by about a tenth of it, step after step.
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const half = Math.floor(rss.length / 2);
    const grew = mean(rss.slice(-5)) - mean(rss.slice(half - 2, half + 3));
    const meanwhile = (rss.length - half) * lines.bytesPerCopy / 2 ** 20;
    assert.ok(grew < meanwhile / 20, `the extension host grew by ${grew.toFixed(0)} MiB while ${meanwhile.toFixed(0)} MiB were appended`);
  });
});
