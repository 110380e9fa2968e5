/**
 * Messages of the live migration chart, one union per direction, imported by the extension
 * host (src/extension/qmp/chartPanel.ts) and the webview (main.ts). Samples cross as columns.
 */

export const chartSeries = ['transferred', 'remaining', 'mbps', 'dirtyRate', 'pagesPerSecond', 'passes', 'postcopyRequests'] as const;
export type ChartSeries = (typeof chartSeries)[number];

export const markerKinds = ['MIGRATION', 'MIGRATION_PASS', 'STOP', 'RESUME'] as const;
export type MarkerKind = (typeof markerKinds)[number];

/** Columns of samples: `t` (ms since the epoch) and one array per series, all the same length. */
export type SampleColumns = { t: number[] } & Record<ChartSeries, number[]>;

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

/** What the webview keeps through getState/setState. */
export interface ChartState {
  hidden: ChartSeries[];
}

export function emptyColumns(): SampleColumns {
  return { t: [], transferred: [], remaining: [], mbps: [], dirtyRate: [], pagesPerSecond: [], passes: [], postcopyRequests: [] };
}
