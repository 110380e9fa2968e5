// A language-server session for protocol tests: spawns the built trace-events server
// (dist/traceEventsServer.js) in its own process group and speaks LSP to it over stdio through
// vscode-languageserver-protocol's own client-side connection.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection, StreamMessageReader, StreamMessageWriter,
  CodeActionRequest, CodeLensRequest, CompletionRequest, DefinitionRequest, DidChangeTextDocumentNotification,
  DidChangeWatchedFilesNotification, DidCloseTextDocumentNotification, DidOpenTextDocumentNotification, DocumentSymbolRequest,
  ExitNotification, HoverRequest, InitializedNotification, InitializeRequest, PrepareRenameRequest, PublishDiagnosticsNotification,
  ReferencesRequest, RenameRequest, ShutdownRequest, WorkspaceSymbolRequest,
  type CodeAction, type Command, type Diagnostic, type FileEvent, type Location, type ProtocolConnection, type PublishDiagnosticsParams, type TextEdit,
} from 'vscode-languageserver-protocol/node';
import { indexStatusNotification, type IndexStatus } from '../../src/server/protocol';

export const repoRoot = resolve(__dirname, '..', '..');
export const serverModule = join(repoRoot, 'dist', 'traceEventsServer.js');

export const fileUri = (p: string): string => pathToFileURL(p).href;

interface Waiter<T> { test: (v: T) => boolean; resolve: (v: T) => void }

export class LspSession {
  readonly diagnostics = new Map<string, PublishDiagnosticsParams>();
  readonly statuses: IndexStatus[] = [];
  readonly logs: string[] = [];
  private diagWaiters: Waiter<PublishDiagnosticsParams>[] = [];
  private statusWaiters: Waiter<IndexStatus>[] = [];
  private versions = new Map<string, number>();

  private constructor(readonly child: ChildProcess, readonly connection: ProtocolConnection, readonly roots: readonly string[]) {}

  static async start(roots: readonly string[], initializationOptions: Record<string, unknown> = {}): Promise<LspSession> {
    if (!existsSync(serverModule)) throw new Error(`${serverModule} is missing: run node esbuild.mjs`);
    const child = spawn(process.execPath, [serverModule, '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const s = new LspSession(child, connection, roots);
    child.stderr!.on('data', (d: Buffer) => s.logs.push(d.toString()));
    connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
      s.diagnostics.set(p.uri, p);
      s.diagWaiters = s.diagWaiters.filter((w) => (w.test(p) ? (w.resolve(p), false) : true));
    });
    connection.onNotification(indexStatusNotification, (st) => {
      s.statuses.push(st);
      s.statusWaiters = s.statusWaiters.filter((w) => (w.test(st) ? (w.resolve(st), false) : true));
    });
    connection.onNotification('window/logMessage', (m: { message?: string }) => s.logs.push(m.message ?? ''));
    connection.onRequest('workspace/codeLens/refresh', () => null);
    connection.listen();
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: roots[0] ? fileUri(roots[0]) : null,
      workspaceFolders: roots.map((r) => ({ uri: fileUri(r), name: r })),
      capabilities: { textDocument: { publishDiagnostics: { relatedInformation: true }, rename: { prepareSupport: true } }, workspace: { workspaceFolders: true } },
      initializationOptions,
    });
    await connection.sendNotification(InitializedNotification.type, {});
    return s;
  }

  /** Resolves with the first status (already seen or coming) that passes `test`. */
  status(test: (s: IndexStatus) => boolean, timeoutMs = 120_000): Promise<IndexStatus> {
    const seen = this.statuses.find(test);
    if (seen) return Promise.resolve(seen);
    return this.withTimeout(new Promise((resolve) => this.statusWaiters.push({ test, resolve })), timeoutMs, 'an index status');
  }

  ready(timeoutMs = 120_000): Promise<IndexStatus> {
    return this.status((s) => s.state !== 'indexing', timeoutMs);
  }

  /** The next diagnostics of `uri` that pass `test` (the latest published, if it passes). */
  nextDiagnostics(uri: string, test: (d: Diagnostic[], p: PublishDiagnosticsParams) => boolean = () => true, timeoutMs = 60_000, acceptLatest = true): Promise<Diagnostic[]> {
    const latest = this.diagnostics.get(uri);
    if (acceptLatest && latest && test(latest.diagnostics, latest)) return Promise.resolve(latest.diagnostics);
    return this.withTimeout(new Promise<PublishDiagnosticsParams>((resolve) => this.diagWaiters.push({ test: (p) => p.uri === uri && test(p.diagnostics, p), resolve })), timeoutMs, `diagnostics of ${uri}`)
      .then((p) => p.diagnostics);
  }

  async open(path: string, text: string, languageId: string): Promise<string> {
    const uri = fileUri(path);
    this.versions.set(uri, 1);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version: 1, text } });
    return uri;
  }

  /** Replaces the whole text of an open document; returns the new version. */
  async change(uri: string, text: string): Promise<number> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
    return version;
  }

  /** One incremental edit: replaces [line:start, line:end) with text. */
  async edit(uri: string, line: number, start: number, end: number, text: string): Promise<number> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version }, contentChanges: [{ range: { start: { line, character: start }, end: { line, character: end } }, text }],
    });
    return version;
  }

  async closeDoc(uri: string): Promise<void> {
    await this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  async filesChanged(changes: FileEvent[]): Promise<void> {
    await this.connection.sendNotification(DidChangeWatchedFilesNotification.type, { changes });
  }

  hover(uri: string, line: number, character: number) {
    return this.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character } });
  }

  async definition(uri: string, line: number, character: number): Promise<Location[]> {
    const r = await this.connection.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: { line, character } });
    return (Array.isArray(r) ? r : r ? [r] : []) as Location[];
  }

  async references(uri: string, line: number, character: number, includeDeclaration = false): Promise<Location[]> {
    return (await this.connection.sendRequest(ReferencesRequest.type, { textDocument: { uri }, position: { line, character }, context: { includeDeclaration } })) ?? [];
  }

  prepareRename(uri: string, line: number, character: number) {
    return this.connection.sendRequest(PrepareRenameRequest.type, { textDocument: { uri }, position: { line, character } });
  }

  rename(uri: string, line: number, character: number, newName: string) {
    return this.connection.sendRequest(RenameRequest.type, { textDocument: { uri }, position: { line, character }, newName });
  }

  documentSymbols(uri: string) {
    return this.connection.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } });
  }

  workspaceSymbols(query: string) {
    return this.connection.sendRequest(WorkspaceSymbolRequest.type, { query });
  }

  codeLenses(uri: string) {
    return this.connection.sendRequest(CodeLensRequest.type, { textDocument: { uri } });
  }

  completion(uri: string, line: number, character: number) {
    return this.connection.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: { line, character } });
  }

  async codeActions(uri: string, diagnostics: Diagnostic[]): Promise<CodeAction[]> {
    const r: (Command | CodeAction)[] = (await this.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri }, range: diagnostics[0]?.range ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, context: { diagnostics },
    })) ?? [];
    return r.filter((a): a is CodeAction => 'title' in a && !('command' in a && typeof a.command === 'string'));
  }

  /** Shuts the server down; its process group is ended in any case. */
  async close(): Promise<void> {
    const exited = new Promise<void>((r) => { if (this.child.exitCode !== null || this.child.signalCode !== null) r(); else this.child.once('exit', () => r()); });
    try {
      await this.withTimeout(this.connection.sendRequest(ShutdownRequest.type), 5000, 'shutdown');
      await this.connection.sendNotification(ExitNotification.type);
      await this.withTimeout(exited, 5000, 'exit');
    } catch {
      // fall through to the kill
    } finally {
      try { process.kill(-this.child.pid!, 'SIGKILL'); } catch { /* already gone */ }
      this.connection.dispose();
    }
  }

  private withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}; server log:\n${this.logs.slice(-20).join('')}`)), ms); })])
      .finally(() => clearTimeout(timer));
  }
}

/** Applies LSP text edits (of one document, in any order) to its text. */
export function applyTextEdits(text: string, edits: readonly TextEdit[]): string {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  const off = (p: { line: number; character: number }): number => starts[p.line]! + p.character;
  let out = text;
  for (const e of [...edits].sort((a, b) => off(b.range.start) - off(a.range.start))) out = out.slice(0, off(e.range.start)) + e.newText + out.slice(off(e.range.end));
  return out;
}

/**
 * An independent `grep -rn` of `trace_<name>(` over a tree's C sources, its build folder left out
 * (as the index leaves it out), for the names `namePattern` matches (an extended regex; default
 * every name): each name's call sites as "path:line" relative to the tree, one per match, sorted.
 */
export function grepTraceCallSites(tree: string, namePattern = '[a-z0-9_]+'): Map<string, string[]> {
  const r = spawnSync('grep', ['-rnoE', '--include=*.c', '--include=*.h', '--include=*.inc', '--exclude-dir=build', '--exclude-dir=.git', `(^|[^A-Za-z0-9_])trace_${namePattern}\\(`, tree], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`grep failed: ${r.stderr}`);
  const sites = new Map<string, string[]>();
  for (const l of r.stdout.split('\n')) {
    const m = /^(.*?):(\d+):(?:.*[^A-Za-z0-9_])?trace_([a-z0-9_]+)\($/i.exec(l);
    if (!m) continue;
    const [, f = '', n = '', name = ''] = m;
    sites.set(name, [...(sites.get(name) ?? []), `${relative(tree, f)}:${n}`]);
  }
  for (const list of sites.values()) list.sort();
  return sites;
}

/** grepTraceCallSites for one event name. */
export function grepTraceCalls(tree: string, name: string): string[] {
  return grepTraceCallSites(tree, name).get(name) ?? [];
}
