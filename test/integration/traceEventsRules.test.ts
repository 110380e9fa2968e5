// The trace-events language server over LSP (stdio) on small workspaces: each tracetool rule
// with a failing and a passing line, for the QEMU version of the tree (QEMU 10.0.2's own
// tracetool runs on the same lines), the format checks with their quick fixes, the checks
// across files, and bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancellationTokenSource, LSPErrorCodes, ReferencesRequest, type Diagnostic } from 'vscode-languageserver-protocol';
import { cacheDir } from '../../scripts/code-server-launch';
import { hasProgram, requireComponent } from '../support/components';
import { applyTextEdits, fileUri, LspSession, repoRoot, serverModule } from '../support/lspSession';

const tree10 = join(cacheDir(), 'qemu-src', '10.0.2');
const tracetool = join(tree10, 'scripts', 'tracetool.py');

before(() => {
  if (existsSync(serverModule)) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  assert.equal(r.status, 0, 'node esbuild.mjs failed');
});

/** QEMU 10.0.2's tracetool on a trace-events text: true when it generates the header and the C file. */
function realTracetoolAccepts(text: string, dir: string): boolean {
  const f = join(dir, 'trace-events');
  writeFileSync(f, text);
  for (const format of ['h', 'c']) {
    const r = spawnSync('python3', [tracetool, `--format=${format}`, '--backends=log', '--group=test', f, join(dir, `out.${format}`)], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) return false;
  }
  return true;
}

const codes = (d: Diagnostic[]): string[] => d.map((x) => String(x.code));

describe('trace-events language server: rules, checks and bad input', { timeout: 600_000 }, () => {
  const ws = mkdtempSync(join(tmpdir(), 'qmw-lsp-rules-'));
  const trees = { '7.2': join(ws, 'qemu-7.2'), '10.0': join(ws, 'qemu-10.0'), '10.2': join(ws, 'qemu-10.2') } as const;
  const scratch = join(ws, 'scratch');
  let s: LspSession;
  let n = 0;

  before(async () => {
    for (const [v, dir] of Object.entries({ '7.2.0': trees['7.2'], '10.0.2': trees['10.0'], '10.2.0': trees['10.2'] })) {
      mkdirSync(join(dir, 'hw'), { recursive: true });
      writeFileSync(join(dir, 'VERSION'), `${v}\n`);
    }
    mkdirSync(scratch);
    s = await LspSession.start([ws]);
    await s.ready();
  });
  after(async () => {
    await s?.close();
    rmSync(ws, { recursive: true, force: true });
  });

  /** Opens `text` as a new trace-events document of a tree and returns its diagnostics. */
  async function diagnose(tree: keyof typeof trees, text: string): Promise<{ uri: string; diagnostics: Diagnostic[] }> {
    const dir = join(trees[tree], `case${++n}`);
    mkdirSync(dir);
    const uri = await s.open(join(dir, 'trace-events'), text, 'qemu-trace-events');
    return { uri, diagnostics: await s.nextDiagnostics(uri) };
  }

  interface RuleCase {
    readonly rule: string;
    readonly fail: string;
    readonly pass: string;
    /** Trees where the failing line fails (default: 10.0). */
    readonly failsIn?: readonly (keyof typeof trees)[];
    /** Trees where the failing line passes (a rule of another version). */
    readonly passesIn?: readonly (keyof typeof trees)[];
  }
  const eleven = Array.from({ length: 11 }, (_, i) => `int a${i}`).join(', ');
  const ten = Array.from({ length: 10 }, (_, i) => `int a${i}`).join(', ');
  const cases: RuleCase[] = [
    { rule: 'line-grammar', fail: 'foo (int a) "a=%d"\n', pass: 'foo(int a) "a=%d"\n' },
    { rule: 'unknown-property', fail: 'tcg foo(int a) "a=%d"\n', pass: 'disable foo(int a) "a=%d"\n', failsIn: ['7.2', '10.0', '10.2'] },
    { rule: 'unknown-property', fail: 'vcpu foo(int a) "a=%d"\n', pass: 'foo(int a) "a=%d"\n', failsIn: ['10.2'], passesIn: ['7.2', '10.0'] },
    { rule: 'empty-argument', fail: 'foo(int a, ) "a=%d"\n', pass: 'foo(int a) "a=%d"\n' },
    { rule: 'empty-argument', fail: 'foo() ""\n', pass: 'foo(void) ""\n' },
    { rule: 'argument-syntax', fail: 'foo(int) "x"\n', pass: 'foo(int x) "x=%d"\n' },
    { rule: 'argument-type', fail: 'foo(hwaddr addr) "addr=0x%" PRIx64\n', pass: 'foo(uint64_t addr) "addr=0x%" PRIx64\n' },
    { rule: 'argument-type', fail: 'foo(struct Bar *b) "b=%p"\n', pass: 'foo(void *b) "b=%p"\n' },
    { rule: 'too-many-arguments', fail: `foo(${eleven}) ""\n`, pass: `foo(${ten}) ""\n` },
    { rule: 'format-percent-m', fail: 'foo(int a) "a=%d %m"\n', pass: 'foo(int a, int err) "a=%d err=%d"\n', failsIn: ['7.2', '10.0', '10.2'] },
    { rule: 'format-trailing-newline', fail: 'foo(int a) "a=%d\\n"\n', pass: 'foo(int a) "a=%d"\n', failsIn: ['7.2', '10.0', '10.2'] },
    { rule: 'format-newline', fail: 'foo(int a) "a=%d\\nb=1"\n', pass: 'foo(int a) "a=%d b=1"\n', failsIn: ['10.0', '10.2'], passesIn: ['7.2'] },
    { rule: 'missing-final-newline', fail: 'foo(int a) "a=%d"', pass: 'foo(int a) "a=%d"\n', failsIn: ['7.2', '10.0', '10.2'] },
    { rule: 'second-format', fail: 'foo(int a) "a=%d, " "b"\n', pass: 'foo(int a) "a=%d, b"\n', failsIn: ['7.2', '10.0'], passesIn: ['10.2'] },
    { rule: 'format-token', fail: 'foo(uint64_t a) "a=%" PRIo64\n', pass: 'foo(uint64_t a) "a=%" PRIx64\n', failsIn: ['10.2'], passesIn: ['10.0'] },
  ];

  for (const c of cases) {
    test(`${c.rule}: ${JSON.stringify(c.fail.trim())} fails, ${JSON.stringify(c.pass.trim())} passes`, async (t) => {
      for (const tree of c.failsIn ?? ['10.0']) {
        const bad = await diagnose(tree, c.fail);
        const d = bad.diagnostics.find((x) => x.code === c.rule);
        assert.ok(d, `QEMU ${tree}: ${c.rule} on ${c.fail.trim()}; got ${codes(bad.diagnostics).join(', ')}`);
        assert.equal(d.source, 'tracetool');
        assert.equal(d.severity, 1);
        const good = await diagnose(tree, c.pass);
        assert.deepEqual(good.diagnostics.filter((x) => x.source === 'tracetool'), [], `QEMU ${tree}: ${c.pass.trim()} passes`);
      }
      for (const tree of c.passesIn ?? []) {
        const other = await diagnose(tree, c.fail);
        assert.ok(!codes(other.diagnostics).includes(c.rule), `QEMU ${tree} accepts ${c.fail.trim()}`);
      }
      // QEMU 10.0.2's own tracetool agrees about the 10.0 tree.
      if (!requireComponent(t, 'QEMU 10.0.2 source tree (scripts/tracetool.py)', existsSync(tracetool) && hasProgram('python3'))) return;
      const dir = mkdtempSync(join(scratch, 'tt-'));
      const failsIn10 = (c.failsIn ?? ['10.0']).includes('10.0');
      assert.equal(realTracetoolAccepts(c.fail, dir), !failsIn10, `tracetool 10.0.2 ${failsIn10 ? 'refuses' : 'accepts'} ${c.fail.trim()}`);
      assert.equal(realTracetoolAccepts(c.pass, dir), true, `tracetool 10.0.2 accepts ${c.pass.trim()}`);
    });
  }

  interface FormatCase {
    readonly code: string;
    readonly fail: string;
    readonly pass: string;
    /** The line after the quick fix, when the fix is certain. */
    readonly fixed?: string;
  }
  const formatCases: FormatCase[] = [
    { code: 'format-type', fail: 'foo(uint32_t a) "a=0x%" PRIx64', pass: 'foo(uint32_t a) "a=0x%x"', fixed: 'foo(uint32_t a) "a=0x%x"' },
    { code: 'format-type', fail: 'foo(uint64_t a, int b) "a=%u b=%d"', pass: 'foo(uint64_t a, int b) "a=%" PRIu64 " b=%d"', fixed: 'foo(uint64_t a, int b) "a=%" PRIu64 " b=%d"' },
    { code: 'format-portability', fail: 'foo(uint64_t a) "a=%lu"', pass: 'foo(uint64_t a) "a=%" PRIu64', fixed: 'foo(uint64_t a) "a=%" PRIu64' },
    { code: 'format-portability', fail: 'foo(size_t n) "n=%lu bytes"', pass: 'foo(size_t n) "n=%zu bytes"', fixed: 'foo(size_t n) "n=%zu bytes"' },
    { code: 'format-signedness', fail: 'foo(unsigned int n) "n=%d"', pass: 'foo(unsigned int n) "n=%u"', fixed: 'foo(unsigned int n) "n=%u"' },
    { code: 'format-type', fail: 'foo(int a) "a=%s"', pass: 'foo(const char *a) "a=%s"' },
    { code: 'format-type', fail: 'foo(uint64_t a) "a=%p"', pass: 'foo(void *a) "a=%p"' },
    { code: 'format-type', fail: 'foo(void *p) "p=0x%x"', pass: 'foo(void *p) "p=%p"' },
    { code: 'format-arg-count', fail: 'foo(int a, int b) "a=%d b=%d c=%d"', pass: 'foo(int a, int b) "a=%d b=%d"' },
  ];
  for (const c of formatCases) {
    test(`${c.code}: ${c.fail} is flagged${c.fixed ? ' and fixed' : ''}, ${c.pass} is not`, async () => {
      const bad = await diagnose('10.0', `${c.fail}\n`);
      const d = bad.diagnostics.find((x) => x.code === c.code);
      assert.ok(d, `${c.code} on ${c.fail}; got ${codes(bad.diagnostics).join(', ')}`);
      assert.equal(d.source, 'qemu-trace-events');
      const good = await diagnose('10.0', `${c.pass}\n`);
      assert.deepEqual(good.diagnostics.filter((x) => String(x.code).startsWith('format-')), [], `${c.pass} has no format finding`);
      const actions = await s.codeActions(bad.uri, [d]);
      if (!c.fixed) { assert.deepEqual(actions, []); return; }
      assert.equal(actions.length, 1, 'one quick fix');
      const edits = actions[0]!.edit!.changes![bad.uri]!;
      assert.equal(applyTextEdits(`${c.fail}\n`, edits), `${c.fixed}\n`);
      const v = await s.change(bad.uri, `${c.fixed}\n`);
      const after = await s.nextDiagnostics(bad.uri, (_, p) => p.version === v);
      assert.deepEqual(after.filter((x) => String(x.code).startsWith('format-')), []);
    });
  }

  test('duplicates across files, events never called, undeclared calls and argument counts in C', async () => {
    const root = join(trees['10.0'], 'cross');
    mkdirSync(join(root, 'a'), { recursive: true });
    mkdirSync(join(root, 'b'), { recursive: true });
    const ua = await s.open(join(root, 'a', 'trace-events'), 'shared_name(int x) "x=%d"\nonly_a(int x, int y) "x=%d y=%d"\n', 'qemu-trace-events');
    const ub = await s.open(join(root, 'b', 'trace-events'), 'shared_name(int x) "x=%d"\n', 'qemu-trace-events');
    const da = await s.nextDiagnostics(ua, (d) => d.some((x) => x.code === 'duplicate-event'));
    const dup = da.find((x) => x.code === 'duplicate-event')!;
    assert.equal(dup.relatedInformation?.[0]?.location.uri, ub);
    assert.ok(da.some((x) => x.code === 'never-called' && x.range.start.line === 1), 'only_a is never called');

    const cPath = join(root, 'a', 'dev.c');
    const cText = '#include "trace.h"\n\nvoid f(int v)\n{\n    trace_only_a(v);\n    trace_not_declared(v);\n}\n';
    const uc = await s.open(cPath, cText, 'c');
    const dc = await s.nextDiagnostics(uc, (d) => d.length > 0);
    assert.deepEqual(dc.map((x) => [x.code, x.range.start.line]).sort(), [['call-arg-count', 4], ['undeclared-event', 5]]);
    const v = await s.change(uc, cText.replace('trace_only_a(v)', 'trace_only_a(v, v * 2)').replace('    trace_not_declared(v);\n', ''));
    assert.deepEqual(await s.nextDiagnostics(uc, (_, p) => p.version === v), []);
    // The C file now calls only_a: the trace-events document says so.
    await s.nextDiagnostics(ua, (d) => !d.some((x) => x.code === 'never-called' && x.range.start.line === 1));
    // Renaming one of the duplicates clears both.
    await s.change(ub, 'other_name(int x) "x=%d"\n');
    await s.nextDiagnostics(ua, (d) => !d.some((x) => x.code === 'duplicate-event'));
  });

  test('symbols, code lens, completion with a snippet, TRACE_ guards', async () => {
    const root = join(trees['10.0'], 'nav');
    mkdirSync(root, { recursive: true });
    const te = '# dev.c\nnav_one(uint64_t addr, const char *name) "addr=0x%" PRIx64 " name=%s"\nnav_two(void) ""\n\n# other.c\nnav_three(int x) "x=%d"\n';
    const ut = await s.open(join(root, 'trace-events'), te, 'qemu-trace-events');
    const c = '#include "trace.h"\nvoid f(uint64_t a)\n{\n    if (trace_event_get_state_backends(TRACE_NAV_ONE)) {\n        trace_nav_one(a, "n");\n    }\n    trace_nav_one(a + 1, "m");\n    trace_nav_\n}\n';
    const uc = await s.open(join(root, 'dev.c'), c, 'c');
    const symbols = await s.documentSymbols(ut);
    assert.deepEqual(symbols?.map((x) => ('children' in x ? [x.name, x.children?.map((k) => k.name)] : [x.name])), [['dev.c', ['nav_one', 'nav_two']], ['other.c', ['nav_three']]]);
    const found = await s.workspaceSymbols('nav_t');
    assert.deepEqual(found?.map((x) => x.name).sort(), ['nav_three', 'nav_two']);
    const lenses = await s.codeLenses(ut);
    assert.deepEqual(lenses?.map((l) => [l.range.start.line, l.command?.title]), [[1, '2 call sites'], [2, '0 call sites'], [5, '0 call sites']]);
    // The guard leads to the declaration, and is among the references.
    const guardDef = await s.definition(uc, 3, 48);
    assert.deepEqual(guardDef.map((d) => [d.uri, d.range.start.line]), [[ut, 1]]);
    const refs = await s.references(ut, 1, 2);
    assert.deepEqual(refs.map((r) => [r.range.start.line, r.range.start.character]).sort(), [[3, 39], [4, 8], [6, 4]]);
    // Completion after trace_ in C: event names with their arguments as placeholders.
    const list = await s.completion(uc, 7, 14);
    const items = Array.isArray(list) ? list : list?.items ?? [];
    const one = items.find((i) => i.label === 'trace_nav_one');
    assert.ok(one, items.map((i) => i.label).join(', '));
    assert.equal(one.insertTextFormat, 2);
    assert.equal(one.textEdit && 'newText' in one.textEdit ? one.textEdit.newText : '', 'trace_nav_one(${1:addr}, ${2:name})');
    assert.ok(items.some((i) => i.label === 'trace_nav_two'));
    // Renaming from the call site renames the guard too.
    const edit = await s.rename(uc, 4, 16, 'nav_first');
    const cEdits = edit?.changes?.[uc] ?? [];
    assert.deepEqual(cEdits.map((e) => [e.range.start.line, e.range.start.character, e.newText]).sort(), [[3, 45, 'NAV_FIRST'], [4, 14, 'nav_first'], [6, 10, 'nav_first']]);
  });

  test('a request waiting for the index is cancelled when the client cancels it', async (t) => {
    if (!requireComponent(t, 'QEMU 10.0.2 source tree (scripts/setup-qemu10.sh)', existsSync(join(tree10, 'migration', 'trace-events')))) return;
    const big = await LspSession.start([tree10]);
    t.after(() => big.close());
    const te = join(tree10, 'migration', 'trace-events');
    const uri = await big.open(te, readFileSync(te, 'utf8'), 'qemu-trace-events');
    const cts = new CancellationTokenSource();
    const pending = big.connection.sendRequest(ReferencesRequest.type, { textDocument: { uri }, position: { line: 3, character: 1 }, context: { includeDeclaration: false } }, cts.token);
    setTimeout(() => cts.cancel(), 20);
    await assert.rejects(pending, (e: { code?: number }) => e.code === LSPErrorCodes.RequestCancelled);
    assert.equal((await big.status((x) => x.state !== 'indexing', 300_000)).state, 'ready', 'the index build goes on');
  });

  test('QEMU 7.2: a vcpu event takes the CPU as its first argument at the call site', async () => {
    const root = join(trees['7.2'], 'vcpu');
    mkdirSync(root, { recursive: true });
    await s.open(join(root, 'trace-events'), 'vcpu guest_thing(int a) "a=%d"\n', 'qemu-trace-events');
    const uc = await s.open(join(root, 'cpu.c'), '#include "trace.h"\nvoid g(void *cpu) { trace_guest_thing(cpu, 1); trace_guest_thing(1); }\n', 'c');
    const d = await s.nextDiagnostics(uc, (x) => x.length > 0);
    assert.equal(d.length, 1);
    assert.equal(d[0]!.code, 'call-arg-count');
    assert.equal(d[0]!.range.start.character, 47);
    assert.match(d[0]!.message, /takes 2 arguments \(the CPU first/);
  });

  test('bad input: binary and non-UTF-8 files, a 10 MB C file, a 100,000-line trace-events file', async () => {
    const root = join(trees['10.0'], 'bad');
    mkdirSync(root, { recursive: true });
    // Binary bytes in a file named trace-events: diagnostics, not a crash.
    const bin = Buffer.alloc(64 * 1024);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 7919) & 0xff;
    const ub = await s.open(join(root, 'trace-events'), bin.toString('latin1'), 'qemu-trace-events');
    const db = await s.nextDiagnostics(ub);
    assert.ok(db.length > 0 && db.length <= 1001, `${db.length} diagnostics, capped`);
    // A C file in Latin-1: the call after the non-UTF-8 byte is found at the right column.
    const latin = Buffer.concat([Buffer.from('#include "trace.h"\n/* caf'), Buffer.from([0xe9]), Buffer.from(' */ int x; void f(void) { trace_latin_ev(1); }\n')]);
    const big = join(root, 'big');
    mkdirSync(big);
    writeFileSync(join(big, 'trace-events'), 'latin_ev(int x) "x=%d"\nbig_ev(int i) "i=%d"\n');
    writeFileSync(join(big, 'latin.c'), latin);
    // 10 MB of C with a call every 50 lines.
    const chunk = Array.from({ length: 50 }, (_, i) => (i === 0 ? '    trace_big_ev(i);' : `    x += ${i} * i; /* filler ${'.'.repeat(40)} */`)).join('\n');
    const parts: string[] = ['#include "trace.h"\nint x;\nvoid f(int i)\n{\n'];
    let size = 0;
    let calls = 0;
    while (size < 10 * 1024 * 1024) { parts.push(chunk, '\n'); size += chunk.length + 1; calls++; }
    parts.push('}\n');
    writeFileSync(join(big, 'huge.c'), parts.join(''));
    await s.filesChanged([{ uri: fileUri(join(big, 'trace-events')), type: 1 }, { uri: fileUri(join(big, 'latin.c')), type: 1 }, { uri: fileUri(join(big, 'huge.c')), type: 1 }]);
    const te = fileUri(join(big, 'trace-events'));
    const open = await s.open(join(big, 'trace-events'), 'latin_ev(int x) "x=%d"\nbig_ev(int i) "i=%d"\n', 'qemu-trace-events');
    assert.equal(open, te);
    const latinRefs = await s.references(te, 0, 2);
    assert.deepEqual(latinRefs.map((r) => [r.uri.endsWith('latin.c'), r.range.start.line, r.range.start.character]), [[true, 1, 33]]);
    const bigRefs = await s.references(te, 1, 2);
    assert.equal(bigRefs.length, calls);
    // The 10 MB file opened in the editor: indexed from its text, diagnostics come.
    const uh = await s.open(join(big, 'huge.c'), parts.join('').replace('trace_big_ev(i);', 'trace_big_ev(i, i);'), 'c');
    const dh = await s.nextDiagnostics(uh, (d) => d.length > 0, 120_000);
    assert.equal(dh[0]!.code, 'call-arg-count');
    // 100,000 lines of trace-events.
    const lines = Array.from({ length: 100_000 }, (_, i) => `gen_event_${i}(uint64_t v, const char *name) "v=0x%" PRIx64 " name=%s"`);
    const ul = await s.open(join(root, 'gen', 'trace-events'), `${lines.join('\n')}\n`, 'qemu-trace-events');
    const dl = await s.nextDiagnostics(ul, () => true, 120_000);
    assert.ok(dl.every((x) => x.code === 'never-called' || x.code === 'too-many'), codes(dl).slice(0, 5).join(', '));
    const v = await s.edit(ul, 5000, 0, 0, 'x');
    const after = await s.nextDiagnostics(ul, (_, p) => p.version === v, 120_000);
    assert.ok(after.length > 0);
    // Still answering.
    assert.ok((await s.hover(te, 1, 2)) !== null);
  });

  test('files deleted while the index is built: the build ends, the server goes on', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'qmw-lsp-vanish-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    writeFileSync(join(root, 'trace-events'), 'vanish_ev(int i) "i=%d"\n');
    const files: string[] = [];
    for (let i = 0; i < 4000; i++) {
      const f = join(root, `f${i}.c`);
      writeFileSync(f, `#include "trace.h"\nvoid f${i}(void) { trace_vanish_ev(${i}); }\n${'/* padding */\n'.repeat(200)}`);
      files.push(f);
    }
    const v = await LspSession.start([root]);
    t.after(() => v.close());
    for (const f of files) unlinkSync(f);
    const st = await v.ready();
    assert.equal(st.state, 'ready');
    const uri = await v.open(join(root, 'trace-events'), 'vanish_ev(int i) "i=%d"\n', 'qemu-trace-events');
    const before = await v.references(uri, 0, 2);
    assert.ok(before.length <= files.length);
    await v.filesChanged(files.map((f) => ({ uri: fileUri(f), type: 3 })));
    assert.deepEqual(await v.references(uri, 0, 2), []);
  });
});
