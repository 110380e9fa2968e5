/**
 * Messages of the live migration chart, one union per direction, imported by the extension
 * host (src/extension/qmp/chartPanel.ts) and the webview (main.ts). Samples cross as
 * Float64Array columns, whose buffers VS Code's postMessage transfers as binary, never as JSON
 * arrays of numbers; a column's buffer belongs to the message once posted.
 */
import type { MigrationSample } from '../../core/monitor/samples';
import { accept, describe, refuse, typedRecord, type Checked } from '../shared/messages';

/** The series, named as query-migrate names the members of its `ram` object. */
export const chartSeries = ['transferred', 'remaining', 'mbps', 'dirty-pages-rate', 'pages-per-second', 'dirty-sync-count', 'postcopy-requests'] as const;
export type ChartSeries = (typeof chartSeries)[number];

export const markerKinds = ['MIGRATION', 'MIGRATION_PASS', 'STOP', 'RESUME'] as const;
export type MarkerKind = (typeof markerKinds)[number];

export const columnNames = ['t', ...chartSeries] as const;
export type ColumnName = (typeof columnNames)[number];

/** Columns of samples: `t` (ms since the epoch) and one array per series, all the same length. */
export type SampleColumns = Record<ColumnName, Float64Array>;

/** The fields of a sample the chart draws. */
export type ChartSample = Record<ColumnName, number>;

/** A monitor sample under query-migrate's names. */
export function chartSampleOf(s: MigrationSample): ChartSample {
  return {
    t: s.t, transferred: s.transferred, remaining: s.remaining, mbps: s.mbps, 'dirty-pages-rate': s.dirtyRate,
    'pages-per-second': s.pagesPerSecond, 'dirty-sync-count': s.passes, 'postcopy-requests': s.postcopyRequests,
  };
}

export interface ChartMarker {
  /** ms since the epoch (QEMU's event timestamp). */
  t: number;
  kind: MarkerKind;
  /** Short text, e.g. the MIGRATION status or the pass number. */
  text: string;
}

export type ToChart =
  | { type: 'reset'; label: string; status: string; columns: SampleColumns; markers: ChartMarker[] }
  | { type: 'append'; columns: SampleColumns; markers: ChartMarker[]; status: string }
  | { type: 'saved'; path: string }
  | { type: 'error'; message: string };

export type FromChart = { type: 'ready' } | { type: 'saveRecording' };

/** The host's check of a message from the chart webview (logged and dropped when refused). */
export function checkFromChart(raw: unknown): Checked<FromChart> {
  const m = typedRecord(raw);
  if (!m) return refuse(`not a message object: ${describe(raw)}`);
  if (m.type === 'ready' || m.type === 'saveRecording') return accept({ type: m.type });
  return refuse(`unknown message type ${JSON.stringify(m.type.slice(0, 40))}`);
}

/** What the webview keeps through getState/setState. */
export interface ChartState {
  hidden: ChartSeries[];
}

function columnsOfLength(n: number): SampleColumns {
  const c = {} as SampleColumns;
  for (const k of columnNames) c[k] = new Float64Array(n);
  return c;
}

export function emptyColumns(): SampleColumns {
  return columnsOfLength(0);
}

/** Samples, oldest first, as one fresh Float64Array per column. */
export function columnsOf(samples: readonly ChartSample[]): SampleColumns {
  const c = columnsOfLength(samples.length);
  samples.forEach((s, i) => {
    for (const k of columnNames) c[k][i] = s[k];
  });
  return c;
}

/** The buffers of the columns, for a transfer list. */
export function columnBuffers(c: SampleColumns): ArrayBuffer[] {
  return columnNames.map((k) => c[k].buffer as ArrayBuffer);
}

/** `a` followed by `b`, keeping only the newest `max` rows. */
export function appendColumns(a: SampleColumns, b: SampleColumns, max: number): SampleColumns {
  const total = a.t.length + b.t.length;
  const drop = Math.max(0, total - max);
  const out = columnsOfLength(total - drop);
  for (const k of columnNames) {
    const fromA = a[k].subarray(Math.min(drop, a[k].length));
    out[k].set(fromA, 0);
    out[k].set(b[k].subarray(Math.max(0, drop - a[k].length)), fromA.length);
  }
  return out;
}
