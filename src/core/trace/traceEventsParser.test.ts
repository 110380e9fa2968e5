import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { catalogueFromText, loadCatalogueFromDir } from './catalogue';
import { builtinCatalogue, builtinVersions, resolveBuiltinVersion } from './catalogues/index';
import { parseTraceEvents, isStringType } from './traceEventsParser';
import { qemuFixtures, traceEventsAll } from './testSupport';

const versions: [string, string][] = [['7.2', 'v7.2.0'], ['9.0', 'v9.0.0'], ['10.2.50', '10.2.50']];

describe('trace-events parser', () => {
  for (const [v, folder] of versions) {
    it(`parses every trace-events file of ${folder} without errors`, async () => {
      const cat = await loadCatalogueFromDir(join(qemuFixtures, folder));
      assert.deepEqual(cat.errors, []);
      assert.deepEqual(cat.formatProblems, []);
      assert.ok(cat.size > 500, `${cat.size} events`);
      assert.equal(builtinCatalogue(v).size >= cat.size, true);
    });
  }

  it('parses the concatenated trace-events-all with no duplicates', () => {
    const cat = catalogueFromText(readFileSync(traceEventsAll, 'utf8'), 'trace-events-all');
    assert.deepEqual(cat.errors, []);
    assert.equal(cat.duplicates.length, 0);
    assert.equal(cat.size, builtinCatalogue('10.2.50').size);
  });

  it('has the multifd_send variant of each version', () => {
    const v72 = builtinCatalogue('7.2').get('multifd_send')!;
    assert.deepEqual(v72.decl.args.map((a) => a.name), ['id', 'packet_num', 'normal', 'flags', 'next_packet_size']);
    const v90 = builtinCatalogue('9.0').get('multifd_send')!;
    assert.deepEqual(v90.decl.args.map((a) => a.name), ['id', 'packet_num', 'normal_pages', 'zero_pages', 'flags', 'next_packet_size']);
    assert.match(v90.decl.format, /zero pages %u/);
    const v10 = builtinCatalogue('10.2.50');
    assert.equal(v10.get('multifd_send'), undefined);
    assert.deepEqual(v10.get('multifd_send_fill')!.decl.args.map((a) => a.name), ['id', 'packet_num', 'flags', 'next_packet_size']);
    assert.ok(v10.get('multifd_send_ram_fill'));
    assert.ok(v10.get('multifd_recv_unfill'));
    assert.equal(v10.get('multifd_send_fill')!.decl.format, 'channel %u packet_num %lu flags 0x%x next packet size %u');
  });

  it('reads properties, void, pointers, const and PRI macros', () => {
    const r = parseTraceEvents([
      '# comment',
      '',
      'disable foo(void) ""',
      'vcpu guest_x(uint64_t num, const char *name, void *opaque) "num=0x%016"PRIx64" name=%s p=%p"',
      'tcg old_tcg(int a) "a=%d", "a %d"',
      'bar(struct Foo * f, unsigned int n) "n=%u" # trailing comment',
    ].join('\n'), 'x/trace-events');
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.events.map((e) => [e.name, e.props, e.line]), [['foo', ['disable'], 3], ['guest_x', ['vcpu'], 4], ['old_tcg', ['tcg'], 5], ['bar', [], 6]]);
    assert.equal(r.events[1]!.format, 'num=0x%016lx name=%s p=%p');
    assert.deepEqual(r.events[1]!.args, [{ type: 'uint64_t', name: 'num' }, { type: 'const char *', name: 'name' }, { type: 'void *', name: 'opaque' }]);
    assert.equal(r.events[2]!.format, 'a %d');
    assert.deepEqual(r.events[3]!.args[0], { type: 'struct Foo *', name: 'f' });
    assert.ok(isStringType('const char *'));
    assert.ok(isStringType('char *'));
    assert.ok(!isStringType('const uint8_t *'));
  });

  it('reports syntax errors with file, line and column', () => {
    const r = parseTraceEvents('ok(int a) "%d"\nbad(int a "%d"\nbroken(int) "x"\nfoo(int a) "unterminated\nbaz(int a) "%" PRIq64\nfrob qux(void) ""\n', 'dir/trace-events');
    assert.equal(r.events.length, 1);
    assert.deepEqual(r.errors.map((e) => [e.file, e.line, e.column]), [['dir/trace-events', 2, 15], ['dir/trace-events', 3, 8], ['dir/trace-events', 4, 12], ['dir/trace-events', 5, 16], ['dir/trace-events', 6, 6]]);
    assert.match(r.errors[0]!.message, /missing '\)'/);
    assert.match(r.errors[4]!.message, /unknown property 'frob'/);
  });

  it('reports duplicate events across files', () => {
    const cat = catalogueFromText('a(int x) "%d"\nb(void) ""\na(int y) "%u"\n', 'f');
    assert.equal(cat.size, 2);
    assert.deepEqual(cat.duplicates, [{ name: 'a', first: { file: 'f', line: 1 }, second: { file: 'f', line: 3 } }]);
  });

  it('resolves built-in versions', () => {
    assert.deepEqual(builtinVersions, ['7.2', '9.0', '10.0', '10.2.50']);
    assert.equal(resolveBuiltinVersion('10.0.2'), '10.0');
    assert.equal(resolveBuiltinVersion('v9.0.0'), '9.0');
    assert.equal(resolveBuiltinVersion('10.2'), '10.2.50');
    assert.throws(() => resolveBuiltinVersion('4.2'), /no built-in trace catalogue for QEMU 4.2/);
  });
});
