/**
 * The migration view of one panel: builds the panels once, keeps them on one time axis,
 * draws every canvas in one animation frame and recomputes the numbers for the focused
 * range shortly after the axis settles. A new model (a live update while following) is
 * shown in place: the sections, canvases, zoom, selection and focus stay; only the data
 * each panel draws is replaced. Everything the view starts ends with its lifetime.
 */
import { SHARED_KINDS, type MigrationModel, type Side } from '../../core/analysis/model';
import { SummaryIndex } from '../../core/analysis/summary';
import { el } from '../shared/host';
import { FrameRequest, Timer, type Lifetime } from '../shared/lifetime';
import { csvOf, pngOf } from './exporters';
import { fillDowntimePanel, renderDowntimeNumbers } from './panels/downtime';
import { LanesPanel } from './panels/lanes';
import { PhaseBar } from './panels/phaseBar';
import { PostcopyFaultsPanel } from './panels/postcopyFaults';
import { renderPostcopyStats } from './panels/postcopyStats';
import { ThroughputPanel } from './panels/throughput';
import { renderTransit } from './panels/transitChart';
import type { PanelId } from './protocol';
import { renderBalance, renderSummary } from './tables';
import { readPalette, type Palette } from './theme';
import { dataBounds, TimeAxis } from './timeAxis';
import { TimeCanvas, type PanelRenderer } from './timeCanvas';
import { activityExtent, type ViewData } from './viewData';

export interface ViewHooks {
  openLine(side: Side, line: number): void;
  tooltip(text: string | null, x: number, y: number): void;
  saved(): void;
}

/** How long the numbers wait for the axis to settle before recomputing. */
const NUMBERS_DELAY_MS = 120;

/** Puts a section's content in place (what it starts ends with lifetime) and returns how it takes the data of a new model. */
type Fill = (body: HTMLElement, lifetime: Lifetime) => (data: ViewData) => void;

/** A section of the view: its title for a model (null: the model has nothing for it) and its content. */
interface PanelDef {
  readonly id: PanelId;
  title(data: ViewData): string | null;
  readonly fill: Fill;
}

interface Section {
  readonly details: HTMLDetailsElement;
  readonly heading: HTMLElement;
  readonly lifetime: Lifetime;
  readonly update: (data: ViewData) => void;
}

export type ThroughputMode = 'total' | 'channels';

export class MigrationView {
  readonly axis = new TimeAxis();
  private current: ViewData | null = null;
  private readonly canvases = new Set<TimeCanvas>();
  private extraCanvases: HTMLCanvasElement[] = [];
  private readonly sections = new Map<PanelId, Section>();
  private readonly defs: readonly PanelDef[];
  private lanes: LanesPanel | null = null;
  private throughput: ThroughputPanel | null = null;
  private mode: ThroughputMode = 'total';
  private palette: Palette;
  private readonly frame: FrameRequest;
  private readonly numbersTimer: Timer;
  private firstFrameDone = false;
  private readonly summaryEl = el('div', undefined, 'summary');
  private readonly balanceEl = el('div');
  private readonly pcStatsEl = el('div');
  private readonly downtimeEl = el('div');

  constructor(private readonly root: HTMLElement, private readonly hooks: ViewHooks, private readonly lifetime: Lifetime, private readonly open: Partial<Record<PanelId, boolean>> = {}) {
    this.palette = readPalette();
    this.frame = new FrameRequest(lifetime);
    this.numbersTimer = new Timer(lifetime);
    this.summaryEl.dataset.testid = 'summary';
    root.append(this.summaryEl);
    lifetime.onEnd(() => { for (const s of this.sections.values()) s.details.remove(); this.sections.clear(); this.summaryEl.remove(); });
    this.defs = this.panelDefs();
    this.axis.onChange(() => { if (this.lifetime.ended) return; this.schedule(); this.scheduleNumbers(); hooks.saved(); });
    lifetime.observer(new ResizeObserver(() => this.schedule())).observe(root);
    lifetime.observer(new MutationObserver(() => { this.palette = readPalette(); this.schedule(); this.updateNumbers(); }))
      .observe(document.body, { attributes: true, attributeFilter: ['class'] });
  }

  get model(): MigrationModel | null { return this.current?.model ?? null; }

  private panelDefs(): PanelDef[] {
    const multifd = (d: ViewData): boolean => d.index.send !== null || d.index.recv !== null;
    return [
      { id: 'phases', title: () => 'Phases', fill: (body, lt) => this.timeCanvas(body, lt, 'Migration phases', (d) => new PhaseBar(d)) },
      {
        id: 'lanes',
        title: (d) => (multifd(d) ? `Multifd channels (${laneCount(d)} lanes)` : null),
        fill: (body, lt) => {
          body.append(legend([['zeroShare0', 'normal pages'], ['zeroShare10', 'zero pages (colour mixes by share)'], ['unknown', 'page counts unknown'], ['sync', 'sync round'], ['thread', 'channel thread start / end']]));
          return this.timeCanvas(body, lt, 'Multifd lanes', (d) => (this.lanes = new LanesPanel(d)));
        },
      },
      {
        id: 'throughput',
        title: (d) => (multifd(d) ? 'Throughput' : null),
        fill: (body, lt) => this.timeCanvas(body, lt, 'Throughput', (d) => { const t = new ThroughputPanel(d); t.mode = this.mode; return (this.throughput = t); }),
      },
      { id: 'balance', title: (d) => (multifd(d) ? 'Channel balance' : null), fill: (body) => { body.append(this.balanceEl); return () => undefined; } },
      {
        id: 'postcopy',
        title: (d) => { const pc = d.model.postcopy; return pc ? `Postcopy faults (${pc.faults.t.length} requests, ${pc.placements.t.length} pages placed)` : null; },
        fill: (body, lt) => {
          body.append(legend([['heatLo', 'fault placed fast'], ['heatHi', 'fault placed slow'], ['unknown', 'never placed'], ['muted', 'page placed']]));
          const canvas = this.timeCanvas(body, lt, 'Postcopy faults: address against time per RAMBlock', (d) => new PostcopyFaultsPanel(d, d.model.postcopy!));
          const shared = legend(SHARED_KINDS.map((k, i) => [`sh${i}`, `shared pages: ${k}`] as const));
          body.append(shared, this.pcStatsEl);
          return (d) => { canvas(d); shared.hidden = !d.model.postcopy?.shared.t.length; };
        },
      },
      {
        id: 'downtime',
        title: (d) => (d.model.downtime.source || d.model.downtime.destination ? 'Downtime: where the stop-and-copy went' : null),
        fill: (body, lt) => fillDowntimePanel(body, this.downtimeEl, lt, { axis: this.axis, redraw: () => this.schedule(), canvas: (b, label, make) => this.timeCanvas(b, lt, label, make) }),
      },
    ];
  }

  /**
   * Shows a model: the first one builds the sections (with the zoom and selection a reloaded
   * page restores), later ones replace their data. An unzoomed view grows with the data; a
   * zoomed one keeps its window; the selection stays.
   */
  show(model: MigrationModel, restore?: { readonly view: readonly [number, number] | null; readonly selection: readonly [number, number] | null }): void {
    if (this.lifetime.ended) return;
    const first = this.current === null;
    const data: ViewData = { model, index: new SummaryIndex(model), axis: this.axis, openLine: (s, l) => this.hooks.openLine(s, l) };
    this.current = data;
    this.lanes = null;
    this.throughput = null;
    this.defs.forEach((def, i) => {
      const title = def.title(data);
      let s = this.sections.get(def.id);
      if (title === null) {
        if (s) { s.lifetime.end(); s.details.remove(); this.sections.delete(def.id); }
        return;
      }
      if (!s) {
        s = this.addSection(def);
        // In definition order, without moving the sections already shown (that would take their focus).
        const next = this.defs.slice(i + 1).map((d) => this.sections.get(d.id)).find((x) => x !== undefined);
        this.root.insertBefore(s.details, next?.details ?? null);
      }
      s.heading.textContent = title;
      s.update(data);
    });
    const zoomed = !first && (this.axis.visible[0] !== this.axis.full[0] || this.axis.visible[1] !== this.axis.full[1]);
    const activity = activityExtent(model);
    this.axis.setExtent(activity, dataBounds(model, activity), zoomed);
    if (first && restore?.view) this.axis.setView(restore.view);
    if (first && restore?.selection) this.axis.setSelection(restore.selection);
    this.drawNow();
    this.updateNumbers();
    if (!first) performance.measure('qmig-update', 'qmig-model-received');
  }

  private addSection(def: PanelDef): Section {
    const lifetime = this.lifetime.child();
    const details = el('details', undefined, 'panel');
    details.open = this.open[def.id] ?? true;
    details.dataset.panel = def.id;
    const heading = el('summary');
    details.append(heading);
    const body = el('div', undefined, 'body');
    details.append(body);
    details.addEventListener('toggle', () => { this.schedule(); this.hooks.saved(); }, { signal: lifetime.signal });
    const section: Section = { details, heading, lifetime, update: def.fill(body, lifetime) };
    this.sections.set(def.id, section);
    return section;
  }

  /** A canvas on the shared axis whose renderer is made again from each model's data. */
  private timeCanvas(body: HTMLElement, lifetime: Lifetime, label: string, make: (data: ViewData) => PanelRenderer): (data: ViewData) => void {
    // The canvas comes with the first data, in the place the section gave it.
    const holder = el('div');
    body.append(holder);
    let c: TimeCanvas | null = null;
    return (data) => {
      const r = make(data);
      if (c) { c.renderer = r; return; }
      c = new TimeCanvas(holder, label, this.axis, r, (t, x, y) => this.hooks.tooltip(t, x, y), lifetime);
      const made = c;
      this.canvases.add(made);
      lifetime.onEnd(() => this.canvases.delete(made));
    };
  }

  get throughputMode(): ThroughputMode { return this.mode; }

  set throughputMode(m: ThroughputMode) {
    this.mode = m;
    if (this.throughput) this.throughput.mode = m;
    this.schedule();
  }

  openPanels(): Partial<Record<PanelId, boolean>> {
    const out: Partial<Record<PanelId, boolean>> = { ...this.open };
    for (const [id, s] of this.sections) out[id] = s.details.open;
    return out;
  }

  schedule(): void {
    this.frame.request(() => this.drawNow());
  }

  /** Draws every open canvas; the first complete frame after data arrival is measured. */
  drawNow(): void {
    if (this.lifetime.ended) return;
    const t0 = performance.now();
    for (const c of this.canvases) if (c.canvas.closest('details')?.open !== false) c.render(this.palette);
    performance.measure('qmig-frame', { start: t0, end: performance.now() });
    if (!this.firstFrameDone) {
      this.firstFrameDone = true;
      if (performance.getEntriesByName('qmig-model-received').length) performance.measure('qmig-first-frame', 'qmig-model-received');
    }
  }

  private scheduleNumbers(): void {
    this.numbersTimer.schedule(() => this.updateNumbers(), NUMBERS_DELAY_MS);
  }

  updateNumbers(): void {
    const data = this.current;
    if (!data || this.lifetime.ended) return;
    const started = performance.now();
    const focus = this.axis.focus;
    const s = data.index.summary({ startNs: focus[0], endNs: focus[1] });
    renderSummary(this.summaryEl, s, focus, this.axis.visible, this.axis.selection !== null);
    renderBalance(this.balanceEl, s);
    const transit = renderTransit(data.index, focus, this.palette);
    if (transit) {
      const box = el('div', undefined, 'transit');
      box.append(el('div', 'send → receive transit per channel (packets per decade)', 'caption'), transit);
      this.balanceEl.append(box);
    }
    this.extraCanvases = [];
    if (transit) this.extraCanvases.push(transit);
    const pc = data.model.postcopy;
    if (pc) this.extraCanvases.push(renderPostcopyStats(this.pcStatsEl, pc, s.postcopy, focus, this.palette));
    renderDowntimeNumbers(this.downtimeEl, s.downtime);
    document.body.dataset.numbersFor = `${focus[0]}:${focus[1]}`;
    performance.measure('qmig-numbers', { start: started, end: performance.now() });
  }

  csv(): string {
    return this.current ? csvOf(this.current.model, this.lanes?.visibleRows() ?? [], this.axis.focus) : '';
  }

  png(): Promise<Uint8Array> {
    // Top to bottom, as the panels are shown.
    const shown = [...this.canvases].map((c) => c.canvas).sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
    return pngOf([...shown, ...this.extraCanvases], this.palette.bg);
  }
}

function laneCount(d: ViewData): number {
  return (d.index.send?.side.channels.length ?? 0) + (d.index.recv?.side.channels.length ?? 0);
}

/** A line of coloured swatches; the colours come from CSS classes mapped to theme variables. */
function legend(items: readonly (readonly [string, string])[]): HTMLElement {
  const d = el('div', undefined, 'legend');
  for (const [cls, text] of items) { const s = el('span', text); s.className = `sw ${cls}`; d.append(s); }
  return d;
}
