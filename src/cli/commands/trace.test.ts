import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    assert.equal(await main(['trace', 'stats', f, '--trace-events', join(qemuFixtures, '10.2.50', 'migration')], c.io), 0, c.err());
    assert.match(c.out(), /1 events in 3 lines/);
    assert.match(c.out(), /other lines: 1 \(first at 2\)/);
    assert.match(c.out(), /malformed: 1 \(first at 3 multifd_send_fill\)/);
    const j = capture();
    assert.equal(await main(['trace', 'stats', f, join(legacy, 'dst-trace.log'), '--json', '--qemu-version', '10.2.50'], j.io), 0);
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
