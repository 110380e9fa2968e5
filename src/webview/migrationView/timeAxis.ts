/**
 * The one time axis every panel shares: the full extent of the data, the visible window
 * (zoom and pan) and an optional selected range. Panels map x ↔ t through it and
 * listeners redraw when it changes.
 */
import type { MigrationModel } from '../../core/analysis/model';
import { formatTimeAt, timeScale, type TimeScale } from '../../core/units';

export type Range = readonly [number, number];

/** The narrowest window the view zooms to: 1 µs. */
const MIN_SPAN = 1000;

export class TimeAxis {
  private bounds: Range = [0, 1];
  private extent: Range = [0, 1];
  private view: Range = [0, 1];
  private sel: Range | null = null;
  private readonly listeners: (() => void)[] = [];

  get visible(): Range { return this.view; }
  /** The window a reset shows: where the migration happened. */
  get full(): Range { return this.extent; }
  /** How far zooming out and panning go: the loaded data (the traces' whole span). */
  get limits(): Range { return this.bounds; }
  get selection(): Range | null { return this.sel; }
  /** The range numbers are computed for: the selection, else the visible window. */
  get focus(): Range { return this.sel ?? this.view; }

  onChange(f: () => void): void { this.listeners.push(f); }
  private changed(): void { for (const f of this.listeners) f(); }

  /**
   * The data's extent: activity (where the migration happened, shown after a reset, with a
   * little room on each side) within bounds (the traces' span, which the view never leaves).
   */
  setExtent(activity: Range, bounds: Range, keepView: boolean): void {
    // Ranges are half-open: the bounds end just past the last event so that a whole view counts it.
    const lo = Math.min(bounds[0], activity[0]), hi = Math.max(bounds[1], activity[1], lo) + MIN_SPAN;
    this.bounds = [lo, hi];
    const pad = Math.max((activity[1] - activity[0]) * 0.01, MIN_SPAN);
    this.extent = [Math.max(lo, activity[0] - pad), Math.min(hi, activity[1] + pad)];
    this.view = keepView ? this.clamp(this.view) : this.extent;
    this.changed();
  }

  /** Shows r, kept within the data: no wider than its bounds, shifted inside them, at least MIN_SPAN wide. */
  setView(r: Range): void {
    this.view = this.clamp(r);
    this.changed();
  }

  private clamp(r: Range): Range {
    const [lo, hi] = this.bounds;
    let [a, b] = r;
    if (!(b - a >= MIN_SPAN)) { const m = (a + b) / 2; a = m - MIN_SPAN / 2; b = m + MIN_SPAN / 2; }
    if (b - a >= hi - lo) return [lo, hi];
    if (a < lo) { b += lo - a; a = lo; }
    if (b > hi) { a -= b - hi; b = hi; }
    return [a, b];
  }

  setSelection(r: Range | null): void {
    this.sel = r && r[1] > r[0] ? [Math.max(r[0], this.bounds[0]), Math.min(r[1], this.bounds[1])] : null;
    this.changed();
  }

  /** Zooms by factor (< 1 zooms in) keeping the time at fraction f of the width fixed. */
  zoomAt(f: number, factor: number): void {
    const [a, b] = this.view;
    const t = a + (b - a) * f;
    this.setView([t - (t - a) * factor, t + (b - t) * factor]);
  }

  /** Pans by a fraction of the visible width (positive moves later). */
  panBy(f: number): void {
    const [a, b] = this.view;
    const d = (b - a) * f;
    this.setView([a + d, b + d]);
  }

  reset(): void {
    this.view = this.extent;
    this.sel = null;
    this.changed();
  }

  tAt(x: number, width: number): number {
    return this.view[0] + ((this.view[1] - this.view[0]) * x) / width;
  }

  xAt(t: number, width: number): number {
    return ((t - this.view[0]) / (this.view[1] - this.view[0])) * width;
  }
}

/**
 * The scale times on this axis are written in: the unit of the visible span, to the
 * resolution of one pixel of a plot pw pixels wide. Tooltips, the visible range and the
 * selection all use it, so they read in the ruler's unit.
 */
export function axisScale(axis: TimeAxis, pw: number): TimeScale {
  const span = axis.visible[1] - axis.visible[0];
  return timeScale(span, span / Math.max(1, pw));
}

/** A time as the axis writes it (see axisScale). */
export function axisTime(axis: TimeAxis, t: number, pw: number): string {
  return formatTimeAt(t, axisScale(axis, pw));
}

/** Where the data lies: from t = 0 (the earliest trace) or the first activity to the end of the last trace. */
export function dataBounds(model: MigrationModel, activity: Range): Range {
  let lo = Math.min(0, activity[0]), hi = activity[1];
  for (const t of model.traces) { if (Number.isFinite(t.firstNs)) lo = Math.min(lo, t.firstNs); if (Number.isFinite(t.lastNs)) hi = Math.max(hi, t.lastNs); }
  return [lo, hi];
}

/** Round tick step (1, 2, 5 × 10^k ns) giving about n ticks over span. */
export function tickStep(spanNs: number, n: number): number {
  const raw = spanNs / Math.max(1, n);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}
