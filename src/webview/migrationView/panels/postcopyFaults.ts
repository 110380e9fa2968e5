/**
 * Postcopy faults on the time axis: per RAMBlock a band of address (offset) against time,
 * fault requests coloured by their request → placement latency over the pages placed,
 * and a lane of shared-page traffic with vhost-user back-ends.
 */
import { SHARED_KINDS, type PostcopyData } from '../../../core/analysis/model';
import { lowerBound } from '../../../core/analysis/prefix';
import { LABEL_W, type PanelRenderer } from '../timeCanvas';
import type { Palette } from '../theme';
import { formatDuration } from '../../../core/units';
import { axisTime } from '../timeAxis';
import { plotWindow, type ViewData } from '../viewData';

const BAND = 110;
/** Band height of a RAMBlock that only had pages placed, no faults: room for its name on two lines. */
const SMALL_BAND = 32;
/** The shared-page strip: one row of marks per kind (SHARED_KINDS order). */
const SHARED_ROW = 5;
const SHARED_H = 4 + SHARED_ROW * 5 + 2;
const TOP = 4;
/** Above this many visible points a scatter draws every k-th (said in its label). */
const MAX_POINTS = 200_000;

/** A RAMBlock's band shows offsets [lo, hi]: the span of its faults (placements outside sit on the edges), else of its placements. */
interface Band { rb: number; y: number; h: number; lo: number; hi: number }

export class PostcopyFaultsPanel implements PanelRenderer {
  private readonly bands: Band[] = [];
  private readonly sharedY: number;
  private readonly lo: number;
  private readonly hi: number;

  constructor(private readonly data: ViewData, private readonly pc: PostcopyData) {
    const spans = new Map<number, { lo: number; hi: number; faults: boolean }>();
    const note = (rb: number, off: number, fault: boolean): void => {
      if (rb >= pc.ramBlocks.length) return;
      const s = spans.get(rb);
      if (!s || (fault && !s.faults)) { spans.set(rb, { lo: off, hi: off, faults: fault }); return; }
      if (fault === s.faults) { s.lo = Math.min(s.lo, off); s.hi = Math.max(s.hi, off); }
    };
    pc.faults.rb.forEach((rb, i) => note(rb, pc.faults.offset[i]!, true));
    pc.placements.rb.forEach((rb, i) => note(rb, pc.placements.offset[i]!, false));
    let y = TOP;
    const order = [...spans.entries()].sort((a, b) => Number(b[1].faults) - Number(a[1].faults) || b[1].hi - a[1].hi);
    for (const [rb, sp] of order) {
      const h = sp.faults ? BAND : SMALL_BAND;
      const pad = Math.max(4096, (sp.hi - sp.lo) * 0.05);
      this.bands.push({ rb, y, h, lo: Math.max(0, sp.lo - pad), hi: sp.hi + pad });
      y += h;
    }
    this.sharedY = y + 4;
    const lat = pc.faults.latencyNs.filter((v) => Number.isFinite(v) && v > 0);
    this.lo = lat.length ? Math.log10(Math.min(...lat)) : 0;
    this.hi = lat.length ? Math.log10(Math.max(...lat)) : 1;
  }

  height(): number { return this.sharedY + (this.pc.shared.t.length ? SHARED_H : 0) + 6; }

  private yOf(rb: number, offset: number): number | null {
    const b = this.bands.find((x) => x.rb === rb);
    return b ? b.y + b.h - 5 - clamp01((offset - b.lo) / (b.hi - b.lo)) * (b.h - 10) : null;
  }

  draw(ctx: CanvasRenderingContext2D, w: number, _h: number, pal: Palette): void {
    const { t0, t1, pw } = plotWindow(this.data, w, LABEL_W);
    const x = (t: number): number => LABEL_W + this.data.axis.xAt(t, pw);
    ctx.textBaseline = 'top';
    for (const b of this.bands) {
      ctx.fillStyle = pal.fg;
      // Long RAMBlock names (/rom@etc/acpi/tables) wrap at their separators; the tooltip has the whole name.
      const lines = wrapLabel(ctx, this.pc.ramBlocks[b.rb] ?? '?', LABEL_W - 10, b.h >= BAND ? 4 : 2);
      lines.forEach((line, i) => ctx.fillText(line, 6, b.y + 4 + i * 13));
      if (b.h >= BAND) {
        ctx.fillStyle = pal.muted;
        ctx.fillText(`0x${Math.floor(b.hi).toString(16)}`, 6, b.y + 8 + lines.length * 13);
        ctx.textBaseline = 'bottom';
        ctx.fillText(`0x${Math.floor(b.lo).toString(16)}`, 6, b.y + b.h - 3);
        ctx.textBaseline = 'top';
      }
      ctx.strokeStyle = pal.grid;
      ctx.beginPath(); ctx.moveTo(LABEL_W, b.y + b.h - 0.5); ctx.lineTo(w, b.y + b.h - 0.5); ctx.stroke();
    }
    const pl = this.pc.placements;
    let a = lowerBound(pl.t, t0), e = lowerBound(pl.t, t1);
    let step = Math.max(1, Math.ceil((e - a) / MAX_POINTS));
    ctx.fillStyle = pal.muted;
    ctx.globalAlpha = 0.6;
    for (let i = a; i < e; i += step) { const y = this.yOf(pl.rb[i]!, pl.offset[i]!); if (y !== null) ctx.fillRect(x(pl.t[i]!) - 1, y - 1, 2, 2); }
    ctx.globalAlpha = 1;
    const f = this.pc.faults;
    a = lowerBound(f.t, t0); e = lowerBound(f.t, t1);
    step = Math.max(1, Math.ceil((e - a) / MAX_POINTS));
    for (let i = a; i < e; i += step) {
      const y = this.yOf(f.rb[i]!, f.offset[i]!);
      if (y === null) continue;
      const l = f.latencyNs[i]!;
      ctx.fillStyle = Number.isFinite(l) && l > 0 ? pal.heat[Math.round(10 * clamp01((Math.log10(l) - this.lo) / Math.max(1e-9, this.hi - this.lo)))]! : pal.unknown;
      ctx.fillRect(x(f.t[i]!) - 2, y - 2, 5, 5);
    }
    if (step > 1) { ctx.fillStyle = pal.muted; ctx.fillText(`every ${step}th point`, LABEL_W + 4, TOP); }
    this.drawShared(ctx, w, pal, x, t0, t1);
  }

  private drawShared(ctx: CanvasRenderingContext2D, w: number, pal: Palette, x: (t: number) => number, t0: number, t1: number): void {
    const s = this.pc.shared;
    if (!s.t.length) return;
    const y = this.sharedY;
    ctx.fillStyle = pal.fg;
    ctx.textBaseline = 'middle';
    ctx.fillText('shared pages', 6, y + SHARED_H / 2);
    ctx.strokeStyle = pal.grid;
    ctx.strokeRect(LABEL_W + 0.5, y + 0.5, w - LABEL_W - 1, SHARED_H - 1);
    const a = lowerBound(s.t, t0), e = lowerBound(s.t, t1);
    const step = Math.max(1, Math.ceil((e - a) / MAX_POINTS));
    for (let i = a; i < e; i += step) {
      const k = s.kind[i]!;
      ctx.fillStyle = pal.shared[k % pal.shared.length]!;
      ctx.fillRect(x(s.t[i]!), y + 3 + k * SHARED_ROW, 2, SHARED_ROW - 1);
    }
  }

  private nearest(px: number, py: number, w: number): { kind: 'fault' | 'shared'; i: number } | null {
    const { t0, t1, pw } = plotWindow(this.data, w, LABEL_W);
    const tol = ((t1 - t0) / pw) * 5;
    const t = this.data.axis.tAt(px - LABEL_W, pw);
    if (py >= this.sharedY && py < this.sharedY + SHARED_H) {
      const s = this.pc.shared;
      const i = closest(s.t, t, tol);
      return i < 0 ? null : { kind: 'shared', i };
    }
    const f = this.pc.faults;
    let best = -1, bestD = 36;
    for (let i = lowerBound(f.t, t - tol); i < f.t.length && f.t[i]! <= t + tol; i++) {
      const y = this.yOf(f.rb[i]!, f.offset[i]!);
      if (y === null) continue;
      const dx = this.data.axis.xAt(f.t[i]!, pw) + LABEL_W - px, dy = y - py;
      if (dx * dx + dy * dy < bestD) { bestD = dx * dx + dy * dy; best = i; }
    }
    return best < 0 ? null : { kind: 'fault', i: best };
  }

  hover(x: number, y: number, w: number): string | null {
    if (x < LABEL_W) {
      const b = this.bands.find((band) => y >= band.y && y < band.y + band.h);
      if (!b) return y >= this.sharedY && y < this.sharedY + SHARED_H ? 'shared pages: vhost-user back-ends\' page requests and wake-ups (kinds in the legend below)' : null;
      const faults = this.pc.faults.rb.reduce((n, rb) => n + (rb === b.rb ? 1 : 0), 0);
      return `RAMBlock ${this.pc.ramBlocks[b.rb] ?? '?'}\noffsets 0x${Math.floor(b.lo).toString(16)} – 0x${Math.floor(b.hi).toString(16)} shown · ${faults} faults`;
    }
    const h = this.nearest(x, y, w);
    if (!h) return null;
    const at = (t: number): string => axisTime(this.data.axis, t, w - LABEL_W);
    if (h.kind === 'shared') {
      const s = this.pc.shared;
      return `${SHARED_KINDS[s.kind[h.i]!]} ${this.pc.ramBlocks[s.rb[h.i]!] ?? '?'} + 0x${s.offset[h.i]!.toString(16)}\nat ${at(s.t[h.i]!)} · click opens line ${s.line[h.i]}`;
    }
    const f = this.pc.faults;
    const l = f.latencyNs[h.i]!;
    return [
      `fault ${this.pc.ramBlocks[f.rb[h.i]!] ?? '?'} + 0x${f.offset[h.i]!.toString(16)} · thread ${f.tid[h.i]}`,
      `requested at ${at(f.t[h.i]!)} · ${Number.isFinite(l) ? `placed after ${formatDuration(l)}` : 'never placed in the trace'}`,
      `click opens line ${f.line[h.i]}`,
    ].join('\n');
  }

  click(x: number, y: number, w: number): void {
    const h = this.nearest(x, y, w);
    if (h) this.data.openLine('dst', h.kind === 'fault' ? this.pc.faults.line[h.i]! : this.pc.shared.line[h.i]!);
  }
}

function clamp01(v: number): number { return v < 0 ? 0 : v > 1 ? 1 : v; }

/**
 * A label in lines no wider than maxW: broken after a separator (/ @ . - _ :) where one is
 * near, else between characters; the last line ends in … when the text does not fit.
 */
export function wrapLabel(ctx: Pick<CanvasRenderingContext2D, 'measureText'>, text: string, maxW: number, maxLines: number): string[] {
  const fits = (t: string): boolean => ctx.measureText(t).width <= maxW;
  const lines: string[] = [];
  let rest = text;
  while (rest && lines.length < maxLines) {
    if (fits(rest)) { lines.push(rest); rest = ''; break; }
    let n = 1;
    while (n < rest.length && fits(rest.slice(0, n + 1))) n++;
    const sep = Math.max(...['/', '@', '.', '-', '_', ':'].map((c) => rest.lastIndexOf(c, n - 1)));
    const cut = sep >= n / 2 ? sep + 1 : n;
    lines.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest) {
    let last = lines.pop() ?? '';
    while (last && !fits(`${last}…`)) last = last.slice(0, -1);
    lines.push(`${last}…`);
  }
  return lines;
}

function closest(ts: Float64Array, t: number, tol: number): number {
  const i = lowerBound(ts, t - tol);
  let best = -1, d = tol;
  for (let k = i; k < ts.length && ts[k]! <= t + tol; k++) if (Math.abs(ts[k]! - t) <= d) { d = Math.abs(ts[k]! - t); best = k; }
  return best;
}
