import { formatBytes, formatCount, formatDuration, formatMbps } from '../../core/units';
import type { ChartMarker, ChartSeries, MarkerKind, SampleColumns } from './protocol';

/** Minimal slice of CanvasRenderingContext2D the chart uses, so tests can pass a recording fake. */
export interface Canvas2D {
  fillStyle: string | CanvasGradient | CanvasPattern;
  strokeStyle: string | CanvasGradient | CanvasPattern;
  lineWidth: number;
  font: string;
  fillRect(x: number, y: number, w: number, h: number): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  stroke(): void;
  fillText(text: string, x: number, y: number): void;
  measureText(text: string): { width: number };
}

export interface ChartPalette {
  foreground: string;
  grid: string;
  background: string;
  series: string[];
  markers: Record<MarkerKind, string>;
}

/** How each series is written: in the unit its size calls for (bytes in KiB…GiB, QEMU's mbps as bit/s). */
const pages = (v: number): string => `${formatCount(v)} pages/s`;
/** format writes a value in the strip's title, axis its scale at the left (no room for a unit there when the title has it). */
export const seriesText: Record<ChartSeries, { readonly format: (v: number) => string; readonly axis?: (v: number) => string; readonly title: string }> = {
  'transferred': { format: formatBytes, title: 'ram.transferred: bytes sent so far' },
  'remaining': { format: formatBytes, title: 'ram.remaining: bytes still to send' },
  'mbps': { format: formatMbps, title: 'ram.mbps: throughput QEMU measured over its last 100 ms (megabits per second)' },
  'dirty-pages-rate': { format: pages, axis: formatCount, title: 'ram.dirty-pages-rate: pages the guest dirtied per second' },
  'pages-per-second': { format: pages, axis: formatCount, title: 'ram.pages-per-second: pages sent per second' },
  'dirty-sync-count': { format: formatCount, title: 'ram.dirty-sync-count: dirty-bitmap syncs so far (the pass)' },
  'postcopy-requests': { format: formatCount, title: 'ram.postcopy-requests: pages the destination asked for' },
};

/** Draws one strip per visible series over a shared time axis, with event markers across all strips. */
export function drawChart(ctx: Canvas2D, size: { width: number; height: number }, cols: SampleColumns, markers: readonly ChartMarker[], visible: readonly ChartSeries[], p: ChartPalette): void {
  ctx.fillStyle = p.background;
  ctx.fillRect(0, 0, size.width, size.height);
  ctx.font = '11px sans-serif';
  const n = cols.t.length;
  if (n === 0 || visible.length === 0) {
    ctx.fillStyle = p.foreground;
    ctx.fillText('Waiting for a migration on this connection…', 12, 24);
    return;
  }
  const left = 76;
  const right = size.width - 10;
  const t0 = cols.t[0] ?? 0;
  const t1 = Math.max(t0 + 1, cols.t[n - 1] ?? t0);
  const x = (t: number): number => left + ((t - t0) / (t1 - t0)) * (right - left);
  // A band at the top holds the marker labels, so they cover neither the strip titles nor each other.
  const band = markers.length > 0 ? 28 : 0;
  const strip = (size.height - band) / visible.length;
  visible.forEach((name, i) => {
    const top = band + i * strip + 16;
    const bottom = band + (i + 1) * strip - 8;
    const values = cols[name];
    let max = 0;
    for (const v of values) if (v > max) max = v;
    const y = (v: number): number => bottom - (max > 0 ? (v / max) * (bottom - top) : 0);
    ctx.strokeStyle = p.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(left, bottom);
    ctx.lineTo(right, bottom);
    ctx.stroke();
    ctx.fillStyle = p.foreground;
    const { format: f, axis = f } = seriesText[name];
    ctx.fillText(`${name}  max ${f(max)}  last ${f(values[n - 1] ?? 0)}`, left, top - 4);
    ctx.fillText(axis(max), 4, top + 8);
    ctx.fillText(axis(0), 4, bottom);
    ctx.strokeStyle = p.series[i % p.series.length] ?? p.foreground;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (let k = 0; k < n; k++) {
      const px = x(cols.t[k] ?? t0);
      const py = y(values[k] ?? 0);
      if (k === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    }
    ctx.stroke();
  });
  let k = 0;
  for (const m of markers) {
    if (m.t < t0 || m.t > t1) continue;
    const ly = 10 + (k++ % 2) * 12;
    const mx = x(m.t);
    ctx.strokeStyle = p.markers[m.kind];
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(mx, 0);
    ctx.lineTo(mx, size.height);
    ctx.stroke();
    ctx.fillStyle = p.markers[m.kind];
    // Right of its line, or left of it where the label would run past the canvas.
    const label = `${m.kind === 'MIGRATION_PASS' ? 'pass' : m.kind} ${m.text}`;
    const lw = ctx.measureText(label).width;
    ctx.fillText(label, mx + 2 + lw > size.width - 2 ? mx - 2 - lw : mx + 2, ly);
  }
  ctx.fillStyle = p.foreground;
  ctx.fillText(`last ${formatDuration((t1 - t0) * 1e6)}`, right - 70, size.height - 2);
}
