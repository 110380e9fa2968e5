/**
 * Messages between the migration view's host (src/extension/migrationView) and its
 * webview. The model's typed arrays cross as transferable buffers, never as JSON.
 */
import type { MigrationDelta } from '../../core/analysis/delta';
import type { MigrationModel, Side } from '../../core/analysis/model';
import { accept, describe, isPlainFileName, refuse, typedRecord, type Checked } from '../shared/messages';

/**
 * A model replaces what the view shows; a delta (follow mode) adds to the model whose seq is
 * its `from`. A view that holds another model drops the delta and asks for the model again
 * (a 'ready'), so a delta lost while the tab was hidden costs one model, never wrong figures.
 */
export type ToWebview =
  | { readonly type: 'loading'; readonly title: string; readonly files: readonly string[] }
  | { readonly type: 'model'; readonly title: string; readonly files: readonly string[]; readonly model: MigrationModel; readonly live: boolean; readonly following: boolean; readonly seq: number }
  | { readonly type: 'delta'; readonly title: string; readonly delta: MigrationDelta; readonly following: boolean; readonly seq: number; readonly from: number }
  | { readonly type: 'error'; readonly message: string };

export type FromWebview =
  | { readonly type: 'ready' }
  | { readonly type: 'openLine'; readonly side: Side; readonly line: number }
  | { readonly type: 'saveCsv'; readonly name: string; readonly text: string }
  | { readonly type: 'savePng'; readonly name: string; readonly data: Uint8Array }
  | { readonly type: 'follow'; readonly enabled: boolean };

/** Longest CSV the host accepts from the view (the export caps its rows well below). */
const MAX_CSV_CHARS = 512 * 1024 * 1024;
const MAX_PNG_BYTES = 256 * 1024 * 1024;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * The host's check of a message from the webview: the one place the union above is taken
 * apart. Anything else is refused with the reason (the host logs and drops it).
 */
export function checkFromWebview(raw: unknown): Checked<FromWebview> {
  const m = typedRecord(raw);
  if (!m) return refuse(`not a message object: ${describe(raw)}`);
  switch (m.type) {
    case 'ready':
      return accept({ type: 'ready' });
    case 'openLine':
      if (m.side !== 'src' && m.side !== 'dst') return refuse(`openLine: side is ${describe(m.side)}, not src or dst`);
      if (typeof m.line !== 'number' || !Number.isSafeInteger(m.line) || m.line < 1) return refuse(`openLine: line is ${describe(m.line)}, not a positive integer`);
      return accept({ type: 'openLine', side: m.side, line: m.line });
    case 'saveCsv':
      if (!isPlainFileName(m.name)) return refuse(`saveCsv: name is ${describe(m.name)}, not a plain file name`);
      if (typeof m.text !== 'string' || m.text.length > MAX_CSV_CHARS) return refuse(`saveCsv: text is ${describe(m.text)}`);
      return accept({ type: 'saveCsv', name: m.name, text: m.text });
    case 'savePng': {
      if (!isPlainFileName(m.name)) return refuse(`savePng: name is ${describe(m.name)}, not a plain file name`);
      const data = m.data instanceof Uint8Array ? m.data : m.data instanceof ArrayBuffer ? new Uint8Array(m.data) : null;
      if (!data || data.byteLength > MAX_PNG_BYTES || !PNG_SIGNATURE.every((b, i) => data[i] === b)) return refuse(`savePng: data is ${describe(m.data)}, not PNG bytes`);
      return accept({ type: 'savePng', name: m.name, data });
    }
    case 'follow':
      if (typeof m.enabled !== 'boolean') return refuse(`follow: enabled is ${describe(m.enabled)}, not a boolean`);
      return accept({ type: 'follow', enabled: m.enabled });
    default:
      return refuse(`unknown message type ${JSON.stringify(m.type.slice(0, 40))}`);
  }
}

export const PANELS = ['lanes', 'throughput', 'balance', 'postcopy', 'phases', 'downtime'] as const;
export type PanelId = typeof PANELS[number];

/** What the webview saves with setState and gets back after a reload. */
export interface ViewState {
  readonly files: readonly string[];
  readonly view: readonly [number, number] | null;
  readonly selection: readonly [number, number] | null;
  readonly panels: Partial<Record<PanelId, boolean>>;
  readonly throughput: 'total' | 'channels';
}

export const VIEW_TYPE = 'qemuMigration.migrationView';
export const EDITOR_VIEW_TYPE = 'qemuMigration.traceView';
