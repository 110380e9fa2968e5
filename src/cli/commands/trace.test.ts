import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { main } from '../main';
import type { CliIo } from '../command';
import { parseUniqCounts, qemuFixtures, recordings } from '../../core/trace/testSupport';

function capture(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => { out += t; }, err: (t) => { err += t; }, signal: new AbortController().signal, isTty: false };
  return { io, out: () => out, err: () => err };
}

const legacy = join(recordings, 'qemu-10.2.50-multifd-legacy');

test('qmig trace stats --json prints one object with counts equal to the recording', async () => {
  const c = capture();
  assert.equal(await main(['trace', 'stats', join(legacy, 'src-trace.log.xz'), '--json'], c.io), 0, c.err());
  const j = JSON.parse(c.out()) as { events: Record<string, number>; other: number; malformed: number; firstNs: number; lastNs: number; bytes: number; catalogue: string };
  assert.deepEqual(new Map(Object.entries(j.events)), parseUniqCounts(readFileSync(join(legacy, 'src-event-counts.txt'), 'utf8')));
  assert.equal(j.other, 0);
  assert.equal(j.malformed, 0);
  assert.equal(j.firstNs, 0);
  assert.ok(j.lastNs > 1e9);
  assert.equal(j.bytes, 7580666);
  assert.equal(j.catalogue, 'builtin:qemu-10.2.50');
});

test('qmig trace stats: text summary, --trace-events, malformed line numbers and several files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmw-trace-cli-'));
  try {
    const f = join(dir, 't.log');
    writeFileSync(f, '1@1.000001:multifd_send_fill channel 0 packet_num 1 flags 0x0 next packet size 0\nhello\n1@1.000002:multifd_send_fill channel zz\n');
    const c = capture();
    assert.equal(await main(['trace', 'stats', f, '--trace-events', join(qemuFixtures, '10.2.50', 'migration')], c.io), 1, c.err());
    assert.match(c.err(), /t\.log: 1 malformed line \(first: line 3 multifd_send_fill\)/);
    assert.match(c.out(), /1 events in 3 lines/);
    assert.match(c.out(), /other lines: 1 \(first at 2\)/);
    assert.match(c.out(), /malformed: 1 \(first at 3 multifd_send_fill\)/);
    const j = capture();
    assert.equal(await main(['trace', 'stats', f, join(legacy, 'dst-trace.log'), '--json', '--qemu-version', '10.2.50'], j.io), 1);
    const o = JSON.parse(j.out()) as { events: Record<string, number>; malformed: number; other: number; files: unknown[] };
    assert.equal(o.files.length, 2);
    assert.equal(o.events.multifd_send_fill, 1);
    assert.equal(o.events.multifd_recv_unfill, 401);
    assert.equal(o.malformed, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qmig trace: unreadable input and bad usage exit non-zero with a message', async () => {
  const c = capture();
  assert.equal(await main(['trace', 'stats', '/nonexistent/trace.log', '--qemu-version', '9.0'], c.io), 1);
  assert.match(c.err(), /cannot read \/nonexistent\/trace\.log: no such file/);
  const u = capture();
  assert.equal(await main(['trace', 'export', join(legacy, 'dst-trace.log'), '--format', 'xml'], u.io), 2);
  assert.match(u.err(), /--format must be one of jsonl, csv, chrome/);
  const v = capture();
  assert.equal(await main(['trace', 'stats', join(legacy, 'dst-trace.log'), '--qemu-version', '1.0'], v.io), 1);
  assert.match(v.err(), /no built-in trace catalogue for QEMU 1.0/);
});

test('qmig trace export: jsonl, csv and chrome (multifd channels as tracks)', async () => {
  const file = join(legacy, 'dst-trace.log');
  const j = capture();
  assert.equal(await main(['trace', 'export', file, '--format', 'jsonl'], j.io), 0, j.err());
  const rows = j.out().trim().split('\n').map((l) => JSON.parse(l) as { name: string; line: number; ns: number; args: Record<string, unknown> });
  assert.equal(rows.length, 475);
  assert.deepEqual(rows.map((r) => r.line), rows.map((_, i) => i + 1));
  assert.deepEqual(rows[1], { name: 'migration_set_incoming_channel', line: 2, ns: 102000, tid: null, args: { ioc: '0x5562350b3c00', ioctype: 'qio-channel-socket' } });
  const c = capture();
  assert.equal(await main(['trace', 'export', file, '--format', 'csv'], c.io), 0);
  const csv = c.out().split('\n');
  assert.equal(csv[0], 'line,time_ns,tid,event,args');
  assert.equal(csv[5], '5,12371000,,multifd_recv_new_channel,id=0');
  const dir = mkdtempSync(join(tmpdir(), 'qmw-trace-cli-'));
  try {
    const out = join(dir, 'chrome.json');
    const k = capture();
    assert.equal(await main(['trace', 'export', file, '--format', 'chrome', '--out', out], k.io), 0, k.err());
    const chrome = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: { ph: string; name: string; tid: number; args: { name?: string } }[] };
    const tracks = chrome.traceEvents.filter((e) => e.ph === 'M').map((e) => e.args.name);
    assert.deepEqual(tracks.filter((n) => n?.startsWith('multifd')).sort(), ['multifd channel 0', 'multifd channel 1', 'multifd channel 2', 'multifd channel 3']);
    assert.equal(chrome.traceEvents.filter((e) => e.ph === 'i').length, 475);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qmig trace stats says a file is not a trace, cut short or malformed, and exits 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qmig-trace-bad-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const random = join(dir, 'random.bin');
  writeFileSync(random, Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 2654435761) >>> 11 & 0xff)));
  const magic = join(dir, 'broken.simple');
  writeFileSync(magic, Buffer.concat([Buffer.alloc(8, 0xff), Buffer.alloc(8, 0x11), Buffer.alloc(100, 1)]));
  const times = join(dir, 'times.log');
  writeFileSync(times, '27237@1795296049.12345678901:migration_bitmap_sync_end dirty_pages 1\n27237@99999999999999999999.000001:migration_bitmap_sync_end dirty_pages 2\n');
  const big = join(dir, 'big.log');
  writeFileSync(big, '27237@1795296049.029148:migration_bitmap_sync_end dirty_pages 18446744073709551617\n');
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'just some notes\nnothing to see\n');
  const good = Buffer.from('27237@1795296049.029148:migration_bitmap_sync_end dirty_pages 5\n'.repeat(5000));
  const cut = join(dir, 'cut.log.gz');
  const gz = gzipSync(good);
  writeFileSync(cut, gz.subarray(0, gz.length - 12));
  for (const [file, expected] of [
    [random, /random\.bin: byte offset \d+: not a QEMU trace: binary data/],
    [magic, /broken\.simple: byte offset 8: not a QEMU trace: a simpletrace header with the wrong magic/],
    [times, /times\.log: 2 malformed lines \(first: line 1 \(bad timestamp\), line 2 \(bad timestamp\)\)/],
    [big, /big\.log: 1 malformed line \(first: line 1 migration_bitmap_sync_end\)/],
    [text, /notes\.txt: no QEMU trace event in its 2 lines/],
    [dir, /qmig-trace-bad-\w+ is a directory, not a trace file/],
    [cut, /cut\.log\.gz: byte offset \d+ of the decompressed data .*gzip data ends early.*whole lines before it are kept/],
  ] as const) {
    const c = capture();
    assert.equal(await main(['trace', 'stats', file, '--qemu-version', '7.2'], c.io), 1, `${file}: ${c.err()}`);
    assert.match(c.err(), expected);
  }
  const c = capture();
  assert.equal(await main(['trace', 'stats', cut, '--qemu-version', '7.2', '--json'], c.io), 1);
  const j = JSON.parse(c.out()) as { totalEvents: number; errors: string[] };
  assert.ok(j.totalEvents > 4000 && j.totalEvents < 5000, `${j.totalEvents} events kept of 5000`);
});
