/**
 * The figures of real recordings against QEMU's own: each recording's final query-migrate
 * (read here with JSON.parse) and an independent count from the raw trace lines (plain
 * regular expressions, not the project's decoder) must give what the analysis shows.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { requireComponent } from '../../../test/support/components';
import { assertFiguresEqualQueryMigrate } from '../../../test/support/figures';
import { analyzeJson, analyzeText } from '../../cli/commands/analyze';
import { loadMigration } from './load';
import { SummaryIndex, type MigrationSummary } from './summary';
import { labRecording, rawCount, rawPerChannel, rawText, recordings } from './testSupport';

/** MultiFDPacket_t with 128 page offsets (4 KiB pages), and MultiFDInit_t: QEMU's migration/multifd.h. */
const HEADER = 320 + 8 * 128;
const HANDSHAKE = 64;

interface QueryMigrate { status: string; 'total-time'?: number; downtime?: number; 'postcopy-blocktime'?: number; ram?: Record<string, number> }

const queryMigrate = (dir: string, side: 'src' | 'dst'): QueryMigrate => JSON.parse(readFileSync(join(dir, `final-query-migrate-${side}.json`), 'utf8')) as QueryMigrate;

async function summaryOf(dir: string): Promise<MigrationSummary> {
  const { model } = await loadMigration([dir], { inProcess: true });
  return new SummaryIndex(model).summary();
}

const total = (s: MigrationSummary, side: 'send' | 'recv', k: 'packets' | 'normalPages' | 'bytes'): number => s.multifd[side]!.reduce((n, c) => n + (c[k] ?? 0), 0);
const check = (s: MigrationSummary, key: string): MigrationSummary['qemu']['checks'][number] => {
  const c = s.qemu.checks.find((x) => x.key === key);
  assert.ok(c, `a ${key} check`);
  return c;
};

/** setup → completed from the raw migrate_set_state lines of a 7.2 log (tid@sec.usec prefix), ms. */
function rawSetupToCompleted(text: string): number {
  const at = (state: string): number => Number(new RegExp(`^\\d+@(\\d+\\.\\d+):migrate_set_state new state ${state}$`, 'm').exec(text)![1]);
  return (at('completed') - at('setup')) * 1000;
}

function needLab(t: TestContext, name: string): string | undefined {
  const dir = labRecording(name);
  return requireComponent(t, `lab recording demo/recordings/${name}`, existsSync(join(dir, 'final-query-migrate-src.json'))) ? dir : undefined;
}

const tmp = mkdtempSync(join(tmpdir(), 'qmig-qemu-figures-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("figures beside QEMU's own", () => {
  it('QEMU 7.2 precopy-multifd: every channel equals the raw lines; bytes, duration equal query-migrate', async (t) => {
    const dir = needLab(t, 'precopy-multifd');
    if (!dir) return;
    const q = queryMigrate(dir, 'src');
    const s = await summaryOf(dir);
    const srcText = rawText(join(dir, 'src-trace.log'));
    const send = rawPerChannel(srcText, /:multifd_send channel (?<ch>\d+) packet_num \d+ normal pages (?<pages>\d+) flags 0x[0-9a-f]+ next packet size (?<bytes>\d+)/);
    const recv = rawPerChannel(rawText(join(dir, 'dst-trace.log')), /:multifd_recv channel (?<ch>\d+) packet_num \d+ pages (?<pages>\d+) flags 0x[0-9a-f]+ next packet size (?<bytes>\d+)/);
    for (const [side, raw] of [['send', send], ['recv', recv]] as const) {
      assert.deepEqual(s.multifd[side]!.map((c) => c.channel), [...raw.keys()].sort());
      for (const c of s.multifd[side]!) {
        const r = raw.get(c.channel)!;
        assert.deepEqual([c.packets, c.normalPages, c.bytes], [r.packets, r.pages, r.pages * 4096 + r.packets * HEADER], `${side} channel ${c.channel}`);
      }
    }
    // The bug this pins: the stale sizes of sync packets summed to 149.6 MiB.
    const tracedSizes = [...send.values()].reduce((n, c) => n + c.bytes, 0);
    assert.notEqual(tracedSizes, q.ram!['multifd-bytes']);
    assert.equal(total(s, 'send', 'bytes'), q.ram!['multifd-bytes'], 'send bytes = QEMU multifd-bytes');
    const stale = [...srcText.matchAll(/:multifd_send channel \d+ packet_num \d+ normal pages (\d+) flags 0x[0-9a-f]+ next packet size (\d+)/g)].filter((m) => Number(m[1]) * 4096 !== Number(m[2])).length;
    assert.equal(s.multifd.sendDetail!.bytesRule.staleSizes, stale);
    const bytes = check(s, 'multifd-bytes');
    assert.deepEqual([bytes.trace, bytes.qemu, bytes.diff, bytes.agrees], [q.ram!['multifd-bytes'], q.ram!['multifd-bytes'], 0, true]);
    // ram.normal is counted when a page is queued; 7.2 can queue the page that filled a packet twice.
    const normal = check(s, 'normal');
    const rawNormal = [...send.values()].reduce((n, c) => n + c.pages, 0);
    assert.deepEqual([normal.trace, normal.qemu, normal.diff], [rawNormal, q.ram!.normal, rawNormal - q.ram!.normal!]);
    assert.ok(normal.diff! >= 0 && normal.diff! <= rawCount(srcText, /normal pages 128 /), 'at most one page more per full packet');
    if (normal.diff! > 0) assert.match(normal.note ?? '', /queue the page that filled a packet a second time/);
    assert.equal(check(s, 'duplicate').trace, null, 'QEMU 7.2 does not trace zero pages');
    assert.equal(check(s, 'duplicate').qemu, q.ram!.duplicate);
    // One duration: QEMU's total-time, with the trace's setup → completed beside it.
    assert.equal(s.duration!.source, 'QEMU total-time');
    assert.equal(s.duration!.ms, q['total-time']);
    const traced = s.duration!.others.find((o) => o.source === 'trace setup → completed')!;
    assert.ok(Math.abs(traced.ms - rawSetupToCompleted(srcText)) < 0.002);
    assert.ok(Math.abs(traced.ms - q['total-time']!) <= 1, `${traced.ms} vs ${q['total-time']}`);
    assert.equal(check(s, 'downtime').qemu, q.downtime);
    // The same figures in qmig analyze, text and JSON.
    const j = analyzeJson(s) as { qemu: { checks: { key: string; trace: number | null; qemu: number }[] }; duration: { ms: number; source: string } };
    assert.deepEqual(j.qemu.checks.find((c) => c.key === 'multifd-bytes'), { ...bytes });
    assert.deepEqual([j.duration.ms, j.duration.source], [q['total-time'], 'QEMU total-time']);
    const text = analyzeText(s);
    assert.match(text, new RegExp(`multifd bytes +${q.ram!['multifd-bytes']!.toLocaleString('en-US')} B +${q.ram!['multifd-bytes']!.toLocaleString('en-US')} B +equal`));
    assert.match(text, new RegExp(`^duration: ${q['total-time']!.toLocaleString('en-US')} ms \\(QEMU total-time`, 'm'));
    assert.match(text, /catalogue: built-in QEMU 7\.2: fits best/);
  });

  it('QEMU 7.2 → 10.0: the destination counts the bytes of the packets the source sent, not the stale sizes it traces', async (t) => {
    const dir = needLab(t, 'cross-version-qemu-7.2-to-10.0');
    if (!dir) return;
    const q = queryMigrate(dir, 'src');
    const s = await summaryOf(dir);
    const send = rawPerChannel(rawText(join(dir, 'src-trace.log')), /:multifd_send channel (?<ch>\d+) packet_num \d+ normal pages (?<pages>\d+) flags 0x[0-9a-f]+ next packet size (?<bytes>\d+)/);
    const recv = rawPerChannel(rawText(join(dir, 'dst-trace.log')), /multifd_recv_unfill channel (?<ch>\d+) packet_num \d+ flags 0x[0-9a-f]+ next packet size (?<bytes>\d+)/);
    // The 10.0 destination traces the sizes the 7.2 source wrote, stale on its sync packets.
    const tracedRecv = [...recv.values()].reduce((n, c) => n + c.bytes, 0);
    assert.ok(tracedRecv > q.ram!['multifd-bytes']! * 1.2, `the traced sizes (${tracedRecv}) overstate what was sent`);
    assert.equal(total(s, 'send', 'bytes'), q.ram!['multifd-bytes'], 'send bytes = QEMU multifd-bytes');
    for (const c of s.multifd.recv!) {
      const sent = send.get(c.channel)!, got = recv.get(c.channel)!;
      assert.equal(c.packets, got.packets, `recv channel ${c.channel} packets`);
      // Each received packet is a sent one: its pages, its header, and the channel's handshake once.
      assert.equal(c.bytes, sent.pages * 4096 + sent.packets * HEADER + HANDSHAKE, `recv channel ${c.channel} bytes`);
    }
    assert.equal(s.multifd.recvDetail!.bytesRule.payload, 'source-packets');
    // 7.2 sends a sync packet that carries pages and the empty one after it under one number: each is matched once.
    const transit = s.multifd.transit!;
    for (const c of transit) assert.equal(c.matched, send.get(c.channel)!.packets, `channel ${c.channel}: every sent packet matched`);
    const text = analyzeText(s);
    assert.match(text, /multifd recv \(fill\)[^]*the payload of the matching source packet[^]*stale/);
    assert.doesNotMatch(text, /bytes come from the traced packet size/);
    // Each side's QEMU as its QMP greeting said, though the 10.0.2 trace fits the 10.2.50 catalogue as well as 10.0's.
    assert.match(text, /^source: .*\(QEMU 7\.2\.22, /m);
    assert.match(text, /^destination: .*\(QEMU 10\.0\.2, /m);
  });

  it('without the final query-migrate files, the last query-migrate reply of qmp.jsonl gives the same figures', async (t) => {
    const dir = needLab(t, 'precopy-multifd');
    if (!dir) return;
    for (const f of ['src-trace.log', 'dst-trace.log', 'qmp.jsonl']) copyFileSync(join(dir, f), join(tmp, f));
    const s = await summaryOf(tmp);
    const q = queryMigrate(dir, 'src');
    const bytes = check(s, 'multifd-bytes');
    assert.match(bytes.from, /^qmp\.jsonl \(query-migrate reply of \d\d:\d\d:\d\d\.\d{3}\)$/);
    assert.deepEqual([bytes.qemu, bytes.agrees], [q.ram!['multifd-bytes'], true]);
    assert.equal(s.duration!.ms, q['total-time']);
  });

  it('QEMU 7.2 postcopy: page requests and blocktime equal query-migrate of each side', async (t) => {
    for (const name of ['postcopy', 'postcopy-vhost-user']) {
      const dir = needLab(t, name);
      if (!dir) return;
      const s = await summaryOf(dir);
      const src = queryMigrate(dir, 'src'), dst = queryMigrate(dir, 'dst');
      const requests = check(s, 'postcopy-requests');
      // QEMU counts the requests the source served; the source trace names each one.
      assert.deepEqual([requests.trace, requests.qemu, requests.agrees], [rawCount(rawText(join(dir, 'src-trace.log')), /:migrate_handle_rp_req_pages /), src.ram!['postcopy-requests'], true], name);
      assert.ok(s.postcopy.faultRequests! >= requests.qemu, 'a fault on a page that arrived meanwhile sends no request');
      const blocktime = check(s, 'postcopy-blocktime');
      assert.deepEqual([blocktime.qemu, blocktime.agrees, blocktime.side], [dst['postcopy-blocktime'], true, 'dst'], name);
      assert.equal(s.duration!.ms, src['total-time']);
      assert.equal(s.qemu.checks.some((c) => c.key === 'multifd-bytes'), false, `${name}: no multifd, QEMU's 0 is not held against a trace that cannot tell`);
    }
  });

  it('QEMU 10.2.50 multifd (fill + ram_fill): bytes, normal pages and transferred equal query-migrate', async () => {
    const dir = join(recordings, 'qemu-10.2.50-multifd-legacy');
    const q = queryMigrate(dir, 'src');
    const s = await summaryOf(dir);
    const src = rawText(join(dir, 'src-trace.log.xz'));
    const fills = rawPerChannel(src, /multifd_send_fill channel (?<ch>\d+) packet_num \d+ flags 0x[0-9a-f]+ next packet size (?<bytes>\d+)/);
    const ram = rawPerChannel(src, /multifd_send_ram_fill channel (?<ch>\d+) normal pages (?<pages>\d+) zero pages (?<zero>\d+)/);
    for (const c of s.multifd.send!) {
      const f = fills.get(c.channel)!;
      assert.deepEqual([c.packets, c.normalPages, c.zeroPages, c.bytes], [f.packets, ram.get(c.channel)!.pages, ram.get(c.channel)!.zero, f.bytes + f.packets * HEADER + HANDSHAKE]);
    }
    assert.equal(total(s, 'send', 'bytes'), q.ram!['multifd-bytes']);
    for (const key of ['multifd-bytes', 'normal', 'transferred']) assert.equal(check(s, key).agrees, true, key);
    assert.equal(check(s, 'normal').qemu, q.ram!.normal);
    const last = [...src.matchAll(/migration_transferred_bytes qemu_file (\d+) multifd (\d+) RDMA (\d+)/g)].at(-1)!;
    assert.equal(check(s, 'transferred').trace, Number(last[1]) + Number(last[2]) + Number(last[3]));
    assert.equal(check(s, 'transferred').qemu, q.ram!.transferred);
    // zero-page-detection=legacy: zero pages are not in the multifd packets.
    const zero = check(s, 'duplicate');
    assert.deepEqual([zero.trace, zero.qemu], [0, q.ram!.duplicate]);
    assert.match(zero.note ?? '', /main channel/);
    assert.equal(s.duration!.ms, q['total-time']);
    // The destination traces no page counts; its packets still equal the raw lines.
    assert.equal(total(s, 'recv', 'packets'), rawCount(rawText(join(dir, 'dst-trace.log')), / multifd_recv_unfill /));
  });

  it('qmig analyze --json of each demo recording against its query-migrate and its raw lines', async (t) => {
    for (const name of ['precopy-multifd', 'postcopy', 'postcopy-vhost-user']) {
      const dir = needLab(t, name);
      if (!dir) return;
      await assertFiguresEqualQueryMigrate(dir);
    }
  });
});
