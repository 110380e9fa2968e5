/**
 * The trace-events language server: LSP requests and notifications translated to the
 * workspace model (workspace.ts), the checks (features/checks.ts) and the C call index
 * (index/callIndex.ts, built in a worker thread).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import {
  CodeActionKind, CodeLensRefreshRequest, FileChangeType, LSPErrorCodes, ResponseError, TextDocuments, TextDocumentSyncKind,
  type CancellationToken, type CodeAction, type Connection, type InitializeResult, type Location,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { cParser } from '../core/vhostuser/cEnums';
import { cFindings, traceEventsFindings } from './features/checks';
import { completeTraceCall } from './features/completion';
import { eventHover } from './features/hover';
import {
  callLocations, codeLenses, declarationLocations, documentSymbols, guardLocations, isEventName, renameEdits, targetAt, workspaceSymbols,
} from './features/navigation';
import { uriToPath } from './features/positions';
import { isVhostUserSpec, vhostUserDiagnostics } from './features/vhostUserLint';
import { isFixData, toDiagnostics } from './diagnostics';
import { isCFile } from './index/walkTree';
import { indexStatusNotification, isInitializationOptions, type IndexStatus } from './protocol';
import type { EventsFile } from './eventsFile';
import { TraceWorkspace } from './workspace';

/** One line of a file on disk (UTF-8, as the editor would show it). */
function lineOfFile(path: string, line: number): string {
  const b = readFileSync(path);
  let start = 0;
  for (let l = 0; l < line; l++) {
    const nl = b.indexOf(0x0a, start);
    if (nl < 0) return '';
    start = nl + 1;
  }
  const end = b.indexOf(0x0a, start);
  return b.toString('utf8', start, end < 0 ? b.length : end).replace(/\r$/, '');
}

/** What other documents' diagnostics depend on in a trace-events file. */
function signatures(f: EventsFile | undefined): string {
  return f ? f.events.map((e) => `${e.name}/${e.decl.args.length}/${e.decl.props.map((p) => p.name).join(',')}`).join('\n') : '';
}

/** Index workers: one per core, at most two (the reads and parses of a big tree split between them). */
const INDEX_WORKERS = Math.min(2, Math.max(1, availableParallelism()));

type DocKind = 'trace-events' | 'c' | 'spec' | 'other';

export function kindOf(path: string, languageId?: string): DocKind {
  if (languageId === 'qemu-trace-events' || basename(path) === 'trace-events') return 'trace-events';
  if (isVhostUserSpec(path)) return 'spec';
  if (languageId === 'c' || languageId === 'cpp' || isCFile(path)) return 'c';
  return 'other';
}

function cancelled(): ResponseError<void> {
  return new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
}

/** Waits for `p`, or throws RequestCancelled as soon as the client cancels. */
async function orCancel<T>(p: Promise<T>, token: CancellationToken): Promise<T> {
  if (token.isCancellationRequested) throw cancelled();
  let off: { dispose(): void } | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { off = token.onCancellationRequested(() => reject(cancelled())); })]);
  } finally {
    off?.dispose();
  }
}

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const ws = new TraceWorkspace(join(__dirname, 'traceIndexWorker.js'), cParser);
  let traceEventsLoaded: Promise<void> = Promise.resolve();
  let markLoaded: () => void = () => undefined;
  let codeLensRefresh = false;
  let extraRoot: string | undefined;
  const status = (s: Omit<IndexStatus, 'pid' | 'events' | 'traceEventsFiles'>): void => {
    void connection.sendNotification(indexStatusNotification, { ...s, events: ws.eventCount, traceEventsFiles: [...ws.traceEventsFiles()].length, pid: process.pid });
  };

  const log = (m: string): void => connection.console.log(m);
  const fail = (what: string, e: unknown): void => connection.console.error(`${what}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);

  // Diagnostics of open documents, published on the next turn of the event loop (several edits coalesce).
  const pending = new Set<string>();
  let flushScheduled = false;
  const publish = (uri: string): void => {
    pending.add(uri);
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      const uris = [...pending];
      pending.clear();
      for (const u of uris) void publishNow(u);
    });
  };
  const publishNow = async (uri: string): Promise<void> => {
    const doc = documents.get(uri);
    const path = uriToPath(uri);
    if (!doc || !path) return;
    try {
      const kind = kindOf(path, doc.languageId);
      if (kind === 'trace-events') {
        const f = ws.file(path);
        if (f) await connection.sendDiagnostics({ uri, version: doc.version, diagnostics: toDiagnostics(traceEventsFindings(ws, f)) });
      } else if (kind === 'c') {
        const r = ws.index.record(path);
        await connection.sendDiagnostics({ uri, version: doc.version, diagnostics: r ? toDiagnostics(cFindings(ws, r)) : [] });
      }
    } catch (e) {
      fail(`diagnostics of ${path}`, e);
    }
  };
  const publishAll = (except?: string): void => {
    for (const d of documents.all()) if (d.uri !== except) publish(d.uri);
  };

  const specTimers = new Map<string, NodeJS.Timeout>();
  const lintSpec = (doc: TextDocument, delayMs: number): void => {
    clearTimeout(specTimers.get(doc.uri));
    specTimers.set(doc.uri, setTimeout(() => {
      specTimers.delete(doc.uri);
      const path = uriToPath(doc.uri);
      if (!path || !documents.get(doc.uri)) return;
      vhostUserDiagnostics(path, doc.getText())
        .then((diagnostics) => connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics }))
        .catch((e: unknown) => fail(`vhost-user lint of ${path}`, e));
    }, delayMs));
  };

  const rebuild = (): void => {
    const roots = [...ws.roots, ...(extraRoot && !ws.roots.some((r) => extraRoot!.startsWith(r)) ? [extraRoot] : [])];
    traceEventsLoaded = new Promise<void>((resolve) => { markLoaded = resolve; });
    status({ state: 'indexing', filesDone: 0, cFiles: 0, callSites: 0, ms: 0 });
    let lastProgress = 0;
    const build = ws.index.rebuild(roots, {
      traceEventsFound: (paths) => {
        ws.loadFromDisk(paths).catch((e: unknown) => fail('reading trace-events files', e)).finally(() => { markLoaded(); publishAll(); });
      },
      progress: (calls, cFiles) => {
        if (calls - lastProgress < 500) return;
        lastProgress = calls;
        status({ state: 'indexing', filesDone: 0, cFiles, callSites: calls, ms: 0 });
      },
    }, INDEX_WORKERS);
    void build.then(() => {
      markLoaded();
      const s = ws.index.lastStats;
      if (ws.index.lastError) {
        log(`trace call index failed: ${ws.index.lastError}`);
        status({ state: 'failed', filesDone: 0, cFiles: 0, callSites: 0, ms: 0, message: ws.index.lastError });
      } else if (s) {
        log(`trace call index: ${s.calls} calls in ${s.candidates} of ${s.cFiles} C files (${(s.bytesRead / 1e6).toFixed(0)} MB read) in ${s.ms.toFixed(0)} ms`);
        status({ state: 'ready', filesDone: s.cFiles, cFiles: s.cFiles, callSites: s.calls, ms: s.ms });
      }
      publishAll();
      if (codeLensRefresh) void connection.sendRequest(CodeLensRefreshRequest.type);
    });
  };

  connection.onInitialize((params): InitializeResult => {
    const folders = params.workspaceFolders?.map((f) => uriToPath(f.uri)).filter((p): p is string => p !== undefined)
      ?? (params.rootUri ? [uriToPath(params.rootUri)].filter((p): p is string => p !== undefined) : []);
    ws.roots = folders;
    const opts = isInitializationOptions(params.initializationOptions) ? params.initializationOptions : undefined;
    extraRoot = opts?.qemuSourceDir || undefined;
    codeLensRefresh = params.capabilities.workspace?.codeLens?.refreshSupport === true;
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: false },
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        documentSymbolProvider: true,
        workspaceSymbolProvider: true,
        codeLensProvider: { resolveProvider: false },
        completionProvider: { triggerCharacters: ['_'] },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: 'qemu-trace-events' },
    };
  });

  connection.onInitialized(() => {
    rebuild();
    connection.workspace.onDidChangeWorkspaceFolders((e) => {
      const gone = new Set(e.removed.map((f) => uriToPath(f.uri)));
      ws.roots = [...ws.roots.filter((r) => !gone.has(r)), ...e.added.map((f) => uriToPath(f.uri)).filter((p): p is string => p !== undefined)];
      ws.versions.clear();
      rebuild();
    });
  });

  const calledIn = (path: string): string => {
    const r = ws.index.record(path);
    return r ? [...new Set([...r.calls.map((c) => c.event), ...r.guards.map((g) => g.ident)])].sort().join('\n') : '';
  };

  documents.onDidChangeContent(({ document: doc }) => {
    const path = uriToPath(doc.uri);
    if (!path) return;
    const kind = kindOf(path, doc.languageId);
    if (kind === 'trace-events') {
      const before = signatures(ws.file(path));
      const f = ws.setText(path, doc.getText(), true);
      publish(doc.uri);
      // Other documents change only when names, argument counts or properties do (duplicates, calls).
      if (before !== signatures(f)) publishAll(doc.uri);
    } else if (kind === 'c') {
      const text = doc.getText();
      update(async () => {
        const calledBefore = calledIn(path);
        await ws.index.updateFromText(path, text);
        publish(doc.uri);
        // Trace-events documents change when the events this file calls do (never called).
        if (calledIn(path) !== calledBefore) for (const d of documents.all()) if (d.uri !== doc.uri && kindOf(uriToPath(d.uri) ?? '', d.languageId) === 'trace-events') publish(d.uri);
      });
    } else if (kind === 'spec') {
      lintSpec(doc, doc.version <= 1 ? 0 : 300);
    }
  });

  documents.onDidClose(({ document: doc }) => {
    const path = uriToPath(doc.uri);
    if (!path) return;
    void connection.sendDiagnostics({ uri: doc.uri, diagnostics: [] });
    const kind = kindOf(path, doc.languageId);
    if (kind === 'trace-events') update(async () => { await ws.closed(path); publishAll(); });
    else if (kind === 'c') update(() => ws.index.updateFromDisk(path));
  });

  /** Updates of the model still being applied; a request waits for those sent before it. */
  let settled: Promise<void> = Promise.resolve();
  const update = (work: () => Promise<void>): void => {
    settled = settled.then(work).catch((e: unknown) => fail('updating the workspace', e));
  };

  connection.onDidChangeWatchedFiles(({ changes }) => update(async () => {
    const open = new Set(documents.all().map((d) => d.uri));
    const traceFiles: string[] = [];
    for (const c of changes) {
      const path = uriToPath(c.uri);
      if (!path || open.has(c.uri)) continue;
      const kind = kindOf(path);
      if (kind === 'trace-events') {
        if (c.type === FileChangeType.Deleted) ws.remove(path); else traceFiles.push(path);
      } else if (kind === 'c') {
        try {
          if (c.type === FileChangeType.Deleted) ws.index.remove(path); else await ws.index.updateFromDisk(path);
        } catch (e) {
          fail(`indexing ${path}`, e);
        }
      }
    }
    await ws.loadFromDisk(traceFiles);
    publishAll();
    if (codeLensRefresh) void connection.sendRequest(CodeLensRefreshRequest.type);
  }));

  /** The line of a document: the editor's text, or the disk's for a file the editor has not opened. */
  const docContext = (uri: string, line: number): { path: string; isTraceEvents: boolean; lineText: string } | undefined => {
    const doc = documents.get(uri);
    const path = uriToPath(uri);
    if (!path) return undefined;
    if (doc) {
      const lineText = doc.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } }).replace(/\r?\n$/, '');
      return { path, isTraceEvents: kindOf(path, doc.languageId) === 'trace-events', lineText };
    }
    const kind = kindOf(path);
    if (kind === 'trace-events') return { path, isTraceEvents: true, lineText: ws.file(path)?.lines[line] ?? '' };
    if (kind !== 'c') return undefined;
    try {
      return { path, isTraceEvents: false, lineText: lineOfFile(path, line) };
    } catch {
      return undefined;
    }
  };

  const target = async (uri: string, line: number, character: number, token: CancellationToken) => {
    await orCancel(traceEventsLoaded.then(() => settled), token);
    const c = docContext(uri, line);
    return c ? targetAt(ws, c.path, c.isTraceEvents, c.lineText, line, character) : undefined;
  };

  connection.onHover(async ({ textDocument, position }, token) => {
    const t = await target(textDocument.uri, position.line, position.character, token);
    if (!t?.decl) return null;
    const line = ws.file(t.decl.file)?.lines[t.decl.line] ?? '';
    return eventHover(ws, t.decl, line);
  });

  // From a call site or guard to the declaration; from the declaration into C (its call sites, if it has any).
  connection.onDefinition(async ({ textDocument, position }, token) => {
    const t = await target(textDocument.uri, position.line, position.character, token);
    if (!t) return null;
    if (t.decl && docContext(textDocument.uri, position.line)?.isTraceEvents) {
      await orCancel(ws.index.whenReady(), token);
      const calls = callLocations(ws, t.event);
      if (calls.length > 0) return calls;
    }
    return declarationLocations(ws, t.event);
  });

  connection.onReferences(async ({ textDocument, position, context }, token) => {
    const t = await target(textDocument.uri, position.line, position.character, token);
    if (!t) return null;
    await orCancel(ws.index.whenReady(), token);
    const out: Location[] = [...callLocations(ws, t.event), ...guardLocations(ws, t.event)];
    return context.includeDeclaration ? [...declarationLocations(ws, t.event), ...out] : out;
  });

  connection.onPrepareRename(async ({ textDocument, position }, token) => {
    const t = await target(textDocument.uri, position.line, position.character, token);
    if (!t) return null;
    return { range: { start: { line: t.line, character: t.start }, end: { line: t.line, character: t.end } }, placeholder: t.event };
  });

  connection.onRenameRequest(async ({ textDocument, position, newName }, token) => {
    const t = await target(textDocument.uri, position.line, position.character, token);
    if (!t) return null;
    const to = newName.startsWith('trace_') && !t.event.startsWith('trace_') ? newName.slice(6) : newName;
    if (!isEventName(to)) throw new ResponseError(LSPErrorCodes.RequestFailed, `'${newName}' is not a valid event name (a C identifier)`);
    if (to !== t.event && ws.eventsNamed(to).length > 0) throw new ResponseError(LSPErrorCodes.RequestFailed, `an event named '${to}' already exists`);
    await orCancel(ws.index.whenReady(), token);
    return renameEdits(ws, t.event, to);
  });

  connection.onDocumentSymbol(async ({ textDocument }, token) => {
    await orCancel(traceEventsLoaded.then(() => settled), token);
    const path = uriToPath(textDocument.uri);
    const f = path ? ws.file(path) : undefined;
    return f ? documentSymbols(f) : [];
  });

  connection.onWorkspaceSymbol(async ({ query }, token) => {
    await orCancel(traceEventsLoaded.then(() => settled), token);
    return workspaceSymbols(ws, query);
  });

  connection.onCodeLens(async ({ textDocument }, token) => {
    await orCancel(traceEventsLoaded.then(() => settled), token);
    const path = uriToPath(textDocument.uri);
    const f = path ? ws.file(path) : undefined;
    return f ? codeLenses(ws, f) : [];
  });

  connection.onCompletion(async ({ textDocument, position }, token) => {
    await orCancel(traceEventsLoaded.then(() => settled), token);
    const c = docContext(textDocument.uri, position.line);
    if (!c || c.isTraceEvents) return null;
    return completeTraceCall(ws, c.lineText, position.line, position.character) ?? null;
  });

  connection.onCodeAction(({ textDocument, context }) => {
    const actions: CodeAction[] = [];
    for (const d of context.diagnostics) {
      if (!isFixData(d.data)) continue;
      actions.push({ title: d.data.fix.title, kind: CodeActionKind.QuickFix, diagnostics: [d], isPreferred: true, edit: { changes: { [textDocument.uri]: [...d.data.fix.edits] } } });
    }
    return actions;
  });

  connection.onShutdown(() => {
    ws.index.cancel();
    for (const t of specTimers.values()) clearTimeout(t);
  });

  documents.listen(connection);
  connection.listen();
  log(`trace-events language server ${process.pid} started`);
}
