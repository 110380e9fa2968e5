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

function parseDeclaration(s: string, file: string, line: number): TraceEventDecl {
  let i = 0;
  const skipWs = (): void => { while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++; };
  const ident = (): string => {
    if (!isIdentStart(s[i])) throw new LineSyntaxError(`expected an identifier, found ${describe(s[i])}`, i);
    const start = i;
    while (isIdent(s[i])) i++;
    return s.slice(start, i);
  };
  const props: string[] = [];
  skipWs();
  let name = ident();
  skipWs();
  while (s[i] !== '(') {
    if (!KNOWN_PROPS.has(name)) {
      throw new LineSyntaxError(s[i] === undefined ? `expected '(' after '${name}'` : `unknown property '${name}' (expected disable, tcg or vcpu)`, i);
    }
    props.push(name);
    const at = i;
    name = ident();
    if (at === i) throw new LineSyntaxError(`expected '('`, i);
    skipWs();
  }
  i++;
  const argStart = i;
  const close = s.indexOf(')', i);
  if (close < 0) throw new LineSyntaxError(`missing ')' closing the argument list of '${name}'`, s.length);
  const args = parseArgs(s.slice(argStart, close), argStart);
  i = close + 1;
  skipWs();
  let format = '';
  let sawLiteral = false;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') {
      const [text, next] = readStringLiteral(s, i);
      format += text;
      sawLiteral = true;
      i = next;
    } else if (c === ',' && sawLiteral && props.includes('tcg')) {
      // The first format of a tcg event is the translation-time one; the second is what is logged.
      format = '';
      sawLiteral = false;
      i++;
    } else if (isIdentStart(c)) {
      const start = i;
      const macro = ident();
      const exp = expandPriMacro(macro);
      if (exp === undefined) throw new LineSyntaxError(`unknown macro '${macro}' in format (expected PRIu64 and the like)`, start);
      format += exp;
    } else if (c === '#') {
      break;
    } else {
      throw new LineSyntaxError(`unexpected ${describe(c)} after the argument list`, i);
    }
    skipWs();
  }
  return { name, props, args, format, file, line };
}

function parseArgs(text: string, offset: number): TraceArg[] {
  if (text.trim() === 'void' || text.trim() === '') return [];
  const out: TraceArg[] = [];
  let at = offset;
  for (const part of text.split(',')) {
    const t = part.trim();
    const m = /^(.*?[\s*])(\w+)$/.exec(t);
    if (!m || m[1]!.trim() === '') {
      throw new LineSyntaxError(`argument '${t}' needs a type and a name`, at + Math.max(0, part.indexOf(t)));
    }
    out.push({ type: m[1]!.replace(/\s+/g, ' ').replace(/\s*\*\s*/g, ' *').trim(), name: m[2]! });
    at += part.length + 1;
  }
  return out;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v' };

function readStringLiteral(s: string, start: number): [string, number] {
  let i = start + 1;
  let out = '';
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') return [out, i + 1];
    if (c === '\\') {
      const e = s[i + 1];
      const rep = e === undefined ? undefined : ESCAPES[e];
      if (rep === undefined) throw new LineSyntaxError(`unknown escape '\\${e ?? ''}' in format`, i);
      out += rep;
      i += 2;
      continue;
    }
    out += c;
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
