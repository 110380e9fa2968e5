/** Which event the cursor is on, and the places of an event: declarations, calls, guards. */
import type { CodeLens, DocumentSymbol, Location, TextEdit, WorkspaceEdit, WorkspaceSymbol } from 'vscode-languageserver';
import { SymbolKind } from 'vscode-languageserver';
import type { EventDecl, EventsFile } from '../eventsFile';
import type { TraceWorkspace } from '../workspace';
import { eventOfIdentifier, identifierAt, location, pathToUri, range } from './positions';

export interface Target {
  readonly event: string;
  /** Where the event's own name is under the cursor (for rename): line and columns. */
  readonly line: number;
  readonly start: number;
  readonly end: number;
  readonly decl: EventDecl | undefined;
}

/** The event at a position of a trace-events file (on its name) or of a C file (on trace_foo or TRACE_FOO). */
export function targetAt(ws: TraceWorkspace, path: string, isTraceEvents: boolean, lineText: string, line: number, character: number): Target | undefined {
  if (isTraceEvents) {
    const f = ws.file(path);
    const d = f?.events.find((e) => e.line === line);
    if (!d) return undefined;
    const s = d.decl.nameSpan;
    if (character < s.start || character > s.end) return undefined;
    return { event: d.name, line, start: s.start, end: s.end, decl: d };
  }
  const id = identifierAt(lineText, character);
  if (!id) return undefined;
  const ev = eventOfIdentifier(id.text, (n) => ws.eventsNamed(n).length > 0);
  if (!ev) return undefined;
  return { event: ev.event, line, start: id.start + ev.nameStart, end: id.start + ev.nameStart + ev.nameLength, decl: ws.eventsNamed(ev.event)[0] };
}

export function declarationLocations(ws: TraceWorkspace, event: string): Location[] {
  return ws.eventsNamed(event).map((d) => location(d.file, d.line, d.decl.nameSpan.start, d.decl.nameSpan.end));
}

export function callLocations(ws: TraceWorkspace, event: string): Location[] {
  return ws.index.callsOf(event).map((c) => location(c.file, c.record.line, c.record.character, c.record.character + c.record.length));
}

export function guardLocations(ws: TraceWorkspace, event: string): Location[] {
  return ws.index.guardsOf(event).map((g) => location(g.file, g.record.line, g.record.character, g.record.character + g.record.length));
}

export function isEventName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/** Every edit that renames event `from` to `to`: declarations, calls (`trace_` + name) and guards (`TRACE_` + NAME). */
export function renameEdits(ws: TraceWorkspace, from: string, to: string): WorkspaceEdit {
  const changes: Record<string, TextEdit[]> = {};
  const add = (path: string, e: TextEdit): void => { (changes[pathToUri(path)] ??= []).push(e); };
  for (const d of ws.eventsNamed(from)) add(d.file, { range: range(d.line, d.decl.nameSpan.start, d.decl.nameSpan.end), newText: to });
  for (const c of ws.index.callsOf(from)) add(c.file, { range: range(c.record.line, c.record.character + 6, c.record.character + c.record.length), newText: to });
  const up = from.toUpperCase();
  for (const g of ws.index.guardsOf(from)) {
    const at = g.record.character + 6;
    add(g.file, { range: range(g.record.line, at, at + up.length), newText: to.toUpperCase() });
  }
  return { changes };
}

/** The events of a file, under their `# file.c` sections. */
export function documentSymbols(f: EventsFile): DocumentSymbol[] {
  const top: DocumentSymbol[] = [];
  const sections = f.sections.map((s, i) => {
    const endLine = (f.sections[i + 1]?.line ?? f.lines.length) - 1;
    const sym: DocumentSymbol = { name: s.title, kind: SymbolKind.File, range: range(s.line, 0, f.lines[endLine]?.length ?? 0, Math.max(endLine, s.line)), selectionRange: range(s.line, 0, f.lines[s.line]!.length), children: [] };
    return { from: s.line, to: endLine, sym };
  });
  for (const s of sections) top.push(s.sym);
  for (const e of f.events) {
    const sym: DocumentSymbol = { name: e.name, detail: `(${e.decl.args.map((a) => a.text).join(', ')})`, kind: SymbolKind.Event, range: range(e.line, 0, f.lines[e.line]!.length), selectionRange: range(e.line, e.decl.nameSpan.start, e.decl.nameSpan.end) };
    const sec = sections.find((s) => s.from <= e.line && e.line <= s.to);
    if (sec) sec.sym.children!.push(sym); else top.push(sym);
  }
  return top;
}

export function workspaceSymbols(ws: TraceWorkspace, query: string, limit = 500): WorkspaceSymbol[] {
  const q = query.toLowerCase();
  const out: WorkspaceSymbol[] = [];
  for (const f of ws.traceEventsFiles()) {
    for (const e of f.events) {
      if (q !== '' && !e.name.toLowerCase().includes(q)) continue;
      out.push({ name: e.name, kind: SymbolKind.Event, containerName: e.section, location: location(e.file, e.line, e.decl.nameSpan.start, e.decl.nameSpan.end) });
      if (out.length >= limit) return out;
    }
  }
  return out;
}

export const SHOW_CALL_SITES_COMMAND = 'qemuMigration.traceEvents.showCallSites';

export function codeLenses(ws: TraceWorkspace, f: EventsFile): CodeLens[] {
  return f.events.map((e) => {
    const r = range(e.line, e.decl.nameSpan.start, e.decl.nameSpan.end);
    if (!ws.index.ready) return { range: r, command: { title: 'call sites: indexing…', command: '' } };
    const n = ws.index.callsOf(e.name).length;
    return { range: r, command: { title: `${n} call site${n === 1 ? '' : 's'}`, command: n > 0 ? SHOW_CALL_SITES_COMMAND : '', arguments: [pathToUri(f.path), { line: e.line, character: e.decl.nameSpan.start }] } };
  });
}
