/** The analyses against real recordings: every figure equals an independent count from the raw lines. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { requireComponent } from '../../../test/support/components';
import { loadMigration } from './load';
import { SummaryIndex } from './summary';
import { labRecording, rawCount, rawPerChannel, rawText, recordings } from './testSupport';

const legacy = join(recordings, 'qemu-10.2.50-multifd-legacy');

async function summaryOf(paths: string[]): Promise<ReturnType<SummaryIndex['summary']>> {
  const { model } = await loadMigration(paths, { inProcess: true });
  return new SummaryIndex(model).summary();
}

function needLab(t: TestContext, name: string): string | undefined {
  const dir = labRecording(name);
  return requireComponent(t, `lab recording demo/recordings/${name}`, existsSync(join(dir, 'dst-trace.log'))) ? dir : undefined;
}

describe('multifd on QEMU 10.2.50 (multifd_send_fill + ram_fill, recv_unfill)', () => {
  it('per-channel packets, pages and bytes equal the raw lines on both sides', async () => {
    const s = await summaryOf([join(legacy, 'dst-trace.log'), join(legacy, 'src-trace.log.xz')]);
    const src = rawText(join(legacy, 'src-trace.log.xz'));
    const dst = rawText(join(legacy, 'dst-trace.log'));
    const fills = rawPerChannel(src, /multifd_send_fill channel (?<ch>\d+) packet_num \d+ flags 0x[0-9a-f]+ next packet size (?<bytes>\d+)/);
    const ram = rawPerChannel(src, /multifd_send_ram_fill channel (?<ch>\d+) normal pages (?<pages>\d+) zero pages (?<zero>\d+)/);
    const unfill = rawPerChannel(dst, /multifd_recv_unfill channel (?<ch>\d+) packet_num \d+ flags 0x[0-9a-f]+ next packet size (?<bytes>\d+)/);
    assert.equal(s.multifd.send?.length, 4);
    for (const c of s.multifd.send!) {
      assert.equal(c.packets, fills.get(c.channel)!.packets, `send channel ${c.channel} packets`);
      assert.equal(c.payloadBytes, fills.get(c.channel)!.bytes);
      // QEMU 9.2+ counts a 1,344-byte header per packet and a 64-byte handshake per channel.
      assert.equal(c.bytes, fills.get(c.channel)!.bytes + 1344 * fills.get(c.channel)!.packets + 64);
      assert.equal(c.normalPages, ram.get(c.channel)!.pages);
      assert.equal(c.zeroPages, ram.get(c.channel)!.zero);
    }
    for (const c of s.multifd.recv!) {
      assert.equal(c.packets, unfill.get(c.channel)!.packets);
      assert.equal(c.payloadBytes, unfill.get(c.channel)!.bytes);
      assert.equal(c.normalPages, null, 'recv_unfill carries no page counts');
      assert.equal(c.zeroPages, null);
    }
    assert.equal(s.multifd.sendDetail?.format, 'fill+ram_fill');
    assert.equal(s.multifd.recvDetail?.format, 'fill');
    assert.ok(s.multifd.recvDetail!.limits[0]!.includes('no page counts'));
    assert.equal(s.multifd.sendDetail?.crossCheck.ok, true);
    assert.equal(s.multifd.sendDetail?.syncRounds, rawCount(src, / multifd_send_sync_main packet num /));
    assert.equal(s.multifd.recvDetail?.syncRounds, rawCount(dst, / multifd_recv_sync_main packet num /));
    assert.equal(s.multifd.transit?.reduce((n, c) => n + c.matched, 0), rawCount(dst, / multifd_recv_unfill /));
    assert.equal(s.postcopy.faultRequests, null, 'a precopy trace cannot tell postcopy figures');
    assert.deepEqual(s.traces.map((t) => t.side), ['dst', 'src'], 'sides come from the events, not the argument order');
  });

  it('a time range recomputes the totals', async () => {
    const { model } = await loadMigration([legacy], { inProcess: true });
    const ix = new SummaryIndex(model);
    const all = ix.summary().multifd.send!.reduce((n, c) => n + c.packets, 0);
    const src = model.traces.find((t) => t.side === 'src')!;
    const mid = (src.firstNs + src.lastNs) / 2;
    const a = ix.summary({ startNs: -Infinity, endNs: mid }).multifd.send!.reduce((n, c) => n + c.packets, 0);
    const b = ix.summary({ startNs: mid, endNs: Infinity }).multifd.send!.reduce((n, c) => n + c.packets, 0);
    assert.ok(a > 0 && b > 0);
    assert.equal(a + b, all);
  });
});

describe('multifd on the lab QEMU 7.2 recording (normal pages / pages)', () => {
  it('equals the raw lines and cross-checks with the thread totals', async (t) => {
    const dir = needLab(t, 'precopy-multifd');
    if (!dir) return;
    const s = await summaryOf([dir]);
    const send = rawPerChannel(rawText(join(dir, 'src-trace.log')), /multifd_send channel (?<ch>\d+) packet_num \d+ normal pages (?<pages>\d+) flags 0x[0-9a-f]+ next packet size (?<bytes>\d+)/);
    const recv = rawPerChannel(rawText(join(dir, 'dst-trace.log')), /multifd_recv channel (?<ch>\d+) packet_num \d+ pages (?<pages>\d+) flags 0x[0-9a-f]+ next packet size (?<bytes>\d+)/);
    assert.equal(s.multifd.send!.length, send.size);
    for (const c of s.multifd.send!) {
      // Payload from the pages: the traced next packet size of a sync packet is stale.
      const raw = send.get(c.channel)!;
      assert.deepEqual([c.packets, c.normalPages, c.payloadBytes, c.bytes, c.zeroPages], [raw.packets, raw.pages, raw.pages * 4096, raw.pages * 4096 + raw.packets * 1344, null]);
    }
    for (const c of s.multifd.recv!) assert.deepEqual([c.packets, c.normalPages], [recv.get(c.channel)!.packets, recv.get(c.channel)!.pages]);
    assert.equal(s.multifd.sendDetail!.crossCheck.ok, true, s.multifd.sendDetail!.crossCheck.mismatches.join('; '));
    assert.equal(s.multifd.recvDetail!.crossCheck.ok, true);
    assert.ok(s.phases.some((p) => p.from === 'qmp' && p.state === 'completed'), 'phases from the QMP transcript beside the traces');
    assert.ok(s.phases.some((p) => p.from === 'trace' && p.state === 'completed'));
  });
});

describe('postcopy on the lab QEMU 7.2 recordings', () => {
  it('fault requests, placements and latency equal the raw lines', async (t) => {
    const dir = needLab(t, 'postcopy');
    if (!dir) return;
    const s = await summaryOf([dir]);
    const dst = rawText(join(dir, 'dst-trace.log'));
    assert.equal(s.postcopy.faultRequests, rawCount(dst, /:postcopy_ram_fault_thread_request /));
    assert.equal(s.postcopy.pagesPlaced, rawCount(dst, /:postcopy_place_page(_zero)? /));
    assert.equal(s.postcopy.zeroPagesPlaced, rawCount(dst, /:postcopy_place_page_zero /));
    // Independent latency of the first fault: its page's first placement after it (4 KiB pages).
    const lines = dst.split('\n');
    const time = (l: string): number => Number(/@(\d+\.\d+):/.exec(l)![1]);
    const fi = lines.findIndex((l) => l.includes(':postcopy_ram_fault_thread_request '));
    const hva = BigInt(/HVA=(0x[0-9a-f]+)/.exec(lines[fi]!)![1]!) & ~0xfffn;
    const placed = lines.find((l) => l.includes(':postcopy_place_page') && time(l) >= time(lines[fi]!) && BigInt(/host=(0x[0-9a-f]+)/.exec(l)![1]!) === hva)!;
    const expectedUs = (time(placed) - time(lines[fi]!)) * 1e6;
    const { model } = await loadMigration([dir], { inProcess: true });
    assert.ok(Math.abs(model.postcopy!.faults.latencyNs[0]! / 1000 - expectedUs) < 1, `${model.postcopy!.faults.latencyNs[0]! / 1000} vs ${expectedUs}`);
    assert.ok(s.postcopy.latencyUs.p50 !== null && s.postcopy.latencyUs.max! >= s.postcopy.latencyUs.p95!);
    assert.deepEqual(s.postcopy.faultsPerRamBlock.map((r) => r.key), ['pc.ram']);
    assert.ok(s.postcopy.blocktimeTotal !== null);
  });

  it('counts the vhost-user back-end shared-page traffic', async (t) => {
    const dir = needLab(t, 'postcopy-vhost-user');
    if (!dir) return;
    const s = await summaryOf([dir]);
    const dst = rawText(join(dir, 'dst-trace.log'));
    assert.equal(s.postcopy.sharedPage!.backendWaker, rawCount(dst, /:vhost_user_postcopy_waker /));
    assert.equal(s.postcopy.sharedPage!.request, rawCount(dst, /:postcopy_request_shared_page /));
    assert.equal(s.postcopy.faultRequests, rawCount(dst, /:postcopy_ram_fault_thread_request /));
  });
});
