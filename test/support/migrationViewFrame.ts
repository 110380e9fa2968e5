/** The migration view inside code-server: its webview document, its figures and how a recording is opened in it. */
import assert from 'node:assert/strict';
import type { FrameLocator, Locator } from 'playwright-core';
import type { Workbench } from './codeServer';

/** The migration view's document inside VS Code's two webview iframes (the last one opened). */
export function viewFrame(wb: Workbench): FrameLocator {
  return wb.page.frameLocator('iframe.webview.ready >> nth=-1').frameLocator('#active-frame');
}

/** The value shown by the figure with data-testid id. */
export async function statValue(frame: FrameLocator, id: string): Promise<string> {
  return (await frame.locator(`[data-testid="${id}"] .value`).innerText()).trim();
}

/** Opens a Recordings row in the migration view through its inline action. */
export async function openRow(wb: Workbench, text: string): Promise<void> {
  const row = wb.viewRows('Recordings').filter({ hasText: text }).first();
  await row.waitFor({ timeout: 30_000 });
  await row.hover();
  await row.locator('a.action-label[aria-label="Open in Migration View"]').click();
}

/** Moves across a lane of the lanes canvas until the tooltip names a packet's trace line; returns the x and that line. */
export async function findMark(frame: FrameLocator, canvas: Locator, y: number): Promise<{ x: number; line: number }> {
  const box = await canvas.boundingBox();
  assert.ok(box, 'the lanes canvas has a box');
  for (let x = 112; x < box.width - 2; x += 2) {
    await canvas.hover({ position: { x, y } });
    const tip = frame.locator('.tooltip.shown');
    if (await tip.count()) {
      const m = /opens (?:the first )?\(?line (\d+)/.exec(await tip.innerText());
      if (m) return { x, line: Number(m[1]) };
    }
  }
  throw new Error('no packet mark found along the first lane');
}


/** What a theme makes of the view: its background, how readable a figure is on it, how many pixels of a canvas stand out. */
export interface ThemeReading {
  /** Relative luminance (WCAG) of the view's background, 0 black to 1 white. */
  readonly backgroundLuminance: number;
  /** WCAG contrast ratio of a figure's text against the background. */
  readonly textContrast: number;
  /** Pixels of the canvas whose colour, laid over the background, has a contrast ratio of 3 or more against it. */
  readonly visiblePixels: number;
}

/**
 * Reads the colours the view is drawn in: the body's background (the document's, or the theme's
 * editor background, where the body is transparent), the text colour of the figure `figureId`,
 * and the pixels of `canvasSelector`.
 */
export async function readTheme(frame: FrameLocator, figureId: string, canvasSelector: string): Promise<ThemeReading> {
  // The tests run through tsx, which keeps the names of the inner functions below with a
  // `__name` helper the webview's document does not have: give it one.
  await frame.locator('body').evaluate('globalThis.__name ??= (f) => f');
  return frame.locator('body').evaluate((body, [figure, canvasSel]) => {
    const parse = (c: string): [number, number, number, number] | undefined => {
      const hex = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(c.trim());
      if (hex) {
        const n = parseInt(hex[1]!, 16);
        return [(n >> 16) & 255, (n >> 8) & 255, n & 255, hex[2] ? parseInt(hex[2], 16) / 255 : 1];
      }
      const m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(c.trim());
      return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])] : undefined;
    };
    const lum = ([r, g, b]: readonly number[]): number => {
      const ch = (v: number): number => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * ch(r!) + 0.7152 * ch(g!) + 0.0722 * ch(b!);
    };
    const ratio = (a: number, b: number): number => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const opaque = (c: string | undefined): [number, number, number, number] | undefined => {
      const p = c === undefined ? undefined : parse(c);
      return p && p[3] > 0.99 ? p : undefined;
    };
    const styles = getComputedStyle(body);
    const bg = opaque(styles.backgroundColor)
      ?? opaque(getComputedStyle(document.documentElement).backgroundColor)
      ?? opaque(styles.getPropertyValue('--vscode-editor-background'));
    if (!bg) throw new Error(`no opaque background: body ${styles.backgroundColor}, --vscode-editor-background ${styles.getPropertyValue('--vscode-editor-background')}`);
    const bgLum = lum(bg);
    const figureEl = document.querySelector(`[data-testid="${figure}"]`);
    const text = figureEl ? parse(getComputedStyle(figureEl).color) : undefined;
    if (!text) throw new Error(`no figure ${figure}`);
    const canvas = document.querySelector(canvasSel);
    if (!(canvas instanceof HTMLCanvasElement)) throw new Error(`no canvas ${canvasSel}`);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error(`no 2d context for ${canvasSel}`);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let visible = 0;
    for (let i = 0; i < px.length; i += 4) {
      const a = px[i + 3]! / 255;
      if (a === 0) continue;
      const over = [0, 1, 2].map((k) => a * px[i + k]! + (1 - a) * bg[k]!);
      if (ratio(lum(over), bgLum) >= 3) visible++;
    }
    return { backgroundLuminance: bgLum, textContrast: ratio(lum(text), bgLum), visiblePixels: visible };
  }, [figureId, canvasSelector] as const);
}
