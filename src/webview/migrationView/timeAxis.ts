/**
 * The one time axis every panel shares: the full extent of the data, the visible window
 * (zoom and pan) and an optional selected range. Panels map x ↔ t through it and
 * listeners redraw when it changes.
 */
export type Range = readonly [number, number];

export class TimeAxis {
  private extent: Range = [0, 1];
  private view: Range = [0, 1];
  private sel: Range | null = null;
  private readonly listeners: (() => void)[] = [];

  get visible(): Range { return this.view; }
  get full(): Range { return this.extent; }
  get selection(): Range | null { return this.sel; }
  /** The range numbers are computed for: the selection, else the visible window. */
  get focus(): Range { return this.sel ?? this.view; }

  onChange(f: () => void): void { this.listeners.push(f); }
  private changed(): void { for (const f of this.listeners) f(); }

  setExtent(r: Range, keepView: boolean): void {
    const pad = Math.max((r[1] - r[0]) * 0.01, 1000);
    this.extent = [r[0] - pad, r[1] + pad];
    if (!keepView) this.view = this.extent;
    this.changed();
  }

  setView(r: Range): void {
    const minSpan = 1000;
    let [a, b] = r;
    if (b - a < minSpan) { const m = (a + b) / 2; a = m - minSpan / 2; b = m + minSpan / 2; }
    this.view = [a, b];
    this.changed();
  }

  setSelection(r: Range | null): void {
    this.sel = r && r[1] > r[0] ? r : null;
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

/** "12.345 ms" style label for a time in ns with a precision fitting span. */
export function formatTime(ns: number, spanNs: number): string {
  if (spanNs < 10_000) return `${(ns / 1000).toFixed(3)} µs`;
  if (spanNs < 10_000_000) return `${(ns / 1e6).toFixed(spanNs < 100_000 ? 4 : 3)} ms`;
  if (spanNs < 1_000_000_000) return `${(ns / 1e6).toFixed(1)} ms`;
  return `${(ns / 1e9).toFixed(spanNs < 10_000_000_000 ? 3 : 2)} s`;
}

/** Round tick step (1, 2, 5 × 10^k ns) giving about n ticks over span. */
export function tickStep(spanNs: number, n: number): number {
  const raw = spanNs / Math.max(1, n);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}
