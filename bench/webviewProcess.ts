/**
 * The migration view's webview for the benchmarks, in a process of its own as in VS Code: the
 * real bundle (dist/migrationView.js) in headless Chromium (acquireVsCodeApi is a test double,
 * see test/support/migrationViewPage.ts). The bench process plays the extension host and
 * posts the view's messages here over IPC; this process hands each to the page, waits until
 * the view has shown it (its handler ran and the next frame came) and says so, with the number
 * of events the view shows. Messages the page posts (its 'ready') go back to the host.
 *
 * Parent side: startWebview(). Child side: this file run with --child.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { chromium, type CDPSession, type Page } from 'playwright-core';
import type { ToWebview } from '../src/webview/migrationView/protocol';
import { encodeMessage, loadView } from '../test/support/migrationViewPage';

const repoRoot = resolve(__dirname, '..');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** What the view reports after showing a message. */
export interface Shown {
  readonly seq: number;
  /** Events of the source trace the view shows. */
  readonly events: number;
  /** Wall-clock ms when the message was handed to the page and when the frame after it came. */
  readonly receivedAt: number;
  readonly shownAt: number;
  /** In the page: from the message's arrival to the end of its handler (apply, index, draw, numbers). */
  readonly handleMs: number;
}

export interface PageMemory { readonly usedMiB: number; readonly totalMiB: number }

type ToChild = { kind: 'post'; msg: ToWebview } | { kind: 'memory'; gc: boolean; id: number } | { kind: 'close' };
type FromChild = { kind: 'shown'; shown: Shown } | { kind: 'fromPage'; msg: unknown } | { kind: 'memory'; id: number; memory: PageMemory } | { kind: 'error'; message: string };

export interface WebviewProcess {
  post(msg: ToWebview): void;
  onShown(f: (s: Shown) => void): void;
  onFromPage(f: (msg: unknown) => void): void;
  memory(gc: boolean): Promise<PageMemory>;
  close(): Promise<void>;
}

/** Starts the webview process; resolves when its page has loaded the bundle. */
export function startWebview(): Promise<WebviewProcess> {
  const child: ChildProcess = fork(__filename, ['--child'], { serialization: 'advanced', execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const shown: ((s: Shown) => void)[] = [];
  const fromPage: ((m: unknown) => void)[] = [];
  const pending = new Map<number, (m: PageMemory) => void>();
  let id = 0;
  return new Promise((resolveStart, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`webview process exited with ${code}`)));
    child.on('message', (m: FromChild | { kind: 'started' }) => {
      switch (m.kind) {
        case 'started':
          resolveStart({
            post: (msg) => child.send({ kind: 'post', msg } satisfies ToChild),
            onShown: (f) => shown.push(f),
            onFromPage: (f) => fromPage.push(f),
            memory: (gc) => new Promise((r) => { pending.set(++id, r); child.send({ kind: 'memory', gc, id } satisfies ToChild); }),
            close: () => new Promise((r) => { child.removeAllListeners('exit'); child.once('exit', () => r()); child.send({ kind: 'close' } satisfies ToChild); }),
          });
          return;
        case 'shown': for (const f of shown) f(m.shown); return;
        case 'fromPage': for (const f of fromPage) f(m.msg); return;
        case 'memory': pending.get(m.id)?.(m.memory); pending.delete(m.id); return;
        case 'error': console.error(`webview: ${m.message}`); return;
      }
    });
  });
}

async function child(): Promise<void> {
  const send = (m: FromChild | { kind: 'started' }): void => { process.send!(m); };
  const browser = await chromium.launch({ executablePath: process.env.QMW_CHROMIUM ?? '/usr/bin/chromium', args: FLAGS, headless: true });
  const page: Page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => send({ kind: 'error', message: e.message }));
  await loadView(page, repoRoot);
  const cdp: CDPSession = await page.context().newCDPSession(page);
  let relayed = 0;
  const relay = async (): Promise<void> => {
    const posted = await page.evaluate((from) => (window as unknown as { __posted: unknown[] }).__posted.slice(from), relayed);
    relayed += posted.length;
    for (const msg of posted) send({ kind: 'fromPage', msg });
  };
  // Messages are handed to the page one at a time, in order.
  let queue = Promise.resolve();
  const show = async (msg: ToWebview): Promise<void> => {
    const receivedAt = Date.now();
    const r = await page.evaluate(async (text) => {
      const m = (window as unknown as { __decode(t: string): { seq?: number } }).__decode(text);
      const t0 = performance.now();
      // The view's listener came first: this one runs once it has handled the message.
      const handled = new Promise<number>((done) => window.addEventListener('message', () => done(performance.now()), { once: true }));
      window.postMessage(m, '*');
      const t1 = await handled;
      await new Promise((f) => requestAnimationFrame(() => f(null)));
      return { seq: m.seq ?? -1, events: Number(document.body.dataset.eventsSrc ?? 0), handleMs: t1 - t0 };
    }, encodeMessage(msg));
    send({ kind: 'shown', shown: { ...r, receivedAt, shownAt: Date.now() } });
    await relay();
  };
  const timer = setInterval(() => { queue = queue.then(relay).catch(() => undefined); }, 100);
  process.on('message', (m: ToChild) => {
    if (m.kind === 'post') { queue = queue.then(() => show(m.msg)).catch((e: unknown) => send({ kind: 'error', message: String(e) })); return; }
    if (m.kind === 'memory') {
      queue = queue.then(async () => {
        if (m.gc) await cdp.send('HeapProfiler.collectGarbage');
        const h = await cdp.send('Runtime.getHeapUsage') as { usedSize: number; totalSize: number; backingStorageSize?: number };
        const backing = h.backingStorageSize ?? 0;
        send({ kind: 'memory', id: m.id, memory: { usedMiB: (h.usedSize + backing) / 2 ** 20, totalMiB: (h.totalSize + backing) / 2 ** 20 } });
      });
      return;
    }
    if (m.kind === 'close') {
      clearInterval(timer);
      void queue.then(() => browser.close()).finally(() => process.exit(0));
    }
  });
  send({ kind: 'started' });
}

if (process.argv.includes('--child')) void child().catch((e: unknown) => { console.error(e); process.exit(1); });
