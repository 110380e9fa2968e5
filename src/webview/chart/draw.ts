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
}

export interface ChartPalette {
  foreground: string;
  grid: string;
  background: string;
  series: string[];
  markers: Record<MarkerKind, string>;
}

const units: Record<ChartSeries, string> = {
  transferred: 'bytes', remaining: 'bytes', mbps: 'Mbps', dirtyRate: 'pages/s', pagesPerSecond: 'pages/s', passes: '', postcopyRequests: '',
};

function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(a < 10 && a % 1 !== 0 ? 1 : 0);
}

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
  const left = 60;
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
    ctx.fillText(`${name}${units[name] ? ` (${units[name]})` : ''}  max ${short(max)}  last ${short(values[n - 1] ?? 0)}`, left, top - 4);
    ctx.fillText(short(max), 4, top + 8);
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
    ctx.fillText(`${m.kind === 'MIGRATION_PASS' ? 'pass' : m.kind} ${m.text}`, mx + 2, ly);
  }
  ctx.fillStyle = p.foreground;
  ctx.fillText(`${((t1 - t0) / 1000).toFixed(1)} s`, right - 40, size.height - 2);
}
