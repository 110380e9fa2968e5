/**
 * All findings of a trace-events file and of a C file, from the workspace: tracetool's rules
 * of the tree's version, the format checks, and the checks that need the whole tree
 * (duplicates, events never called, calls of undeclared events, argument counts).
 */
import { relative } from 'node:path';
import type { EventsFile } from '../eventsFile';
import type { Finding } from '../findings';
import { checkFormat } from '../formatRules';
import type { FileRecord } from '../index/fileRecord';
import type { TracetoolRules } from '../qemuVersion';
import { checkLine } from '../tracetoolRules';
import type { TraceWorkspace } from '../workspace';

type LineFinding = Omit<Finding, 'line' | 'fix'> & { readonly fix?: { readonly title: string; readonly edits: readonly { start: number; end: number; newText: string }[] } | undefined };

/** Findings of one line depend only on its text and the rules: kept per (rules, text). */
const lineFindings = new Map<string, readonly LineFinding[]>();

function findingsOfLine(ws: TraceWorkspace, file: EventsFile, i: number, rules: TracetoolRules): readonly LineFinding[] {
  const text = file.lines[i]!;
  const key = `${rules.label}\u0000${text}`;
  const known = lineFindings.get(key);
  if (known) return known;
  const out: Finding[] = [...checkLine(text.endsWith('\r') ? text.slice(0, -1) : text, 0, rules)];
  const scanned = ws.lineCache.scan(text);
  if (scanned.kind === 'error') {
    if (!out.some((f) => f.code === 'line-grammar')) {
      out.push({ line: 0, start: scanned.span.start, end: Math.max(scanned.span.end, scanned.span.start + 1), severity: 'error', source: 'qemu-trace-events', code: 'syntax',
        message: `${scanned.message}: the generated C would not compile, or the event has no format` });
    }
  } else if (scanned.kind === 'declaration') {
    for (const p of scanned.decl.problems) {
      out.push({ line: 0, start: p.span.start, end: p.span.end, severity: 'warning', source: 'qemu-trace-events', code: 'format-syntax', message: p.message });
    }
    out.push(...checkFormat(scanned.decl, 0));
  }
  const strip = out.map(({ line: _l, fix, ...rest }) => ({ ...rest, fix: fix ? { title: fix.title, edits: fix.edits.map(({ line: _e, ...x }) => x) } : undefined }));
  if (lineFindings.size > 200_000) lineFindings.clear();
  lineFindings.set(key, strip);
  return strip;
}

function place(path: string, root: readonly string[]): string {
  for (const r of root) {
    const rel = relative(r, path);
    if (!rel.startsWith('..')) return rel;
  }
  return path;
}

export function traceEventsFindings(ws: TraceWorkspace, file: EventsFile): Finding[] {
  const rules = ws.rulesOf(file.path);
  const out: Finding[] = [];
  const lines = file.lines;
  for (let i = 0; i < lines.length; i++) {
    if (i === lines.length - 1 && lines[i] !== '') {
      out.push({ line: i, start: 0, end: Math.max(1, lines[i]!.length), severity: 'error', source: 'tracetool', code: 'missing-final-newline',
        message: 'the file must end with a newline (tracetool refuses a last line without one)', fix: { title: 'Add the final newline', edits: [{ line: i, start: lines[i]!.length, end: lines[i]!.length, newText: '\n' }] } });
    }
    for (const f of findingsOfLine(ws, file, i, rules)) {
      out.push({ ...f, line: i, fix: f.fix ? { title: f.fix.title, edits: f.fix.edits.map((e) => ({ ...e, line: i })) } : undefined });
    }
  }
  const indexReady = ws.index.ready;
  for (const e of file.events) {
    const span = e.decl.nameSpan;
    const same = ws.eventsNamed(e.name);
    if (same.length > 1) {
      const others = same.filter((o) => o !== e);
      out.push({ line: e.line, start: span.start, end: span.end, severity: 'error', source: 'qemu-trace-events', code: 'duplicate-event',
        message: `'${e.name}' is also declared in ${others.map((o) => `${place(o.file, ws.roots)}:${o.line + 1}`).join(', ')}: two trace_${e.name}() functions, and one name for two events in trace-events-all`,
        related: others.map((o) => ({ file: o.file, line: o.line, start: o.decl.nameSpan.start, end: o.decl.nameSpan.end, message: 'also declared here' })) });
    }
    if (indexReady && ws.index.callsOf(e.name).length === 0 && ws.index.guardsOf(e.name).length === 0) {
      out.push({ line: e.line, start: span.start, end: span.end, severity: 'information', source: 'qemu-trace-events', code: 'never-called',
        message: `no C file of the workspace calls trace_${e.name}()`, unnecessary: true });
    }
  }
  return out;
}

/** Findings of a C file: calls of events no trace-events file declares, and calls with the wrong number of arguments. */
export function cFindings(ws: TraceWorkspace, record: FileRecord): Finding[] {
  const out: Finding[] = [];
  for (const c of record.calls) {
    const decls = ws.eventsNamed(c.event);
    if (decls.length === 0) {
      if (record.includesTraceHeader && !ws.index.definedInC(c.event)) {
        out.push({ line: c.line, start: c.character, end: c.character + c.length, severity: 'warning', source: 'qemu-trace-events', code: 'undeclared-event',
          message: `no trace-events file declares '${c.event}'` });
      }
      continue;
    }
    if (c.argCount < 0) continue;
    const d = decls[0]!;
    const cpu = d.decl.props.some((p) => p.name === 'vcpu') && ws.rulesOf(d.file).vcpuAddsCpuArgument ? 1 : 0;
    const want = d.decl.args.length + cpu;
    if (c.argCount !== want) {
      out.push({ line: c.line, start: c.character, end: c.character + c.length, severity: 'error', source: 'qemu-trace-events', code: 'call-arg-count',
        message: `trace_${c.event}() takes ${want} argument${want === 1 ? '' : 's'}${cpu ? ' (the CPU first, for a vcpu event)' : ''} but is called with ${c.argCount}`,
        related: [{ file: d.file, line: d.line, start: d.decl.nameSpan.start, end: d.decl.nameSpan.end, message: 'declared here' }] });
    }
  }
  return out;
}
