/**
 * What the view's renderers write, drawn from the demo's real QEMU 7.2 recordings into a
 * context that records its calls: the axis stays on the data, every tick label fits, the
 * throughput is a rate a user can hold against max-bandwidth, a sync round says which side
 * does what, a packet's flags are decoded, long RAMBlock names wrap.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadMigration } from '../../../core/analysis/load';
import type { MigrationModel } from '../../../core/analysis/model';
import { SummaryIndex } from '../../../core/analysis/summary';
import type { Palette } from '../theme';
import { dataBounds, TimeAxis } from '../timeAxis';
import { LABEL_W } from '../timeCanvas';
import { activityExtent, type ViewData } from '../viewData';
import { drawTimeRuler, LanesPanel, multifdFlagsText } from './lanes';
import { PostcopyFaultsPanel, wrapLabel } from './postcopyFaults';
import { RATE_WINDOW_NS, ThroughputPanel } from './throughput';

const demo = resolve(__dirname, '..', '..', '..', '..', 'demo', 'recordings');
const CHAR_W = 6;
const W = 1000;

interface Text { text: string; x: number; width: number }

/** A 2D context that keeps every text with its x and measured width (6 px a character). */
function recorder(): { ctx: CanvasRenderingContext2D; texts: Text[] } {
  const texts: Text[] = [];
  const noop = (): void => undefined;
  const ctx = {
    fillStyle: '', strokeStyle: '', globalAlpha: 1, font: '', textBaseline: 'alphabetic',
    fillRect: noop, strokeRect: noop, beginPath: noop, moveTo: noop, lineTo: noop, stroke: noop, fill: noop, setLineDash: noop,
    measureText: (t: string) => ({ width: t.length * CHAR_W }),
    fillText: (text: string, x: number) => void texts.push({ text, x, width: text.length * CHAR_W }),
  };
  return { ctx: ctx as unknown as CanvasRenderingContext2D, texts };
}

// The panels batch rectangles into Path2D, which Node has not.
(globalThis as { Path2D?: unknown }).Path2D ??= class { rect(): void { /* drawn by fill */ } };

const palette: Palette = {
  fg: 'fg', muted: 'muted', grid: 'grid', bg: 'bg', normal: 'n', zero: 'z', unknown: 'u', sync: 's', selection: 'sel', focus: 'f',
  zeroShare: Array.from({ length: 11 }, (_, i) => `z${i}`), heat: Array.from({ length: 11 }, (_, i) => `h${i}`),
  series: ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'], shared: ['q0', 'q1', 'q2', 'q3', 'q4'], font: '11px sans-serif',
};

/** The view's data for a model, its axis set as the view sets it on the first model. */
function viewData(model: MigrationModel): ViewData {
  const axis = new TimeAxis();
  const activity = activityExtent(model);
  axis.setExtent(activity, dataBounds(model, activity), false);
  return { model, index: new SummaryIndex(model), axis, openLine: () => undefined };
}

const models: Record<string, MigrationModel> = {};
before(async () => {
  for (const name of ['precopy-multifd', 'postcopy-vhost-user']) models[name] = (await loadMigration([resolve(demo, name)], { inProcess: true })).model;
});

describe('the shared time axis', () => {
  it('starts at 0 and zooms out no further than the traces span', () => {
    const data = viewData(models['precopy-multifd']!);
    // Ranges are half-open: the axis ends 1 µs past the last line, so that line is in a whole view.
    const end = Math.max(...data.model.traces.map((t) => t.lastNs)) + 1000;
    assert.equal(data.axis.visible[0], 0, 'the view starts at the first trace line, not before it');
    const whole = data.index.summary({ startNs: data.axis.visible[0], endNs: data.axis.visible[1] });
    assert.equal(whole.multifd.send!.reduce((n, c) => n + c.packets, 0), data.model.send!.packets.t.length, 'the first view counts every packet, the last one too');
    for (let i = 0; i < 40; i++) data.axis.zoomAt(0.5, 2);
    assert.deepEqual(data.axis.visible, [0, end], 'zooming out stops at the data');
    data.axis.zoomAt(0.5, 0.001);
    data.axis.panBy(-1000);
    assert.equal(data.axis.visible[0], 0, 'panning stops at the start');
    data.axis.panBy(1e6);
    assert.equal(data.axis.visible[1], end, 'and at the end');
  });

  it('labels every tick it has room for, each inside the canvas, in one unit', () => {
    const data = viewData(models['precopy-multifd']!);
    const { ctx, texts } = recorder();
    drawTimeRuler(ctx, data, W, 18, palette);
    assert.deepEqual(texts.map((t) => t.text), ['0.0 s', '0.2 s', '0.4 s', '0.6 s', '0.8 s', '1.0 s', '1.2 s', '1.4 s', '1.6 s', '1.8 s', '2.0 s', '2.2 s', '2.4 s', '2.6 s']);
    for (const t of texts) assert.ok(t.x >= LABEL_W && t.x + t.width <= W, `"${t.text}" is whole`);
  });
});

describe('throughput', () => {
  it('is in MiB/s over QEMU\'s 100 ms rate-limit windows, beside max-bandwidth, and sums to multifd-bytes', () => {
    const data = viewData(models['precopy-multifd']!);
    const panel = new ThroughputPanel(data);
    const { ctx, texts } = recorder();
    panel.draw(ctx, W, panel.height(), palette);
    const all = texts.map((t) => t.text);
    assert.ok(all.includes('send MiB/s') && all.includes('per 100 ms'), all.join(' | '));
    assert.ok(all.includes('max-bandwidth 32 MiB/s'), 'the cap the recording set (migrate-set-parameters in qmp.jsonl)');
    // The rate-limited windows sit just above the cap (a window's last packet goes out whole), not at ten times it.
    const median = Number(/^median ([\d.]+)$/.exec(all.find((t) => t.startsWith('median')) ?? '')?.[1]);
    assert.ok(median > 30 && median < 40, `median ${median} MiB/s against a 32 MiB/s cap`);
    // Every window's bytes, read back from the tooltips, add up to QEMU's multifd-bytes.
    const pw = W - LABEL_W;
    let total = 0, windows = 0;
    for (let t = 0; t < data.axis.visible[1]; t += RATE_WINDOW_NS) {
      const tip = panel.hover(LABEL_W + data.axis.xAt(t + RATE_WINDOW_NS / 2, pw), 50, W);
      const m = tip && /([\d.]+) (KiB|MiB) as multifd-bytes counts them/.exec(tip);
      if (m) { total += Number(m[1]) * (m[2] === 'MiB' ? 2 ** 20 : 2 ** 10); windows++; }
    }
    assert.ok(windows > 20);
    const qemu = data.model.qemu.src!.multifdBytes!;
    assert.ok(Math.abs(total - qemu) / qemu < 0.01, `${total} B in the windows against multifd-bytes ${qemu} B`);
  });
});

describe('multifd lanes', () => {
  it('a sync round names each step, on each side, once', () => {
    const data = viewData(models['precopy-multifd']!);
    const lanes = new LanesPanel(data);
    const pw = W - LABEL_W;
    const tipAt = (side: 'src' | 'dst'): string => {
      const s = side === 'src' ? data.model.send! : data.model.recv!;
      const round = s.syncs[3]!;
      const laneY = 20 + (side === 'src' ? 0 : s.channels.length * 22 + 6) + 5;
      return lanes.hover(LABEL_W + data.axis.xAt(round.t, pw), laneY, W)!;
    };
    const send = tipAt('src');
    assert.match(send, /^sync round at [\d.]+ s \(multifd_send_sync_main, packet num \d+\)/);
    assert.match(send, /\n1\. signal \(multifd_send_sync_main_signal\): the main thread asks each channel for its sync packet/);
    assert.match(send, /\n   channels 0, 1, 2, 3\n2\. wait \(multifd_send_sync_main_wait\): the main thread waits for each channel to have sent it/);
    assert.equal(send.match(/channel 0:/g)?.length, 1, 'each channel once in the wait step');
    const recv = tipAt('dst');
    assert.match(recv, /\n1\. wait \(multifd_recv_sync_main_wait\): the main thread waits until every channel has received its sync packet, .*\n   4 waits\n2\. signal \(multifd_recv_sync_main_signal\): the main thread lets each channel go on/);
  });

  it('a packet\'s flags say what they mean', () => {
    assert.equal(multifdFlagsText(0), '0x0 (a page packet, not compressed)');
    assert.equal(multifdFlagsText(1), '0x1: sync (MULTIFD_FLAG_SYNC: this channel\'s packet of a multifd sync round)');
    assert.equal(multifdFlagsText(0x5), '0x5: sync (MULTIFD_FLAG_SYNC: this channel\'s packet of a multifd sync round), compression zstd');
    const data = viewData(models['precopy-multifd']!);
    const lanes = new LanesPanel(data);
    const p = data.model.send!.packets;
    const i = p.flags.findIndex((f, k) => f === 1 && k < data.model.send!.laneStart[1]!);
    // Zoomed in so the round's marker (the main thread's sync_main, a little later) is not under the pointer.
    data.axis.setView([p.t[i]! - 20_000, p.t[i]! + 20_000]);
    const tip = lanes.hover(LABEL_W + data.axis.xAt(p.t[i]!, W - LABEL_W), 25, W)!;
    assert.match(tip, /flags 0x1: sync \(MULTIFD_FLAG_SYNC/);
  });
});

describe('postcopy faults', () => {
  it('long RAMBlock names wrap at their separators, whole in the tooltip', () => {
    const { ctx } = recorder();
    assert.deepEqual(wrapLabel(ctx, '/rom@etc/acpi/tables', LABEL_W - 10, 2), ['/rom@etc/acpi/', 'tables']);
    assert.deepEqual(wrapLabel(ctx, 'pc.ram', LABEL_W - 10, 2), ['pc.ram']);
    assert.deepEqual(wrapLabel(ctx, 'x'.repeat(40), 60, 2), ['xxxxxxxxxx', 'xxxxxxxxx…']);
    const data = viewData(models['postcopy-vhost-user']!);
    const panel = new PostcopyFaultsPanel(data, data.model.postcopy!);
    const { ctx: c2, texts } = recorder();
    panel.draw(c2, W, panel.height(), palette);
    const labels = texts.filter((t) => t.x < LABEL_W);
    for (const t of labels) assert.ok(t.x + t.width <= LABEL_W, `"${t.text}" fits the label column`);
    assert.ok(labels.some((t) => t.text === '/rom@etc/acpi/') && labels.some((t) => t.text === 'tables'), labels.map((t) => t.text).join(' | '));
    let named = '';
    for (let y = 0; y < panel.height() && !named.includes('/rom@etc/acpi/tables'); y += 4) named = panel.hover(20, y, W) ?? '';
    assert.match(named, /^RAMBlock \/rom@etc\/acpi\/tables\n/);
  });
});
