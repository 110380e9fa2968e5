/**
 * C printf format strings as QEMU's trace-events use them, parsed into literal
 * and conversion steps. The decoder compiles these steps; tests format with them.
 */

/** How a conversion prints its value, which decides how it is read back. */
export type ConversionKind = 'int' | 'uint' | 'hex' | 'oct' | 'char' | 'str' | 'ptr';

export interface Conversion {
  readonly kind: ConversionKind;
  /** The conversion letter: d i u x X o c s p. */
  readonly letter: string;
  /** Flags among `-+ #0`. */
  readonly flags: string;
  /** Minimum field width, 0 when absent; -1 for `*` (width taken from an argument). */
  readonly width: number;
  /** Precision, -1 when absent; -2 for `.*`. */
  readonly precision: number;
  /** Length modifier: '', 'hh', 'h', 'l', 'll', 'z', 'j', 't', 'L'. */
  readonly length: string;
  /** The conversion text as written, e.g. `%08lx`. */
  readonly text: string;
}

export type FormatStep =
  | { readonly type: 'literal'; readonly text: string }
  | { readonly type: 'conversion'; readonly conv: Conversion };

export class FormatError extends Error {
  override readonly name = 'FormatError';
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

const KIND_OF_LETTER: Record<string, ConversionKind> = {
  d: 'int', i: 'int', u: 'uint', x: 'hex', X: 'hex', o: 'oct', c: 'char', s: 'str', p: 'ptr',
};

const LENGTHS = ['hh', 'h', 'll', 'l', 'z', 'j', 't', 'L'];

/** Reads the conversion whose '%' is at fmt[start] (not '%%'): the conversion, or undefined when unsupported, and where it ends. */
function readConversion(fmt: string, start: number): { conv: Conversion | undefined; end: number } {
  let i = start + 1;
  let flags = '';
  while (i < fmt.length && '-+ #0'.includes(fmt[i]!)) flags += fmt[i++];
  let width = 0;
  if (fmt[i] === '*') { width = -1; i++; } else {
    while (i < fmt.length && fmt[i]! >= '0' && fmt[i]! <= '9') width = width * 10 + Number(fmt[i++]);
  }
  let precision = -1;
  if (fmt[i] === '.') {
    i++;
    if (fmt[i] === '*') { precision = -2; i++; } else {
      precision = 0;
      while (i < fmt.length && fmt[i]! >= '0' && fmt[i]! <= '9') precision = precision * 10 + Number(fmt[i++]);
    }
  }
  let length = '';
  for (const l of LENGTHS) {
    if (fmt.startsWith(l, i)) { length = l; i += l.length; break; }
  }
  const letter = fmt[i];
  const kind = letter === undefined ? undefined : KIND_OF_LETTER[letter];
  if (letter === undefined || kind === undefined) return { conv: undefined, end: Math.min(i + 1, fmt.length) };
  i++;
  return { conv: { kind, letter, flags, width, precision, length, text: fmt.slice(start, i) }, end: i };
}

/** A conversion with its place in the format: [start, end) offsets; conv is undefined when unsupported (e.g. `%f`, `%m`). */
export interface ConversionSpan {
  readonly start: number;
  readonly end: number;
  readonly conv: Conversion | undefined;
}

/** Every conversion of a format with its offsets, unsupported ones included (for checks that report them). */
export function conversionSpans(fmt: string): ConversionSpan[] {
  const out: ConversionSpan[] = [];
  for (let i = fmt.indexOf('%'); i >= 0 && i < fmt.length; i = fmt.indexOf('%', i)) {
    if (fmt[i + 1] === '%') { i += 2; continue; }
    const { conv, end } = readConversion(fmt, i);
    out.push({ start: i, end, conv });
    i = end;
  }
  return out;
}

/** Splits a format string into literal runs (with `%%` folded in) and conversions. */
export function parseFormat(fmt: string): FormatStep[] {
  const steps: FormatStep[] = [];
  let lit = '';
  let i = 0;
  while (i < fmt.length) {
    const ch = fmt[i]!;
    if (ch !== '%') { lit += ch; i++; continue; }
    if (fmt[i + 1] === '%') { lit += '%'; i += 2; continue; }
    const start = i;
    const { conv, end } = readConversion(fmt, i);
    if (conv === undefined) throw new FormatError(`unsupported conversion '${fmt.slice(start, end)}'`, start);
    i = end;
    if (lit) { steps.push({ type: 'literal', text: lit }); lit = ''; }
    steps.push({ type: 'conversion', conv });
  }
  if (lit) steps.push({ type: 'literal', text: lit });
  return steps;
}

/**
 * Expansion of the `<inttypes.h>` macros on LP64 glibc (the hosts QEMU migration
 * runs on); only the conversion letter and signedness matter for decoding.
 */
export function expandPriMacro(name: string): string | undefined {
  const m = /^PRI([diouxX])(8|16|32|64|PTR|MAX|LEAST\d+|FAST\d+)$/.exec(name);
  if (!m) return undefined;
  const letter = m[1]!;
  const size = m[2]!;
  if (size === '64' || size === 'PTR' || size === 'MAX' || size.endsWith('64')) return 'l' + letter;
  return letter;
}
