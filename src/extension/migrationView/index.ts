/**
 * The migration view feature: "Open Trace…", "Open in Migration View" from the Recordings
 * view, the "QEMU Migration Trace" custom editor for trace files, and restoring open views
 * after a reload.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { expandInputs } from '../../core/analysis/load';
import { prestartTraceWorkersFor } from '../../core/trace/workerClient';
import { checkFromWebview, EDITOR_VIEW_TYPE, VIEW_TYPE, type FromWebview, type ToWebview, type ViewState } from '../../webview/migrationView/protocol';
import type { WorkbenchContext } from '../context';
import { attachViewTraces } from '../trace/traceLines';
import { hostWebview, openWebviewPanel, webviewOptions, type WebviewChannel, type WebviewContent, type WebviewHost } from '../webview/panelHost';
import { MigrationSession, titleOf } from './session';

const TRACE_FILE = /\.(log|log\.xz|log\.gz|simple)$/;

const content = (title: string): WebviewContent => ({ script: 'migrationView.js', stylesheet: 'media/migrationView.css', title });

/** A trace file and, when it is one side of a recording (src-/dst- prefix), the other side. */
export function withOtherSide(file: string): string[] {
  const name = basename(file);
  const m = /^(src|dst)(-.*)$/.exec(name);
  if (!m) return [file];
  const other = join(dirname(file), `${m[1] === 'src' ? 'dst' : 'src'}${m[2]}`);
  return existsSync(other) ? [file, other] : [file];
}

/** Files to open for a command argument: a Recordings tree node, a Uri, or nothing. */
function filesOf(arg: unknown): string[] | undefined {
  let uri: vscode.Uri | undefined;
  if (arg instanceof vscode.Uri) uri = arg;
  else if (typeof arg === 'object' && arg !== null) {
    const node = arg as { kind?: string; uri?: vscode.Uri; recording?: { folder: vscode.Uri } };
    uri = node.kind === 'recording' ? node.recording?.folder : node.uri;
  }
  if (!uri || uri.scheme !== 'file') return undefined;
  const p = uri.fsPath;
  if (statSync(p).isDirectory()) return expandInputs([p]);
  if (!TRACE_FILE.test(p)) throw new Error(`${basename(p)} is not a QEMU trace (.log, .log.xz, .log.gz or .simple)`);
  return withOtherSide(p);
}

/** The open migration views and their traces (commands run with a view focused act on its traces). */
const openViews = new Map<vscode.WebviewPanel, readonly string[]>();

/** The traces of the focused migration view; undefined when no migration view is focused. */
export function activeMigrationViewFiles(): readonly string[] | undefined {
  for (const [panel, files] of openViews) if (panel.active) return files;
  return undefined;
}

export function registerMigrationView(ctx: WorkbenchContext): void {
  const extUri = ctx.extension.extensionUri;
  const channel: WebviewChannel<FromWebview> = { check: checkFromWebview, log: ctx.log, name: 'migration view' };

  /** A session in its own scope (a child of the extension's lifetime), ended when the panel closes. */
  const start = (panel: vscode.WebviewPanel, host: WebviewHost<ToWebview, FromWebview>, files: string[]): void => {
    const scope = ctx.lifetime.child(`migration view ${titleOf(files)}`);
    const session = new MigrationSession(ctx, host, files, scope);
    openViews.set(panel, files);
    scope.onDispose(() => openViews.delete(panel));
    scope.add(attachViewTraces(files, { origin: () => session.timeOrigin(), column: () => panel.viewColumn, back: () => panel.reveal(panel.viewColumn) }));
    scope.add(panel.onDidDispose(() => session.dispose()));
  };

  const openPanel = (files: string[], panel?: vscode.WebviewPanel): void => {
    const title = titleOf(files);
    if (panel) {
      panel.title = title;
      start(panel, hostWebview<ToWebview, FromWebview>(panel.webview, extUri, content(title), channel), files);
    } else {
      const opened = openWebviewPanel<ToWebview, FromWebview>(extUri, VIEW_TYPE, content(title), channel);
      start(opened.panel, opened.host, files);
    }
  };

  const run = (files: () => string[] | undefined): void => {
    try {
      const chosen = files();
      if (!chosen?.length) { void vscode.window.showWarningMessage('Choose a trace file or a lab recording to open in the migration view.'); return; }
      openPanel(chosen);
    } catch (e) {
      void vscode.window.showErrorMessage(e instanceof Error ? e.message : String(e));
    }
  };

  ctx.subscriptions.push(
    vscode.commands.registerCommand('qemuMigration.openTrace', async (arg?: unknown) => {
      if (arg !== undefined) { run(() => filesOf(arg)); return; }
      // The read's workers boot while the picker is open.
      void prestartTraceWorkersFor();
      const picked = await vscode.window.showOpenDialog({
        canSelectMany: true, openLabel: 'Open in Migration View', title: 'QEMU trace(s): source, destination or both',
        filters: { 'QEMU traces': ['log', 'xz', 'gz', 'simple'], 'All files': ['*'] },
      });
      if (!picked?.length) return;
      if (picked.length > 2) { void vscode.window.showWarningMessage('Choose at most two traces: the source and the destination.'); return; }
      run(() => (picked.length === 1 ? withOtherSide(picked[0]!.fsPath) : picked.map((u) => u.fsPath)));
    }),
    vscode.commands.registerCommand('qemuMigration.openInMigrationView', (arg: unknown) => run(() => filesOf(arg))),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
        const files = (state as Partial<ViewState> | undefined)?.files?.filter((f) => existsSync(f));
        if (!files?.length) { panel.dispose(); return; }
        panel.webview.options = webviewOptions(extUri);
        openPanel([...files], panel);
      },
    }),
    vscode.window.registerCustomEditorProvider(EDITOR_VIEW_TYPE, {
      openCustomDocument: (uri: vscode.Uri) => ({ uri, dispose: () => undefined }),
      resolveCustomEditor: (document: vscode.CustomDocument, panel: vscode.WebviewPanel) => {
        const files = withOtherSide(document.uri.fsPath);
        start(panel, hostWebview<ToWebview, FromWebview>(panel.webview, extUri, content(titleOf(files)), channel), files);
      },
    } satisfies vscode.CustomReadonlyEditorProvider, { supportsMultipleEditorsPerDocument: true }),
  );
}
