/**
 * Finds where a C file names trace events, reading its bytes once: `trace_foo(` calls,
 * `TRACE_FOO` guards and `trace_foo` definitions (a type or `#define` before the name),
 * outside comments, string and character literals. Calls are then read by tree-sitter
 * (callArgs.ts); this pass decides which bytes it needs to see.
 */

export type CSiteKind = 'call' | 'guard' | 'definition';

export interface CSite {
  readonly kind: CSiteKind;
  /** The identifier as written: `trace_foo`, `TRACE_FOO`, `TRACE_FOO_ENABLED`. */
  readonly ident: string;
  /** Byte offsets of the identifier. */
  readonly start: number;
  readonly end: number;
  /** For a call: byte offset of its closing parenthesis, -1 when not found. */
  readonly close: number;
}

export interface CScan {
  readonly sites: CSite[];
  /** The file includes a trace header (`trace.h`, `trace/trace-*.h`, ...). */
  readonly includesTraceHeader: boolean;
}

const LOWER = Buffer.from('trace_');
const UPPER = Buffer.from('TRACE_');
/** A call's argument list longer than this is not followed (a stray parenthesis, a huge macro). */
const MAX_CALL_BYTES = 64 * 1024;

/** Whether the bytes can name a trace event at all (the prefilter: most C files cannot). */
export function mayNameTraceEvents(b: Buffer): boolean {
  return b.indexOf(LOWER) >= 0 || b.indexOf(UPPER) >= 0;
}

/** A NUL in the first 8 KiB: not a source file. */
export function looksBinary(b: Buffer): boolean {
  const n = Math.min(b.length, 8192);
  for (let i = 0; i < n; i++) if (b[i] === 0) return true;
  return false;
}

function isIdentStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

function isIdentChar(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39);
}

/** Index after the comment or literal starting at i (b[i] is '/', '"' or '\''), or i when there is none. */
function skipCommentOrLiteral(b: Buffer, i: number): number {
  const c = b[i];
  if (c === 0x2f) {
    const d = b[i + 1];
    if (d === 0x2a) { const e = b.indexOf('*/', i + 2, 'latin1'); return e < 0 ? b.length : e + 2; }
    if (d === 0x2f) { const e = b.indexOf(0x0a, i + 2); return e < 0 ? b.length : e; }
    return i;
  }
  if (c === 0x22 || c === 0x27) {
    let j = i + 1;
    while (j < b.length) {
      const x = b[j]!;
      if (x === 0x5c) { j += 2; continue; }
      if (x === c) return j + 1;
      if (x === 0x0a) return j;
      j++;
    }
    return b.length;
  }
  return i;
}

function skipSpaceAndComments(b: Buffer, i: number): number {
  for (;;) {
    while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x0c || b[i] === 0x0b || (b[i] === 0x5c && (b[i + 1] === 0x0a || b[i + 1] === 0x0d)))) i++;
    if (b[i] === 0x2f && (b[i + 1] === 0x2a || b[i + 1] === 0x2f)) { i = skipCommentOrLiteral(b, i); continue; }
    return i;
  }
}

/** Offset of the ')' closing the '(' at `open`, or -1. */
function closingParen(b: Buffer, open: number): number {
  let depth = 0;
  const limit = Math.min(b.length, open + MAX_CALL_BYTES);
  let i = open;
  while (i < limit) {
    const c = b[i]!;
    if (c === 0x28) depth++;
    else if (c === 0x29) { depth--; if (depth === 0) return i; }
    else if (c === 0x2f || c === 0x22 || c === 0x27) {
      const j = skipCommentOrLiteral(b, i);
      if (j !== i) { i = j; continue; }
    } else if (c === 0x3b && depth === 1) {
      // A ';' at the call's own depth: the call is not closed on this statement.
      return -1;
    }
    i++;
  }
  return -1;
}

/** Keywords after which `trace_foo(` is a call, not a declaration. */
const CALL_AFTER = new Set(['return', 'else', 'do', 'case', 'sizeof', 'typeof', '__typeof__']);

/**
 * The tokens that matter, everything else skipped by the regex engine: comments, string and
 * character literals (so nothing inside them counts), #include and #define lines' heads, and
 * identifiers that start with trace_ or TRACE_.
 */
const TOKENS = /\/\*[\s\S]*?(?:\*\/|$(?![\s\S]))|\/\/[^\n]*|"(?:[^"\\\n]|\\[\s\S])*"?|'(?:[^'\\\n]|\\[\s\S])*'?|^[ \t]*#[ \t]*(include|define)\b([ \t]*[^\n]*)?|(?<![A-Za-z0-9_])(?:trace_|TRACE_)[A-Za-z0-9_]+/gm;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c || c === 0x0b;
}

/** Whether the token before offset i makes `trace_foo(` at i a declaration: a type name or a '*'. */
function declaredAt(b: Buffer, i: number): boolean {
  let j = i - 1;
  while (j >= 0 && (isSpace(b[j]!) || (b[j] === 0x5c && (b[j + 1] === 0x0a || b[j + 1] === 0x0d)))) j--;
  if (j < 0) return false;
  if (b[j] === 0x2a) return true;
  if (!isIdentChar(b[j]!)) return false;
  const end = j + 1;
  while (j >= 0 && isIdentChar(b[j]!)) j--;
  const word = b.toString('latin1', j + 1, end);
  if (CALL_AFTER.has(word) || (word.charCodeAt(0) >= 0x30 && word.charCodeAt(0) <= 0x39)) return false;
  // A word on a preprocessor line (#endif, #ifdef CONFIG_X) ends that line, not a type.
  let ls = j;
  while (ls >= 0 && b[ls] !== 0x0a) ls--;
  let k = ls + 1;
  while (b[k] === 0x20 || b[k] === 0x09) k++;
  return b[k] !== 0x23;
}

export function scanC(b: Buffer): CScan {
  const sites: CSite[] = [];
  let includesTraceHeader = false;
  // latin1: one character per byte, so string offsets are byte offsets.
  const text = b.toString('latin1');
  TOKENS.lastIndex = 0;
  for (let m = TOKENS.exec(text); m !== null; m = TOKENS.exec(text)) {
    const tok = m[0];
    const c = tok.charCodeAt(0);
    if (c === 0x2f || c === 0x22 || c === 0x27) continue;
    const i = m.index;
    if (m[1] === 'include') {
      if (/["<][^">]*trace[^">]*\.h[">]/.test(m[2] ?? '')) includesTraceHeader = true;
      continue;
    }
    if (m[1] === 'define') {
      // The body of a #define is scanned like code; only its name is a definition.
      const name = /^[ \t]*([A-Za-z_][A-Za-z0-9_]*)/.exec(m[2] ?? '');
      const at = i + tok.length - (m[2] ?? '').length;
      if (name && name[1]!.startsWith('trace_')) sites.push({ kind: 'definition', ident: name[1]!, start: at + name[0].length - name[1]!.length, end: at + name[0].length, close: -1 });
      TOKENS.lastIndex = name ? at + name[0].length : at;
      continue;
    }
    const end = i + tok.length;
    if (c === 0x74) {
      const k = skipSpaceAndComments(b, end);
      if (b[k] !== 0x28) continue;
      sites.push(declaredAt(b, i)
        ? { kind: 'definition', ident: tok, start: i, end, close: -1 }
        : { kind: 'call', ident: tok, start: i, end, close: closingParen(b, k) });
    } else {
      sites.push({ kind: 'guard', ident: tok, start: i, end, close: -1 });
    }
  }
  return { sites, includesTraceHeader };
}

/** Maps byte offsets (ascending) of a buffer to 0-based line and UTF-16 character. */
export class LineMap {
  private line = 0;
  private lineStart = 0;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly b: Buffer) {}

  /** Position of byte offset `off` (cheapest when asked in ascending order). */
  at(off: number): { line: number; character: number } {
    if (off < this.lineStart) { this.line = 0; this.lineStart = 0; }
    for (;;) {
      const nl = this.b.indexOf(0x0a, this.lineStart);
      if (nl < 0 || nl >= off) break;
      this.line++;
      this.lineStart = nl + 1;
    }
    let ascii = true;
    for (let k = this.lineStart; k < off; k++) if (this.b[k]! >= 0x80) { ascii = false; break; }
    const character = ascii ? off - this.lineStart : this.decoder.decode(this.b.subarray(this.lineStart, off)).length;
    return { line: this.line, character };
  }
}
