/** What every panel reads: the model, its indexes and the shared axis; and how a panel opens a trace line. */
import type { MigrationModel, Side } from '../../core/analysis/model';
import type { SummaryIndex } from '../../core/analysis/summary';
import type { TimeAxis } from './timeAxis';

export interface ViewData {
  readonly model: MigrationModel;
  readonly index: SummaryIndex;
  readonly axis: TimeAxis;
  openLine(side: Side, line: number): void;
}

/** Visible window in plot pixels: [t0, t1) and the plot width. */
export function plotWindow(data: ViewData, w: number, labelW: number): { t0: number; t1: number; pw: number } {
  const [t0, t1] = data.axis.visible;
  return { t0, t1, pw: Math.max(1, Math.floor(w - labelW)) };
}

/**
 * Where the migration happened: from the first to the last packet, fault, placement or
 * traced state change (traces often start long before and end long after). Falls back to
 * the traces' whole span.
 */
export function activityExtent(m: MigrationModel): [number, number] {
  let lo = Infinity, hi = -Infinity;
  const take = (t: number | undefined): void => { if (t !== undefined && Number.isFinite(t)) { if (t < lo) lo = t; if (t > hi) hi = t; } };
  for (const s of [m.send, m.recv]) {
    if (!s) continue;
    for (let k = 0; k < s.channels.length; k++) {
      const a = s.laneStart[k]!, b = s.laneStart[k + 1]!;
      if (b > a) { take(s.packets.t[a]); take(s.packets.t[b - 1]); }
    }
  }
  const pc = m.postcopy;
  if (pc) for (const ts of [pc.faults.t, pc.placements.t, pc.shared.t]) if (ts.length) { take(ts[0]); take(ts[ts.length - 1]); }
  for (const p of m.phases) if (p.from === 'trace') take(p.t);
  if (!(hi > lo)) {
    for (const t of m.traces) { take(t.firstNs); take(t.lastNs); }
  }
  return hi > lo ? [lo, hi] : [0, 1];
}
