import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { catalogueFromText } from './catalogue';
import { builtinCatalogue } from './catalogues/index';
import { LogLineParser } from './logReader';
import { readTrace } from './readTrace';
import { TraceStore } from './store';
import { parseUniqCounts, recordings } from './testSupport';
import { guessQemuVersion } from './versionGuess';

const tmp = mkdtempSync(join(tmpdir(), 'qmw-trace-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const cat = catalogueFromText([
  'multifd_send(uint8_t id, uint64_t packet_num, uint32_t normal_pages, uint32_t zero_pages, uint32_t flags, uint32_t next_packet_size) "channel %u packet_num %" PRIu64 " normal pages %u zero pages %u flags 0x%x next packet size %u"',
  'postcopy_ram_fault_thread_request(uint64_t hostaddr, const char *ramblock, size_t offset, uint32_t pid) "Request for HVA=0x%" PRIx64 " rb=%s offset=0x%zx pid=%u"',
  'migration_bitmap_sync_start(void) ""',
].join('\n'), 'test');

function parseText(text: string | Buffer, chunk = 7): TraceStore {
  const store = new TraceStore();
  const p = new LogLineParser(store, cat);
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  for (let i = 0; i < buf.length; i += chunk) p.push(buf.subarray(i, i + chunk));
  p.end();
  store.trim();
  return store;
}

/** Independent count: event names after the prefix, by regex over the whole text (test only). */
function countByPrefix(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(?:\d+@\d+\.\d+:|\d{4}-\d\d-\d\dT[\d:.]+Z )?([a-z0-9_]+)( |$)/.exec(line);
    if (m && line !== '') out.set(m[1]!, (out.get(m[1]!) ?? 0) + 1);
  }
  return out;
}

describe('log backend reader', () => {
  for (const [dir, side, file] of [
    ['qemu-10.2.50-multifd-legacy', 'dst', 'dst-trace.log'],
    ['qemu-10.2.50-multifd-legacy', 'src', 'src-trace.log.xz'],
    ['qemu-10.2.50-simpletrace-small', 'dst', 'dst-trace.log'],
  ] as const) {
    it(`counts ${dir}/${file} exactly like the recorded sort | uniq -c`, async () => {
      const store = await readTrace(join(recordings, dir, file), builtinCatalogue('10.2.50'));
      const expected = parseUniqCounts(readFileSync(join(recordings, dir, `${side}-event-counts.txt`), 'utf8'));
      assert.deepEqual(new Map(Object.entries(store.counts())), expected);
      assert.equal(store.malformedCount, 0);
      assert.equal(store.other, 0);
      assert.equal(store.unknownEvents, 0);
      assert.equal(store.timeKind, 'realtime');
      if (!file.endsWith('.xz')) assert.deepEqual(new Map(Object.entries(store.counts())), countByPrefix(readFileSync(join(recordings, dir, file), 'utf8')));
    });
  }

  it('decodes 10.2 multifd events with named typed values and ISO time', async () => {
    const store = await readTrace(join(recordings, 'qemu-10.2.50-multifd-legacy', 'src-trace.log.xz'), builtinCatalogue('10.2.50'));
    const fill = store.table('multifd_send_fill')!;
    assert.deepEqual(fill.fields.map((f) => f.name), ['id', 'packet_num', 'flags', 'next_packet_size']);
    const ram = store.table('multifd_send_ram_fill')!;
    assert.deepEqual(Object.keys(ram.row(0)), ['id', 'normal', 'zero']);
    const chans = new Set<number | bigint | string>();
    for (let i = 0; i < fill.count; i++) chans.add(fill.value(i, 0));
    assert.deepEqual([...chans].sort(), [0, 1, 2, 3]);
    const base = store.baseTimeNs!;
    // 2026-11-21T20:48:45.453070Z is the first line of the source trace.
    assert.equal(base, BigInt(Date.parse('2026-11-21T20:48:45.453Z')) * 1000000n + 70000n);
    assert.equal(store.table('migration_block_activation')!.line(0), 1);
  });

  it('reads the tid@sec.usec prefix, no prefix, unknown events and other lines', () => {
    const s = parseText([
      '1234@1700000000.000100:multifd_send channel 1 packet_num 18446744073709551615 normal pages 128 zero pages 0 flags 0x1 next packet size 0',
      '1235@1700000001.000000:postcopy_ram_fault_thread_request Request for HVA=0x7f0000001000 rb=pc.ram offset=0x1000 pid=42',
      'migration_bitmap_sync_start ',
      '1234@1700000001.500000:some_new_event foo=1',
      'qemu-system-x86_64: terminating on signal 15',
      '',
      '1234@1700000002.000000:multifd_send channel 2 packet_num 7 normal pages oops',
      'migration_bitmap_sync_start',
    ].join('\n') + '\n');
    assert.deepEqual(s.counts(), { migration_bitmap_sync_start: 2, multifd_send: 1, postcopy_ram_fault_thread_request: 1, some_new_event: 1 });
    const m = s.table('multifd_send')!;
    assert.deepEqual(m.row(0), { id: 1, packet_num: 18446744073709551615n, normal_pages: 128, zero_pages: 0, flags: 1, next_packet_size: 0 });
    assert.equal(m.threadId(0), 1234);
    assert.equal(m.time(0), 0);
    const pf = s.table('postcopy_ram_fault_thread_request')!;
    assert.equal(pf.time(0), 999_900_000);
    assert.deepEqual(pf.row(0), { hostaddr: 0x7f0000001000, ramblock: 'pc.ram', offset: 0x1000, pid: 42 });
    assert.equal(pf.line(0), 2);
    assert.equal(pf.column('ramblock').get(0), 'pc.ram');
    assert.ok(Number.isNaN(s.table('migration_bitmap_sync_start')!.time(0)));
    assert.equal(s.table('migration_bitmap_sync_start')!.line(1), 8);
    assert.deepEqual(s.table('some_new_event')!.row(0), { text: 'foo=1' });
    assert.equal(s.table('some_new_event')!.unknown, true);
    assert.equal(s.other, 2);
    assert.deepEqual(s.otherLines, [5, 6]);
    assert.equal(s.malformedCount, 1);
    assert.deepEqual(s.malformed.map((x) => [x.line, x.name]), [[7, 'multifd_send']]);
    assert.equal(s.lines, 8);
    assert.deepEqual([...s.inOrder()].map((e) => e.table.line(e.row)), [1, 2, 3, 4, 8]);
    assert.deepEqual([...s.table('multifd_send')!.rowsInTimeRange(0, 1)], [0]);
  });

  it('gives the same store whatever the chunk size', () => {
    const text = readFileSync(join(recordings, 'qemu-10.2.50-simpletrace-small', 'dst-trace.log'));
    const c10 = builtinCatalogue('10.2.50');
    const run = (chunk: number): string => {
      const store = new TraceStore();
      const p = new LogLineParser(store, c10);
      for (let i = 0; i < text.length; i += chunk) p.push(text.subarray(i, i + chunk));
      p.end();
      return JSON.stringify([...store.inOrder()].map(({ table, row }) => [table.name, table.line(row), table.time(row), String(Object.values(table.row(row)))]));
    };
    const whole = run(text.length);
    for (const c of [1, 3, 64, 4096]) assert.equal(run(c), whole, `chunk ${c}`);
  });

  it('keeps rows in order when staged rows, exact-decoder rows and long numbers mix in one table', () => {
    const lines: string[] = [];
    const want: (number | bigint)[] = [];
    for (let i = 0; i < 5000; i++) {
      const big = i % 7 === 3 ? 18446744073709551615n - BigInt(i) : i % 11 === 5 ? 1234567890123456 + i : i * 3;
      want.push(big);
      const sec = 1700000000 + Math.floor(i / 300) + (i % 997 === 0 ? 100000000000 : 0);
      lines.push(`${7 + (i % 3)}@${sec}.${String(i % 1000000).padStart(6, '0')}:multifd_send channel ${i % 4} packet_num ${big} normal pages ${i} zero pages 0 flags 0x${i.toString(16)} next packet size 0${i % 13 === 0 ? '\r' : ''}`);
    }
    const text = lines.join('\n') + '\n';
    for (const chunk of [64, 4096, 1 << 20]) {
      const t = parseText(text, chunk).table('multifd_send')!;
      assert.equal(t.count, 5000);
      const col = t.column('packet_num');
      for (let i = 0; i < 5000; i++) assert.equal(col.get(i), want[i], `row ${i}, chunk ${chunk}`);
      assert.equal(t.line(4999), 5000);
      assert.equal(t.column('normal_pages').get(4321), 4321);
      assert.equal(t.column('normal_pages').kind, 'u16');
    }
  });

  it('survives binary garbage, invalid UTF-8 and a 10 MB line', () => {
    const garbage = Buffer.alloc(100_000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
    const s1 = parseText(garbage, 4096);
    assert.equal(s1.count() - s1.unknownEvents, 0);
    const bad = Buffer.concat([Buffer.from('1@1.000001:postcopy_ram_fault_thread_request Request for HVA=0x1 rb='), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' offset=0x2 pid=3\n')]);
    const s2 = parseText(bad);
    assert.equal(s2.table('postcopy_ram_fault_thread_request')!.row(0).ramblock, '\ufffd\ufffd\ufffd');
    const long = Buffer.concat([Buffer.from('1@1.000001:postcopy_ram_fault_thread_request Request for HVA=0x1 rb='), Buffer.alloc(10 * 1024 * 1024, 'a'), Buffer.from(' offset=0x2 pid=3\nmigration_bitmap_sync_start \n')]);
    const s3 = parseText(long, 65536);
    const row = s3.table('postcopy_ram_fault_thread_request')!.row(0);
    assert.equal((row.ramblock as string).length, 10 * 1024 * 1024);
    assert.equal(s3.table('migration_bitmap_sync_start')!.line(0), 2);
    const s4 = parseText(Buffer.concat([Buffer.alloc(10 * 1024 * 1024, 'x'), Buffer.from('\nmigration_bitmap_sync_start \n')]), 1 << 20);
    assert.equal(s4.other, 1);
    assert.equal(s4.count('migration_bitmap_sync_start'), 1);
  });

  it('reads gzip transparently and reports unreadable files', async () => {
    const text = readFileSync(join(recordings, 'qemu-10.2.50-multifd-legacy', 'dst-trace.log'));
    const gz = join(tmp, 'dst.log.gz');
    writeFileSync(gz, gzipSync(text));
    const a = await readTrace(gz, builtinCatalogue('10.2.50'));
    const b = await readTrace(join(recordings, 'qemu-10.2.50-multifd-legacy', 'dst-trace.log'), builtinCatalogue('10.2.50'));
    assert.deepEqual(a.counts(), b.counts());
    await assert.rejects(readTrace(join(tmp, 'missing.log'), cat), /cannot read .*missing\.log: no such file/);
    await assert.rejects(readTrace(tmp, cat), /is a directory|EISDIR|cannot read/);
    const badXz = join(tmp, 'bad.xz');
    writeFileSync(badXz, Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]));
    const x = await readTrace(badXz, cat);
    assert.equal(x.lines, 0);
    assert.match(x.errors.join('\n'), /byte offset 0 of the decompressed data: the xz data ends early or is corrupt/);
  });

  for (const [kind, compress, size] of [
    ['gzip', (b: Buffer): Buffer => gzipSync(b), (n: number): number => Math.floor(n / 2)],
    ['xz', (b: Buffer): Buffer => execFileSync('xz', ['-c', '-1'], { input: b, maxBuffer: 1 << 30 }), (n: number): number => Math.floor(n / 2)],
  ] as const) {
    it(`a truncated ${kind} trace keeps every whole line that decompressed and names the byte offset where it stops`, async () => {
      const whole = readFileSync(join(recordings, 'qemu-10.2.50-multifd-legacy', 'dst-trace.log'));
      const text = Buffer.concat(Array.from({ length: 40 }, () => whole));
      const packed = compress(text);
      const cut = join(tmp, `cut.log.${kind}`);
      writeFileSync(cut, packed.subarray(0, size(packed.length)));
      const store = await readTrace(cut, builtinCatalogue('10.2.50'));
      const error = store.errors.join('\n');
      const m = new RegExp(`byte offset (\\d+) of the decompressed data.*the ${kind === 'gzip' ? 'gzip' : 'xz'} data ends early.*; the (\\d+) whole lines before it are kept`).exec(error);
      assert.ok(m, error);
      const offset = Number(m[1]);
      const lines = Number(m[2]);
      assert.ok(offset > 10_000 && offset < text.length, `${offset} of ${text.length} bytes`);
      // Exactly the whole lines of the decompressed part, decoded as the uncut file decodes them.
      const kept = text.subarray(0, offset);
      const wholeLines = kept.subarray(0, kept.lastIndexOf(10) + 1);
      assert.equal(lines, wholeLines.toString('latin1').split('\n').length - 1);
      assert.equal(store.lines, lines);
      const expected = [...countByPrefix(wholeLines.toString('latin1')).values()].reduce((a, b) => a + b, 0);
      assert.equal(store.count(), expected);
      assert.equal(store.malformedCount, 0);
      assert.ok(store.count() > 100, `${store.count()} events kept`);
    });
  }

  it('random binary, a simpletrace with a broken magic and impossible timestamps are said to be so', async () => {
    const random = join(tmp, 'random.bin');
    const bytes = Buffer.alloc(65536);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 13 & 0xff;
    writeFileSync(random, bytes);
    const r = await readTrace(random, builtinCatalogue('7.2'));
    assert.match(r.errors.join(), /^byte offset \d+: not a QEMU trace: binary data \(a NUL byte\)/);
    assert.equal(r.lines, 0);
    const magic = join(tmp, 'broken.simple');
    writeFileSync(magic, Buffer.concat([Buffer.alloc(8, 0xff), Buffer.from('0123456789abcdef', 'hex'), Buffer.alloc(200, 7)]));
    const m = await readTrace(magic, builtinCatalogue('7.2'));
    assert.match(m.errors.join(), /^byte offset 8: not a QEMU trace: a simpletrace header with the wrong magic 0xefcdab8967452301/);
    const times = join(tmp, 'times.log');
    writeFileSync(times, [
      '27237@99999999999999999999999.029148:migration_bitmap_sync_end dirty_pages 1',
      '27237@1795296049.0291480001:migration_bitmap_sync_end dirty_pages 1',
      '27237@1795296049:migration_bitmap_sync_end dirty_pages 1',
      '123456789012345678@1795296049.029148:migration_bitmap_sync_end dirty_pages 1',
      '2026-12-01T10:20:30.12345678901Z migration_bitmap_sync_end dirty_pages 1',
      '2026-13-01T10:20:30.123456Z migration_bitmap_sync_end dirty_pages 1',
      '2026-12-01T24:20:30.123456Z migration_bitmap_sync_end dirty_pages 1',
      '2026-12-00T10:61:30.123456Z migration_bitmap_sync_end dirty_pages 1',
      '27237@1795296049.029149:migration_bitmap_sync_end dirty_pages 5',
      '',
    ].join('\n'));
    for (const scanner of ['wasm', 'js'] as const) {
      const t = await readTrace(times, builtinCatalogue('7.2'), { scanner });
      assert.equal(t.malformedCount, 8, scanner);
      assert.deepEqual(t.malformed.map((x) => [x.line, x.name]), [1, 2, 3, 4, 5, 6, 7, 8].map((l) => [l, '(bad timestamp)']));
      assert.equal(t.count('migration_bitmap_sync_end'), 1);
      assert.equal(t.other, 0);
    }
  });

  it('a file truncated while it is read gives an error naming the byte offset, with what was read kept', async () => {
    const line = '12@1795296049.000001:multifd_send channel 0 packet_num 1 normal pages 128 zero pages 3 flags 0x0 next packet size 0\n';
    const file = join(tmp, 'shrinking.log');
    for (const opts of [{ chunkBytes: 1 << 16 }, { plainLog: true }, { plainLog: true, scanner: 'js' as const }]) {
      writeFileSync(file, line.repeat(Math.ceil((12 << 20) / line.length)));
      let cut = false;
      const store = await readTrace(file, cat, { ...opts, onProgress: () => { if (!cut) { cut = true; truncateSync(file, 1000); } } });
      const error = store.errors.join('\n');
      assert.match(error, /^byte offset \d+: the file ended while it was read \(it was \d+ bytes long when the read started\): truncated while read; the \d+ whole lines before it are kept/, JSON.stringify(opts));
      assert.ok(store.count('multifd_send') > 0, 'the lines read before are kept');
      assert.equal(store.malformedCount, 0);
    }
  });

  it('numbers beyond 64 bits are malformed, never wrapped, in both scanners', async () => {
    const cat64 = catalogueFromText([
      'ev_u(uint64_t v) "v %" PRIu64',
      'ev_d(int64_t v) "v %" PRId64',
      'ev_x(uint64_t v) "v 0x%" PRIx64',
      'ev_u32(uint32_t a, uint64_t v) "a %u v %" PRIu64',
    ].join('\n'), 'test');
    const lines = [
      ['ev_u v 18446744073709551615', 18446744073709551615n],
      ['ev_u v 18446744073709551616', null],
      ['ev_u v 18446744073709551617', null],
      ['ev_u v 99999999999999999999999999', null],
      ['ev_d v -9223372036854775808', -9223372036854775808n],
      ['ev_d v -9223372036854775809', null],
      ['ev_d v 9223372036854775808', null],
      ['ev_x v 0xffffffffffffffff', 18446744073709551615n],
      ['ev_x v 0x10000000000000000', null],
      ['ev_u32 a 1 v 18446744073709551617', null],
    ] as const;
    const file = join(tmp, 'big.log');
    writeFileSync(file, lines.map(([l], i) => `7@1795296049.${String(i).padStart(6, '0')}:${l}\n`).join(''));
    for (const scanner of ['wasm', 'js'] as const) {
      const s = await readTrace(file, cat64, { scanner });
      assert.deepEqual(s.malformed.map((x) => x.line), lines.flatMap(([, v], i) => (v === null ? [i + 1] : [])), scanner);
      const got = [...['ev_u', 'ev_d', 'ev_x'].flatMap((n) => { const t = s.table(n); return t ? Array.from({ length: t.count }, (_, i) => t.row(i)['v']) : []; })];
      assert.deepEqual(got.map(String), lines.flatMap(([, v]) => (v === null ? [] : [String(v)])), scanner);
    }
  });

  it('guesses the QEMU version of a trace', async () => {
    const g10 = await guessQemuVersion(join(recordings, 'qemu-10.2.50-multifd-legacy', 'src-trace.log.xz'));
    assert.equal(g10.version, '10.2.50');
    // A real QEMU 10.0.2 trace: 10.0's process_incoming_migration_co_end has one argument
    // fewer than 10.2.50's, so only the 10.0 catalogue decodes every line of it.
    const own10 = join(__dirname, '..', 'analysis', 'testdata', 'qemu-10.0.2-precopy-downtime', 'dst-trace.log');
    const g100 = await guessQemuVersion(own10);
    assert.equal(g100.version, '10.0');
    assert.equal((await readTrace(own10, g100.catalogue)).malformedCount, 0);
    assert.ok((await readTrace(own10, builtinCatalogue('10.2.50'))).malformedCount > 0, 'the 10.2.50 catalogue misreads a 10.0.2 line');
    const f9 = join(tmp, 'v9.log');
    writeFileSync(f9, '12@1.000001:multifd_send channel 0 packet_num 1 normal pages 128 zero pages 3 flags 0x0 next packet size 0\n'.repeat(3));
    assert.equal((await guessQemuVersion(f9)).version, '9.0');
    const f7 = join(tmp, 'v7.log');
    writeFileSync(f7, '12@1.000001:multifd_send channel 0 packet_num 1 normal pages 128 flags 0x0 next packet size 0\n'.repeat(3));
    assert.equal((await guessQemuVersion(f7)).version, '7.2');
    assert.ok(execFileSync('xz', ['--version']).length > 0);
  });
});
