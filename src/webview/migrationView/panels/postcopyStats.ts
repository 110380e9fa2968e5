/**
 * Postcopy numbers of the focused range: latency histogram (log bins), faults per
 * RAMBlock and per thread, hot pages, shared-page traffic and blocktime.
 */
import type { PostcopyData } from '../../../core/analysis/model';
import { lowerBound } from '../../../core/analysis/prefix';
import type { PostcopySummary } from '../../../core/analysis/summary';
import { el } from '../../shared/host';
import type { Palette } from '../theme';
import { formatMillis } from '../../../core/units';

const HIST_W = 440;
const HIST_H = 120;

function countTable(title: string, rows: readonly { key: string; count: number }[], testId: string): HTMLElement {
  const t = el('table', undefined, 'small');
  t.dataset.testid = testId;
  const cap = el('caption', title);
  t.append(cap);
  for (const r of rows) { const tr = el('tr'); tr.append(el('td', r.key), el('td', String(r.count), 'num')); t.append(tr); }
  if (!rows.length) { const tr = el('tr'); tr.append(el('td', 'none')); t.append(tr); }
  return t;
}

export function renderPostcopyStats(root: HTMLElement, pc: PostcopyData, s: PostcopySummary, focus: readonly [number, number], pal: Palette): HTMLCanvasElement {
  root.replaceChildren();
  const hist = document.createElement('canvas');
  hist.setAttribute('role', 'img');
  const dpr = window.devicePixelRatio || 1;
  hist.width = HIST_W * dpr; hist.height = HIST_H * dpr;
  hist.style.width = `${HIST_W}px`; hist.style.height = `${HIST_H}px`;
  const f = pc.faults;
  const a = lowerBound(f.t, focus[0]), b = lowerBound(f.t, focus[1]);
  const bins = new Float64Array(8);
  // Decades from 1 µs to 10 s.
  for (let i = a; i < b; i++) { const l = f.latencyNs[i]!; if (Number.isFinite(l)) bins[Math.min(7, Math.max(0, Math.floor(Math.log10(Math.max(l, 1000) / 1000))))]!++; }
  hist.setAttribute('aria-label', `Fault latency histogram: ${[...bins].join(', ')} faults per decade from 1 µs`);
  const ctx = hist.getContext('2d');
  if (ctx) {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = pal.font;
    const max = Math.max(1, ...bins);
    const bw = (HIST_W - 20) / 8;
    const labels = ['1 µs', '10 µs', '100 µs', '1 ms', '10 ms', '100 ms', '1 s', '10 s'];
    bins.forEach((n, i) => {
      const h = ((HIST_H - 34) * n) / max;
      ctx.fillStyle = pal.heat[Math.round((i * 10) / 7)]!;
      ctx.fillRect(10 + i * bw, HIST_H - 18 - h, bw - 3, h);
      ctx.fillStyle = pal.muted;
      ctx.textBaseline = 'top';
      ctx.fillText(labels[i]!, 10 + i * bw, HIST_H - 14);
      if (n) { ctx.fillStyle = pal.fg; ctx.textBaseline = 'bottom'; ctx.fillText(String(n), 10 + i * bw, HIST_H - 19 - h); }
    });
  }
  const box = el('div', undefined, 'pcstats');
  const hb = el('div');
  hb.append(el('div', 'fault → placed latency', 'caption'), hist);
  box.append(hb);
  box.append(countTable('faults per RAMBlock', s.faultsPerRamBlock, 'faults-per-ramblock'));
  box.append(countTable('faults per thread', s.faultsPerThread.slice(0, 10), 'faults-per-thread'));
  box.append(countTable('hot pages', s.hotPages, 'hot-pages'));
  // Shared-page traffic exists only with vhost-user back-ends that support postcopy: a run without any says so in one line.
  const sharedTraced = pc.shared.t.length > 0;
  if (sharedTraced) {
    const rows = Object.entries(s.sharedPage ?? {}).filter(([, count]) => count > 0).map(([key, count]) => ({ key, count }));
    box.append(countTable('shared pages (vhost-user)', rows, 'shared-pages'));
  }
  root.append(box);
  const facts = [
    s.blocktimeTotal === null
      ? 'blocktime: n/a (postcopy_ram_incoming_cleanup_blocktime not traced; it needs the postcopy-blocktime capability)'
      : `blocktime: ${formatMillis(s.blocktimeTotal)}, QEMU's postcopy-blocktime: the time during which every vCPU was blocked on a missing page (postcopy_ram_incoming_cleanup_blocktime)`,
    ...(sharedTraced ? [] : ['shared pages with vhost-user back-ends: none (no postcopy_request_shared_page, postcopy_wake_shared or vhost_user_postcopy_* events in the destination trace)']),
    ...s.limits,
  ];
  for (const line of facts) root.append(el('p', line, 'note'));
  return hist;
}
