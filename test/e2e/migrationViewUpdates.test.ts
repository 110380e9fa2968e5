// The migration view's bundle in headless Chromium (acquireVsCodeApi is a test double) taking
// one model after another, as it does while following a growing trace: the page keeps one
// view (same canvases, focus and zoom), shows each model's numbers, and what the earlier
// models held is released (window listeners and heap stay put).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromium, type CDPSession, type Page } from 'playwright-core';
import { chromiumInstalled, chromiumPath, repoRoot } from '../support/codeServer';
import { requireComponent } from '../support/components';
import { loadView } from '../support/migrationViewPage';

/**
 * Builds a multifd model of `packets` packets over 4 channels inside the page and posts it as
 * a live update from the host (buffers transferred); resolves once the view has shown it.
 */
async function postSynthetic(page: Page, packets: number, seq: number): Promise<void> {
  await page.evaluate(async ([n, seq]) => {
    const channels = 4, per = Math.floor(n / channels), total = per * channels;
    const t = new Float64Array(total), num = new Float64Array(total), normal = new Uint32Array(total), zero = new Uint32Array(total);
    const bytes = new Uint32Array(total), flags = new Uint32Array(total), line = new Uint32Array(total);
    const laneStart = new Uint32Array(channels + 1);
    for (let k = 0; k < channels; k++) {
      laneStart[k] = k * per;
      for (let j = 0; j < per; j++) {
        const i = k * per + j;
        t[i] = j * 1e5 + k; num[i] = j * channels + k; normal[i] = 100; zero[i] = 28; bytes[i] = 100 * 4096; line[i] = i + 1;
      }
    }
    laneStart[channels] = total;
    const model = {
      originNs: '0',
      traces: [{ side: 'src', path: '/tmp/live/src-trace.log', version: '9.0', catalogue: { label: 'built-in QEMU 9.0', source: 'builtin:qemu-9.0', origin: 'built-in', version: '9.0', reason: 'synthetic model', share: 1, sampleEventLines: 0, warning: null, fits: [] }, unknownEvents: 0, events: total, malformed: 0, lines: total, firstNs: 0, lastNs: per * 1e5, parseMs: 0 }],
      send: {
        side: 'src', format: 'normal+zero', knows: { normalPages: true, zeroPages: true, bytes: true }, channels: [0, 1, 2, 3], laneStart,
        packets: { t, packetNum: num, normal, zero, bytes, flags, line }, syncs: [], threads: [], crossCheck: [], limits: [],
        bytesRule: { payload: 'pages', pageSize: 4096, pageSizeFrom: 'assumed', headerBytes: 1344, handshakeBytes: 64, staleSizes: 0, tracedSizeBytes: 0 },
      },
      recv: null, postcopy: null, phases: [], downtime: { source: null, destination: null, reported: null, sameClock: false },
      qemu: { src: null, dst: null, wall: null, tracedCounters: null, maxBandwidth: null }, postcopyRequests: { servedBySource: null, newOnDestination: null },
    };
    const marks = performance.getEntriesByName('qmig-numbers').length;
    window.postMessage({ type: 'model', title: `live ${seq}`, files: ['/tmp/live/src-trace.log'], model, live: true, following: true }, '*',
      [t, num, normal, zero, bytes, flags, line, laneStart].map((a) => a.buffer));
    while (performance.getEntriesByName('qmig-numbers').length === marks) await new Promise((r) => setTimeout(r, 5));
  }, [packets, seq] as const);
}

/** Listeners on window by event type, as DevTools lists them. */
async function windowListeners(cdp: CDPSession): Promise<Record<string, number>> {
  const { result } = await cdp.send('Runtime.evaluate', { expression: 'window' });
  const { listeners } = await cdp.send('DOMDebugger.getEventListeners', { objectId: result.objectId! });
  const out: Record<string, number> = {};
  for (const l of listeners) out[l.type] = (out[l.type] ?? 0) + 1;
  return out;
}

async function heapAfterGc(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.collectGarbage');
  const h = await cdp.send('Runtime.getHeapUsage');
  return h.usedSize + ((h as { backingStorageSize?: number }).backingStorageSize ?? 0);
}

test('migration view: live models update one view in place and release the old ones', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, 'chromium', chromiumInstalled())) return;
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const cdp = await page.context().newCDPSession(page);
  await loadView(page, repoRoot);

  // 400,000 packets: 13 MiB of columns per model.
  const N = 400_000;
  await postSynthetic(page, N, 0);
  const lanes = page.locator('details[data-panel="lanes"] canvas');
  await lanes.evaluate((c) => { (c as HTMLCanvasElement & { tagged?: boolean }).tagged = true; });
  await lanes.focus();
  await lanes.press('+');
  const zoomed = await page.evaluate(() => (window as unknown as { __state: { view: number[] } }).__state.view);
  const listenersBefore = await windowListeners(cdp);
  const heapBefore = await heapAfterGc(cdp);

  for (let i = 1; i <= 12; i++) await postSynthetic(page, N + i * 4000, i);

  await t.test('the same canvas takes every update, keeping the focus and the zoom', async () => {
    assert.equal(await page.locator('details[data-panel="lanes"]').count(), 1);
    assert.equal(await lanes.evaluate((c) => (c as HTMLCanvasElement & { tagged?: boolean }).tagged === true), true, 'the lanes canvas was not replaced');
    assert.equal(await lanes.evaluate((c) => document.activeElement === c), true, 'the focused canvas kept the focus');
    const state = await page.evaluate(() => (window as unknown as { __state: { view: number[] } }).__state.view);
    assert.deepEqual(state, zoomed, 'a zoomed view keeps its window while data arrives');
  });

  await t.test('the numbers are those of the last model', async () => {
    await lanes.dblclick({ position: { x: 400, y: 5 } });
    await page.waitForFunction(() => document.querySelector('.summary .range')?.textContent?.startsWith('visible') === true);
    await page.waitForTimeout(300);
    assert.equal(await page.locator('[data-testid="packets-send"] .value').innerText(), (N + 12 * 4000).toLocaleString('en-US'));
  });

  await t.test('window listeners and the heap do not grow with the number of updates', async () => {
    t.diagnostic(JSON.stringify([await windowListeners(cdp), listenersBefore]));
    const heapAfter = await heapAfterGc(cdp);
    const grew = (heapAfter - heapBefore) / 2 ** 20;
    t.diagnostic(`heap with array buffers after 12 updates: ${(heapBefore / 2 ** 20).toFixed(1)} MiB → ${(heapAfter / 2 ** 20).toFixed(1)} MiB`);
    // One model is 13 MiB of columns (and its index about as much): twelve kept would be over 150 MiB.
    assert.ok(grew < 40, `the heap grew by ${grew.toFixed(1)} MiB over 12 updates`);
    assert.deepEqual(errors, []);
  });
});
