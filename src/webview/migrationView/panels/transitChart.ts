/**
 * Transit distribution per channel (source and destination loaded together): for the
 * focused range, how many packets took 1–10 µs, 10–100 µs, … from send to receive, one row
 * per channel, cells shaded by count. A lagging channel shows as a row shifted right.
 */
import type { SummaryIndex } from '../../../core/analysis/summary';
import type { Palette } from '../theme';

const DECADES = ['< 10 µs', '10 µs', '100 µs', '1 ms', '10 ms', '100 ms', '≥ 1 s'];
const CELL_W = 58;
const ROW_H = 18;
const LEFT = 70;

export function renderTransit(index: SummaryIndex, focus: readonly [number, number], pal: Palette): HTMLCanvasElement | null {
  const tr = index.transit, send = index.send;
  if (!tr || !send) return null;
  const channels = send.side.channels;
  const counts = channels.map((_, k) => {
    const row = new Float64Array(DECADES.length);
    const [a, b] = send.laneRange(k, focus[0], focus[1]);
    for (let i = a; i < b; i++) {
      const v = tr.transitNs[i]!;
      if (!Number.isFinite(v)) continue;
      row[Math.min(DECADES.length - 1, Math.max(0, Math.floor(Math.log10(Math.max(v, 1) / 1000))))]!++;
    }
    return row;
  });
  const max = Math.max(1, ...counts.flatMap((r) => [...r]));
  const w = LEFT + CELL_W * DECADES.length, h = ROW_H * (channels.length + 1) + 4;
  const c = document.createElement('canvas');
  const dpr = window.devicePixelRatio || 1;
  c.width = w * dpr; c.height = h * dpr;
  c.style.width = `${w}px`; c.style.height = `${h}px`;
  c.setAttribute('role', 'img');
  c.setAttribute('aria-label', `Transit time per channel: ${channels.map((ch, k) => `channel ${ch}: ${[...counts[k]!].join(', ')}`).join('; ')} packets per decade from 1 µs`);
  const ctx = c.getContext('2d');
  if (!ctx) return c;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.font = pal.font;
  ctx.textBaseline = 'middle';
  ctx.fillStyle = pal.muted;
  DECADES.forEach((d, j) => ctx.fillText(d, LEFT + j * CELL_W + 4, ROW_H / 2));
  channels.forEach((ch, k) => {
    const y = ROW_H * (k + 1);
    ctx.fillStyle = pal.fg;
    ctx.fillText(`send ch ${ch}`, 4, y + ROW_H / 2);
    counts[k]!.forEach((n, j) => {
      ctx.globalAlpha = n ? 0.2 + (0.8 * n) / max : 0.06;
      ctx.fillStyle = pal.heat[Math.round((10 * j) / (DECADES.length - 1))]!;
      ctx.fillRect(LEFT + j * CELL_W + 1, y + 1, CELL_W - 2, ROW_H - 2);
      ctx.globalAlpha = 1;
      if (n) { ctx.fillStyle = pal.fg; ctx.fillText(String(n), LEFT + j * CELL_W + 5, y + ROW_H / 2); }
    });
  });
  return c;
}
