/**
 * Trace lines opened from the migration view. A mark's line opens beside the view when another
 * editor group is there (the view keeps its width and the focus), else in the view's own group
 * with a way back above the line. The line is marked with its time on the view's axis, and
 * every line of a trace a view shows gives that time on hover: the trace has epoch times, the
 * view seconds from its start.
 */
import * as vscode from 'vscode';
import { linePrefixTimeNs } from '../../core/trace/linePrefix';
import type { WorkbenchContext } from '../context';

/** A migration view as the trace lines need it. */
export interface ViewTrace {
  /** Epoch ns of the view's t = 0, once its model is there. */
  origin(): bigint | undefined;
  /** The editor group the view is in. */
  column(): vscode.ViewColumn | undefined;
  /** Shows the view again. */
  back(): void;
}

const BACK_COMMAND = 'qemuMigration.backToMigrationView';

/** Seconds on the view's axis with the trace's microsecond resolution. */
export function axisTimeText(lineNs: bigint, originNs: bigint): string {
  return `${(Number(lineNs - originNs) / 1e9).toFixed(6)} s`;
}

class TraceLines implements vscode.HoverProvider, vscode.CodeLensProvider, vscode.Disposable {
  /** Views by the trace files they show (a path, or the URI of a decompressed copy). */
  private readonly views = new Map<string, ViewTrace[]>();
  /** The line opened from a view, per document. */
  private readonly marks = new Map<string, { line: number; view: ViewTrace }>();
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('editor.rangeHighlightBackground'),
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 2em' },
  });

  attach(keys: readonly string[], view: ViewTrace): vscode.Disposable {
    for (const k of keys) this.views.set(k, [...(this.views.get(k) ?? []), view]);
    return {
      dispose: () => {
        for (const k of keys) {
          const left = (this.views.get(k) ?? []).filter((v) => v !== view);
          if (left.length) this.views.set(k, left);
          else this.views.delete(k);
        }
        for (const [doc, m] of this.marks) if (m.view === view) this.marks.delete(doc);
        this.lensesChanged.fire();
      },
    };
  }

  private viewOf(doc: vscode.TextDocument): ViewTrace | undefined {
    return this.marks.get(doc.uri.toString())?.view ?? (this.views.get(doc.uri.toString()) ?? this.views.get(doc.uri.fsPath))?.[0];
  }

  private decorate(editor: vscode.TextEditor): void {
    const mark = this.marks.get(editor.document.uri.toString());
    if (!mark || mark.line >= editor.document.lineCount) { editor.setDecorations(this.decoration, []); return; }
    const origin = mark.view.origin();
    const lineNs = linePrefixTimeNs(editor.document.lineAt(mark.line).text);
    const contentText = origin !== undefined && lineNs !== undefined ? `t = ${axisTimeText(lineNs, origin)} in the migration view` : 'opened from the migration view';
    editor.setDecorations(this.decoration, [{ range: new vscode.Range(mark.line, 0, mark.line, 0), renderOptions: { after: { contentText } } }]);
  }

  /** Decorations belong to an editor: a trace shown again gets its mark again. */
  redecorate(editors: readonly vscode.TextEditor[]): void {
    for (const e of editors) if (this.marks.has(e.document.uri.toString())) this.decorate(e);
  }

  async reveal(file: string, target: vscode.Uri | vscode.TextDocument, line: number): Promise<void> {
    const view = this.views.get(file)?.[0];
    const doc = target instanceof vscode.Uri ? await vscode.workspace.openTextDocument(target) : target;
    if (view && doc.uri.toString() !== file && doc.uri.fsPath !== file) this.attachCopy(doc, view);
    const at = Math.min(Math.max(line - 1, 0), Math.max(doc.lineCount - 1, 0));
    const viewColumn = view?.column() ?? vscode.window.tabGroups.activeTabGroup.viewColumn;
    const other = vscode.window.tabGroups.all.find((g) => g.viewColumn !== viewColumn)?.viewColumn;
    if (view) this.marks.set(doc.uri.toString(), { line: at, view });
    const pos = new vscode.Position(at, 0);
    const editor = await vscode.window.showTextDocument(doc, {
      viewColumn: other ?? viewColumn, preview: true, preserveFocus: other !== undefined, selection: new vscode.Range(pos, pos),
    });
    editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenter);
    this.decorate(editor);
    this.lensesChanged.fire();
  }

  /** A decompressed copy of a trace belongs to the same view. */
  private attachCopy(doc: vscode.TextDocument, view: ViewTrace): void {
    const key = doc.uri.toString();
    if (!(this.views.get(key) ?? []).includes(view)) this.views.set(key, [...(this.views.get(key) ?? []), view]);
  }

  back(uri: string): void {
    this.marks.get(uri)?.view.back();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const mark = this.marks.get(doc.uri.toString());
    if (!mark) return [];
    // Beside the view the view is still in sight: the way back is for a trace that took its place.
    if (vscode.window.visibleTextEditors.some((e) => e.document === doc && e.viewColumn !== mark.view.column())) return [];
    return [new vscode.CodeLens(new vscode.Range(mark.line, 0, mark.line, 0), { title: '$(arrow-left) Back to the migration view', command: BACK_COMMAND, arguments: [doc.uri.toString()] })];
  }

  provideHover(doc: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const view = this.viewOf(doc);
    const origin = view?.origin();
    if (origin === undefined) return undefined;
    const text = doc.lineAt(position.line).text;
    const lineNs = linePrefixTimeNs(text);
    const end = text.indexOf(text.includes('Z ') ? 'Z ' : ':');
    if (lineNs === undefined || position.character > end + 1) return undefined;
    return new vscode.Hover(`t = ${axisTimeText(lineNs, origin)} on the migration view's time axis`, new vscode.Range(position.line, 0, position.line, end + 1));
  }

  dispose(): void {
    this.decoration.dispose();
    this.lensesChanged.dispose();
    this.views.clear();
    this.marks.clear();
  }
}

let current: TraceLines | undefined;

/** Registers the hover, the way back and the marks; call once at activation. */
export function registerTraceLines(ctx: WorkbenchContext): void {
  const lines = new TraceLines();
  current = lines;
  const selector: vscode.DocumentSelector = [{ scheme: 'file' }, { scheme: 'untitled' }];
  ctx.subscriptions.push(
    lines,
    { dispose: () => { if (current === lines) current = undefined; } },
    vscode.languages.registerHoverProvider(selector, lines),
    vscode.languages.registerCodeLensProvider(selector, lines),
    vscode.commands.registerCommand(BACK_COMMAND, (uri: unknown) => { if (typeof uri === 'string') lines.back(uri); }),
    vscode.window.onDidChangeVisibleTextEditors((editors) => lines.redecorate(editors)),
  );
}

/** The traces a migration view shows; disposed with the view. */
export function attachViewTraces(files: readonly string[], view: ViewTrace): vscode.Disposable {
  return current?.attach(files, view) ?? { dispose: () => undefined };
}

/** Opens a trace at a line for the view that shows `file` (see the module comment). */
export async function revealTraceLine(file: string, target: vscode.Uri | vscode.TextDocument, line: number): Promise<void> {
  if (current) return current.reveal(file, target, line);
  await vscode.window.showTextDocument(target instanceof vscode.Uri ? target : target.uri, { selection: new vscode.Range(line - 1, 0, line - 1, 0) });
}
