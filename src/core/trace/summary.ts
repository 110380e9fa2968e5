/**
 * Human-readable summary of a read trace, shared by `qmig trace stats` and the
 * editor's trace summary document. Line references are written as `line N`.
 */
import type { CatalogueChoice } from './catalogueResolver';
import { formatByteRate, formatBytes, formatSeconds } from '../units';
import type { TraceStore } from './store';

export interface SummaryInput {
  readonly file: string;
  readonly store: TraceStore;
  readonly seconds: number;
  readonly catalogue: string;
  /** Why that catalogue (catalogueResolver), said under the first line. */
  readonly choice?: CatalogueChoice | undefined;
}

/** `line N` (log) or `offset N` (simpletrace) for a position. */
export function positionLabel(store: TraceStore, pos: number): string {
  return `${store.positionKind === 'line' ? 'line' : 'offset'} ${pos}`;
}

export function traceSummaryText({ file, store, seconds, catalogue, choice }: SummaryInput, detail = 5): string {
  const span = store.timeSpan();
  const counts = Object.entries(store.counts()).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const w = Math.max(8, ...counts.map(([, n]) => String(n).length));
  const s = Math.max(seconds, 1e-9);
  const lines = [
    `${file}  (catalogue ${catalogue})`,
    ...(choice ? [`  catalogue: ${choice.label}: ${choice.reason}`, ...(choice.warning ? [`  WARNING: ${choice.warning}`] : [])] : []),
    `  ${store.count()} events in ${store.lines} ${store.positionKind === 'line' ? 'lines' : 'records'}, ${formatBytes(store.bytes)} in ${formatSeconds(seconds)} (${formatByteRate(store.bytes / s)}, ${(store.count() / s / 1e6).toFixed(2)} M events/s)`,
    span ? `  time span ${((span.lastNs - span.firstNs) / 1e9).toFixed(6)} s (${store.timeKind} clock)` : '  no timestamps',
    `  other lines: ${store.other}${store.otherLines.length ? ` (first at ${store.otherLines.slice(0, detail).join(', ')})` : ''}`,
    `  malformed: ${store.malformedCount}${store.malformed.length ? ` (first at ${store.malformed.slice(0, detail).map((m) => `${m.line} ${m.name}`).join(', ')})` : ''}`,
    ...(store.unknownEvents ? [`  unknown events (not in the catalogue): ${store.unknownEvents}`] : []),
    ...(store.droppedEvents ? [`  dropped events reported by QEMU: ${store.droppedEvents}`] : []),
    ...store.errors.map((e) => `  error: ${e}`),
    ...counts.map(([name, n]) => `  ${String(n).padStart(w)}  ${name}`),
  ];
  return lines.join('\n') + '\n';
}

/** Longer report for the editor: the summary plus each malformed and other line by number. */
export function traceReportText(input: SummaryInput): string {
  const { store } = input;
  const out = [traceSummaryText(input)];
  if (store.malformed.length) {
    out.push(`\nMalformed lines (${store.malformedCount}${store.malformedCount > store.malformed.length ? `, first ${store.malformed.length}` : ''}):`);
    for (const m of store.malformed) out.push(`  ${positionLabel(store, m.line)}: ${m.name}: ${m.text.length > 160 ? m.text.slice(0, 160) + '…' : m.text}`);
  }
  if (store.otherLines.length) {
    out.push(`\nOther lines (${store.other}${store.other > store.otherLines.length ? `, first ${store.otherLines.length}` : ''}):`);
    out.push('  ' + store.otherLines.map((l) => positionLabel(store, l)).join(', '));
  }
  return out.join('\n') + '\n';
}
