/**
 * Loads the real migration view bundle (dist/migrationView.js) in a plain Chromium page,
 * outside VS Code, for the benchmark and quick visual checks. `acquireVsCodeApi` there is a
 * test double: it records the messages the view posts and keeps its state in memory.
 * Theme variables are a fixed dark or light set, like the ones VS Code injects.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { MigrationModel } from '../../src/core/analysis/model';

const THEMES: Record<'dark' | 'light', Record<string, string>> = {
  dark: {
    'foreground': '#cccccc', 'editor-foreground': '#d4d4d4', 'editor-background': '#1e1e1e', 'descriptionForeground': '#9d9d9d',
    'panel-border': '#454545', 'editorWidget-border': '#454545', 'charts-blue': '#3794ff', 'charts-yellow': '#cca700', 'charts-green': '#89d185',
    'charts-red': '#f14c4c', 'charts-orange': '#d18616', 'charts-purple': '#b180d7', 'focusBorder': '#007fd4', 'editor-selectionBackground': '#264f78',
    'font-family': 'sans-serif', 'font-size': '13px', 'button-secondaryBackground': '#3a3d41', 'button-secondaryForeground': '#cccccc',
    'editorHoverWidget-background': '#252526', 'editorHoverWidget-foreground': '#cccccc', 'editorHoverWidget-border': '#454545', 'sideBar-background': '#252526',
    'terminal-ansiCyan': '#11a8cd', 'terminal-ansiMagenta': '#bc3fbc',
  },
  light: {
    'foreground': '#616161', 'editor-foreground': '#3b3b3b', 'editor-background': '#ffffff', 'descriptionForeground': '#717171',
    'panel-border': '#e5e5e5', 'editorWidget-border': '#c8c8c8', 'charts-blue': '#1a85ff', 'charts-yellow': '#bf8803', 'charts-green': '#388a34',
    'charts-red': '#e51400', 'charts-orange': '#d18616', 'charts-purple': '#652d90', 'focusBorder': '#005fb8', 'editor-selectionBackground': '#add6ff',
    'font-family': 'sans-serif', 'font-size': '13px', 'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b',
    'editorHoverWidget-background': '#f8f8f8', 'editorHoverWidget-foreground': '#3b3b3b', 'editorHoverWidget-border': '#c8c8c8', 'sideBar-background': '#f8f8f8',
    'terminal-ansiCyan': '#0598bc', 'terminal-ansiMagenta': '#bc05bc',
  },
};

export function pageHtml(repoRoot: string, theme: 'dark' | 'light', state?: unknown): string {
  const vars = Object.entries(THEMES[theme]).map(([k, v]) => `--vscode-${k}: ${v};`).join(' ');
  const css = readFileSync(join(repoRoot, 'media', 'migrationView.css'), 'utf8');
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><style>:root { ${vars} } ${css}</style>
<script>
  // Callbacks passed to page.evaluate from TypeScript run through tsx, whose esbuild wraps named functions in __name().
  window.__name = (f) => f;
  // Test double of VS Code's webview API: records posted messages, keeps state in memory.
  window.__posted = [];
  window.__state = ${state === undefined ? 'undefined' : JSON.stringify(state).replace(/</g, '\\u003c')};
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__posted.push(m),
    getState: () => window.__state,
    setState: (s) => { window.__state = s; },
  });
  // The other half of encodeMessage: typed arrays back from {$t, b: base64}.
  window.__decode = (text) => JSON.parse(text, (_k, v) => {
    if (!v || typeof v !== 'object' || !v.$t || v.b === undefined) return v;
    const bin = atob(v.b);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new window[v.$t](bytes.buffer);
  });
</script></head><body class="vscode-${theme}"><div id="root"></div></body></html>`;
}

/** Opens the view in page (with the state a reloaded webview gets back) and waits until it has said 'ready'. */
export async function loadView(page: Page, repoRoot: string, theme: 'dark' | 'light' = 'dark', state?: unknown): Promise<void> {
  await page.setContent(pageHtml(repoRoot, theme, state));
  await page.addScriptTag({ content: readFileSync(join(repoRoot, 'dist', 'migrationView.js'), 'utf8') });
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
}

/** Typed arrays as {$t: constructor name, b: base64} so a message survives page.evaluate's JSON; `window.__decode` in the page undoes it. */
export function encodeMessage(message: unknown): string {
  return JSON.stringify(message, (_k, v: unknown) => {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      return { $t: v.constructor.name, b: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
    }
    return v;
  });
}

/** Posts a model message to the view (as the host would) and resolves when its first frame is measured. */
export async function postModel(page: Page, model: MigrationModel, title: string, files: string[]): Promise<void> {
  await page.evaluate((text) => {
    window.postMessage((window as unknown as { __decode(t: string): unknown }).__decode(text), '*');
  }, encodeMessage({ type: 'model', title, files, model, live: false, following: false }));
  await page.waitForFunction(() => performance.getEntriesByName('qmig-first-frame').length > 0);
}
