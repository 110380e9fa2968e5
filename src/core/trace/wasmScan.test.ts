import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { catalogueFromText, type Catalogue } from './catalogue';
import { builtinCatalogue } from './catalogues/index';
import { LogLineParser } from './logReader';
import { readTrace } from './readTrace';
import { TraceStore } from './store';
import { recordings } from './testSupport';
import { encodeProgram, logScanModule } from './wasmScan';

const demo = join(__dirname, '..', '..', '..', 'demo', 'recordings');

function parse(buf: Buffer, cat: Catalogue, wasm: boolean, chunk: number): TraceStore {
  const store = new TraceStore();
  const p = new LogLineParser(store, cat, 1, wasm);
  assert.equal(p.usesWasm, wasm, wasm ? 'dist/logscan.wasm is not built (npm run build)' : 'JavaScript scanner expected');
  for (let i = 0; i < buf.length; i += chunk) p.push(buf.subarray(i, i + chunk));
  p.end();
  store.trim();
  return store;
}

/**
 * Everything a reader of the store can see, in one comparable value. Tables without rows
 * are left out: the JavaScript scanner opens a table before it knows whether the line
 * matches, the WebAssembly scanner only for a row.
 */
function dump(s: TraceStore): unknown {
  const tables = s.names().filter((n) => s.count(n) > 0).map((n) => {
    const t = s.table(n)!;
    const rows: unknown[] = [];
    for (let i = 0; i < t.count; i++) rows.push([t.time(i), t.line(i), t.threadId(i) ?? null, Object.values(t.row(i)).map(String)]);
    return [n, t.unknown, rows];
  });
  return {
    tables, other: s.other, otherLines: s.otherLines, malformed: s.malformed, malformedCount: s.malformedCount,
    unknown: s.unknownEvents, lines: s.lines, bytes: s.bytes, base: s.baseTimeNs?.toString() ?? null, timeKind: s.timeKind,
  };
}

function assertSameStore(buf: Buffer, cat: Catalogue, chunk: number): TraceStore {
  const js = parse(buf, cat, false, chunk);
  const wasm = parse(buf, cat, true, chunk);
  assert.deepEqual(dump(wasm), dump(js));
  return wasm;
}

const cat = catalogueFromText([
  'multifd_send(uint8_t id, uint64_t packet_num, uint32_t normal_pages, uint32_t zero_pages, uint32_t flags, uint32_t next_packet_size) "channel %u packet_num %" PRIu64 " normal pages %u zero pages %u flags 0x%x next packet size %u"',
  'postcopy_ram_fault_thread_request(uint64_t hostaddr, const char *ramblock, size_t offset, uint32_t pid) "Request for HVA=0x%" PRIx64 " rb=%s offset=0x%zx pid=%u"',
  'signed_and_pointer(int delta, void *opaque) "delta %d at %p"',
  'padded(int a, uint32_t b) "a=%-6d| b=%#x|"',
  'two_strings(const char *a, const char *b) "%s and %s"',
  'string_then_number(const char *name, int n) "%s%d"',
  'char_field(char c) "c=%c"',
  'migration_bitmap_sync_start(void) ""',
  // Literal shapes the scanner's compiled steps treat differently: none before the first
  // conversion, exactly 8, 9 and 16 bytes, one after the last conversion.
  'lead_conv(uint32_t a, uint32_t b) "%u:%u"',
  'lit_eight(uint32_t a) "eight_b=%u"',
  'lit_nine(uint32_t a) "nine_byt=%u"',
  'lit_sixteen(uint32_t a, uint64_t b) "sixteen_bytes_l=%u tail 0x%" PRIx64 " end"',
].join('\n'), 'test');

describe('WebAssembly line scanner', () => {
  it('is built and gives programs only to formats it reads exactly as the JavaScript decoders', () => {
    assert.ok(logScanModule(), 'dist/logscan.wasm is not built (npm run build)');
    const has = (name: string): boolean => encodeProgram(cat.get(name)!.decoder) !== null;
    assert.ok(has('multifd_send'));
    assert.ok(has('postcopy_ram_fault_thread_request'));
    assert.ok(has('padded'));
    assert.ok(has('two_strings'));
    for (const name of ['lead_conv', 'lit_eight', 'lit_nine', 'lit_sixteen']) assert.ok(has(name), name);
    assert.equal(has('char_field'), false);
  });

  for (const [dir, file, version] of [
    ['precopy-multifd', 'src-trace.log', '7.2'], ['precopy-multifd', 'dst-trace.log', '7.2'],
    ['postcopy', 'src-trace.log', '7.2'], ['postcopy', 'dst-trace.log', '7.2'],
    ['postcopy-vhost-user', 'src-trace.log', '7.2'], ['postcopy-vhost-user', 'dst-trace.log', '7.2'],
  ] as const) {
    it(`reads the demo recording ${dir}/${file} into the same store as the JavaScript scanner`, () => {
      const s = assertSameStore(readFileSync(join(demo, dir, file)), builtinCatalogue(version), 64 * 1024);
      assert.ok(s.count() > 100);
    });
  }

  it('reads a QEMU 10.2 recording (ISO-8601 prefixes) into the same store', () => {
    const s = assertSameStore(readFileSync(join(recordings, 'qemu-10.2.50-multifd-legacy', 'dst-trace.log')), builtinCatalogue('10.2.50'), 4096);
    assert.ok(s.hasTime);
    assert.ok(s.count() > 100);
  });

  it('agrees with the JavaScript scanner on hand-picked edge lines', () => {
    const text = [
      '77@1700000000.000001:multifd_send channel 1 packet_num 5 normal pages 128 zero pages 0 flags 0x0 next packet size 0',
      '77@1700000000.000002:multifd_send channel 1 packet_num 1234567890123456 normal pages 1 zero pages 0 flags 0x0 next packet size 0',
      '77@1700000000.000003:multifd_send channel 1 packet_num 18446744073709551615 normal pages 1 zero pages 0 flags 0xffffffffffffffff next packet size 0',
      '78@1700000000.5:postcopy_ram_fault_thread_request Request for HVA=0x7f0000001000 rb=pc.ram offset=0x1000 pid=42\r',
      '78@1700000000.6:postcopy_ram_fault_thread_request Request for HVA=0x7f0000002000 rb=odd rb= name offset=0x2000 pid=42',
      '78@1700000000.7:postcopy_ram_fault_thread_request Request for HVA=0x7f0000002000 rb= offset=0x2000 pid=1',
      '79@1700000001.000000:signed_and_pointer delta -17 at (nil)',
      '79@1700000001.000001:signed_and_pointer delta +3 at 0x55d0c0ffee00',
      '79@1700000001.000002:padded a=-5    | b=0x1f|',
      '79@1700000001.000003:padded a=12    | b=1f|',
      '79@1700000001.000004:two_strings x and y and z',
      '79@1700000001.000005:string_then_number abc42',
      '79@1700000001.000006:char_field c=Q',
      '79@1700000001.000007:lead_conv 12:345',
      '79@1700000001.000008:lit_eight eight_b=9',
      '79@1700000001.000009:lit_eight eight_b:9',
      '79@1700000001.000010:lit_nine nine_byt=77',
      '79@1700000001.000011:lit_nine nine_byt:77',
      '79@1700000001.000012:lit_sixteen sixteen_bytes_l=5 tail 0xabc end',
      '79@1700000001.000013:lit_sixteen sixteen_bytes_l:5 tail 0xabc end',
      '79@1700000001.000016:lit_sixteen sixteen_bytes_l=5 tail 0xabc enD',
      '79@1700000001.000014:lit_sixteen sixteen_bytes_l=5 tail 0xabc en',
      '79@1700000001.000015:lit_sixteen sixteen_bytes_l',
      '2025-11-20T10:11:12.123456Z migration_bitmap_sync_start ',
      '2025-11-20T10:11:12.5Z multifd_send channel 2 packet_num 9 normal pages 1 zero pages 2 flags 0x4 next packet size 7',
      'migration_bitmap_sync_start',
      'multifd_send channel 3 packet_num 1 normal pages 1 zero pages 2 flags 0x4 next packet size 7',
      '80@1700000002.000001:multifd_send channel x',
      '80@1700000002.000002:brand_new_event a=1',
      '80@1700000002.1234567890:multifd_send channel 1 packet_num 5 normal pages 128 zero pages 0 flags 0x0 next packet size 0',
      '123456789012345678@1700000002.000003:migration_bitmap_sync_start',
      'qemu-system-x86_64: some error text',
      '',
      '   ',
      '80@1700000002.000004:migration_bitmap_sync_start',
    ].join('\n') + '\n';
    const s = assertSameStore(Buffer.from(text), cat, 1 << 20);
    assert.equal(s.table('multifd_send')!.column('packet_num').get(2), 18446744073709551615n);
    assert.equal(s.table('postcopy_ram_fault_thread_request')!.row(1)['ramblock'], 'odd rb= name');
    // Chunk boundaries inside lines change nothing.
    assertSameStore(Buffer.from(text), cat, 7);
  });

  it('agrees with the JavaScript scanner on random valid and broken lines (property)', () => {
    const num = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.constantFrom(2 ** 53 - 1, 2 ** 53 + 2, 1e15, 1e16));
    const word = fc.stringMatching(/^[a-z.=_ -]{0,12}$/);
    const prefix = fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 99999 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 999999 })).map(([t, s, us]) => `${t}@${1700000000 + s}.${String(us).padStart(6, '0')}:`),
      fc.tuple(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 999999 })).map(([s, us]) => `2025-01-02T03:04:${String(s).padStart(2, '0')}.${String(us).padStart(6, '0')}Z `),
      fc.constant(''),
    );
    const body = fc.oneof(
      fc.tuple(num, num, num, num, num, num).map(([a, b, c, d, e, f]) => `multifd_send channel ${a} packet_num ${b} normal pages ${c} zero pages ${d} flags 0x${e.toString(16)} next packet size ${f}`),
      fc.tuple(num, word, num, num).map(([a, rb, o, pid]) => `postcopy_ram_fault_thread_request Request for HVA=0x${a.toString(16)} rb=${rb} offset=0x${o.toString(16)} pid=${pid}`),
      fc.tuple(fc.integer({ min: -1000, max: 1000 }), num).map(([d, p]) => `signed_and_pointer delta ${d} at ${p === 0 ? '(nil)' : '0x' + p.toString(16)}`),
      fc.tuple(word, word).map(([a, b]) => `two_strings ${a} and ${b}`),
      fc.tuple(word, fc.integer({ min: -99, max: 99 })).map(([a, n]) => `string_then_number ${a}${n}`),
      fc.constant('migration_bitmap_sync_start '),
      fc.tuple(num, num).map(([a, b]) => `lead_conv ${a}:${b}`),
      num.map((a) => `lit_eight eight_b=${a}`),
      num.map((a) => `lit_nine nine_byt=${a}`),
      fc.tuple(num, num).map(([a, b]) => `lit_sixteen sixteen_bytes_l=${a} tail 0x${b.toString(16)} end`),
      word.map((w) => `unknown_${w.replace(/[^a-z]/g, '')} ${w}`),
      word,
    );
    const line = fc.tuple(prefix, body, fc.constantFrom('', '', '', '\r', ' '), fc.boolean(), fc.nat()).map(([p, b, end, cut, at]) => {
      const l = p + b + end;
      return cut ? l.slice(0, at % (l.length + 1)) : l;
    });
    fc.assert(fc.property(fc.array(line, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 200 }), (lines, chunk) => {
      const buf = Buffer.from(lines.join('\n') + '\n', 'latin1');
      assert.deepEqual(dump(parse(buf, cat, true, chunk)), dump(parse(buf, cat, false, chunk)));
    }), { numRuns: Number(process.env.QMW_PROPERTY_RUNS ?? 300) });
  });

  it('agrees with the JavaScript scanner on binary garbage mixed with valid lines (property)', () => {
    const valid = '7@1700000000.000001:multifd_send channel 1 packet_num 5 normal pages 128 zero pages 0 flags 0x0 next packet size 0\n';
    fc.assert(fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.constant(Buffer.from(valid))), { maxLength: 30 }), fc.integer({ min: 1, max: 300 }), (parts, chunk) => {
      const buf = Buffer.concat(parts.map((p) => Buffer.from(p)));
      assert.deepEqual(dump(parse(buf, cat, true, chunk)), dump(parse(buf, cat, false, chunk)));
    }), { numRuns: Number(process.env.QMW_PROPERTY_RUNS ?? 300) });
  });

  it('serves two readers of one catalogue whose chunks interleave', () => {
    const a = readFileSync(join(demo, 'postcopy', 'dst-trace.log'));
    const b = readFileSync(join(demo, 'postcopy-vhost-user', 'dst-trace.log'));
    const c72 = builtinCatalogue('7.2');
    const stores = [new TraceStore(), new TraceStore()];
    const parsers = stores.map((s) => new LogLineParser(s, c72));
    const inputs = [a, b];
    const chunk = 5000;
    for (let off = 0; off < Math.max(a.length, b.length); off += chunk) {
      inputs.forEach((buf, k) => { if (off < buf.length) parsers[k]!.push(buf.subarray(off, off + chunk)); });
    }
    parsers.forEach((p, k) => { p.end(); stores[k]!.trim(); });
    assert.deepEqual(dump(stores[0]!), dump(parse(a, c72, false, chunk)));
    assert.deepEqual(dump(stores[1]!), dump(parse(b, c72, false, chunk)));
  });

  it('reads a file range straight into the scanner like a streamed read (long lines, no final newline)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qmw-scan-'));
    try {
      const lines: string[] = [];
      for (let i = 0; i < 60000; i++) lines.push(`9@1700000000.${String(i).padStart(6, '0')}:multifd_send channel ${i % 4} packet_num ${i} normal pages 1 zero pages 0 flags 0x0 next packet size 0`);
      lines.splice(30000, 0, 'x'.repeat(5 * 1024 * 1024));
      const f = join(dir, 'big.log');
      writeFileSync(f, lines.join('\n'));
      const size = statSync(f).size;
      const direct = await readTrace(f, cat, { plainLog: true, start: 0, end: size });
      const streamed = await readTrace(f, cat, { scanner: 'js' });
      assert.deepEqual(dump(direct), dump(streamed));
      assert.equal(direct.count('multifd_send'), 60000);
      assert.equal(direct.other, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps strings apart across stores and many distinct values', () => {
    const lines: string[] = [];
    for (let i = 0; i < 9000; i++) lines.push(`5@1700000000.${String(i).padStart(6, '0')}:postcopy_ram_fault_thread_request Request for HVA=0x${(0x1000 * i).toString(16)} rb=block${i % 3000} offset=0x${i.toString(16)} pid=1`);
    const buf = Buffer.from(lines.join('\n') + '\n');
    const s = assertSameStore(buf, cat, 65536);
    assert.equal(new Set(Array.from(s.table('postcopy_ram_fault_thread_request')!.column('ramblock').array, Number)).size, 3000);
  });
});
