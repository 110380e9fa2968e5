/**
 * A canvas on the shared time axis: device-pixel sizing, the interactions every panel
 * shares (wheel zoom, drag pan, shift-drag or Alt-drag selection, double-click reset,
 * keyboard) and the selection overlay. What it shows comes from a PanelRenderer.
 */
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

export class TimeCanvas {
  readonly canvas: HTMLCanvasElement;
  private width = 0;
  private dragFrom: { x: number; t: number; select: boolean; moved: boolean } | null = null;

  constructor(
    parent: HTMLElement,
    label: string,
    private readonly axis: TimeAxis,
    private readonly renderer: PanelRenderer,
    private readonly tooltip: (text: string | null, x: number, y: number) => void,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', `${label}. Mouse wheel or + and − zoom, drag or arrow keys pan, Shift+drag selects a range, double-click or Home resets, Escape clears the selection.`);
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
    c.addEventListener('wheel', (e) => {
      e.preventDefault();
      const { x } = this.local(e);
      if (x < LABEL_W) return;
      if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) this.axis.panBy(e.deltaX / Math.max(1, this.width));
      else this.axis.zoomAt(this.plotFrac(x), Math.pow(1.0015, e.deltaY));
    }, { passive: false });
    c.addEventListener('mousedown', (e) => {
      const { x } = this.local(e);
      if (x < LABEL_W || e.button !== 0) return;
      this.dragFrom = { x, t: this.tAtX(x), select: e.shiftKey || e.altKey, moved: false };
    });
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
    });
    window.addEventListener('mouseup', (e) => {
      const d = this.dragFrom;
      this.dragFrom = null;
      if (!d || d.moved || e.target !== c) return;
      const { x, y } = this.local(e);
      this.renderer.click?.(x, y, this.width, this.cssHeight());
    });
    c.addEventListener('mousemove', (e) => {
      if (this.dragFrom?.moved) return;
      const { x, y } = this.local(e);
      this.tooltip(this.renderer.hover?.(x, y, this.width, this.cssHeight()) ?? null, e.clientX, e.clientY);
    });
    c.addEventListener('mouseleave', () => this.tooltip(null, 0, 0));
    c.addEventListener('dblclick', () => this.axis.reset());
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
    });
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
