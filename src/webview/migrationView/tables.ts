/**
 * The numeric parts of the view, recomputed for the focused range (the selection, else
 * the visible window): the summary strip and the channel balance table. Every string
 * from a trace goes in as text.
 */
import type { MigrationSummary } from '../../core/analysis/summary';
import type { ChannelTotals } from '../../core/analysis/sideIndex';
import { el } from '../shared/host';
import { formatTime } from './timeAxis';
import { fmtBytes, fmtInt, fmtUs } from './viewData';

function item(parent: HTMLElement, label: string, value: string, testId?: string): void {
  const d = el('div', undefined, 'stat');
  d.append(el('span', label, 'label'), el('span', value, 'value'));
  if (testId) d.dataset.testid = testId;
  parent.append(d);
}

const sum = (cs: readonly ChannelTotals[], k: 'packets' | 'normalPages' | 'zeroPages' | 'bytes'): number | null =>
  cs.some((c) => c[k] === null) ? null : cs.reduce((n, c) => n + (c[k] ?? 0), 0);

export function renderSummary(root: HTMLElement, s: MigrationSummary, focus: readonly [number, number], isSelection: boolean): void {
  root.replaceChildren();
  for (const t of s.traces) {
    const d = el('div', undefined, 'trace');
    d.append(el('strong', t.side === 'src' ? 'source ' : 'destination '), el('span', t.path.split('/').pop() ?? t.path, 'file'));
    d.title = t.path;
    root.append(d);
    item(root, 'QEMU', `≈ ${t.version}`);
    item(root, 'events', fmtInt(t.events), `events-${t.side}`);
    item(root, 'duration', formatTime(t.lastNs - t.firstNs, t.lastNs - t.firstNs));
    item(root, 'parse', `${t.parseMs.toFixed(0)} ms`);
    item(root, 'malformed', fmtInt(t.malformed), `malformed-${t.side}`);
  }
  const r = el('div', undefined, 'range');
  const span = focus[1] - focus[0];
  r.append(el('strong', isSelection ? 'selection ' : 'visible '), el('span', `${formatTime(focus[0], span)} – ${formatTime(focus[1], span)}`));
  root.append(r);
  for (const [name, cs] of [['send', s.multifd.send], ['recv', s.multifd.recv]] as const) {
    if (!cs) continue;
    item(root, `${name} channels`, String(cs.length), `channels-${name}`);
    item(root, `${name} packets`, fmtInt(sum(cs, 'packets')), `packets-${name}`);
    item(root, `${name} normal pages`, fmtInt(sum(cs, 'normalPages')), `normal-${name}`);
    item(root, `${name} zero pages`, fmtInt(sum(cs, 'zeroPages')), `zero-${name}`);
    item(root, `${name} bytes`, fmtBytes(sum(cs, 'bytes')), `bytes-${name}`);
  }
  const pc = s.postcopy;
  if (pc.faultRequests !== null) {
    item(root, 'faults', fmtInt(pc.faultRequests), 'faults');
    item(root, 'placed', `${fmtInt(pc.pagesPlaced)} (${fmtInt(pc.zeroPagesPlaced)} zero)`, 'placed');
    item(root, 'latency p50 / p95', `${pc.latencyUs.p50 === null ? 'n/a' : pc.latencyUs.p50.toFixed(0)} / ${pc.latencyUs.p95 === null ? 'n/a' : pc.latencyUs.p95.toFixed(0)} µs`, 'latency');
  }
}

export function renderBalance(root: HTMLElement, s: MigrationSummary): void {
  root.replaceChildren();
  const table = el('table', undefined, 'balance');
  const head = el('tr');
  for (const h of ['side', 'channel', 'packets', 'share', 'normal pages', 'zero pages', 'zero %', 'bytes', 'transit p50', 'p95', 'max', 'thread-end check (whole trace)']) head.append(el('th', h));
  table.append(head);
  const checks = [s.multifd.sendDetail, s.multifd.recvDetail];
  [s.multifd.send, s.multifd.recv].forEach((cs, n) => {
    if (!cs) return;
    const total = sum(cs, 'packets') ?? 0;
    const detail = checks[n]!;
    for (const c of cs) {
      const tr = el('tr');
      const transit = n === 0 ? s.multifd.transit?.find((x) => x.channel === c.channel) : undefined;
      const pages = (c.normalPages ?? 0) + (c.zeroPages ?? 0);
      const bad = detail.crossCheck.mismatches.filter((m) => m.startsWith(`channel ${c.channel}:`));
      const cells = [
        n === 0 ? 'send' : 'recv', String(c.channel), fmtInt(c.packets), total ? `${((100 * c.packets) / total).toFixed(1)} %` : '–',
        fmtInt(c.normalPages), fmtInt(c.zeroPages), c.zeroPages === null || pages === 0 ? 'n/a' : `${((100 * c.zeroPages) / pages).toFixed(1)} %`,
        fmtBytes(c.bytes), fmtUs(transit?.p50Ns ?? null), fmtUs(transit?.p95Ns ?? null), fmtUs(transit?.maxNs ?? null),
        bad.length ? `mismatch: ${bad.map((m) => m.replace(/^channel \d+: /, '')).join('; ')}` : 'ok',
      ];
      cells.forEach((v, i) => { const td = el('td', v); if (i >= 2 && i <= 10) td.className = 'num'; if (i === 11 && bad.length) td.className = 'bad'; tr.append(td); });
      if (transit?.lagging) { tr.className = 'lagging'; tr.title = 'median transit well above the other channels'; }
      table.append(tr);
    }
  });
  root.append(table);
  const notes = [...(s.multifd.sendDetail?.limits ?? []), ...(s.multifd.recvDetail?.limits ?? [])];
  for (const n of notes) root.append(el('p', n, 'note'));
  if (!s.multifd.send && !s.multifd.recv) root.append(el('p', 'No multifd events in the loaded traces.', 'note'));
}
