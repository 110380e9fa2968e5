/**
 * Parser for QEMU `trace-events` files, accepting what tracetool accepts:
 * `[props] name(args) "fmt" [PRIxx "more"]...`, with an optional
 * `"fmt_trans",` before the format in old tcg events, `#` comments and blank lines.
 */
import { expandPriMacro } from './format';

export interface TraceArg {
  readonly type: string;
  readonly name: string;
}

export interface TraceEventDecl {
  readonly name: string;
  readonly props: readonly string[];
  readonly args: readonly TraceArg[];
  /** The format with string literals joined and PRI macros expanded (e.g. `%lu`). */
  readonly format: string;
  readonly file: string;
  readonly line: number;
}

export interface TraceEventsSyntaxError {
  readonly file: string;
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  readonly message: string;
}

export interface ParsedTraceEvents {
  readonly events: TraceEventDecl[];
  readonly errors: TraceEventsSyntaxError[];
}

const KNOWN_PROPS = new Set(['disable', 'tcg', 'vcpu']);

class LineSyntaxError extends Error {
  constructor(message: string, readonly column: number) { super(message); }
}

function isIdentStart(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z_]/.test(c);
}

function isIdent(c: string | undefined): boolean {
  return c !== undefined && /\w/.test(c);
}

/** Parses one trace-events file's text; `file` names it in declarations and errors. */
export function parseTraceEvents(text: string, file: string): ParsedTraceEvents {
  const events: TraceEventDecl[] = [];
  const errors: TraceEventsSyntaxError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    try {
      events.push(parseDeclaration(raw, file, i + 1));
    } catch (e) {
      if (e instanceof LineSyntaxError) errors.push({ file, line: i + 1, column: e.column + 1, message: e.message });
      else throw e;
    }
  }
  return { events, errors };
}

/** Columns [start, end) of a part of a line, 0-based, in UTF-16 code units. */
export interface LineSpan {
  readonly start: number;
  readonly end: number;
}

/** One comma-separated part of an argument list as written; type and name are '' when it has none. */
export interface ScannedArg {
  readonly text: string;
  readonly span: LineSpan;
  readonly type: string;
  readonly name: string;
}

/** A piece of a format as written: a string literal (its value decoded) or a macro such as PRIx64. */
export type FormatPiece =
  | { readonly kind: 'string'; readonly span: LineSpan; readonly value: string; /** Source column of each value character, then of the closing quote. */ readonly columns: readonly number[] }
  | { readonly kind: 'macro'; readonly span: LineSpan; readonly name: string; readonly expansion: string | undefined };

/** One format (a tcg event has two) with its expansion and where each expanded character came from. */
export interface ScannedFormat {
  readonly pieces: readonly FormatPiece[];
  readonly span: LineSpan;
  /** String values joined and macros expanded, as TraceEventDecl.format. */
  readonly expanded: string;
  /** For each character of `expanded`, the span of the source text it came from. */
  readonly sourceStart: readonly number[];
  readonly sourceEnd: readonly number[];
}

/** A problem found while scanning leniently: the line still gives what could be read. */
export interface ScanProblem {
  readonly message: string;
  readonly span: LineSpan;
}

/** A declaration line taken apart with the column of every part. */
export interface ScannedDeclaration {
  readonly props: readonly { readonly name: string; readonly span: LineSpan }[];
  readonly name: string;
  readonly nameSpan: LineSpan;
  /** Inside the parentheses. */
  readonly argsSpan: LineSpan;
  /** Every comma-separated part as written, `void` and empty ones included. */
  readonly argParts: readonly ScannedArg[];
  /** The arguments the event has (none for `void` or an empty list). */
  readonly args: readonly ScannedArg[];
  /** Formats in order: one, or two for a tcg event (translation time, then execution time). */
  readonly formats: readonly ScannedFormat[];
  /** Start of a trailing `#` comment. */
  readonly commentAt: number | undefined;
  readonly problems: readonly ScanProblem[];
}

export type ScannedLine =
  | { readonly kind: 'blank' | 'comment' }
  | { readonly kind: 'declaration'; readonly decl: ScannedDeclaration }
  | { readonly kind: 'error'; readonly message: string; readonly span: LineSpan };

/**
 * Takes one line of a trace-events file apart without judging properties, argument types or
 * macros (callers apply the rules of the QEMU version at hand). Problems that still leave a
 * declaration (an unknown macro or escape, an argument without a name) are listed in it;
 * a line that does not have the shape `[props] name(args) [formats]` is an error.
 */
export function scanTraceEventLine(line: string): ScannedLine {
  const trimmed = line.trim();
  if (trimmed === '') return { kind: 'blank' };
  if (trimmed.startsWith('#')) return { kind: 'comment' };
  try {
    return { kind: 'declaration', decl: scanDeclaration(line, undefined) };
  } catch (e) {
    if (!(e instanceof LineSyntaxError)) throw e;
    return { kind: 'error', message: e.message, span: { start: Math.min(e.column, line.length), end: Math.max(Math.min(e.column + 1, line.length), Math.min(e.column, line.length)) } };
  }
}

function parseDeclaration(s: string, file: string, line: number): TraceEventDecl {
  const d = scanDeclaration(s, KNOWN_PROPS);
  const first = d.problems[0];
  if (first) throw new LineSyntaxError(first.message, first.span.start);
  const format = d.formats[d.formats.length - 1]?.expanded ?? '';
  return { name: d.name, props: d.props.map((p) => p.name), args: d.args.map((a) => ({ type: a.type, name: a.name })), format, file, line };
}

/**
 * The scanner behind both entry points. With `knownProps` it is the strict parser (an unknown
 * property throws); without, any identifiers before the name are taken as properties.
 */
function scanDeclaration(s: string, knownProps: ReadonlySet<string> | undefined): ScannedDeclaration {
  let i = 0;
  const skipWs = (): void => { while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++; };
  const ident = (): string => {
    if (!isIdentStart(s[i])) throw new LineSyntaxError(`expected an identifier, found ${describe(s[i])}`, i);
    const start = i;
    while (isIdent(s[i])) i++;
    return s.slice(start, i);
  };
  const props: { name: string; span: LineSpan }[] = [];
  const problems: ScanProblem[] = [];
  skipWs();
  let nameStart = i;
  let name = ident();
  skipWs();
  while (s[i] !== '(') {
    if (s[i] === undefined) throw new LineSyntaxError(`expected '(' after '${name}'`, i);
    if (knownProps && !knownProps.has(name)) {
      throw new LineSyntaxError(`unknown property '${name}' (expected disable, tcg or vcpu)`, i);
    }
    props.push({ name, span: { start: nameStart, end: nameStart + name.length } });
    const at = i;
    nameStart = i;
    name = ident();
    if (at === i) throw new LineSyntaxError(`expected '('`, i);
    skipWs();
  }
  const nameSpan = { start: nameStart, end: nameStart + name.length };
  i++;
  const argStart = i;
  const close = s.indexOf(')', i);
  if (close < 0) throw new LineSyntaxError(`missing ')' closing the argument list of '${name}'`, s.length);
  const argParts = splitArgs(s.slice(argStart, close), argStart);
  const voidOrEmpty = argParts.length === 1 && (argParts[0]!.text === 'void' || argParts[0]!.text === '');
  const args = voidOrEmpty ? [] : argParts;
  if (!voidOrEmpty) {
    for (const a of argParts) {
      if (a.type === '') problems.push({ message: `argument '${a.text}' needs a type and a name`, span: a.span });
    }
  }
  i = close + 1;
  skipWs();
  const formats: ScannedFormat[] = [];
  let pieces: FormatPiece[] = [];
  let formatStart = -1;
  let commentAt: number | undefined;
  const endFormat = (end: number): void => {
    if (pieces.length > 0) formats.push(expandFormat(pieces, { start: formatStart, end }));
    pieces = [];
    formatStart = -1;
  };
  let lastEnd = i;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') {
      if (formatStart < 0) formatStart = i;
      const [value, next, bad, columns] = readStringLiteral(s, i);
      if (bad) problems.push(bad);
      pieces.push({ kind: 'string', span: { start: i, end: next }, value, columns });
      i = next;
      lastEnd = i;
    } else if (c === ',' && pieces.some((p) => p.kind === 'string') && (knownProps === undefined || props.some((p) => p.name === 'tcg'))) {
      // The first format of a tcg event is the translation-time one; the second is what is logged.
      endFormat(lastEnd);
      i++;
    } else if (isIdentStart(c)) {
      if (formatStart < 0) formatStart = i;
      const start = i;
      const macro = ident();
      const exp = expandPriMacro(macro);
      if (exp === undefined) problems.push({ message: `unknown macro '${macro}' in format (expected PRIu64 and the like)`, span: { start, end: i } });
      pieces.push({ kind: 'macro', span: { start, end: i }, name: macro, expansion: exp });
      lastEnd = i;
    } else if (c === '#') {
      commentAt = i;
      break;
    } else {
      throw new LineSyntaxError(`unexpected ${describe(c)} after the argument list`, i);
    }
    skipWs();
  }
  endFormat(lastEnd);
  return { props, name, nameSpan, argsSpan: { start: argStart, end: close }, argParts, args, formats, commentAt, problems };
}

function expandFormat(pieces: readonly FormatPiece[], span: LineSpan): ScannedFormat {
  let expanded = '';
  const sourceStart: number[] = [];
  const sourceEnd: number[] = [];
  for (const p of pieces) {
    if (p.kind === 'macro') {
      const exp = p.expansion ?? '';
      expanded += exp;
      for (let k = 0; k < exp.length; k++) { sourceStart.push(p.span.start); sourceEnd.push(p.span.end); }
    } else {
      expanded += p.value;
      for (let k = 0; k < p.value.length; k++) { sourceStart.push(p.columns[k]!); sourceEnd.push(p.columns[k + 1]!); }
    }
  }
  return { pieces, span, expanded, sourceStart, sourceEnd };
}

/** Splits an argument list at commas, reading each part as `type name`. */
function splitArgs(text: string, offset: number): ScannedArg[] {
  const out: ScannedArg[] = [];
  let at = offset;
  for (const part of text.split(',')) {
    const t = part.trim();
    const start = at + (t === '' ? 0 : part.indexOf(t));
    const m = /^(.*?[\s*])(\w+)$/.exec(t);
    const typed = m !== null && m[1]!.trim() !== '';
    out.push({
      text: t,
      span: { start, end: start + t.length },
      type: typed ? m[1]!.replace(/\s+/g, ' ').replace(/\s*\*\s*/g, ' *').trim() : '',
      name: typed ? m[2]! : '',
    });
    at += part.length + 1;
  }
  return out;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v' };

/** Reads a string literal starting at its quote: [value, index after it, problem if any, source column of each value character and of the closing quote]. */
function readStringLiteral(s: string, start: number): [string, number, ScanProblem | undefined, number[]] {
  let i = start + 1;
  let out = '';
  let bad: ScanProblem | undefined;
  const columns: number[] = [];
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') { columns.push(i); return [out, i + 1, bad, columns]; }
    if (c === '\\') {
      const e = s[i + 1];
      const rep = e === undefined ? undefined : ESCAPES[e];
      if (rep === undefined) {
        bad ??= { message: `unknown escape '\\${e ?? ''}' in format`, span: { start: i, end: Math.min(i + 2, s.length) } };
        i += 2;
        continue;
      }
      out += rep;
      columns.push(i);
      i += 2;
      continue;
    }
    out += c;
    columns.push(i);
    i++;
  }
  throw new LineSyntaxError('unterminated string literal', start);
}

function describe(c: string | undefined): string {
  return c === undefined ? 'end of line' : `'${c}'`;
}

/** Whether a declared C type is passed to simpletrace as a length-prefixed string. */
export function isStringType(ctype: string): boolean {
  return /^(const )?char \*$/.test(ctype.replace(/\s+/g, ' ').replace(/\s*\*/, ' *'));
}
