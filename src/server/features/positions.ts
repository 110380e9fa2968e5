/** Paths, URIs, ranges and the word under the cursor. */
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Location, Range } from 'vscode-languageserver';

export function uriToPath(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

export function pathToUri(path: string): string {
  return pathToFileURL(path).href;
}

export function range(line: number, start: number, end: number, endLine = line): Range {
  return { start: { line, character: start }, end: { line: endLine, character: end } };
}

export function location(path: string, line: number, start: number, end: number): Location {
  return { uri: pathToUri(path), range: range(line, start, end) };
}

/** The C identifier around `character` in `lineText`: its text and start column. */
export function identifierAt(lineText: string, character: number): { text: string; start: number } | undefined {
  const isId = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);
  let s = character;
  while (s > 0 && isId(lineText[s - 1])) s--;
  let e = character;
  while (e < lineText.length && isId(lineText[e])) e++;
  if (s === e) return undefined;
  return { text: lineText.slice(s, e), start: s };
}

/** The event an identifier names: `trace_foo` → foo, `TRACE_FOO` / `TRACE_FOO_ENABLED` → foo (if declared). */
export function eventOfIdentifier(ident: string, isEvent: (name: string) => boolean): { event: string; nameStart: number; nameLength: number } | undefined {
  if (ident.startsWith('trace_') && ident.length > 6) return { event: ident.slice(6), nameStart: 6, nameLength: ident.length - 6 };
  if (ident.startsWith('TRACE_') && ident.length > 6) {
    const up = ident.slice(6);
    const lower = up.toLowerCase();
    if (isEvent(lower)) return { event: lower, nameStart: 6, nameLength: up.length };
    if (lower.endsWith('_enabled') && isEvent(lower.slice(0, -8))) return { event: lower.slice(0, -8), nameStart: 6, nameLength: up.length - 8 };
  }
  return undefined;
}
