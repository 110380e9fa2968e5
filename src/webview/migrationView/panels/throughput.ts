/**
 * Throughput over time in bytes per second, as QEMU counts multifd-bytes (payload plus
 * packet headers), for the total or stacked per channel; beside it the source's
 * max-bandwidth when the recording set one.
 *
 * Why windows of 100 ms: a packet is traced at one instant with its whole payload (512 KiB
 * of pages), and QEMU's rate limit lets the migration thread send max-bandwidth / 10 per
 * 100 ms window (BUFFER_DELAY, the period QEMU also measures its own mbps over) and then
 * sleep: packets leave in bursts. A bin of a few pixels (9 ms over a 2.7 s trace) catching
 * one burst reads ten times the cap. A bin of whole 100 ms windows counted from the start of
 * the migration reads what the limit allows, so it compares with max-bandwidth: wider bins
 * (whole multiples) when the view is zoomed out, never narrower ones. The stop-and-copy sends
 * what is left without the limit, so its bin may rise far above the cap.
 */
import type { Buckets, SideIndex } from '../../../core/analysis/sideIndex';
import { byteUnit, formatByteRate, formatBytes, formatCount, formatDuration, formatNumber } from '../../../core/units';
import { LABEL_W, type PanelRenderer } from '../timeCanvas';
import type { Palette } from '../theme';
import { axisTime, tickStep } from '../timeAxis';
import { plotWindow, type ViewData } from '../viewData';

const H = 160;
const TOP = 10;
const BOTTOM = 16;
/** QEMU's rate-limit and mbps period (BUFFER_DELAY in migration/migration.c). */
export const RATE_WINDOW_NS = 100e6;
/** A bar is never narrower than this many pixels; its bin grows by whole windows (1, 2, 5, 10, … of them). */
const MIN_BAR_PX = 4;

/** Bins of the visible range: whole multiples of RATE_WINDOW_NS, aligned to the migration's start. */
export interface RateBins {
  readonly startNs: number;
  readonly widthNs: number;
  readonly n: number;
}

export function rateBins(anchorNs: number, t0: number, t1: number, pw: number): RateBins {
  const nsPerPx = (t1 - t0) / Math.max(1, pw);
  let m = 1;
  for (const f of [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]) { m = f; if (f * RATE_WINDOW_NS >= MIN_BAR_PX * nsPerPx) break; }
  const widthNs = m * RATE_WINDOW_NS;
  const k0 = Math.floor((t0 - anchorNs) / widthNs), k1 = Math.ceil((t1 - anchorNs) / widthNs);
  return { startNs: anchorNs + k0 * widthNs, widthNs, n: Math.max(1, k1 - k0) };
}

/** Bytes as QEMU counts them in bin j: the packets' payload plus a header each. */
const wireBytes = (b: Buckets, j: number, header: number): number => b.bytes[j]! + b.count[j]! * header;

export class ThroughputPanel implements PanelRenderer {
  mode: 'total' | 'channels' = 'total';
  private last: { b: Buckets[]; bins: RateBins } | null = null;

  constructor(private readonly data: ViewData) {}

  private sideIndex(): SideIndex | null {
    return this.data.index.send ?? this.data.index.recv;
  }

  /** Where the windows are counted from: the source's active state (its migration thread's start), else the first packet. */
  private anchor(ix: SideIndex): number {
    const active = this.data.model.phases.find((p) => p.side === 'src' && p.state === 'active');
    if (active) return active.t;
    const p = ix.side.packets;
    let first = Infinity;
    for (let k = 0; k < ix.side.channels.length; k++) { const a = ix.side.laneStart[k]!; if (a < ix.side.laneStart[k + 1]!) first = Math.min(first, p.t[a]!); }
    return Number.isFinite(first) ? first : 0;
  }

  /** When the source stopped the guest for the stop-and-copy (no rate limit from there on), if traced. */
  private stopNs(): number | null {
    return this.data.model.phases.find((p) => p.side === 'src' && (p.state === 'vm stop' || p.state === 'device'))?.t ?? null;
  }

  height(): number { return H; }

  /** Bin j's time inside the traces, in s: the first and last bins may start before or end after them. */
  private seconds(bins: RateBins, j: number): number {
    const [lo, hi] = this.data.axis.limits;
    const a = Math.max(lo, bins.startNs + j * bins.widthNs), b = Math.min(hi, bins.startNs + (j + 1) * bins.widthNs);
    return Math.max(b - a, 1e6) / 1e9;
  }

  draw(ctx: CanvasRenderingContext2D, w: number, h: number, pal: Palette): void {
    const ix = this.sideIndex();
    if (!ix) return;
    const { t0, t1, pw } = plotWindow(this.data, w, LABEL_W);
    const bins = rateBins(this.anchor(ix), t0, t1, pw);
    const header = ix.side.bytesRule.headerBytes;
    const series = this.mode === 'total' ? [-1] : ix.side.channels.map((_, k) => k);
    const b = series.map((k) => ix.buckets(k, bins.startNs, bins.startNs + bins.n * bins.widthNs, bins.n));
    this.last = { b, bins };
    const knowsBytes = ix.side.knows.bytes;
    // Bytes per second per bin (over the part of it inside the traces); packets per second where the trace has no sizes.
    const value = (bk: Buckets, j: number): number => (knowsBytes ? wireBytes(bk, j, header) : bk.count[j]!) / this.seconds(bins, j);
    let peak = 0;
    for (let j = 0; j < bins.n; j++) { let s = 0; for (const bk of b) s += value(bk, j); if (s > peak) peak = s; }
    const cap = knowsBytes && ix.side.side === 'src' ? this.data.model.qemu.maxBandwidth : null;
    const top = Math.max(peak, cap?.bytesPerSecond ?? 0) * 1.08 || 1;
    const unit = byteUnit(top);
    const base = h - BOTTOM;
    const yOf = (v: number): number => base - (v / top) * (base - TOP);

    // Value grid: 3 to 5 round steps in the title's unit; labelled after the bars, on the background.
    ctx.strokeStyle = pal.grid;
    const gridStep = tickStep(top / unit.per, 4) * unit.per;
    const grid: number[] = [];
    for (let v = gridStep; v < top; v += gridStep) grid.push(v);
    ctx.globalAlpha = 0.5;
    for (const v of grid) { const y = Math.round(yOf(v)) + 0.5; ctx.beginPath(); ctx.moveTo(LABEL_W, y); ctx.lineTo(w, y); ctx.stroke(); }
    ctx.globalAlpha = 1;
    ctx.beginPath(); ctx.moveTo(LABEL_W, base + 0.5); ctx.lineTo(w, base + 0.5); ctx.stroke();

    // Bars, one path per colour.
    const paths = new Map<string, Path2D>();
    const x = (t: number): number => LABEL_W + this.data.axis.xAt(t, pw);
    for (let j = 0; j < bins.n; j++) {
      const xa = Math.max(LABEL_W, x(bins.startNs + j * bins.widthNs)), xb = Math.min(w, x(bins.startNs + (j + 1) * bins.widthNs));
      if (xb <= xa) continue;
      let y = base;
      b.forEach((bk, s) => {
        const hh = (value(bk, j) / top) * (base - TOP);
        if (hh <= 0) return;
        const colour = this.mode === 'total' ? pal.normal : pal.series[s % pal.series.length]!;
        let p = paths.get(colour);
        if (!p) { p = new Path2D(); paths.set(colour, p); }
        p.rect(xa, y - hh, Math.max(1, xb - xa - (xb - xa > 3 ? 1 : 0)), hh);
        y -= hh;
      });
    }
    for (const [colour, p] of paths) { ctx.fillStyle = colour; ctx.fill(p); }
    ctx.textBaseline = 'middle';
    for (const v of grid) labelOnBackground(ctx, pal, knowsBytes ? formatNumber(v / unit.per, 2) : formatCount(v), LABEL_W + 3, yOf(v), pal.muted);

    if (cap) {
      const y = Math.round(yOf(cap.bytesPerSecond)) + 0.5;
      ctx.strokeStyle = pal.fg;
      ctx.setLineDash([5, 4]);
      ctx.beginPath(); ctx.moveTo(LABEL_W, y); ctx.lineTo(w, y); ctx.stroke();
      ctx.setLineDash([]);
      const text = `max-bandwidth ${formatByteRate(cap.bytesPerSecond)}`;
      ctx.textBaseline = 'bottom';
      labelOnBackground(ctx, pal, text, w - ctx.measureText(text).width - 6, y - 2, pal.fg);
    }

    ctx.textBaseline = 'top';
    ctx.fillStyle = pal.fg;
    ctx.fillText(`${ix.side.side === 'src' ? 'send' : 'recv'} ${knowsBytes ? `${unit.unit}/s` : 'packets/s'}`, 6, TOP - 2);
    ctx.fillStyle = pal.muted;
    ctx.fillText(`per ${formatDuration(bins.widthNs)}`, 6, TOP + 12);
    // In the title's unit, so the label column holds them.
    const short = (v: number): string => (knowsBytes ? formatNumber(v / unit.per, 1) : formatCount(v));
    ctx.fillText(`peak ${short(peak)}`, 6, TOP + 26);
    const busy = median(bins.n, (j) => b.reduce((n, bk) => n + value(bk, j), 0));
    if (busy !== null) ctx.fillText(`median ${short(busy)}`, 6, TOP + 40);
    if (this.mode === 'channels') {
      ix.side.channels.forEach((c, s) => { ctx.fillStyle = pal.series[s % pal.series.length]!; ctx.fillText(`■ ch ${c}`, 6 + (s % 2) * 50, TOP + 60 + Math.floor(s / 2) * 14); });
    }
  }

  hover(x: number, _y: number, w: number): string | null {
    const l = this.last;
    const ix = this.sideIndex();
    if (!l || !ix || x < LABEL_W) return null;
    const { pw } = plotWindow(this.data, w, LABEL_W);
    const t = this.data.axis.tAt(x - LABEL_W, pw);
    const j = Math.floor((t - l.bins.startNs) / l.bins.widthNs);
    if (j < 0 || j >= l.bins.n) return null;
    const header = ix.side.bytesRule.headerBytes;
    let normal = 0, zero = 0, bytes = 0, count = 0;
    for (const bk of l.b) { normal += bk.normal[j]!; zero += bk.zero[j]!; bytes += wireBytes(bk, j, header); count += bk.count[j]!; }
    const [lo, hi] = this.data.axis.limits;
    const from = Math.max(lo, l.bins.startNs + j * l.bins.widthNs), to = Math.min(hi, l.bins.startNs + (j + 1) * l.bins.widthNs);
    const sec = this.seconds(l.bins, j);
    const k = ix.side.knows;
    const cap = this.data.model.qemu.maxBandwidth;
    const stop = this.stopNs();
    const lines = [
      `${axisTime(this.data.axis, from, pw)} – ${axisTime(this.data.axis, to, pw)}: ${count} packets`,
      k.bytes ? `${formatBytes(bytes)} as multifd-bytes counts them: ${formatByteRate(bytes / sec)}${cap && ix.side.side === 'src' ? ` (max-bandwidth ${formatByteRate(cap.bytesPerSecond)})` : ''}` : 'bytes: n/a',
      k.normalPages ? `normal pages ${formatCount(normal)} (${formatCount(normal / sec)} pages/s)` : 'normal pages: n/a',
      k.zeroPages ? `zero pages ${formatCount(zero)} (${formatCount(zero / sec)} pages/s)` : 'zero pages: n/a',
    ];
    if (stop !== null && to > stop) lines.push('stop-and-copy from here: QEMU sends what is left without the rate limit');
    return lines.join('\n');
  }
}

/** Text on a patch of the background, readable over bars and grid lines. */
function labelOnBackground(ctx: CanvasRenderingContext2D, pal: Palette, text: string, x: number, y: number, colour: string): void {
  const tw = ctx.measureText(text).width;
  const top = ctx.textBaseline === 'bottom' ? y - 12 : y - 6;
  ctx.fillStyle = pal.bg;
  ctx.globalAlpha = 0.8;
  ctx.fillRect(x - 2, top, tw + 4, 12);
  ctx.globalAlpha = 1;
  ctx.fillStyle = colour;
  ctx.fillText(text, x, y);
}

/** The median of the n values of bins that carried packets (value > 0), or null. */
function median(n: number, value: (j: number) => number): number | null {
  const vs: number[] = [];
  for (let j = 0; j < n; j++) { const v = value(j); if (v > 0) vs.push(v); }
  if (!vs.length) return null;
  vs.sort((a, b) => a - b);
  return vs[Math.floor(vs.length / 2)]!;
}
