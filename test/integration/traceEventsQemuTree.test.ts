// The trace-events language server over LSP on the whole QEMU 10.0.2 source tree that setup
// fetches: definition and references of every migration event against an independent
// `grep -rn`, a rename round trip on a copy of migration/, the vhost-user spec lint as
// diagnostics on the tree's vhost-user.rst, and hover history on the fixtures' QEMU 9.0 files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Location, WorkspaceEdit } from 'vscode-languageserver-protocol';
import { cacheDir } from '../../scripts/code-server-launch';
import { builtinCatalogue, builtinVersions } from '../../src/core/trace/catalogues/index';
import { qemuFixtures } from '../../src/core/trace/testSupport';
import { lintSpecWithTree } from '../../src/core/vhostuser/lint';
import { parseSpec } from '../../src/core/vhostuser/specParser';
import { requireComponent } from '../support/components';
import { applyTextEdits, fileUri, grepTraceCallSites, grepTraceCalls, LspSession, repoRoot, serverModule } from '../support/lspSession';

const tree = join(cacheDir(), 'qemu-src', '10.0.2');
const haveTree = existsSync(join(tree, 'migration', 'trace-events'));

before(() => {
  if (existsSync(serverModule)) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

const where = (root: string, l: Location): string => `${relative(root, fileURLToPath(l.uri))}:${l.range.start.line + 1}`;

function applyWorkspaceEdit(edit: WorkspaceEdit): string[] {
  const changed: string[] = [];
  for (const [uri, edits] of Object.entries(edit.changes ?? {})) {
    const p = fileURLToPath(uri);
    writeFileSync(p, applyTextEdits(readFileSync(p, 'utf8'), edits));
    changed.push(p);
  }
  return changed;
}

describe('trace-events language server on the QEMU 10.0.2 tree', { timeout: 900_000 }, () => {
  let s: LspSession | undefined;
  let te = '';
  let lines: string[] = [];

  before(async () => {
    if (!haveTree) return;
    s = await LspSession.start([tree]);
    const st = await s.ready(300_000);
    assert.equal(st.state, 'ready', st.message);
    te = await s.open(join(tree, 'migration', 'trace-events'), readFileSync(join(tree, 'migration', 'trace-events'), 'utf8'), 'qemu-trace-events');
    lines = readFileSync(join(tree, 'migration', 'trace-events'), 'utf8').split('\n');
  });
  after(async () => { await s?.close(); });

  test('the index covers the tree: every trace-events file, the C files', async (t) => {
    if (!requireComponent(t, 'QEMU 10.0.2 source tree (scripts/setup-qemu10.sh)', haveTree)) return;
    const found = spawnSync('find', [tree, '-name', 'trace-events', '-not', '-path', '*/build/*'], { encoding: 'utf8' }).stdout.trim().split('\n');
    const st = await s!.ready();
    assert.equal(st.traceEventsFiles, found.length);
    const cFiles = spawnSync('find', [tree, '-path', join(tree, 'build'), '-prune', '-o', '-type', 'f', '-name', '*.c', '-print'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout.split('\n').filter((l) => l !== '').length;
    assert.ok(st.cFiles >= cFiles, `${st.cFiles} C files indexed, find counts ${cFiles} .c files`);
    assert.ok(st.callSites > 5000, `${st.callSites} call sites`);
  });

  test('definition and references of every migration event equal grep -rn (and definition goes both ways)', async (t) => {
    if (!requireComponent(t, 'QEMU 10.0.2 source tree (scripts/setup-qemu10.sh)', haveTree)) return;
    const names = lines.map((l, i) => [/^([a-z_][a-z0-9_]*)\(/.exec(l)?.[1], i] as const).filter((x): x is readonly [string, number] => x[0] !== undefined);
    // One grep of every trace_*( call in the tree: the events the index misses are compared too.
    const grepped = grepTraceCallSites(tree);
    let sites = 0;
    let uncalled = 0;
    for (const [name, line] of names) {
      const refs = await s!.references(te, line, 1);
      const calls = refs.filter((r) => readFileSync(fileURLToPath(r.uri), 'latin1').split('\n')[r.range.start.line]!.slice(r.range.start.character).startsWith(`trace_${name}`));
      const grep = grepped.get(name) ?? [];
      assert.deepEqual(calls.map((r) => where(tree, r)).sort(), grep, `references of ${name}`);
      if (grep.length === 0) { uncalled++; continue; }
      // From the declaration, definition goes into C: the call sites.
      assert.deepEqual((await s!.definition(te, line, 1)).map((d) => where(tree, d)).sort(), grep, `definition from the declaration of ${name}`);
      // From each call site, definition goes to the declaration.
      for (const r of calls) {
        const defs = await s!.definition(r.uri, r.range.start.line, r.range.start.character + 7);
        assert.deepEqual(defs.map((d) => where(tree, d)), [`migration/trace-events:${line + 1}`], `definition from ${where(tree, r)}`);
      }
      sites += grep.length;
    }
    assert.ok(names.length > 300 && sites > 300, `${names.length} events, ${sites} call sites`);
    t.diagnostic(`${names.length} events of migration/trace-events compared with grep: ${sites} call sites, ${uncalled} events without one`);
  });

  test('hover on a call site: declaration, call sites and history', async (t) => {
    if (!requireComponent(t, 'QEMU 10.0.2 source tree (scripts/setup-qemu10.sh)', haveTree)) return;
    const line = lines.findIndex((l) => l.startsWith('multifd_send_fill('));
    const [call] = await s!.references(te, line, 1);
    assert.ok(call, 'multifd_send_fill has a call site');
    const h = await s!.hover(call.uri, call.range.start.line, call.range.start.character + 8);
    const md = typeof h?.contents === 'object' && 'value' in h.contents ? h.contents.value : '';
    assert.match(md, /\*\*multifd_send_fill\*\* — migration\/trace-events:\d+ \(QEMU 10\.0\.2/);
    assert.match(md, /Call sites: \*\*1\*\*/);
    // The first built-in catalogue that has it, and the one before.
    const first = builtinVersions.findIndex((v) => builtinCatalogue(v).get('multifd_send_fill') !== undefined);
    assert.ok(first > 0, 'multifd_send_fill is new after the oldest catalogue');
    assert.ok(md.includes(`added after ${builtinVersions[first - 1]}: first in ${builtinVersions[first]}`), md);
  });

  test('the vhost-user spec lint reaches the tree\'s vhost-user.rst as diagnostics', async (t) => {
    if (!requireComponent(t, 'QEMU 10.0.2 source tree (scripts/setup-qemu10.sh)', haveTree)) return;
    const spec = join(tree, 'docs', 'interop', 'vhost-user.rst');
    const text = readFileSync(spec, 'utf8');
    const want = await lintSpecWithTree(parseSpec(text, spec), tree);
    const uri = await s!.open(spec, text, 'restructuredtext');
    const got = await s!.nextDiagnostics(uri, (d) => d.length === want.length, 60_000);
    assert.deepEqual(got.map((d) => [d.code, d.range.start.line + 1, d.source]), want.map((w) => [w.code, w.line, 'vhost-user lint']));
    assert.ok(want.some((w) => w.cFile !== undefined) || want.length === 0, 'the comparison with the C enums ran');
  });

  test('rename round trip on a copy of migration/', async (t) => {
    if (!requireComponent(t, 'QEMU 10.0.2 source tree (scripts/setup-qemu10.sh)', haveTree)) return;
    const copy = mkdtempSync(join(tmpdir(), 'qmw-lsp-rename-'));
    t.after(() => rmSync(copy, { recursive: true, force: true }));
    cpSync(join(tree, 'migration'), join(copy, 'migration'), { recursive: true });
    writeFileSync(join(copy, 'VERSION'), readFileSync(join(tree, 'VERSION')));
    const original = new Map(readdirSync(join(copy, 'migration'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => { const p = join(e.parentPath, e.name); return [p, readFileSync(p)]; }));
    const r = await LspSession.start([copy]);
    t.after(() => r.close());
    await r.ready();
    const path = join(copy, 'migration', 'trace-events');
    const text = readFileSync(path, 'utf8');
    const line = text.split('\n').findIndex((l) => l.startsWith('multifd_send_sync_main_signal('));
    const before = (await r.references(fileUri(path), line, 1)).map((l) => where(copy, l)).sort();
    assert.ok(before.length >= 1);
    const prep = await r.prepareRename(fileUri(path), line, 3);
    assert.ok(prep && 'placeholder' in prep && prep.placeholder === 'multifd_send_sync_main_signal');
    const forth = await r.rename(fileUri(path), line, 3, 'multifd_sync_signal_renamed');
    assert.ok(forth);
    const changed = applyWorkspaceEdit(forth);
    assert.ok(changed.includes(path) && changed.length >= 2, `edits in ${changed.length} files`);
    await r.filesChanged(changed.map((p) => ({ uri: fileUri(p), type: 2 })));
    const prep2 = await r.prepareRename(fileUri(path), line, 3);
    assert.ok(prep2 && 'placeholder' in prep2 && prep2.placeholder === 'multifd_sync_signal_renamed', 'the declaration has the new name');
    const renamed = (await r.references(fileUri(path), line, 1)).map((l) => where(copy, l)).sort();
    assert.deepEqual(renamed, before, 'the same call sites under the new name');
    assert.equal(grepTraceCalls(copy, 'multifd_send_sync_main_signal').length, 0);
    assert.equal(grepTraceCalls(copy, 'multifd_sync_signal_renamed').length, before.filter((b) => !b.startsWith('migration/trace-events')).length);
    const back = await r.rename(fileUri(path), line, 3, 'multifd_send_sync_main_signal');
    await r.filesChanged(applyWorkspaceEdit(back!).map((p) => ({ uri: fileUri(p), type: 2 })));
    for (const [p, bytes] of original) assert.ok(readFileSync(p).equals(bytes), `${relative(copy, p)} is as before`);
    await assert.rejects(r.rename(fileUri(path), line, 3, 'multifd_send_terminate_threads'), /already exists/);
    await assert.rejects(r.rename(fileUri(path), line, 3, 'not valid'), /not a valid event name/);
  });
});

describe('hover history on the QEMU 9.0 fixtures', { timeout: 120_000 }, () => {
  test('multifd_send: changed between 7.2 and 9.0, split in the next built-in catalogue', async () => {
    const root = mkdtempSync(join(tmpdir(), 'qmw-lsp-hist-'));
    const s = await LspSession.start([root]);
    try {
      await s.ready();
      const file = join(qemuFixtures, 'v9.0.0', 'migration', 'trace-events');
      const text = readFileSync(file, 'utf8');
      const uri = await s.open(file, text, 'qemu-trace-events');
      const line = text.split('\n').findIndex((l) => l.startsWith('multifd_send('));
      const h = await s.hover(uri, line, 2);
      const md = typeof h?.contents === 'object' && 'value' in h.contents ? h.contents.value : '';
      assert.match(md, /QEMU 9\.0\.0/);
      assert.match(md, /in 7\.2 \(the oldest built-in catalogue\)/);
      assert.match(md, /arguments and format changed between 7\.2 and 9\.0/);
      const next = builtinVersions[builtinVersions.indexOf('9.0') + 1]!;
      assert.ok(new RegExp(`not in ${next} \\(removed or renamed after 9\\.0\\); new there: .*multifd_send_fill`).test(md), md);
      assert.match(md, /this tree declares it as 9\.0 does/);
    } finally {
      await s.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
