/**
 * Downtime waterfall: per side, the stop-and-copy checkpoints as phases and one bar per device
 * (its save on the source, its load on the destination) on the shared time axis, in the order
 * they ran. Below the canvas, the numbers of the focused range: each side's total against
 * query-migrate's downtime, and every device's save beside its load.
 */
import { deviceName, downtimeSummary, isRoundEnd, type DowntimeSideSummary, type DowntimeSummary } from '../../../core/analysis/downtime';
import { formatMicros, formatMillis } from '../../../core/units';
import type { DowntimeCheckpoint, DowntimeDevice, DowntimeSide } from '../../../core/analysis/model';
import { el } from '../../shared/host';
import { item } from '../tables';
import type { Palette } from '../theme';
import type { Lifetime } from '../../shared/lifetime';
import { axisTime, type TimeAxis } from '../timeAxis';
import { LABEL_W, type PanelRenderer } from '../timeCanvas';
import { plotWindow, type ViewData } from '../viewData';
import { drawTimeRuler } from './lanes';

const AXIS_H = 18;
const PHASE_H = 18;
const ROW_H = 14;
const GAP = 8;
/** In the compact waterfall a device gets its own row from this share of its side's total up. */
const OWN_ROW_SHARE = 0.01;
/** Rows per side at most (a trace of many rounds has thousands of device events); the rest share the last row. */
const MAX_ROWS = 200;

type Row =
  | { readonly kind: 'phases'; readonly side: DowntimeSide; readonly y: number }
  | { readonly kind: 'device'; readonly side: DowntimeSide; readonly y: number; readonly device: DowntimeDevice }
  | { readonly kind: 'others'; readonly side: DowntimeSide; readonly y: number; readonly devices: readonly DowntimeDevice[] }
  | { readonly kind: 'note'; readonly side: DowntimeSide; readonly y: number; readonly text: string };

const sideTitle = (d: DowntimeSide): string => (d.side === 'src' ? 'source save' : 'destination load');
const shortName = (checkpoint: string): string => checkpoint.replace(/^(src|dst)-(precopy-|postcopy-)?/, '');

type Hit =
  | { readonly what: 'device'; readonly side: DowntimeSide; readonly device: DowntimeDevice }
  | { readonly what: 'checkpoint'; readonly side: DowntimeSide; readonly checkpoint: DowntimeCheckpoint; readonly next: DowntimeCheckpoint | undefined };

export class DowntimeWaterfall implements PanelRenderer {
  private rows: Row[] = [];
  private bottom = AXIS_H;
  private allDevices = false;
  /** The whole recording's summary: phases and windows as the core defines them. */
  private readonly whole: DowntimeSummary;

  constructor(private readonly data: ViewData) {
    this.whole = downtimeSummary(data.model.downtime);
    this.layout();
  }

  /** Whether every device gets its own row, or only those taking 1 % of their side's total or more. */
  set showAll(v: boolean) { this.allDevices = v; this.layout(); }
  get showAll(): boolean { return this.allDevices; }

  private layout(): void {
    const rows: Row[] = [];
    let y = AXIS_H;
    for (const side of [this.data.model.downtime.source, this.data.model.downtime.destination]) {
      if (!side) continue;
      if (side.status !== 'traced') { rows.push({ kind: 'note', side, y, text: side.note ?? 'n/a' }); y += PHASE_H + GAP; continue; }
      rows.push({ kind: 'phases', side, y }); y += PHASE_H;
      const total = side.devices.reduce((n, x) => n + x.us, 0);
      const minor: DowntimeDevice[] = [];
      const start = rows.length;
      for (const device of side.devices) {
        const own = (this.allDevices || device.us >= OWN_ROW_SHARE * total) && rows.length - start < MAX_ROWS;
        if (own) { rows.push({ kind: 'device', side, y, device }); y += ROW_H; } else minor.push(device);
      }
      if (minor.length) { rows.push({ kind: 'others', side, y, devices: minor }); y += ROW_H; }
      y += GAP;
    }
    this.rows = rows;
    this.bottom = y;
  }

  height(): number { return this.bottom; }

  /** The span worth looking at: both sides' stop-and-copy, from the first checkpoint or bar to the last. */
  downtimeExtent(): [number, number] | null {
    let lo = Infinity, hi = -Infinity;
    for (const s of [this.data.model.downtime.source, this.data.model.downtime.destination]) {
      for (const c of s?.checkpoints ?? []) { lo = Math.min(lo, c.t); hi = Math.max(hi, c.t); }
      for (const x of s?.devices ?? []) { lo = Math.min(lo, x.startNs); hi = Math.max(hi, x.endNs); }
    }
    return hi > lo ? [lo, hi] : null;
  }

  draw(ctx: CanvasRenderingContext2D, w: number, _h: number, pal: Palette): void {
    const { pw } = plotWindow(this.data, w, LABEL_W);
    const x = (t: number): number => LABEL_W + this.data.axis.xAt(t, pw);
    const clampX = (t: number): number => Math.max(LABEL_W, Math.min(w, x(t)));
    drawTimeRuler(ctx, this.data, w, AXIS_H, pal);
    ctx.textBaseline = 'middle';
    // Checkpoints as guide lines through their side's rows, so each bar reads against its phase.
    for (const side of [this.data.model.downtime.source, this.data.model.downtime.destination]) {
      const mine = this.rows.filter((r) => r.side === side && r.kind !== 'note');
      if (!side || !mine.length) continue;
      const top = mine[0]!.y, end = mine[mine.length - 1]!.y + ROW_H;
      ctx.strokeStyle = pal.grid;
      ctx.setLineDash([2, 3]);
      for (const c of side.checkpoints) {
        const xc = Math.round(x(c.t)) + 0.5;
        if (xc < LABEL_W || xc > w) continue;
        ctx.beginPath(); ctx.moveTo(xc, top); ctx.lineTo(xc, end); ctx.stroke();
      }
      ctx.setLineDash([]);
    }
    for (const r of this.rows) {
      switch (r.kind) {
        case 'note':
          ctx.fillStyle = pal.fg;
          ctx.fillText(sideTitle(r.side), 6, r.y + PHASE_H / 2);
          ctx.fillStyle = pal.muted;
          ctx.fillText(`n/a — ${r.text}`, LABEL_W + 4, r.y + PHASE_H / 2);
          break;
        case 'phases': this.drawPhases(ctx, r.side, r.y, w, pal, clampX); break;
        case 'device': {
          const d = r.device;
          ctx.fillStyle = pal.fg;
          const dur = formatMicros(d.us);
          ctx.fillText(dur, LABEL_W - 8 - ctx.measureText(dur).width, r.y + ROW_H / 2);
          this.bar(ctx, d, r.y, pal, x, w);
          this.label(ctx, `${deviceName(d)}${d.type === 'iterable' ? ' (iterable)' : ''}`, x(d.startNs), Math.max(x(d.endNs), x(d.startNs) + 2), r.y, w, pal.fg);
          break;
        }
        case 'others': {
          const sum = r.devices.reduce((n, d) => n + d.us, 0);
          ctx.fillStyle = pal.muted;
          const tag = `+${r.devices.length} more`;
          ctx.fillText(tag, LABEL_W - 8 - ctx.measureText(tag).width, r.y + ROW_H / 2);
          for (const d of r.devices) this.bar(ctx, d, r.y, pal, x, w);
          const first = r.devices[0]!, last = r.devices.reduce((a, b) => (b.endNs > a.endNs ? b : a));
          const what = this.allDevices ? `${r.devices.length} more devices` : `${r.devices.length} devices under 1 % each`;
          this.label(ctx, `${what}, ${formatMicros(sum)} together`, x(first.startNs), x(last.endNs) + 2, r.y, w, pal.muted);
          break;
        }
      }
    }
  }

  private drawPhases(ctx: CanvasRenderingContext2D, side: DowntimeSide, y: number, w: number, pal: Palette, clampX: (t: number) => number): void {
    ctx.fillStyle = pal.fg;
    ctx.font = `600 ${pal.font}`;
    ctx.fillText(sideTitle(side), 6, y + PHASE_H / 2);
    ctx.font = pal.font;
    const cps = side.checkpoints;
    const segment = (t0: number, t1: number, text: string, colour: string): void => {
      const x0 = clampX(t0), x1 = clampX(t1);
      if (x1 <= x0) return;
      ctx.fillStyle = colour;
      ctx.globalAlpha = 0.3;
      ctx.fillRect(x0, y + 2, x1 - x0, PHASE_H - 4);
      ctx.globalAlpha = 1;
      ctx.fillStyle = pal.fg;
      if (ctx.measureText(text).width + 6 < x1 - x0) ctx.fillText(text, x0 + 3, y + PHASE_H / 2);
    };
    const whole = side.side === 'src' ? this.whole.source : this.whole.destination;
    // The destination has no checkpoint before its loads: they run from its window's first bar to its first checkpoint.
    const w0 = side.side === 'dst' ? whole?.window : null;
    const firstCp = w0 && cps.find((c) => c.t >= w0.startNs);
    if (w0 && firstCp) segment(w0.startNs, firstCp.t, 'device loads', pal.muted);
    (whole?.phases ?? []).forEach((p, i) => segment(p.startNs, p.endNs, shortName(p.to), pal.series[(i % 3) + 5] ?? pal.muted));
    ctx.strokeStyle = pal.fg;
    for (const c of cps) {
      const xc = Math.round(clampX(c.t)) + 0.5;
      if (xc <= LABEL_W || xc >= w) continue;
      ctx.beginPath(); ctx.moveTo(xc, y + 1); ctx.lineTo(xc, y + PHASE_H - 1); ctx.stroke();
    }
  }

  private bar(ctx: CanvasRenderingContext2D, d: DowntimeDevice, y: number, pal: Palette, x: (t: number) => number, w: number): void {
    const x0 = Math.max(LABEL_W, x(d.startNs)), x1 = Math.min(w, Math.max(x(d.endNs), x(d.startNs) + 2));
    if (x1 <= LABEL_W || x0 >= w) return;
    ctx.fillStyle = d.type === 'iterable' ? pal.series[0]! : pal.series[1]!;
    ctx.fillRect(x0, y + 2, Math.max(2, x1 - x0), ROW_H - 4);
  }

  /** Text beside a bar: after its end, else before its start, else over it; never under the label column. */
  private label(ctx: CanvasRenderingContext2D, text: string, x0: number, x1: number, y: number, w: number, colour: string): void {
    const tw = ctx.measureText(text).width;
    let tx: number;
    if (x1 + 4 + tw <= w) tx = Math.max(LABEL_W + 2, x1 + 4);
    else if (x0 - 4 - tw >= LABEL_W) tx = x0 - 4 - tw;
    else tx = Math.max(LABEL_W + 2, Math.min(x0 + 3, w - tw - 2));
    ctx.fillStyle = colour;
    ctx.fillText(text, tx, y + ROW_H / 2);
  }

  private hit(px: number, py: number, w: number): Hit | null {
    if (px < LABEL_W) return null;
    const row = this.rows.find((r) => py >= r.y && py < r.y + (r.kind === 'phases' || r.kind === 'note' ? PHASE_H : ROW_H));
    if (!row) return null;
    const { pw } = plotWindow(this.data, w, LABEL_W);
    const x = (t: number): number => LABEL_W + this.data.axis.xAt(t, pw);
    switch (row.kind) {
      case 'note': return null;
      case 'device': return { what: 'device', side: row.side, device: row.device };
      case 'others': {
        let best: DowntimeDevice | null = null, dist = 4;
        for (const d of row.devices) {
          const x0 = x(d.startNs), x1 = Math.max(x(d.endNs), x0 + 2);
          const e = px < x0 ? x0 - px : px > x1 ? px - x1 : 0;
          if (e < dist) { dist = e; best = d; }
        }
        return best ? { what: 'device', side: row.side, device: best } : null;
      }
      case 'phases': {
        const cps = row.side.checkpoints;
        let k = cps.findIndex((c) => Math.abs(x(c.t) - px) <= 4);
        if (k < 0) { const t = this.data.axis.tAt(px - LABEL_W, pw); for (let i = 0; i < cps.length && cps[i]!.t <= t; i++) k = i; }
        const c = cps[k];
        return c ? { what: 'checkpoint', side: row.side, checkpoint: c, next: cps[k + 1] } : null;
      }
    }
  }

  hover(x: number, y: number, w: number): string | null {
    const h = this.hit(x, y, w);
    if (!h) return null;
    const at = (t: number): string => axisTime(this.data.axis, t, w - LABEL_W);
    const side = h.side.side === 'src' ? 'source' : 'destination';
    if (h.what === 'device') {
      const d = h.device;
      return [
        `${side} ${d.type} ${h.side.side === 'src' ? 'save' : 'load'}: ${d.idstr} (instance ${d.instanceId})`,
        `${formatMicros(d.us)}, ${at(d.startNs)} – ${at(d.endNs)}`,
        `click opens line ${d.line}`,
      ].join('\n');
    }
    const c = h.checkpoint, n = h.next;
    const phase = n && !isRoundEnd(c.name) ? `\nthen ${formatMicros((n.t - c.t) / 1000)} until ${n.name}` : '';
    return `${side} checkpoint ${c.name} at ${at(c.t)}${phase}\nclick opens line ${c.line}`;
  }

  click(x: number, y: number, w: number): void {
    const h = this.hit(x, y, w);
    if (h) this.data.openLine(h.side.side, h.what === 'device' ? h.device.line : h.checkpoint.line);
  }
}

/**
 * The panel's body: controls and legend, the waterfall canvas (through the view's canvas hook,
 * so it shares the axis and its interactions), then the numbers element the view refreshes.
 * Returns how the panel takes a new model's data; its listeners end with lifetime.
 */
export function fillDowntimePanel(
  body: HTMLElement,
  numbers: HTMLElement,
  lifetime: Lifetime,
  hooks: { readonly axis: TimeAxis; redraw(): void; canvas(parent: HTMLElement, label: string, make: (data: ViewData) => PanelRenderer): (data: ViewData) => void },
): (data: ViewData) => void {
  const graph = el('div');
  const bar = el('div', undefined, 'legend');
  const zoom = el('button', 'Zoom to downtime', 'action');
  zoom.type = 'button';
  const all = el('input');
  all.type = 'checkbox';
  const label = el('label');
  label.append(all, document.createTextNode(' every device on its own row'));
  bar.append(zoom, label);
  for (const [cls, text] of [['s0', 'iterable save / load'], ['s1', 'non-iterable device state'], ['muted', '┆ checkpoint']] as const) { const s = el('span', text); s.className = `sw ${cls}`; bar.append(s); }
  graph.append(bar);
  body.append(graph);
  let waterfall: DowntimeWaterfall | null = null;
  const canvas = hooks.canvas(graph, 'Downtime waterfall: devices and checkpoints per side', (d) => {
    waterfall = new DowntimeWaterfall(d);
    waterfall.showAll = all.checked;
    return waterfall;
  });
  body.append(numbers);
  zoom.addEventListener('click', () => {
    const extent = waterfall?.downtimeExtent();
    if (!extent) return;
    const pad = Math.max((extent[1] - extent[0]) * 0.05, 1000);
    hooks.axis.setView([extent[0] - pad, extent[1] + pad]);
  }, { signal: lifetime.signal });
  all.addEventListener('change', () => { if (waterfall) waterfall.showAll = all.checked; hooks.redraw(); }, { signal: lifetime.signal });
  return (data) => {
    canvas(data);
    // Without a traced side the notes say why; an empty waterfall would say nothing more.
    graph.hidden = !waterfall?.downtimeExtent();
  };
}

function sideLine(root: HTMLElement, s: DowntimeSideSummary, reported: DowntimeSummary['reported']): void {
  const box = el('div', undefined, 'summary');
  box.dataset.testid = `downtime-${s.side}`;
  box.append(el('strong', s.side === 'src' ? 'source save ' : 'destination load '));
  if (s.status !== 'traced') {
    item(box, 'QEMU', s.qemuVersion);
    item(box, 'devices', 'n/a', `downtime-total-${s.side}`);
    box.append(el('span', s.note ?? '', 'note'));
    root.append(box);
    return;
  }
  item(box, 'devices', String(s.devices.length), `downtime-devices-${s.side}`);
  item(box, 'in device handlers', formatMicros(s.totalUs), `downtime-total-${s.side}`);
  if (s.window) item(box, `${s.window.from} → ${s.window.to}`, formatMicros(s.window.us), `downtime-window-${s.side}`);
  if (s.side === 'src' && reported) item(box, 'query-migrate downtime', formatMillis(reported.ms), 'downtime-reported');
  if (s.window && s.totalUs !== null) {
    // Handlers that ran side by side (postcopy's listen thread loads RAM while the main thread loads devices) sum to more than the window.
    const outside = s.window.us - s.totalUs;
    if (outside >= 0) item(box, 'outside device handlers', formatMicros(outside));
    else item(box, 'outside device handlers', `none: the handlers overlap, their sum exceeds the window by ${formatMicros(-outside)}`);
  }
  item(box, 'iterable', formatMicros(s.iterableUs));
  item(box, 'non-iterable', formatMicros(s.nonIterableUs));
  root.append(box);
}

/** The numbers under the waterfall for the focused range. */
export function renderDowntimeNumbers(root: HTMLElement, s: DowntimeSummary): void {
  root.replaceChildren();
  for (const side of [s.source, s.destination]) if (side) sideLine(root, side, s.reported);
  if (s.reported && s.source?.status !== 'traced') root.append(el('p', `query-migrate downtime: ${formatMillis(s.reported.ms)} (${s.reported.from})`, 'note'));
  if (s.stopToStartUs !== null) root.append(el('p', `Guest paused ${formatMicros(s.stopToStartUs)}: from src-vm-stopped to the destination's vm-started (both traces on one host clock).`, 'note'));
  if (s.reported && s.source?.window) {
    root.append(el('p', `query-migrate's downtime (${s.reported.from}) is QEMU's own reading of src-downtime-start → src-downtime-end on a millisecond clock: besides the device handlers it holds stopping the VM, syncing the CPUs and writing the stream.`, 'note'));
  }
  if (!s.pairs.length) return;
  const wrap = el('div', undefined, 'downtime-pairs');
  const t = el('table', undefined, 'small');
  t.dataset.testid = 'downtime-pairs';
  t.append(el('caption', 'save beside load, costliest first'));
  const head = el('tr');
  for (const h of ['device', 'type', 'source save', 'destination load']) head.append(el('th', h));
  head.title = '— : the device was not traced on that side';
  t.append(head);
  for (const p of s.pairs) {
    const tr = el('tr');
    tr.append(el('td', deviceName(p)), el('td', p.type), el('td', p.saveUs === null ? '—' : formatMicros(p.saveUs), 'num'), el('td', p.loadUs === null ? '—' : formatMicros(p.loadUs), 'num'));
    t.append(tr);
  }
  wrap.append(t);
  root.append(wrap);
}
