/**
 * Throughput over time: pages per second, normal and zero stacked, for the total or per
 * channel; bytes per second when the trace has no page counts. Bars of a few pixels,
 * aggregated through the side index like the lanes.
 */
import { emptyBuckets, type Buckets, type SideIndex } from '../../../core/analysis/sideIndex';
import { LABEL_W, type PanelRenderer } from '../timeCanvas';
import type { Palette } from '../theme';
import { fmtInt, plotWindow, type ViewData } from '../viewData';

const H = 150;
const BAR = 3;
const TOP = 8;

export class ThroughputPanel implements PanelRenderer {
  mode: 'total' | 'channels' = 'total';
  private last: { b: Buckets[]; width: number; unit: string; scale: number } | null = null;

  constructor(private readonly data: ViewData) {}

  private sideIndex(): SideIndex | null {
    return this.data.index.send ?? this.data.index.recv;
  }

  height(): number { return H; }

  draw(ctx: CanvasRenderingContext2D, w: number, h: number, pal: Palette): void {
    const ix = this.sideIndex();
    if (!ix) return;
    const { t0, t1, pw } = plotWindow(this.data, w, LABEL_W);
    const n = Math.max(1, Math.floor(pw / BAR));
    const pages = ix.side.knows.normalPages;
    const secPerBucket = (t1 - t0) / n / 1e9;
    const series = this.mode === 'total' ? [-1] : ix.side.channels.map((_, k) => k);
    const b = series.map((k) => ix.buckets(k, t0, t1, n, emptyBuckets(n)));
    const value = (bk: Buckets, j: number): number => (pages ? bk.normal[j]! + bk.zero[j]! : bk.bytes[j]! / (1 << 20));
    let max = 0;
    for (let j = 0; j < n; j++) { let s = 0; for (const bk of b) s += value(bk, j); if (s > max) max = s; }
    const unit = pages ? 'pages/s' : 'MiB/s';
    const scale = max > 0 ? (h - TOP - 14) / max : 0;
    this.last = { b, width: n, unit, scale };
    const base = h - 14;
    ctx.strokeStyle = pal.grid;
    ctx.beginPath(); ctx.moveTo(LABEL_W, base + 0.5); ctx.lineTo(w, base + 0.5); ctx.stroke();
    ctx.fillStyle = pal.fg;
    ctx.textBaseline = 'top';
    ctx.fillText(`${ix.side.side === 'src' ? 'send' : 'recv'} ${unit}`, 6, TOP);
    ctx.fillStyle = pal.muted;
    ctx.fillText(`max ${fmtInt(max / secPerBucket)}`, 6, TOP + 16);
    if (this.mode === 'total' && pages) {
      ctx.fillStyle = pal.normal; ctx.fillText('■ normal', 6, TOP + 40);
      if (ix.side.knows.zeroPages) { ctx.fillStyle = pal.zero; ctx.fillText('■ zero', 6, TOP + 56); }
    }
    // Rectangles go into one path per colour, filled once each.
    const paths = new Map<string, Path2D>();
    const rect = (colour: string, x: number, y: number, hgt: number): void => {
      if (hgt <= 0) return;
      let p = paths.get(colour);
      if (!p) { p = new Path2D(); paths.set(colour, p); }
      p.rect(x, y - hgt, BAR - 0.5, hgt);
    };
    for (let j = 0; j < n; j++) {
      let y = base;
      const x = LABEL_W + j * BAR;
      b.forEach((bk, s) => {
        if (this.mode === 'total' && pages) {
          const nh = bk.normal[j]! * scale, zh = bk.zero[j]! * scale;
          rect(pal.normal, x, y, nh); y -= nh;
          rect(pal.zero, x, y, zh); y -= zh;
        } else {
          const vh = value(bk, j) * scale;
          rect(this.mode === 'total' ? pal.unknown : pal.series[s % pal.series.length]!, x, y, vh); y -= vh;
        }
      });
    }
    for (const [colour, p] of paths) { ctx.fillStyle = colour; ctx.fill(p); }
    if (this.mode === 'channels') {
      ix.side.channels.forEach((c, s) => { ctx.fillStyle = pal.series[s % pal.series.length]!; ctx.fillText(`■ ch ${c}`, 6 + (s % 2) * 50, TOP + 40 + Math.floor(s / 2) * 14); });
    }
  }

  hover(x: number, _y: number, w: number): string | null {
    const l = this.last;
    const ix = this.sideIndex();
    if (!l || !ix || x < LABEL_W) return null;
    const j = Math.floor((x - LABEL_W) / BAR);
    if (j >= l.width) return null;
    const { t0, t1 } = plotWindow(this.data, w, LABEL_W);
    const sec = (t1 - t0) / l.width / 1e9;
    let normal = 0, zero = 0, bytes = 0, count = 0;
    for (const bk of l.b) { normal += bk.normal[j]!; zero += bk.zero[j]!; bytes += bk.bytes[j]!; count += bk.count[j]!; }
    const k = ix.side.knows;
    return [
      `${count} packets`,
      k.normalPages ? `normal ${fmtInt(normal / sec)} pages/s` : 'normal pages: n/a',
      k.zeroPages ? `zero ${fmtInt(zero / sec)} pages/s` : 'zero pages: n/a',
      `${(bytes / sec / (1 << 20)).toFixed(1)} MiB/s`,
    ].join('\n');
  }
}
