/** Phase bar: per side, migration states as coloured segments, milestones and QMP events as ticks. */
import type { Phase, Side } from '../../../core/analysis/model';
import { LABEL_W, type PanelRenderer } from '../timeCanvas';
import { drawTimeRuler } from './lanes';
import type { Palette } from '../theme';
import { axisTime } from '../timeAxis';
import { plotWindow, type ViewData } from '../viewData';

const ROW = 22;
const AXIS_H = 18;
const STATES = ['setup', 'active', 'pre-switchover', 'device', 'postcopy-active', 'postcopy-paused', 'postcopy-recover', 'completed', 'failed', 'cancelling', 'cancelled', 'wait-unplug', 'colo'];

export class PhaseBar implements PanelRenderer {
  private readonly rows: { side: Side; states: Phase[]; marks: Phase[] }[];

  constructor(private readonly data: ViewData) {
    const sides: Side[] = ['src', 'dst'];
    this.rows = sides.map((side) => {
      const mine = data.model.phases.filter((p) => p.side === side);
      const trace = mine.filter((p) => p.from === 'trace' && STATES.includes(p.state));
      // Without trace states (migrate_set_state not traced) the QMP MIGRATION events draw the segments.
      const states = trace.length ? trace : mine.filter((p) => p.from === 'qmp' && STATES.includes(p.state));
      return { side, states, marks: mine.filter((p) => !states.includes(p)) };
    }).filter((r) => r.states.length || r.marks.length);
  }

  height(): number { return AXIS_H + Math.max(1, this.rows.length) * ROW + 4; }

  draw(ctx: CanvasRenderingContext2D, w: number, _h: number, pal: Palette): void {
    const { t1, pw } = plotWindow(this.data, w, LABEL_W);
    const x = (t: number): number => Math.max(LABEL_W, Math.min(w, LABEL_W + this.data.axis.xAt(t, pw)));
    drawTimeRuler(ctx, this.data, w, AXIS_H, pal);
    ctx.textBaseline = 'middle';
    this.rows.forEach((r, n) => {
      const y = AXIS_H + 2 + n * ROW;
      ctx.fillStyle = pal.fg;
      ctx.fillText(`${r.side === 'src' ? 'source' : 'destination'}`, 6, y + ROW / 2);
      r.states.forEach((p, i) => {
        const end = r.states[i + 1]?.t ?? Math.max(t1, p.t);
        const x0 = x(p.t), x1 = x(end);
        if (x1 <= x0) return;
        ctx.fillStyle = pal.series[Math.max(0, STATES.indexOf(p.state)) % pal.series.length]!;
        ctx.globalAlpha = 0.55;
        ctx.fillRect(x0, y + 2, x1 - x0, ROW - 4);
        ctx.globalAlpha = 1;
        ctx.fillStyle = pal.fg;
        const label = p.state;
        if (ctx.measureText(label).width + 6 < x1 - x0) ctx.fillText(label, x0 + 3, y + ROW / 2);
      });
      ctx.strokeStyle = pal.fg;
      for (const m of r.marks) {
        const xm = x(m.t);
        if (xm <= LABEL_W || xm >= w) continue;
        ctx.beginPath(); ctx.moveTo(Math.round(xm) + 0.5, y + (m.from === 'qmp' ? ROW - 7 : 2)); ctx.lineTo(Math.round(xm) + 0.5, y + (m.from === 'qmp' ? ROW - 2 : 7)); ctx.stroke();
      }
    });
  }

  private at(x: number, y: number, w: number): Phase | null {
    const row = this.rows[Math.floor((y - AXIS_H - 2) / ROW)];
    if (!row || x < LABEL_W) return null;
    const { pw } = plotWindow(this.data, w, LABEL_W);
    const t = this.data.axis.tAt(x - LABEL_W, pw);
    const tol = ((this.data.axis.visible[1] - this.data.axis.visible[0]) / pw) * 4;
    const mark = row.marks.find((m) => Math.abs(m.t - t) <= tol);
    if (mark) return mark;
    let cur: Phase | null = null;
    for (const p of row.states) if (p.t <= t) cur = p;
    return cur;
  }

  hover(x: number, y: number, w: number): string | null {
    const p = this.at(x, y, w);
    if (!p) return null;
    return `${p.side === 'src' ? 'source' : 'destination'}: ${p.state} at ${axisTime(this.data.axis, p.t, w - LABEL_W)} (${p.from === 'qmp' ? 'QMP event' : `trace line ${p.line}`})`;
  }

  click(x: number, y: number, w: number): void {
    const p = this.at(x, y, w);
    if (p && p.line > 0) this.data.openLine(p.side, p.line);
  }
}
