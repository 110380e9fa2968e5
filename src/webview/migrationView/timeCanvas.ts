/**
 * A canvas on the shared time axis: device-pixel sizing, the interactions every panel
 * shares (Ctrl+wheel zoom, drag pan, shift-drag or Alt-drag selection, double-click reset,
 * keyboard) and the selection overlay. What it shows comes from a PanelRenderer.
 */
import type { Lifetime } from '../shared/lifetime';
import type { Palette } from './theme';
import type { TimeAxis } from './timeAxis';

/** Left column for lane labels; every time panel starts its plot there so x lines up. */
export const LABEL_W = 110;

export interface PanelRenderer {
  height(): number;
  /** Draws in CSS pixels; the plot spans [LABEL_W, w). */
  draw(ctx: CanvasRenderingContext2D, w: number, h: number, pal: Palette): void;
  /** Tooltip text at (x, y), or null. */
  hover?(x: number, y: number, w: number, h: number): string | null;
  click?(x: number, y: number, w: number, h: number): void;
}

/**
 * Its listeners (on the canvas and on the window, for drags that leave it) go with the
 * lifetime it is given; the renderer is replaced when the view's data is updated, so a
 * drag, the focus and the hover survive an update.
 */
export class TimeCanvas {
  readonly canvas: HTMLCanvasElement;
  private width = 0;
  private dragFrom: { x: number; t: number; select: boolean; moved: boolean } | null = null;

  constructor(
    parent: HTMLElement,
    label: string,
    private readonly axis: TimeAxis,
    public renderer: PanelRenderer,
    private readonly tooltip: (text: string | null, x: number, y: number) => void,
    private readonly lifetime: Lifetime,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', `${label}. Ctrl+wheel (or the wheel once the chart has focus), + and − zoom; drag or arrow keys pan, Shift+drag selects a range, double-click or Home resets, Escape clears the selection.`);
    parent.append(this.canvas);
    this.wire();
  }

  private plotFrac(x: number): number {
    return Math.min(1, Math.max(0, (x - LABEL_W) / Math.max(1, this.width - LABEL_W)));
  }

  private local(e: MouseEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  private tAtX(x: number): number {
    return this.axis.tAt(x - LABEL_W, this.width - LABEL_W);
  }

  private wire(): void {
    const c = this.canvas;
    const { signal } = this.lifetime;
    // The plain wheel scrolls the page; Ctrl/⌘+wheel (a trackpad pinch sends ctrlKey too) or
    // any wheel over a focused chart zooms. A sideways wheel or swipe pans.
    c.addEventListener('wheel', (e) => {
      const { x } = this.local(e);
      if (x < LABEL_W) return;
      const sideways = Math.abs(e.deltaX) > Math.abs(e.deltaY);
      const zoom = e.ctrlKey || e.metaKey || document.activeElement === c;
      if (!sideways && !zoom) return;
      e.preventDefault();
      const delta = e.deltaMode === WheelEvent.DOM_DELTA_LINE ? 16 : e.deltaMode === WheelEvent.DOM_DELTA_PAGE ? 400 : 1;
      if (sideways) this.axis.panBy((e.deltaX * delta) / Math.max(1, this.width - LABEL_W));
      else this.axis.zoomAt(this.plotFrac(x), Math.pow(1.0015, e.deltaY * delta));
    }, { passive: false, signal });
    c.addEventListener('mousedown', (e) => {
      const { x } = this.local(e);
      if (x < LABEL_W || e.button !== 0) return;
      this.dragFrom = { x, t: this.tAtX(x), select: e.shiftKey || e.altKey, moved: false };
    }, { signal });
    window.addEventListener('mousemove', (e) => {
      const d = this.dragFrom;
      if (!d) return;
      const { x } = this.local(e);
      if (Math.abs(x - d.x) > 3) d.moved = true;
      if (!d.moved) return;
      if (d.select) {
        const t = this.tAtX(x);
        this.axis.setSelection([Math.min(d.t, t), Math.max(d.t, t)]);
      } else {
        this.axis.panBy((d.x - x) / Math.max(1, this.width - LABEL_W));
        d.x = x;
      }
    }, { signal });
    window.addEventListener('mouseup', (e) => {
      const d = this.dragFrom;
      this.dragFrom = null;
      if (!d || d.moved || e.target !== c) return;
      const { x, y } = this.local(e);
      this.renderer.click?.(x, y, this.width, this.cssHeight());
    }, { signal });
    c.addEventListener('mousemove', (e) => {
      if (this.dragFrom?.moved) return;
      const { x, y } = this.local(e);
      this.tooltip(this.renderer.hover?.(x, y, this.width, this.cssHeight()) ?? null, e.clientX, e.clientY);
    }, { signal });
    c.addEventListener('mouseleave', () => this.tooltip(null, 0, 0), { signal });
    c.addEventListener('dblclick', () => this.axis.reset(), { signal });
    c.addEventListener('keydown', (e) => {
      switch (e.key) {
        case '+': case '=': this.axis.zoomAt(0.5, 0.8); break;
        case '-': case '_': this.axis.zoomAt(0.5, 1.25); break;
        case 'ArrowLeft': this.axis.panBy(-0.1); break;
        case 'ArrowRight': this.axis.panBy(0.1); break;
        case 'Home': case '0': this.axis.reset(); break;
        case 'Escape': this.axis.setSelection(null); break;
        default: return;
      }
      e.preventDefault();
    }, { signal });
  }

  private cssHeight(): number {
    return this.renderer.height();
  }

  /** Resizes to the parent's width and the renderer's height, then draws. */
  render(pal: Palette): void {
    const w = Math.max(LABEL_W + 50, this.canvas.parentElement?.clientWidth ?? 600);
    const h = this.cssHeight();
    const dpr = window.devicePixelRatio || 1;
    if (this.width !== w || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${h}px`;
    }
    this.width = w;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = pal.font;
    this.renderer.draw(ctx, w, h, pal);
    const sel = this.axis.selection;
    if (sel) {
      const pw = w - LABEL_W;
      const x0 = Math.max(LABEL_W, LABEL_W + this.axis.xAt(sel[0], pw));
      const x1 = Math.min(w, LABEL_W + this.axis.xAt(sel[1], pw));
      if (x1 > x0) {
        ctx.fillStyle = pal.selection;
        ctx.globalAlpha = 0.35;
        ctx.fillRect(x0, 0, x1 - x0, h);
        ctx.globalAlpha = 1;
        ctx.strokeStyle = pal.focus;
        ctx.strokeRect(x0 + 0.5, 0.5, x1 - x0 - 1, h - 1);
      }
    }
  }
}
