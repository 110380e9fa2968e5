/** Completion of event names after `trace_` in C, with the declared arguments as a snippet. */
import { CompletionItemKind, InsertTextFormat, type CompletionItem, type CompletionList } from 'vscode-languageserver';
import type { TraceWorkspace } from '../workspace';
import { range } from './positions';

const MAX_ITEMS = 400;

const snippetText = (s: string): string => s.replace(/[$}\\]/g, (c) => `\\${c}`);

export function completeTraceCall(ws: TraceWorkspace, lineText: string, line: number, character: number): CompletionList | undefined {
  let s = character;
  while (s > 0 && /[A-Za-z0-9_]/.test(lineText[s - 1]!)) s--;
  const word = lineText.slice(s, character);
  if (!word.startsWith('trace_')) return undefined;
  const typed = word.slice(6);
  const items: CompletionItem[] = [];
  let more = false;
  for (const name of ws.eventNames()) {
    if (!name.startsWith(typed)) continue;
    if (items.length >= MAX_ITEMS) { more = true; break; }
    const d = ws.eventsNamed(name)[0]!;
    const args = d.decl.args.map((a, i) => `\${${i + 1}:${snippetText(a.name || `arg${i + 1}`)}}`).join(', ');
    const fmt = d.decl.formats[d.decl.formats.length - 1]?.expanded ?? '';
    items.push({
      label: `trace_${name}`,
      kind: CompletionItemKind.Function,
      detail: `(${d.decl.args.map((a) => a.text).join(', ') || 'void'})`,
      documentation: { kind: 'markdown', value: `\`\`\`\n"${fmt}"\n\`\`\`` },
      insertTextFormat: InsertTextFormat.Snippet,
      textEdit: { range: range(line, s, character), newText: `trace_${snippetText(name)}(${args})` },
    });
  }
  return { isIncomplete: more, items };
}
