/**
 * `qmig analyze --json` of a recording against QEMU's own figures (its final query-migrate)
 * and against counts made from the raw trace lines with plain regular expressions, not the
 * project's decoder. Shared by the unit tests on the demo recordings and the integration
 * tests on fresh lab recordings (QEMU 7.2 and 10.0).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCommand } from '../../src/cli/commands/analyze';
import { rawCount, rawPerChannel, rawText, type RawChannel } from '../../src/core/analysis/testSupport';

interface AnalyzeJsonFigures {
  multifd: { send: { channel: number; packets: number; normalPages: number | null; zeroPages: number | null; bytes: number | null }[] | null; recv: { channel: number; packets: number }[] | null };
  duration: { ms: number; source: string } | null;
  qemu: { checks: { key: string; trace: number | null; qemu: number; agrees: boolean | null }[] };
  traces: { side: string; catalogue: { label: string; warning: string | null } }[];
}

interface FinalQueryMigrate { 'total-time'?: number; 'postcopy-blocktime'?: number; ram?: Record<string, number> }

/** The raw multifd lines of both sides, per channel: QEMU 7.x (multifd_send/recv) or 9.2+ (send_fill + send_ram_fill, recv_unfill). */
function rawMultifd(src: string, dst: string): { modern: boolean; send: Map<number, RawChannel>; recv: Map<number, RawChannel>; fullPackets: number } {
  const modern = /[:\s]multifd_send_fill channel /.test(src);
  if (!modern) {
    return {
      modern,
      send: rawPerChannel(src, /[:\s]multifd_send channel (?<ch>\d+) packet_num \d+ normal pages (?<pages>\d+) /),
      recv: rawPerChannel(dst, /[:\s]multifd_recv channel (?<ch>\d+) packet_num \d+ (?:normal )?pages (?<pages>\d+) /),
      fullPackets: rawCount(src, /[:\s]multifd_send channel \d+ packet_num \d+ normal pages 128 /),
    };
  }
  const send = rawPerChannel(src, /[:\s]multifd_send_fill channel (?<ch>\d+) packet_num \d+ flags 0x[0-9a-f]+ next packet size (?<bytes>\d+)/);
  const ram = rawPerChannel(src, /[:\s]multifd_send_ram_fill channel (?<ch>\d+) normal pages (?<pages>\d+) zero pages (?<zero>\d+)/);
  for (const [ch, c] of send) { c.pages = ram.get(ch)?.pages ?? 0; c.zero = ram.get(ch)?.zero ?? 0; }
  return { modern, send, recv: rawPerChannel(dst, /[:\s]multifd_recv_unfill channel (?<ch>\d+) /), fullPackets: 0 };
}

/**
 * `qmig analyze --json` of a lab recording against its final query-migrate and against counts
 * made here from the raw trace lines: multifd packets per channel, bytes as QEMU counts
 * multifd-bytes, normal and zero pages, the duration, postcopy requests and blocktime.
 */
export async function assertFiguresEqualQueryMigrate(dir: string): Promise<void> {
  let out = '';
  const io = { out: (t: string): void => { out += t; }, err: (): void => undefined, signal: new AbortController().signal, isTty: false };
  assert.equal(await analyzeCommand.run([dir, '--json'], io), 0);
  const j = JSON.parse(out) as AnalyzeJsonFigures;
  const q = JSON.parse(readFileSync(join(dir, 'final-query-migrate-src.json'), 'utf8')) as FinalQueryMigrate;
  const qd = JSON.parse(readFileSync(join(dir, 'final-query-migrate-dst.json'), 'utf8')) as FinalQueryMigrate;
  const check = (key: string): AnalyzeJsonFigures['qemu']['checks'][number] | undefined => j.qemu.checks.find((c) => c.key === key);
  for (const t of j.traces) assert.equal(t.catalogue.warning, null, `${t.side} decoded with ${t.catalogue.label} without a mismatch`);
  assert.deepEqual([j.duration?.source, j.duration?.ms], ['QEMU total-time', q['total-time']]);
  const src = rawText(join(dir, 'src-trace.log')), dst = rawText(join(dir, 'dst-trace.log'));
  const multifdBytes = q.ram?.['multifd-bytes'] ?? 0;
  if (multifdBytes > 0) {
    const raw = rawMultifd(src, dst);
    const pageSize = q.ram!['page-size'] ?? 4096;
    const header = 320 + 8 * (512 * 1024 / pageSize);
    const send = j.multifd.send!, recv = j.multifd.recv!;
    assert.deepEqual(send.map((c) => [c.channel, c.packets]), [...raw.send].sort((a, b) => a[0] - b[0]).map(([ch, c]) => [ch, c.packets]), 'send packets per channel');
    assert.deepEqual(recv.map((c) => [c.channel, c.packets]), [...raw.recv].sort((a, b) => a[0] - b[0]).map(([ch, c]) => [ch, c.packets]), 'recv packets per channel');
    for (const c of send) assert.equal(c.normalPages, raw.send.get(c.channel)!.pages, `send channel ${c.channel} normal pages`);
    const sum = (f: (c: RawChannel) => number): number => [...raw.send.values()].reduce((n, c) => n + f(c), 0);
    const expected = raw.modern
      ? sum((c) => c.bytes + c.packets * header) + raw.send.size * 64
      : sum((c) => c.pages * pageSize + c.packets * header);
    assert.equal(expected, multifdBytes, 'the raw lines by QEMU\'s rule give QEMU\'s multifd-bytes');
    assert.equal(send.reduce((n, c) => n + (c.bytes ?? 0), 0), multifdBytes, 'qmig analyze send bytes = multifd-bytes');
    assert.equal(check('multifd-bytes')?.agrees, true);
    const normal = check('normal')!;
    assert.equal(normal.trace, sum((c) => c.pages));
    if (raw.modern) assert.equal(normal.agrees, true, 'QEMU 9.2+ counts ram.normal per packet');
    // QEMU 7.2 counts ram.normal per page queued and may queue the page that filled a packet twice.
    else assert.ok(normal.trace! >= normal.qemu && normal.trace! - normal.qemu <= raw.fullPackets, `normal ${normal.trace} against QEMU ${normal.qemu}`);
    if (raw.modern && sum((c) => c.zero) > 0) assert.equal(check('duplicate')?.agrees, true, 'zero pages found by the multifd threads');
  }
  if ((q.ram?.['postcopy-requests'] ?? 0) > 0) {
    const served = rawCount(src, /[:\s]migrate_handle_rp_req_pages /);
    assert.equal(served, q.ram!['postcopy-requests']);
    assert.deepEqual([check('postcopy-requests')?.trace, check('postcopy-requests')?.agrees], [served, true]);
  }
  if (qd['postcopy-blocktime'] !== undefined) assert.equal(check('postcopy-blocktime')?.agrees, true);
}
