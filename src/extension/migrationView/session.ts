/**
 * One open migration view in VS Code: the panel's scope, its webview host and its
 * MigrationDocument (which reads, keeps and follows the model). Translates the webview's
 * checked messages into the document's actions and VS Code's UI (progress, editors, save
 * dialogs). Disposed with the panel: the scope's end cancels the read and the follow.
 */
import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import type { Side } from '../../core/analysis/model';
import { formatBytes } from '../../core/units';
import { readChunks } from '../../core/trace/source';
import type { FromWebview, ToWebview } from '../../webview/migrationView/protocol';
import { exportsDir } from '../config';
import type { WorkbenchContext } from '../context';
import type { Scope } from '../scope';
import { catalogueOptions } from '../trace/catalogueTrees';
import { revealTraceLine } from '../trace/traceLines';
import type { WebviewHost } from '../webview/panelHost';
import { MigrationDocument, type ShowProgress } from './document';

export function titleOf(files: readonly string[]): string {
  const dirs = [...new Set(files.map((f) => basename(dirname(f))))];
  return `${files.map((f) => basename(f)).join(' + ')}${dirs.length === 1 ? ` (${dirs[0]})` : ''}`;
}

/** A cancellable progress notification; its percentages are relative, so only growth is reported. */
const notificationProgress: ShowProgress = (title, run) => Promise.resolve(vscode.window.withProgress(
  { location: vscode.ProgressLocation.Notification, title, cancellable: true },
  async (progress, token) => {
    const cancel = new AbortController();
    const sub = token.onCancellationRequested(() => cancel.abort());
    let shown = 0;
    try {
      return await run((read, total) => {
        const pct = total > 0 ? Math.floor((read / total) * 100) : 100;
        if (pct > shown) {
          progress.report({ increment: pct - shown, message: `${formatBytes(read)} of ${formatBytes(total)}` });
          shown = pct;
        }
      }, cancel.signal);
    } finally {
      sub.dispose();
    }
  },
));

export class MigrationSession implements vscode.Disposable {
  readonly document: MigrationDocument;
  private originNs: bigint | undefined;

  constructor(private readonly ctx: WorkbenchContext, private readonly host: WebviewHost<ToWebview, FromWebview>, readonly files: readonly string[], private readonly scope: Scope) {
    this.document = new MigrationDocument(files, scope, {
      title: titleOf(files),
      post: (m) => {
        // The view's t = 0, for the time a trace line opened from it is shown with.
        if (m.type === 'model') this.originNs = BigInt(m.model.originNs);
        else if (m.type === 'delta') this.originNs = BigInt(m.delta.originNs);
        void host.post(m);
      },
      log: ctx.log,
      catalogues: () => catalogueOptions(ctx.log),
      showProgress: notificationProgress,
      notFollowable: () => void vscode.window.showInformationMessage('Follow works on plain log-backend traces; compressed and simpletrace files are read once.'),
    });
    scope.add(host);
    scope.add(host.onMessage((m) => void this.onMessage(m).catch((e: unknown) => this.fail(e))));
  }

  private fail(e: unknown): void {
    if (this.scope.disposed) return;
    const message = e instanceof Error ? e.message : String(e);
    this.ctx.log.error(`migration view: ${message}`);
    void this.host.post({ type: 'error', message });
  }

  private async onMessage(m: FromWebview): Promise<void> {
    switch (m.type) {
      case 'ready': return this.document.ready();
      case 'openLine': return this.openLine(m.side, m.line);
      case 'saveCsv': return this.save(m.name, new TextEncoder().encode(m.text), { CSV: ['csv'] });
      case 'savePng': return this.save(m.name, m.data, { 'PNG image': ['png'] });
      case 'follow': return this.document.setFollow(m.enabled);
    }
  }

  private async openLine(side: Side, line: number): Promise<void> {
    const trace = this.document.traceOf(side);
    if (!trace) return;
    const path = trace.path;
    if (trace.positionKind === 'byteOffset') {
      void vscode.window.showInformationMessage(`${basename(path)} is a simpletrace binary: the event is at byte offset ${line}.`);
      return;
    }
    if (/\.(xz|gz)$/.test(path)) {
      const parts: Buffer[] = [];
      for await (const chunk of readChunks(path, { signal: this.scope.signal })) parts.push(Buffer.from(chunk));
      const doc = await vscode.workspace.openTextDocument({ content: Buffer.concat(parts).toString('utf8'), language: 'log' });
      await revealTraceLine(path, doc, line);
      return;
    }
    await revealTraceLine(path, vscode.Uri.file(path), line);
  }

  /** Epoch ns of the view's t = 0, once a model was posted. */
  timeOrigin(): bigint | undefined {
    return this.originNs;
  }

  private async save(name: string, data: Uint8Array, filters: Record<string, string[]>): Promise<void> {
    // Offered outside the checkout the traces may be in: the output folder, else the workspace storage.
    const dir = exportsDir();
    if (dir) await vscode.workspace.fs.createDirectory(dir);
    const target = await vscode.window.showSaveDialog({ ...(dir ? { defaultUri: vscode.Uri.joinPath(dir, name) } : {}), filters });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, data);
    const open = 'Open';
    if ((await vscode.window.showInformationMessage(`Saved ${target.fsPath}`, open)) === open) await vscode.commands.executeCommand('vscode.open', target);
  }

  dispose(): void {
    this.scope.dispose();
  }
}
