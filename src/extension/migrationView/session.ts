/**
 * One open migration view: reads its traces (worker threads) into a model, posts it to
 * the webview, answers the webview (open a trace line, save exports) and, in follow
 * mode, tails the traces and posts a fresh model at most once per FOLLOW_POST_MS.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { loadMigration, modelFromStores, transcriptBeside, type LoadedTrace } from '../../core/analysis/load';
import type { Side } from '../../core/analysis/model';
import { formatBytes } from '../../core/monitor/samples';
import { detectSides } from '../../core/analysis/sides';
import { loadCatalogueFromDir, type Catalogue } from '../../core/trace/catalogue';
import { followTrace } from '../../core/trace/follow';
import { readChunks } from '../../core/trace/source';
import { TraceStore } from '../../core/trace/store';
import { appendStore } from '../../core/trace/storeTransfer';
import { guessQemuVersion } from '../../core/trace/versionGuess';
import type { FromWebview, ToWebview } from '../../webview/migrationView/protocol';
import * as config from '../config';
import type { WorkbenchContext } from '../context';
import type { WebviewHost } from '../webview/panelHost';

const FOLLOW_POST_MS = 250;
const FOLLOW_POLL_MS = 100;

export function titleOf(files: readonly string[]): string {
  const dirs = [...new Set(files.map((f) => basename(dirname(f))))];
  return `${files.map((f) => basename(f)).join(' + ')}${dirs.length === 1 ? ` (${dirs[0]})` : ''}`;
}

export class MigrationSession implements vscode.Disposable {
  private traces: LoadedTrace[] = [];
  private follow: AbortController | null = null;
  /** The QMP transcript beside the traces, re-read when following starts (a lab run may still be writing it). */
  private transcript: string | null = null;
  private postTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: WorkbenchContext, private readonly host: WebviewHost<ToWebview, FromWebview>, readonly files: readonly string[]) {
    this.disposables.push(host.onMessage((m) => void this.onMessage(m).catch((e: unknown) => this.fail(e))));
  }

  private fail(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.ctx.log.error(`migration view: ${message}`);
    void this.host.post({ type: 'error', message });
  }

  private async onMessage(m: FromWebview): Promise<void> {
    switch (m.type) {
      case 'ready': return this.load();
      case 'openLine': return this.openLine(m.side, m.line);
      case 'saveCsv': return this.save(m.name, new TextEncoder().encode(m.text), { CSV: ['csv'] });
      case 'savePng': return this.save(m.name, m.data, { 'PNG image': ['png'] });
      case 'follow': return m.enabled ? this.startFollow() : this.stopFollow();
    }
  }

  /** The catalogue of the user's QEMU tree (qemuMigration.qemuSourceDir or a workspace folder holding migration/trace-events), else none: each file's version is guessed. */
  private async treeCatalogue(): Promise<Catalogue | undefined> {
    const dirs = [config.qemuSourceDir(), ...(vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath)];
    const tree = dirs.find((d): d is string => d !== undefined && existsSync(join(d, 'migration', 'trace-events')));
    if (!tree) return undefined;
    const cat = await loadCatalogueFromDir(tree);
    this.ctx.log.info(`migration view: decoding with the trace-events of ${tree}`);
    return cat;
  }

  private async load(): Promise<void> {
    const title = titleOf(this.files);
    await this.host.post({ type: 'loading', title, files: this.files });
    const t0 = performance.now();
    const catalogue = await this.treeCatalogue();
    const loaded = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Reading ${title}`, cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort());
        let shown = 0;
        try {
          return await loadMigration(this.files, {
            catalogue,
            signal: abort.signal,
            onProgress: (read, total) => {
              // Progress increments are relative: report only the growth since the last call.
              const pct = total > 0 ? Math.floor((read / total) * 100) : 100;
              if (pct > shown) {
                progress.report({ increment: pct - shown, message: `${formatBytes(read)} of ${formatBytes(total)}` });
                shown = pct;
              }
            },
          });
        } finally {
          sub.dispose();
        }
      },
    );
    this.traces = [...loaded.traces];
    this.ctx.log.info(`migration view: read ${this.files.join(', ')} in ${(performance.now() - t0).toFixed(0)} ms`);
    await this.host.post({ type: 'model', title, files: this.files, model: loaded.model, live: false, following: this.follow !== null });
  }

  private pathOf(side: Side): string | undefined {
    return this.traces.find((t) => t.side === side)?.path ?? (this.files.length === 1 ? this.files[0] : undefined);
  }

  private async openLine(side: Side, line: number): Promise<void> {
    const path = this.pathOf(side);
    if (!path || line < 1) return;
    const trace = this.traces.find((t) => t.path === path);
    if (trace?.store.positionKind === 'byteOffset') {
      void vscode.window.showInformationMessage(`${basename(path)} is a simpletrace binary: the event is at byte offset ${line}.`);
      return;
    }
    const pos = new vscode.Position(line - 1, 0);
    const options: vscode.TextDocumentShowOptions = { selection: new vscode.Range(pos, pos), viewColumn: vscode.ViewColumn.Beside, preview: true };
    if (/\.(xz|gz)$/.test(path)) {
      const parts: Buffer[] = [];
      for await (const chunk of readChunks(path)) parts.push(Buffer.from(chunk));
      const doc = await vscode.workspace.openTextDocument({ content: Buffer.concat(parts).toString('utf8'), language: 'log' });
      await vscode.window.showTextDocument(doc, options);
      return;
    }
    await vscode.window.showTextDocument(vscode.Uri.file(path), options);
  }

  private async save(name: string, data: Uint8Array, filters: Record<string, string[]>): Promise<void> {
    const dir = this.files[0] ? dirname(this.files[0]) : undefined;
    const target = await vscode.window.showSaveDialog({ defaultUri: dir ? vscode.Uri.file(join(dir, name)) : undefined, filters });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, data);
    void vscode.window.showInformationMessage(`Saved ${target.fsPath}`);
  }

  /** Tails every plain log from its start; each batch is appended to that file's store. */
  private async startFollow(): Promise<void> {
    if (this.follow) return;
    const follow = new AbortController();
    this.follow = follow;
    const stores = this.files.map(() => new TraceStore());
    const versions = await Promise.all(this.files.map((f) => guessQemuVersion(f)));
    this.transcript = await transcriptBeside(this.files);
    const followable = this.files.filter((f) => !/\.(xz|gz|simple)$/.test(f) && existsSync(f));
    if (!followable.length) void vscode.window.showInformationMessage('Follow works on plain log-backend traces; compressed and simpletrace files are read once.');
    this.files.forEach((file, i) => {
      if (!followable.includes(file)) return;
      void followTrace(file, versions[i]!.catalogue, {
        signal: follow.signal,
        intervalMs: FOLLOW_POLL_MS,
        onBatch: (batch) => { appendStore(stores[i]!, batch, 0); this.schedulePost(stores, versions.map((v) => v.version)); },
        onReset: () => { stores[i] = new TraceStore(); },
        onError: (m) => this.ctx.log.warn(`follow ${file}: ${m}`),
      }).catch((e: unknown) => this.fail(e));
    });
  }

  private schedulePost(stores: TraceStore[], versions: string[]): void {
    if (this.postTimer !== undefined) return;
    this.postTimer = setTimeout(() => {
      this.postTimer = undefined;
      if (!this.follow) return;
      const usable = stores.map((s, i) => ({ s, i })).filter(({ s }) => s.count() > 0);
      if (!usable.length) return;
      const sides = detectSides(usable.map(({ s }) => s));
      this.traces = usable.map(({ s, i }, k) => ({ path: this.files[i]!, side: sides[k]!, store: s, version: versions[i]!, parseMs: 0 }));
      const model = modelFromStores(this.traces, this.transcript);
      void this.host.post({ type: 'model', title: titleOf(this.files), files: this.files, model, live: true, following: true });
    }, FOLLOW_POST_MS);
  }

  private stopFollow(): void {
    this.follow?.abort();
    this.follow = null;
    clearTimeout(this.postTimer);
    this.postTimer = undefined;
  }

  dispose(): void {
    this.stopFollow();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.host.dispose();
  }
}
