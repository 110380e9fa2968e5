/**
 * "QEMU Migration: Open Trace Summary…": reads a trace in the worker behind a
 * cancellable progress notification and shows a read-only summary document whose
 * `line N` references open the trace at that line.
 */
import * as vscode from 'vscode';
import { formatBytes } from '../../core/units';
import { choiceAfterRead, choiceText, resolveCatalogue } from '../../core/trace/catalogueResolver';
import { detectCompression, CancelledError } from '../../core/trace/source';
import { traceReportText } from '../../core/trace/summary';
import { prestartTraceWorkersFor, readTraceInWorker } from '../../core/trace/workerClient';
import { catalogueOptions } from './catalogueTrees';

const SCHEME = 'qemu-trace-summary';
const COMMAND = 'qemuMigration.openTraceSummary';

class SummaryDocuments implements vscode.TextDocumentContentProvider, vscode.DocumentLinkProvider {
  private readonly texts = new Map<string, { text: string; source: vscode.Uri; linkable: boolean }>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  set(uri: vscode.Uri, text: string, source: vscode.Uri, linkable: boolean): void {
    this.texts.set(uri.toString(), { text, source, linkable });
    this.changed.fire(uri);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString())?.text ?? 'This trace summary is no longer available; run "QEMU Migration: Open Trace Summary…" again.\n';
  }

  provideDocumentLinks(doc: vscode.TextDocument): vscode.DocumentLink[] {
    const entry = this.texts.get(doc.uri.toString());
    if (!entry?.linkable) return [];
    const links: vscode.DocumentLink[] = [];
    const text = doc.getText();
    // "line N", and the numbers of "first at N name, M name" lists.
    const re = /\bline (\d+)|(?:first at |, )(\d+)(?= [a-z_]|,|\)| *$)/gm;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const num = m[1] ?? m[2]!;
      const start = m.index + m[0].length - num.length;
      const range = new vscode.Range(doc.positionAt(start), doc.positionAt(start + num.length));
      const link = new vscode.DocumentLink(range, entry.source.with({ fragment: `L${num}` }));
      link.tooltip = `Open the trace at line ${num}`;
      links.push(link);
    }
    return links;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** Registers the trace summary command, its virtual documents and their links. Call once at activation. */
export function registerTraceFeatures(ctx: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  const docs = new SummaryDocuments();
  let serial = 0;
  ctx.subscriptions.push(
    docs,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, docs),
    vscode.languages.registerDocumentLinkProvider({ scheme: SCHEME }, docs),
    vscode.commands.registerCommand(COMMAND, async (arg?: unknown) => {
      let uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
      const picking = !uri || uri.scheme !== 'file' || arg === undefined;
      // The read's workers boot while the picker is open or the catalogue is chosen.
      void prestartTraceWorkersFor(picking ? undefined : uri!.fsPath);
      if (picking) {
        const picked = await vscode.window.showOpenDialog({
          canSelectMany: false, openLabel: 'Summarize Trace', title: 'QEMU trace (log backend or simpletrace; .gz/.xz)',
          filters: { 'QEMU traces': ['log', 'xz', 'gz', 'simple', 'txt'], 'All files': ['*'] },
          ...(uri?.scheme === 'file' ? { defaultUri: uri } : {}),
        });
        uri = picked?.[0];
      }
      if (!uri) return;
      const file = uri.fsPath;
      try {
        const report = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Reading ${vscode.workspace.asRelativePath(uri)}`, cancellable: true },
          async (progress, token) => {
            const ac = new AbortController();
            token.onCancellationRequested(() => ac.abort());
            const { catalogue: cat, choice } = await resolveCatalogue(file, catalogueOptions(log));
            log.info(`trace ${file}: ${choiceText(choice)}`);
            if (choice.warning) void vscode.window.showWarningMessage(`${vscode.workspace.asRelativePath(uri)}: ${choice.warning}`);
            let last = 0;
            const t0 = Date.now();
            const store = await readTraceInWorker(file, cat, {
              signal: ac.signal,
              onProgress: (read, total) => {
                const pct = total > 0 ? Math.min(100, (read / total) * 100) : 0;
                progress.report({ increment: pct - last, message: total > 0 ? `${formatBytes(read)} of ${formatBytes(total)}` : formatBytes(read) });
                last = pct;
              },
            });
            const seconds = (Date.now() - t0) / 1000;
            log.info(`trace ${file}: ${store.count()} events, ${store.malformedCount} malformed, ${store.other} other, ${seconds.toFixed(2)} s, ${(store.memoryBytes() / Math.max(1, store.count())).toFixed(1)} bytes/event`);
            for (const e of store.errors) log.warn(`trace ${file}: ${e}`);
            const after = choiceAfterRead(choice, { events: store.count(), unknown: store.unknownEvents, malformed: store.malformedCount });
            return traceReportText({ file, store, seconds, catalogue: cat.source, choice: after });
          },
        );
        const docUri = vscode.Uri.from({ scheme: SCHEME, path: `/${++serial}/${uri.path.split('/').pop() ?? 'trace'}.summary` });
        docs.set(docUri, report, uri, (await detectCompression(file)) === 'none');
        const doc = await vscode.workspace.openTextDocument(docUri);
        await vscode.window.showTextDocument(doc, { preview: false });
      } catch (e) {
        if (e instanceof CancelledError) { log.info(`trace ${file}: reading cancelled`); return; }
        const msg = e instanceof Error ? e.message : String(e);
        log.error(`trace ${file}: ${msg}`);
        void vscode.window.showErrorMessage(`Cannot read the trace: ${msg}`);
      }
    }),
  );
}
