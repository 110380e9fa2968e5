/**
 * Messages between the migration view's host (src/extension/migrationView) and its
 * webview. The model's typed arrays cross as transferable buffers, never as JSON.
 */
import type { MigrationModel, Side } from '../../core/analysis/model';

export type ToWebview =
  | { readonly type: 'loading'; readonly title: string; readonly files: readonly string[] }
  | { readonly type: 'model'; readonly title: string; readonly files: readonly string[]; readonly model: MigrationModel; readonly live: boolean; readonly following: boolean }
  | { readonly type: 'error'; readonly message: string };

export type FromWebview =
  | { readonly type: 'ready' }
  | { readonly type: 'openLine'; readonly side: Side; readonly line: number }
  | { readonly type: 'saveCsv'; readonly name: string; readonly text: string }
  | { readonly type: 'savePng'; readonly name: string; readonly data: Uint8Array }
  | { readonly type: 'follow'; readonly enabled: boolean };

export const PANELS = ['lanes', 'throughput', 'balance', 'postcopy', 'phases'] as const;
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
