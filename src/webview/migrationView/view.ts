/**
 * The migration view for one model: builds the panels, keeps them on one time axis,
 * draws every canvas in one animation frame and recomputes the numbers for the focused
 * range shortly after the axis settles.
 */
import { SHARED_KINDS, type MigrationModel, type Side } from '../../core/analysis/model';
import { SummaryIndex } from '../../core/analysis/summary';
import { el } from '../shared/host';
import { csvOf, pngOf } from './exporters';
import { LanesPanel } from './panels/lanes';
import { PhaseBar } from './panels/phaseBar';
import { PostcopyFaultsPanel } from './panels/postcopyFaults';
import { renderPostcopyStats } from './panels/postcopyStats';
import { ThroughputPanel } from './panels/throughput';
import { renderTransit } from './panels/transitChart';
import type { PanelId } from './protocol';
import { renderBalance, renderSummary } from './tables';
import { readPalette, type Palette } from './theme';
import { TimeAxis } from './timeAxis';
import { TimeCanvas } from './timeCanvas';
import type { ViewData } from './viewData';

export interface ViewHooks {
  openLine(side: Side, line: number): void;
  tooltip(text: string | null, x: number, y: number): void;
  saved(): void;
}

/** How long the numbers wait for the axis to settle before recomputing. */
const NUMBERS_DELAY_MS = 120;

export class MigrationView {
  readonly axis = new TimeAxis();
  readonly data: ViewData;
  private readonly canvases: TimeCanvas[] = [];
  private readonly extraCanvases: HTMLCanvasElement[] = [];
  private readonly sections = new Map<PanelId, HTMLDetailsElement>();
  private readonly lanes: LanesPanel | null;
  readonly throughput: ThroughputPanel | null;
  private palette: Palette;
  private frame = 0;
  private numbersTimer: ReturnType<typeof setTimeout> | undefined;
  private firstFrameDone = false;
  private readonly summaryEl = el('div', undefined, 'summary');
  private readonly balanceEl = el('div');
  private readonly pcStatsEl = el('div');

  constructor(root: HTMLElement, readonly model: MigrationModel, private readonly hooks: ViewHooks, open: Partial<Record<PanelId, boolean>>) {
    this.palette = readPalette();
    const index = new SummaryIndex(model);
    this.data = { model, index, axis: this.axis, openLine: (s, l) => hooks.openLine(s, l) };
    this.summaryEl.dataset.testid = 'summary';
    root.append(this.summaryEl);
    const hasMultifd = index.send !== null || index.recv !== null;
    this.add(root, 'phases', 'Phases', open, (body) => this.timeCanvas(body, 'Migration phases', new PhaseBar(this.data)));
    this.lanes = hasMultifd ? new LanesPanel(this.data) : null;
    if (this.lanes) {
      const l = this.lanes;
      this.add(root, 'lanes', `Multifd channels (${l.laneCount} lanes)`, open, (body) => {
        body.append(legend([['zeroShare0', 'normal pages'], ['zeroShare10', 'zero pages (colour mixes by share)'], ['unknown', 'page counts unknown'], ['sync', 'sync round'], ['muted', '[ ] channel thread start / end']]));
        this.timeCanvas(body, 'Multifd lanes', l);
      });
    }
    this.throughput = hasMultifd ? new ThroughputPanel(this.data) : null;
    if (this.throughput) { const t = this.throughput; this.add(root, 'throughput', 'Throughput', open, (body) => this.timeCanvas(body, 'Throughput', t)); }
    if (hasMultifd) this.add(root, 'balance', 'Channel balance', open, (body) => body.append(this.balanceEl));
    const pc = model.postcopy;
    if (pc) {
      this.add(root, 'postcopy', `Postcopy faults (${pc.faults.t.length} requests, ${pc.placements.t.length} pages placed)`, open, (body) => {
        body.append(legend([['heatLo', 'fault placed fast'], ['heatHi', 'fault placed slow'], ['unknown', 'never placed'], ['muted', 'page placed']]));
        this.timeCanvas(body, 'Postcopy faults: address against time per RAMBlock', new PostcopyFaultsPanel(this.data, pc));
        if (pc.shared.t.length) body.append(legend(SHARED_KINDS.map((k, i) => [`s${i}`, `shared pages: ${k}`] as const)));
        body.append(this.pcStatsEl);
      });
    }
    this.axis.onChange(() => { this.schedule(); this.scheduleNumbers(); hooks.saved(); });
    new ResizeObserver(() => this.schedule()).observe(root);
    new MutationObserver(() => { this.palette = readPalette(); this.schedule(); this.updateNumbers(); }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
  }

  private add(root: HTMLElement, id: PanelId, title: string, open: Partial<Record<PanelId, boolean>>, fill: (body: HTMLElement) => void): void {
    const d = el('details', undefined, 'panel');
    d.open = open[id] ?? true;
    d.dataset.panel = id;
    d.append(el('summary', title));
    const body = el('div', undefined, 'body');
    d.append(body);
    fill(body);
    d.addEventListener('toggle', () => { this.schedule(); this.hooks.saved(); });
    this.sections.set(id, d);
    root.append(d);
  }

  private timeCanvas(body: HTMLElement, label: string, r: ConstructorParameters<typeof TimeCanvas>[3]): void {
    this.canvases.push(new TimeCanvas(body, label, this.axis, r, (t, x, y) => this.hooks.tooltip(t, x, y)));
  }

  openPanels(): Partial<Record<PanelId, boolean>> {
    const out: Partial<Record<PanelId, boolean>> = {};
    for (const [id, d] of this.sections) out[id] = d.open;
    return out;
  }

  schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.drawNow(); });
  }

  /** Draws every open canvas; the first complete frame after data arrival is measured. */
  drawNow(): void {
    const t0 = performance.now();
    for (const c of this.canvases) if (c.canvas.closest('details')?.open !== false) c.render(this.palette);
    performance.measure('qmig-frame', { start: t0, end: performance.now() });
    if (!this.firstFrameDone) {
      this.firstFrameDone = true;
      if (performance.getEntriesByName('qmig-model-received').length) performance.measure('qmig-first-frame', 'qmig-model-received');
    }
  }

  private scheduleNumbers(): void {
    clearTimeout(this.numbersTimer);
    this.numbersTimer = setTimeout(() => this.updateNumbers(), NUMBERS_DELAY_MS);
  }

  updateNumbers(): void {
    const started = performance.now();
    const focus = this.axis.focus;
    const s = this.data.index.summary({ startNs: focus[0], endNs: focus[1] });
    renderSummary(this.summaryEl, s, focus, this.axis.selection !== null);
    renderBalance(this.balanceEl, s);
    const transit = renderTransit(this.data.index, focus, this.palette);
    if (transit) {
      const box = el('div', undefined, 'transit');
      box.append(el('div', 'send → receive transit per channel (packets per decade)', 'caption'), transit);
      this.balanceEl.append(box);
    }
    this.extraCanvases.length = 0;
    if (transit) this.extraCanvases.push(transit);
    const pc = this.model.postcopy;
    if (pc) this.extraCanvases.push(renderPostcopyStats(this.pcStatsEl, pc, s.postcopy, focus, this.palette));
    document.body.dataset.numbersFor = `${focus[0]}:${focus[1]}`;
    performance.measure('qmig-numbers', { start: started, end: performance.now() });
  }

  csv(): string {
    return csvOf(this.model, this.lanes?.visibleRows() ?? [], this.axis.focus);
  }

  png(): Promise<Uint8Array> {
    return pngOf([...this.canvases.map((c) => c.canvas), ...this.extraCanvases], this.palette.bg);
  }
}

/** A line of coloured swatches; the colours come from CSS classes mapped to theme variables. */
function legend(items: readonly (readonly [string, string])[]): HTMLElement {
  const d = el('div', undefined, 'legend');
  for (const [cls, text] of items) { const s = el('span', text); s.className = `sw ${cls}`; d.append(s); }
  return d;
}
