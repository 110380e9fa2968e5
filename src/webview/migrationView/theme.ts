/** Colours of the view, read from the --vscode-* theme variables (re-read when the theme changes). */
import { themeColor } from '../shared/host';

export interface Palette {
  readonly fg: string;
  readonly muted: string;
  readonly grid: string;
  readonly bg: string;
  readonly normal: string;
  readonly zero: string;
  readonly unknown: string;
  readonly sync: string;
  readonly selection: string;
  readonly focus: string;
  /** 11 steps from all-normal (0) to all-zero (10) pages. */
  readonly zeroShare: readonly string[];
  /** 11 steps from fast (0) to slow (10). */
  readonly heat: readonly string[];
  readonly series: readonly string[];
  /**
   * One colour per SHARED_KINDS entry (request, present, wake, backendFault, backendWaker),
   * none of them the heat scale's green or red nor "never placed" purple, so a shared-page
   * mark never reads as a fault's latency (media/migrationView.css .sw.sh0–sh4 match).
   */
  readonly shared: readonly string[];
  readonly font: string;
}

type Rgb = [number, number, number, number];

export function parseColor(c: string): Rgb | null {
  const h = /^#([0-9a-f]{3,8})$/i.exec(c.trim());
  if (h) {
    const s = h[1]!;
    const x = s.length <= 4 ? [...s].map((d) => d + d).join('') : s;
    const n = (i: number): number => parseInt(x.slice(i, i + 2), 16);
    return [n(0), n(2), n(4), x.length >= 8 ? n(6) / 255 : 1];
  }
  const r = /^rgba?\(([^)]+)\)$/i.exec(c.trim());
  if (r) {
    const p = r[1]!.split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0, p[3] ?? 1];
  }
  return null;
}

function mix(a: string, b: string, f: number): string {
  const x = parseColor(a), y = parseColor(b);
  if (!x || !y) return f < 0.5 ? a : b;
  const m = (i: number): number => Math.round(x[i]! + (y[i]! - x[i]!) * f);
  return `rgb(${m(0)}, ${m(1)}, ${m(2)})`;
}

function steps(a: string, b: string): string[] {
  return Array.from({ length: 11 }, (_, i) => mix(a, b, i / 10));
}

export function readPalette(): Palette {
  const normal = themeColor('charts-blue', '#3794ff');
  const zero = themeColor('charts-yellow', '#cca700');
  const green = themeColor('charts-green', '#89d185');
  const red = themeColor('charts-red', '#f14c4c');
  const family = getComputedStyle(document.body).getPropertyValue('--vscode-font-family').trim() || 'sans-serif';
  return {
    fg: themeColor('editor-foreground', '#cccccc'),
    muted: themeColor('descriptionForeground', '#9d9d9d'),
    grid: themeColor('editorWidget-border', themeColor('panel-border', '#454545')),
    bg: themeColor('editor-background', '#1e1e1e'),
    normal, zero,
    unknown: themeColor('charts-purple', '#b180d7'),
    sync: red,
    selection: themeColor('editor-selectionBackground', 'rgba(38, 79, 120, 0.6)'),
    focus: themeColor('focusBorder', '#007fd4'),
    zeroShare: steps(normal, zero),
    heat: steps(green, red),
    series: [normal, themeColor('charts-orange', '#d18616'), green, themeColor('charts-purple', '#b180d7'), red, zero, themeColor('terminal-ansiCyan', '#11a8cd'), themeColor('terminal-ansiMagenta', '#bc3fbc')],
    // The frequent kinds (wake, backendWaker) get colours strong in light themes too; charts-orange is pale there.
    shared: [normal, zero, themeColor('terminal-ansiMagenta', '#bc3fbc'), themeColor('charts-orange', '#d18616'), themeColor('terminal-ansiCyan', '#11a8cd')],
    font: `11px ${family}`,
  };
}
