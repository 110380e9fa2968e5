/** Multifd analysis of trace lines written in each format QEMU has used. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { catalogueFromText } from '../trace/catalogue';
import type { Catalogue } from '../trace/catalogue';
import { builtinCatalogue } from '../trace/catalogues/index';
import { readTrace } from '../trace/readTrace';
import { analyzeMultifd } from './multifd';
import { SideIndex } from './sideIndex';

const dir = mkdtempSync(join(tmpdir(), 'qmig-formats-'));

async function sideOf(lines: string[], cat: Catalogue, side: 'src' | 'dst'): Promise<ReturnType<SideIndex['totals']>> {
  const f = join(dir, `t${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(f, lines.map((l, i) => `100@1700000000.${String(100000 + i).slice(1)}:${l}`).join('\n') + '\n');
  const s = analyzeMultifd(await readTrace(f, cat), side);
  assert.ok(s);
  return new SideIndex(s).totals();
}

// QEMU 6.2's declarations, as in its migration/trace-events.
const v62 = catalogueFromText(`
multifd_send(uint8_t id, uint64_t packet_num, uint32_t used, uint32_t flags, uint32_t next_packet_size) "channel %u packet_num %" PRIu64 " pages %u flags 0x%x next packet size %u"
multifd_recv(uint8_t id, uint64_t packet_num, uint32_t used, uint32_t flags, uint32_t next_packet_size) "channel %u packet_num %" PRIu64 " pages %u flags 0x%x next packet size %u"
multifd_send_thread_end(uint8_t id, uint64_t packets, uint64_t pages) "channel %u packets %" PRIu64 " pages %"  PRIu64
`, 'qemu-6.2-multifd');

describe('multifd trace formats', () => {
  it('pages (≤ 6.x): one page count, zero pages unknown', async () => {
    const t = await sideOf(['multifd_send channel 0 packet_num 1 pages 64 flags 0x0 next packet size 262144', 'multifd_send channel 1 packet_num 2 pages 3 flags 0x0 next packet size 12288'], v62, 'src');
    assert.deepEqual(t, [
      { channel: 0, packets: 1, normalPages: 64, zeroPages: null, payloadBytes: 262144, bytes: 262144 + 1344 },
      { channel: 1, packets: 1, normalPages: 3, zeroPages: null, payloadBytes: 12288, bytes: 12288 + 1344 },
    ]);
  });

  it('normal pages (7.x–8.x): a sync packet\'s stale next packet size is not payload', async () => {
    // QEMU 7.2 sets next_packet_size only for packets with pages: the sync packet repeats the last one.
    const t = await sideOf(['multifd_send channel 2 packet_num 7 normal pages 128 flags 0x0 next packet size 524288', 'multifd_send channel 2 packet_num 9 normal pages 0 flags 0x1 next packet size 524288'], builtinCatalogue('7.2'), 'src');
    assert.deepEqual(t, [{ channel: 2, packets: 2, normalPages: 128, zeroPages: null, payloadBytes: 524288, bytes: 524288 + 2 * 1344 }]);
  });

  it('normal + zero pages (9.0–9.1), both sides', async () => {
    const cat = builtinCatalogue('9.0');
    const send = await sideOf(['multifd_send channel 0 packet_num 4 normal pages 96 zero pages 32 flags 0x0 next packet size 393216'], cat, 'src');
    const recv = await sideOf(['multifd_recv channel 0 packet_num 4 normal pages 96 zero pages 32 flags 0x0 next packet size 393216'], cat, 'dst');
    assert.deepEqual(send, [{ channel: 0, packets: 1, normalPages: 96, zeroPages: 32, payloadBytes: 393216, bytes: 393216 + 1344 + 64 }]);
    assert.deepEqual(recv, send);
  });

  it('send_fill + send_ram_fill (9.2+): pages joined to the next fill of the same channel', async () => {
    const t = await sideOf([
      'multifd_send_ram_fill channel 1 normal pages 100 zero pages 28',
      'multifd_send_ram_fill channel 0 normal pages 5 zero pages 0',
      'multifd_send_fill channel 0 packet_num 4 flags 0x0 next packet size 20480',
      'multifd_send_fill channel 1 packet_num 5 flags 0x0 next packet size 409600',
      'multifd_send_fill channel 1 packet_num 6 flags 0x1 next packet size 0',
    ], builtinCatalogue('10.2.50'), 'src');
    assert.deepEqual(t, [
      { channel: 0, packets: 1, normalPages: 5, zeroPages: 0, payloadBytes: 20480, bytes: 20480 + 1344 + 64 },
      { channel: 1, packets: 2, normalPages: 100, zeroPages: 28, payloadBytes: 409600, bytes: 409600 + 2 * 1344 + 64 },
    ]);
  });

  it('recv_unfill (9.2+): page counts are null, said plainly', async () => {
    const f = join(dir, 'unfill.log');
    writeFileSync(f, '100@1700000000.000001:multifd_recv_unfill channel 0 packet_num 4 flags 0x0 next packet size 524288\n');
    const s = analyzeMultifd(await readTrace(f, builtinCatalogue('10.2.50')), 'dst')!;
    assert.equal(s.format, 'fill');
    assert.deepEqual(new SideIndex(s).totals(), [{ channel: 0, packets: 1, normalPages: null, zeroPages: null, payloadBytes: 524288, bytes: 524288 + 1344 + 64 }]);
    assert.match(s.limits.join(' '), /no page counts/);
  });

  it('reports a thread-end total that disagrees with the packets', async () => {
    const f = join(dir, 'mismatch.log');
    writeFileSync(f, [
      '100@1700000000.000001:multifd_send_fill channel 0 packet_num 4 flags 0x0 next packet size 0',
      '100@1700000000.000002:multifd_send_thread_end channel 0 packets 2',
    ].join('\n') + '\n');
    const s = analyzeMultifd(await readTrace(f, builtinCatalogue('10.2.50')), 'src')!;
    assert.deepEqual(s.crossCheck, [{ channel: 0, what: 'packets', fromPackets: 1, fromThreadEnd: 2, ok: false }]);
  });
});
