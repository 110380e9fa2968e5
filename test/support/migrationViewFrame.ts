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

