/**
 * The downtime waterfall's renderer on a real QEMU 10.0.2 recording, drawn into a context that
 * records its calls: which rows it shows, that no text is cut by the canvas edge or runs into
 * the label column, and that a bar's hover and click name and open its trace line.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { deviceName } from '../../../core/analysis/downtime';
import { loadMigration } from '../../../core/analysis/load';
import type { Side } from '../../../core/analysis/model';
import { SummaryIndex } from '../../../core/analysis/summary';
import type { Palette } from '../theme';
import { TimeAxis } from '../timeAxis';
import { LABEL_W } from '../timeCanvas';
import type { ViewData } from '../viewData';
import { DowntimeWaterfall } from './downtime';

const recording = resolve(__dirname, '..', '..', '..', 'core', 'analysis', 'testdata', 'qemu-10.0.2-multifd-downtime');
const CHAR_W = 6;
const W = 1200;

interface Text { text: string; x: number; y: number; width: number }

/** A 2D context that keeps every text it is asked to draw, with its x and measured width. */
function recorder(): { ctx: CanvasRenderingContext2D; texts: Text[] } {
  const texts: Text[] = [];
  const noop = (): void => undefined;
  const ctx = {
    fillStyle: '', strokeStyle: '', globalAlpha: 1, font: '', textBaseline: 'alphabetic',
    fillRect: noop, beginPath: noop, moveTo: noop, lineTo: noop, stroke: noop, setLineDash: noop,
    measureText: (t: string) => ({ width: t.length * CHAR_W }),
    fillText: (text: string, x: number, y: number) => void texts.push({ text, x, y, width: text.length * CHAR_W }),
  };
  return { ctx: ctx as unknown as CanvasRenderingContext2D, texts };
}

const palette: Palette = {
  fg: 'fg', muted: 'muted', grid: 'grid', bg: 'bg', normal: 'n', zero: 'z', unknown: 'u', sync: 's', selection: 'sel', focus: 'f',
  zeroShare: [], heat: [], series: ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'], shared: ['h0', 'h1', 'h2', 'h3', 'h4'], font: '11px sans-serif',
};

async function setup(): Promise<{ data: ViewData; opened: [Side, number][]; w: DowntimeWaterfall }> {
  const { model } = await loadMigration([recording], { inProcess: true });
  const opened: [Side, number][] = [];
  const data: ViewData = { model, index: new SummaryIndex(model), axis: new TimeAxis(), openLine: (s, l) => void opened.push([s, l]) };
  const w = new DowntimeWaterfall(data);
  data.axis.setExtent(w.downtimeExtent()!, w.downtimeExtent()!, false);
  return { data, opened, w };
}

/** The waterfall's texts (the time ruler above it is the one every panel shares) stay whole. */
function assertFits(texts: readonly Text[]): void {
  for (const t of texts.filter((x) => x.y > 18)) {
    if (t.x < LABEL_W) assert.ok(t.x + t.width <= LABEL_W, `"${t.text}" stays inside the label column`);
    else assert.ok(t.x + t.width <= W, `"${t.text}" is not cut by the right edge`);
  }
}

describe('downtime waterfall renderer', () => {
  it('compact: a row per device taking 1 % of its side, the rest in one row, every text whole', async () => {
    const { data, w } = await setup();
    const { ctx, texts } = recorder();
    w.draw(ctx, W, w.height(), palette);
    assertFits(texts);
    for (const side of [data.model.downtime.source!, data.model.downtime.destination!]) {
      const total = side.devices.reduce((n, d) => n + d.us, 0);
      const big = side.devices.filter((d) => d.us >= 0.01 * total);
      for (const d of big) assert.ok(texts.some((t) => t.text.startsWith(deviceName(d))), `${side.side} ${deviceName(d)} has its row`);
      assert.ok(texts.some((t) => t.text === `+${side.devices.length - big.length} more`));
    }
    assert.ok(texts.some((t) => t.text === 'source save') && texts.some((t) => t.text === 'destination load'));
  });

  it('every device on its own row: all names drawn whole, the canvas grows', async () => {
    const { data, w } = await setup();
    const compact = w.height();
    w.showAll = true;
    assert.ok(w.height() > compact);
    const { ctx, texts } = recorder();
    w.draw(ctx, W, w.height(), palette);
    assertFits(texts);
    for (const side of [data.model.downtime.source!, data.model.downtime.destination!]) {
      for (const d of side.devices) assert.ok(texts.some((t) => t.text === `${deviceName(d)}${d.type === 'iterable' ? ' (iterable)' : ''}`), deviceName(d));
    }
  });

  it('a bar names its device and opens its trace line; a checkpoint names itself', async () => {
    const { data, opened, w } = await setup();
    const ram = data.model.downtime.source!.devices[0]!;
    assert.equal(ram.idstr, 'ram', 'the first bar of the source is the RAM save');
    // Below the 18 px ruler and the 18 px checkpoint row: the first device row.
    const tip = w.hover(W / 2, 18 + 18 + 5, W)!;
    assert.match(tip, new RegExp(`source iterable save: ram \\(instance 0\\)\\n.*\\nclick opens line ${ram.line}$`));
    w.click(W / 2, 18 + 18 + 5, W);
    assert.deepEqual(opened, [['src', ram.line]]);
    const start = data.model.downtime.source!.checkpoints[0]!;
    const x = LABEL_W + data.axis.xAt(start.t, W - LABEL_W);
    assert.match(w.hover(x, 18 + 5, W)!, /source checkpoint src-downtime-start at .*\nthen .* until src-vm-stopped/);
    assert.equal(w.hover(LABEL_W - 10, 18 + 18 + 5, W), null, 'the label column is no bar');
  });
});
