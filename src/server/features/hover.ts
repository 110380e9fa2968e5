/** Hover on an event (its declaration or a call site): declaration, arguments, format, call sites, history. */
import { relative } from 'node:path';
import type { Hover } from 'vscode-languageserver';
import type { EventDecl } from '../eventsFile';
import type { TraceWorkspace } from '../workspace';
import { eventHistory } from './history';

function rel(ws: TraceWorkspace, p: string): string {
  for (const r of ws.roots) {
    const x = relative(r, p);
    if (!x.startsWith('..')) return x;
  }
  return p;
}

const code = (s: string): string => `\`${s.replace(/`/g, '\u02cb')}\``;

export function eventHover(ws: TraceWorkspace, d: EventDecl, lineText: string): Hover {
  const rules = ws.rulesOf(d.file);
  const version = ws.versions.of(d.file).version;
  const calls = ws.index.callsOf(d.name);
  const guards = ws.index.guardsOf(d.name);
  const format = d.decl.formats[d.decl.formats.length - 1]?.expanded ?? '';
  const parts: string[] = [];
  parts.push(`**${d.name}** — ${rel(ws, d.file)}:${d.line + 1}${version ? ` (QEMU ${version.text}: ${rules.label} rules)` : ` (${rules.label} rules)`}`);
  parts.push('```qemu-trace-events\n' + lineText.trim() + '\n```');
  if (!ws.index.ready) {
    parts.push('Call sites: indexing…');
  } else {
    const shown = calls.slice(0, 5).map((c) => `${rel(ws, c.file)}:${c.record.line + 1}`);
    parts.push(`Call sites: **${calls.length}**${shown.length > 0 ? ` (${shown.join(', ')}${calls.length > shown.length ? ', …' : ''})` : ''}${guards.length > 0 ? `; ${guards.length} TRACE_ guard${guards.length === 1 ? '' : 's'}` : ''}`);
  }
  const h = eventHistory(d.name, { args: d.decl.args.map((a) => ({ type: a.type, name: a.name })), format });
  parts.push(`History (built-in catalogues ${h.entries.map((e) => e.version).join(', ')}):\n${h.notes.map((n) => `- ${n}`).join('\n')}`);
  const otherFormats = h.entries.filter((e) => e.decl && e.decl.format !== format).map((e) => `- ${e.version}: ${code(e.decl!.format)}`);
  if (otherFormats.length > 0) parts.push(`Format in other versions:\n${otherFormats.join('\n')}`);
  if (d.decl.props.length > 0) parts.push(`Properties: ${d.decl.props.map((p) => code(p.name)).join(', ')}`);
  if (d.decl.args.length > 0) {
    parts.push(['| argument | type |', '| --- | --- |', ...d.decl.args.map((a) => `| ${a.name || a.text} | ${code(a.type || '?')} |`)].join('\n'));
  } else {
    parts.push('No arguments.');
  }
  parts.push(`Format as printed: ${code(format)}`);
  return { contents: { kind: 'markdown', value: parts.join('\n\n') } };
}
