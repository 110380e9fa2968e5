// The trace-events language features in a real VS Code (code-server) on the QEMU 10.0.2 source
// tree that setup fetches: hover an event of migration/trace-events, F12 into its C call site,
// Shift+F12 lists the call sites (as many as grep finds), an edited line gets its diagnostic,
// and a language server that dies is restarted with one notification.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { before, test } from 'node:test';
import { cacheDir } from '../../scripts/code-server-launch';
import { chromiumInstalled, codeServerInstalled, repoRoot, Workbench } from '../support/codeServer';
import { requireComponent } from '../support/components';
import { grepTraceCalls } from '../support/lspSession';

const source = join(cacheDir(), 'qemu-src', '10.0.2');

before(() => {
  // Always rebuild: the test must run the extension as it is in the tree now.
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

/** Pids of language servers started by this code-server (their command line names its run folder). */
function serverPids(runDir: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes('traceEventsServer.js') && cmd.includes(runDir)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

test('trace-events language features in code-server on the QEMU 10.0.2 tree', { timeout: 600_000 }, async (t) => {
  if (!requireComponent(t, 'code-server', codeServerInstalled())) return;
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  if (!requireComponent(t, 'QEMU 10.0.2 source tree (scripts/setup-qemu10.sh)', existsSync(join(source, 'migration', 'trace-events')))) return;
  // A copy of the tree (without its build folder and the firmware sources of roms/): the test edits
  // a file, and the cache's tree must stay as setup left it.
  const root = mkdtempSync(join(tmpdir(), 'qmw-e2e-trace-events-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const tree = join(root, 'qemu-10.0.2');
  cpSync(source, tree, { recursive: true, filter: (p) => !['build', 'roms', '.git'].includes(relative(source, p).split('/')[0]!) });
  const traceEvents = join(tree, 'migration', 'trace-events');
  const lines = readFileSync(traceEvents, 'utf8').split('\n');
  const lineOf = (name: string): number => lines.findIndex((l) => l.startsWith(`${name}(`)) + 1;

  const wb = await Workbench.launch({ viewport: { width: 1500, height: 900 }, settings: { 'files.autoSave': 'off' } });
  t.after(async () => {
    await wb.saveLogs('trace-events');
    await wb.close();
  });
  const page = wb.page;
  await wb.openWorkbench(tree);
  const editor = page.locator('.editor-instance .monaco-editor').first();
  const goToLine = async (line: number, column = 1): Promise<void> => {
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input').fill(`:${line}:${column}`);
    await page.keyboard.press('Enter');
    await page.locator('.statusbar-item', { hasText: `Ln ${line}, Col ${column}` }).waitFor({ timeout: 15_000 });
  };
  const openFile = async (rel: string): Promise<void> => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill(rel);
    await wb.pick(rel.split('/').pop()!);
    await page.locator('.tabs-container .tab.active', { hasText: rel.split('/').pop()! }).waitFor({ timeout: 30_000 });
  };

  await openFile('migration/trace-events');
  // The language of the file and the call index (status bar) are there.
  await page.locator('.statusbar-item', { hasText: 'QEMU trace-events' }).waitFor({ timeout: 60_000 });
  const indexed = page.locator('.statusbar-item', { hasText: /\d+ trace calls/ });
  await indexed.waitFor({ timeout: 180_000 });
  const callCount = Number(/(\d+) trace calls/.exec(await indexed.innerText())?.[1]);
  assert.ok(callCount > 5000, `${callCount} call sites indexed`);

  await t.test('hover on an event shows its declaration, call sites and history', async () => {
    await goToLine(lineOf('multifd_send_fill'), 3);
    await wb.runCommand('Show or Focus Hover');
    const hover = page.locator('.monaco-hover .hover-contents').first();
    await hover.waitFor({ state: 'visible', timeout: 30_000 });
    await page.locator('.monaco-hover', { hasText: 'History' }).waitFor({ timeout: 15_000 });
    const text = await page.locator('.monaco-hover').first().innerText();
    await wb.screenshot('trace-events-hover');
    assert.match(text, /multifd_send_fill/);
    assert.match(text, /Call sites: 1 \(migration\/multifd\.c:\d+\)/);
    assert.match(text, /added after [\d.]+: first in [\d.]+/);
    assert.match(text, /packet_num/);
    await page.keyboard.press('Escape');
  });

  await t.test('F12 on a declaration goes into C, to its call site', async () => {
    await goToLine(lineOf('multifd_send_sync_main_signal'), 3);
    await page.keyboard.press('F12');
    await page.locator('.tabs-container .tab.active', { hasText: 'multifd.c' }).waitFor({ timeout: 30_000 });
    const c = readFileSync(join(tree, 'migration', 'multifd.c'), 'utf8').split('\n');
    const callLine = c.findIndex((l) => l.includes('trace_multifd_send_sync_main_signal(')) + 1;
    await page.locator('.statusbar-item', { hasText: new RegExp(`Ln ${callLine}, Col`) }).waitFor({ timeout: 15_000 });
    await wb.screenshot('trace-events-f12-into-c');
    // And F12 on the call goes back to the declaration.
    await page.keyboard.press('F12');
    await page.locator('.tabs-container .tab.active', { hasText: 'trace-events' }).waitFor({ timeout: 30_000 });
    await page.locator('.statusbar-item', { hasText: `Ln ${lineOf('multifd_send_sync_main_signal')}, Col` }).waitFor({ timeout: 15_000 });
  });

  await t.test('Shift+F12 lists the call sites, as many as grep finds', async () => {
    const name = 'vmstate_downtime_checkpoint';
    const want = grepTraceCalls(tree, name).length;
    assert.ok(want >= 3, `${name} has ${want} call sites`);
    await goToLine(lineOf(name), 3);
    await page.keyboard.press('Shift+F12');
    const peek = page.locator('.peekview-widget').first();
    await peek.waitFor({ state: 'visible', timeout: 30_000 });
    // VS Code asks for the declaration too: the call sites and one more.
    const title = peek.locator('.peekview-title');
    await title.locator('.meta', { hasText: /References \(\d+\)/ }).waitFor({ timeout: 30_000 });
    const meta = await title.locator('.meta').innerText();
    await wb.screenshot('trace-events-references');
    assert.match(meta, new RegExp(`References \\(${want + 1}\\)`), `the peek says ${meta}; grep finds ${want} call sites`);
    // One row per file, with its count: the C files hold the call sites grep finds.
    const rows = await peek.locator('.ref-tree .monaco-list-row').allInnerTexts();
    // A file row reads "multifd.cmigration\n7": the name and folder, then the count.
    const inC = rows.map((r) => r.trim().split('\n')).filter((l) => l.length > 1 && /^[\w-]+\.(c|h|inc)/.test(l[0]!)).reduce((n, l) => n + Number(l[l.length - 1]), 0);
    assert.equal(inC, want, `C rows: ${rows.join(' | ')}`);
    await page.keyboard.press('Escape');
  });

  await t.test('an edited line gets its diagnostic', async () => {
    const line = lineOf('multifd_send_sync_main_signal');
    await goToLine(line, 1);
    await page.keyboard.press('End');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.insertText('multifd_send_sync_main_signal(uint8_t id) "channel %" PRIu64');
    await page.keyboard.press('Escape');
    assert.equal(await editor.locator('.view-line').filter({ hasText: 'channel %" PRIu64' }).count(), 1, 'the line as typed');
    await editor.locator('.squiggly-error').first().waitFor({ timeout: 30_000 });
    await wb.runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    const problem = page.locator('.markers-panel .monaco-list-row', { hasText: "'PRIu64' does not match 'uint8_t'" }).first();
    await problem.waitFor({ timeout: 30_000 });
    await wb.screenshot('trace-events-diagnostic');
    assert.match(await problem.innerText(), /use %u/);
    // The call site in C still matches the declaration's one argument (nothing left from the lines typed on the way).
    assert.equal(await page.locator('.markers-panel .monaco-list-row', { hasText: 'arguments but is called with' }).count(), 0);
  });

  await t.test('a language server that dies is restarted, and the user is told once', async () => {
    const runDir = wb.server.runDir;
    /** A server process other than `old`, seen twice in a row half a second apart (a process being started or reaped is not counted). */
    const newServer = async (old: number | undefined, timeoutMs: number): Promise<number | undefined> => {
      const deadline = Date.now() + timeoutMs;
      let seen: number | undefined;
      while (Date.now() < deadline) {
        const pid = serverPids(runDir).find((p) => p !== old);
        if (pid !== undefined && pid === seen) return pid;
        seen = pid;
        await new Promise((r) => setTimeout(r, 500));
      }
      return undefined;
    };
    const first = await newServer(undefined, 30_000);
    assert.ok(first, 'the language server runs');
    process.kill(first, 'SIGKILL');
    await wb.waitForNotification(/trace-events language server stopped and was restarted/, 60_000);
    const second = await newServer(first, 120_000);
    assert.ok(second, 'a new server runs');
    await page.locator('.statusbar-item', { hasText: /\d+ trace calls/ }).waitFor({ timeout: 180_000 });
    // Let the new server settle (its first requests answered) before it dies too.
    await new Promise((r) => setTimeout(r, 5000));
    process.kill(second, 'SIGKILL');
    assert.ok(await newServer(second, 120_000), 'restarted again');
    await page.locator('.statusbar-item', { hasText: /\d+ trace calls/ }).waitFor({ timeout: 180_000 });
    await wb.runCommand('Notifications: Show Notifications');
    await page.locator('.notifications-center').waitFor({ timeout: 15_000 });
    const told = await page.locator('.notifications-center .notification-list-item-message', { hasText: 'language server stopped' }).count();
    await wb.screenshot('trace-events-restarted');
    assert.equal(told, 1, 'one notification for two restarts');
    // Features work on the new server.
    await page.keyboard.press('Escape');
    await goToLine(lineOf('multifd_send_fill'), 3);
    await wb.runCommand('Show or Focus Hover');
    await page.locator('.monaco-hover', { hasText: 'Call sites' }).waitFor({ timeout: 60_000 });
  });
});
