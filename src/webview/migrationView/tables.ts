/**
 * The numeric parts of the view, recomputed for the focused range (the selection, else
 * the visible window): the summary strip and the channel balance table. Every string
 * from a trace goes in as text.
 */
import { bytesRuleNote, checkVerdict, crossCheckWords, durationSentence, int, qemuVersionText, unitSuffix } from '../../core/analysis/figureText';
import type { QemuCheck } from '../../core/analysis/qemuCompare';
import type { MigrationSummary } from '../../core/analysis/summary';
import type { ChannelTotals } from '../../core/analysis/sideIndex';
import { formatBytes, formatCount, formatDuration, formatDurationDiff, formatMicros, formatMillis, formatTimeAt, timeScale } from '../../core/units';
import { el } from '../shared/host';

export function item(parent: HTMLElement, label: string, value: string, testId?: string, title?: string): HTMLElement {
  const d = el('div', undefined, 'stat');
  d.append(el('span', label, 'label'), el('span', value, 'value'));
  if (testId) d.dataset.testid = testId;
  if (title) d.title = title;
  parent.append(d);
  return d;
}

const checkValue = (c: QemuCheck, v: number | null): string => (v === null ? 'n/a' : `${int(v)}${unitSuffix(c)}`);

/** QEMU's own figures (whole migration) against the trace's, one row each. */
function qemuTable(s: MigrationSummary): HTMLElement {
  const box = el('div', undefined, 'qemu');
  const checks = s.qemu.checks;
  if (!checks.length) {
    box.append(el('span', "QEMU's own figures: none recorded beside these traces (no final-query-migrate-*.json, no query-migrate reply in a qmp.jsonl).", 'note'));
    return box;
  }
  const table = el('table', undefined, 'qemu-figures');
  // Where QEMU's figures were read, said once in the caption (and in each row's title).
  const sources = [...new Set(checks.map((c) => `${c.side === 'src' ? 'source' : 'destination'}: ${c.from}`))];
  table.append(el('caption', `QEMU's own figures (whole migration; ${sources.join(', ')}) beside the trace's`));
  const head = el('tr');
  ['figure', 'trace', 'QEMU', 'difference', 'how the trace figure is made'].forEach((h, i) => head.append(el('th', h, i >= 1 && i <= 3 ? 'num' : undefined)));
  table.append(head);
  for (const c of checks) {
    const tr = el('tr');
    tr.dataset.testid = `qemu-${c.side}-${c.key}`;
    tr.title = `QEMU's figure: ${c.side === 'src' ? 'source' : 'destination'}, ${c.from}`;
    const cells: [string, string][] = [
      [c.label, ''], [checkValue(c, c.trace), 'num trace'], [checkValue(c, c.qemu), 'num qemu'],
      [checkVerdict(c), c.agrees === false ? 'num diff bad' : 'num diff'], [c.note ? `${c.how}. ${c.note}` : c.how, 'how'],
    ];
    for (const [text, cls] of cells) tr.append(el('td', text, cls || undefined));
    table.append(tr);
  }
  box.append(table);
  return box;
}

const sum = (cs: readonly ChannelTotals[], k: 'packets' | 'normalPages' | 'zeroPages' | 'bytes'): number | null =>
  cs.some((c) => c[k] === null) ? null : cs.reduce((n, c) => n + (c[k] ?? 0), 0);

export function renderSummary(root: HTMLElement, s: MigrationSummary, focus: readonly [number, number], visible: readonly [number, number], isSelection: boolean): void {
  root.replaceChildren();
  for (const t of s.traces) {
    const d = el('div', undefined, 'trace');
    d.append(el('strong', t.side === 'src' ? 'source ' : 'destination '), el('span', t.path.split('/').pop() ?? t.path, 'file'));
    d.title = t.path;
    root.append(d);
    item(root, 'QEMU', qemuVersionText(t), `version-${t.side}`);
    const c = t.catalogue;
    const fits = c.fits.map((f) => `${f.label}: ${f.share === null ? 'n/a' : `${Math.round(f.share * 100)} %`}`).join(', ');
    const cat = item(root, 'catalogue', c.label, `catalogue-${t.side}`, `Share of the first event lines each candidate decodes: ${fits}`);
    cat.classList.toggle('warn', c.warning !== null);
    cat.append(el('span', ` (${c.reason})`, 'why'));
    item(root, 'events', formatCount(t.events), `events-${t.side}`);
    item(root, 'parse', formatMillis(t.parseMs));
    item(root, 'malformed', formatCount(t.malformed), `malformed-${t.side}`);
    if (t.unknownEvents) item(root, 'unknown events', formatCount(t.unknownEvents), `unknown-${t.side}`);
    if (c.warning) {
      const w = el('div', `⚠ ${c.warning}`, 'warning');
      w.dataset.testid = `catalogue-warning-${t.side}`;
      root.append(w);
    }
  }
  const d = s.duration;
  const mig = el('div', undefined, 'trace');
  mig.append(el('strong', 'migration'));
  root.append(mig);
  item(root, 'duration', d ? `${formatMillis(d.ms)} (${d.source})` : 'n/a', 'duration', `duration: ${durationSentence(d)}`);
  for (const o of d?.others ?? []) item(root, o.source, `${formatMillis(o.ms)} (${formatDurationDiff(o.diffMs * 1e6)})`, undefined, o.detail);
  const r = el('div', undefined, 'range');
  // In the ruler's unit (that of the visible window), to the resolution of a pixel, and how long.
  const scale = timeScale(visible[1] - visible[0], (visible[1] - visible[0]) / 1000);
  r.append(el('strong', isSelection ? 'selection ' : 'visible '), el('span', `${formatTimeAt(focus[0], scale)} – ${formatTimeAt(focus[1], scale)} (${formatDuration(focus[1] - focus[0])})`));
  r.dataset.testid = 'range';
  root.append(r);
  for (const [name, cs] of [['send', s.multifd.send], ['recv', s.multifd.recv]] as const) {
    if (!cs) continue;
    item(root, `${name} channels`, String(cs.length), `channels-${name}`);
    item(root, `${name} packets`, formatCount(sum(cs, 'packets')), `packets-${name}`);
    item(root, `${name} normal pages`, formatCount(sum(cs, 'normalPages')), `normal-${name}`);
    item(root, `${name} zero pages`, formatCount(sum(cs, 'zeroPages')), `zero-${name}`);
    const bytes = sum(cs, 'bytes');
    item(root, `${name} bytes`, formatBytes(bytes), `bytes-${name}`, bytes === null ? undefined : `${int(bytes)} B, as QEMU counts multifd-bytes (headers and handshakes included)`);
  }
  const pc = s.postcopy;
  if (pc.faultRequests !== null) {
    item(root, 'faults', formatCount(pc.faultRequests), 'faults');
    item(root, 'placed', `${formatCount(pc.pagesPlaced)} (${formatCount(pc.zeroPagesPlaced)} zero)`, 'placed');
    item(root, 'fault → placed p50 / p95', `${formatMicros(pc.latencyUs.p50)} / ${formatMicros(pc.latencyUs.p95)}`, 'latency');
  }
  root.append(qemuTable(s));
}

const BALANCE_COLUMNS = ['side', 'channel', 'packets', 'share', 'normal pages', 'zero pages', 'zero %', 'bytes', 'transit p50', 'p95', 'max', 'thread-end check (whole trace)'] as const;

function row(table: HTMLElement, cells: readonly string[], cls?: string, testId?: string, bad: readonly number[] = []): HTMLTableRowElement {
  const tr = el('tr', undefined, cls);
  if (testId) tr.dataset.testid = testId;
  cells.forEach((v, i) => { const td = el('td', v); if (i >= 2 && i <= 10) td.className = 'num'; if (bad.includes(i)) td.className = `${td.className} bad`.trim(); tr.append(td); });
  table.append(tr);
  return tr;
}

const zeroShare = (normal: number | null, zero: number | null): string => {
  const pages = (normal ?? 0) + (zero ?? 0);
  return zero === null || pages === 0 ? 'n/a' : `${((100 * zero) / pages).toFixed(1)} %`;
};

/** QEMU's whole-migration figures under the send totals, and the difference from the trace's whole-migration figures. */
function qemuRows(table: HTMLElement, s: MigrationSummary): void {
  const by = (key: QemuCheck['key']): QemuCheck | undefined => s.qemu.checks.find((c) => c.side === 'src' && c.key === key);
  const normal = by('normal'), zero = by('duplicate'), bytes = by('multifd-bytes');
  if (!normal && !zero && !bytes) return;
  const v = (c: QemuCheck | undefined, f: (c: QemuCheck) => string): string => (c ? f(c) : '');
  const from = (normal ?? zero ?? bytes)!.from;
  const tr = row(table, ['QEMU', 'whole migration', 'n/a', '', v(normal, (c) => int(c.qemu)), v(zero, (c) => int(c.qemu)), zeroShare(normal?.qemu ?? null, zero?.qemu ?? null),
    v(bytes, (c) => formatBytes(c.qemu)), '', '', '', `query-migrate: ${from}`], 'qemu', 'balance-qemu');
  tr.title = bytes ? `multifd-bytes ${int(bytes.qemu)} B` : '';
  const diff = (c: QemuCheck | undefined): string => (c ? (c.trace === null ? 'n/a' : checkVerdict(c)) : '');
  const bad = [[normal, 4], [zero, 5], [bytes, 7]].filter(([c]) => (c as QemuCheck | undefined)?.agrees === false).map(([, i]) => i as number);
  const notes = [normal, zero, bytes].filter((c): c is QemuCheck => c?.note != null).map((c) => `${c.label}: ${c.note}`);
  const d = row(table, ['trace − QEMU', 'whole migration', '', '', diff(normal), diff(zero), '', diff(bytes), '', '', '', notes.length ? 'see note' : ''], 'qemu-diff', 'balance-qemu-diff', bad);
  d.title = notes.join('\n');
}

/** A note of each side, said once for both when it is the same sentence. */
function perSide(send: string | null, recv: string | null): string[] {
  if (send !== null && send === recv) return [`send and recv: ${send}`];
  return [...(send !== null ? [`send: ${send}`] : []), ...(recv !== null ? [`recv: ${recv}`] : [])];
}

export function renderBalance(root: HTMLElement, s: MigrationSummary): void {
  root.replaceChildren();
  const table = el('table', undefined, 'balance');
  const head = el('tr');
  for (const h of BALANCE_COLUMNS) head.append(el('th', h));
  table.append(head);
  const details = [s.multifd.sendDetail, s.multifd.recvDetail];
  [s.multifd.send, s.multifd.recv].forEach((cs, n) => {
    if (!cs) return;
    const name = n === 0 ? 'send' : 'recv';
    const total = sum(cs, 'packets') ?? 0;
    const detail = details[n]!;
    for (const c of cs) {
      const transit = n === 0 ? s.multifd.transit?.find((x) => x.channel === c.channel) : undefined;
      const bad = detail.crossCheck.mismatches.filter((m) => m.startsWith(`channel ${c.channel}:`));
      const check = detail.crossCheck.checked === 0 ? 'not checked' : bad.length ? `mismatch: ${bad.map((m) => m.replace(/^channel \d+: /, '')).join('; ')}` : 'ok';
      const tr = row(table, [
        name, String(c.channel), formatCount(c.packets), total ? `${((100 * c.packets) / total).toFixed(1)} %` : '–',
        formatCount(c.normalPages), formatCount(c.zeroPages), zeroShare(c.normalPages, c.zeroPages),
        formatBytes(c.bytes), formatDuration(transit?.p50Ns ?? null), formatDuration(transit?.p95Ns ?? null), formatDuration(transit?.maxNs ?? null), check,
      ], undefined, undefined, bad.length ? [11] : []);
      if (c.bytes !== null) tr.cells[7]!.title = `${int(c.bytes)} B (payload ${int(c.payloadBytes ?? 0)} B)`;
      if (transit?.lagging) { tr.className = 'lagging'; tr.title = 'median transit well above the other channels'; }
    }
    const normal = sum(cs, 'normalPages'), zero = sum(cs, 'zeroPages'), bytes = sum(cs, 'bytes');
    const tr = row(table, [name, 'total', formatCount(total), total ? '100 %' : '–', formatCount(normal), formatCount(zero), zeroShare(normal, zero), formatBytes(bytes), '', '', '', crossCheckWords(detail)],
      'total', `balance-total-${name}`, detail.crossCheck.ok ? [] : [11]);
    if (bytes !== null) tr.cells[7]!.title = `${int(bytes)} B`;
    if (n === 0) qemuRows(table, s);
  });
  const scroll = el('div', undefined, 'table-scroll');
  scroll.append(table);
  root.append(scroll);
  const send = s.multifd.sendDetail, recv = s.multifd.recvDetail;
  const notes = [
    ...perSide(send && bytesRuleNote(send), recv && bytesRuleNote(recv)),
    ...s.qemu.checks.filter((c) => c.note !== null && (c.key === 'normal' || c.key === 'duplicate' || c.key === 'multifd-bytes')).map((c) => `${c.label} against QEMU: ${c.note}`),
    ...[...new Set([...(send?.limits ?? []), ...(recv?.limits ?? [])])],
  ];
  for (const n of notes) root.append(el('p', n, 'note'));
  if (!s.multifd.send && !s.multifd.recv) root.append(el('p', 'No multifd events in the loaded traces.', 'note'));
}
