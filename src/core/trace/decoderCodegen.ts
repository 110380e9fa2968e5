/**
 * Straight-line JavaScript for formats made of literals and numeric conversions
 * (d i u x X p): the hot path of the log reader. Literals are unrolled byte
 * comparisons, numbers are scanned in place. The generated source contains only
 * integers from the format (byte values, widths, field indexes) and fixed code,
 * never text from the trace-events file.
 *
 * Formats with %s, %c or %o use the interpreter in decoder.ts.
 */
import type { FormatStep } from './format';

/** decode(buf, pos, end, num, big): true when buf[pos, end) matches; values as in DecodeScratch. */
export type FastDecode = (buf: Uint8Array, pos: number, end: number, num: Float64Array, big: (bigint | undefined)[]) => boolean;

/**
 * lineDecode(buf, pos, out, o, dv): decodes the arguments starting at pos up to the end of
 * the line, writing field f to out[o + f]. Returns the position just after the last
 * step (the caller checks that a line end follows), LINE_MISMATCH when the text does
 * not match, or LINE_NEEDS_EXACT when a number may not fit a double exactly (the caller
 * then decodes the line with the exact decoder).
 *
 * Invariant relied upon instead of bound checks: the line is followed by a newline
 * byte before the end of buf (or reading runs off the end of buf, where typed-array
 * reads give undefined). No literal of a line decoder contains CR or LF, so every
 * literal comparison, digit run and blank skip stops at that newline at the latest.
 * dv views the same bytes as buf; literals of 4 bytes or more are compared as
 * little-endian 32-bit words after checking that they lie inside buf.
 */
export type LineDecode = (buf: Uint8Array, pos: number, out: Float64Array, o: number, dv: DataView) => number;
export const LINE_MISMATCH = -1;
export const LINE_NEEDS_EXACT = -2;

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) { HEX[65 + c] = 10 + c; HEX[97 + c] = 10 + c; }

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const U64_MAX = (1n << 64n) - 1n;
const I64_LIMIT = 1n << 63n;

function ascii(buf: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i++) out += String.fromCharCode(buf[i]!);
  return out;
}

/**
 * Decimal of more than 15 digits: exact via bigint. False when printf cannot have printed it
 * (beyond 64 bits for the conversion's signedness): the line is malformed, never wrapped.
 */
function bigDec(buf: Uint8Array, s: number, e: number, neg: boolean, signed: boolean, num: Float64Array, big: (bigint | undefined)[], f: number): boolean {
  const b = BigInt(ascii(buf, s, e));
  if (signed ? b > (neg ? I64_LIMIT : I64_LIMIT - 1n) : b > U64_MAX) return false;
  if (b <= MAX_SAFE) num[f] = neg ? -Number(b) : Number(b);
  else { big[f] = neg ? -b : b; num[f] = NaN; }
  return true;
}

/** Hex of more than 13 digits: exact via bigint; false beyond 64 bits. */
function bigHex(buf: Uint8Array, s: number, e: number, num: Float64Array, big: (bigint | undefined)[], f: number): boolean {
  const b = BigInt('0x' + ascii(buf, s, e));
  if (b > U64_MAX) return false;
  if (b <= MAX_SAFE) num[f] = Number(b);
  else { big[f] = b; num[f] = NaN; }
  return true;
}

const encoder = new TextEncoder();

function literal(bytes: Uint8Array): string {
  const k = bytes.length;
  const checks = Array.from(bytes, (b, i) => `buf[p${i ? ' + ' + i : ''}] !== ${b}`);
  return `if (p + ${k} > end || ${checks.join(' || ')}) return false; p += ${k};`;
}

function digits(radix: 10 | 16): string {
  return radix === 10
    ? 'while (p < end) { d = buf[p] - 48; if (d < 0 || d > 9) break; v = v * 10 + d; p++; }'
    : 'while (p < end) { d = HEX[buf[p]]; if (d < 0) break; v = v * 16 + d; p++; }';
}

function lineLiteral(bytes: Uint8Array): string {
  const k = bytes.length;
  if (k < 4) {
    const checks = Array.from(bytes, (b, i) => `buf[p${i ? ' + ' + i : ''}] !== ${b}`);
    return `if (${checks.join(' || ')}) return ${LINE_MISMATCH}; p += ${k};`;
  }
  const at: number[] = [];
  for (let i = 0; i + 4 <= k; i += 4) at.push(i);
  if (k % 4 !== 0) at.push(k - 4);
  const word = (i: number): number => bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
  const checks = at.map((i) => `dv.getInt32(p${i ? ' + ' + i : ''}, true) !== ${word(i)}`);
  return `if (p + ${k} > dv.byteLength || ${checks.join(' || ')}) return ${LINE_MISMATCH}; p += ${k};`;
}

function lineDigits(radix: 10 | 16): string {
  return radix === 10
    ? 'for (;;) { d = buf[p] - 48; if (!(d >= 0 && d <= 9)) break; v = v * 10 + d; p++; }'
    : 'for (;;) { d = HEX[buf[p]]; if (!(d >= 0)) break; v = v * 16 + d; p++; }';
}

/**
 * Compiles steps to a LineDecode, or undefined when the format needs the interpreter
 * or has a literal with a line-end byte. Accepts exactly the texts compileFast accepts
 * for the same line and gives the same values, except that long numbers are left to
 * the exact decoder.
 */
export function compileLine(steps: readonly FormatStep[]): LineDecode | undefined {
  const body: string[] = [];
  let f = 0;
  for (const st of steps) {
    if (st.type === 'literal') {
      const bytes = encoder.encode(st.text);
      if (bytes.includes(10) || bytes.includes(13)) return undefined;
      body.push(lineLiteral(bytes));
      continue;
    }
    const c = st.conv;
    if (c.kind === 'str' || c.kind === 'char' || c.kind === 'oct' || c.width < 0 || c.precision === -2) return undefined;
    const left = c.flags.includes('-') && c.width > 0;
    if (left) body.push('fs = p;');
    // Blanks, '+' and '-' are all below '0': one comparison skips their checks before a digit.
    if (c.kind === 'int' || c.kind === 'uint') {
      body.push(c.kind === 'int'
        ? 'neg = false; if (buf[p] < 48) { while (buf[p] === 32) p++; if (buf[p] === 45) { neg = true; p++; } else if (buf[p] === 43) p++; }'
        : 'if (buf[p] < 48) { while (buf[p] === 32) p++; if (buf[p] === 43) p++; }');
      body.push(`s = p; v = 0; ${lineDigits(10)}`);
      body.push(`if (p === s) return ${LINE_MISMATCH}; if (p - s > 15) return ${LINE_NEEDS_EXACT}; out[o + ${f}] = ${c.kind === 'int' ? 'neg ? -v : v' : 'v'};`);
    } else if (c.kind === 'hex') {
      body.push('while (buf[p] === 32) p++;');
      if (c.flags.includes('#')) body.push('if (buf[p] === 48 && (buf[p + 1] === 120 || buf[p + 1] === 88)) p += 2;');
      body.push(`s = p; v = 0; ${lineDigits(16)}`);
      body.push(`if (p === s) return ${LINE_MISMATCH}; if (p - s > 13) return ${LINE_NEEDS_EXACT}; out[o + ${f}] = v;`);
    } else {
      body.push('while (buf[p] === 32) p++;');
      body.push(`if (buf[p] === 40) { if (buf[p + 1] !== 110 || buf[p + 2] !== 105 || buf[p + 3] !== 108 || buf[p + 4] !== 41) return ${LINE_MISMATCH}; p += 5; out[o + ${f}] = 0; } else {`);
      body.push(`if (buf[p] !== 48 || buf[p + 1] !== 120) return ${LINE_MISMATCH}; p += 2;`);
      body.push(`s = p; v = 0; ${lineDigits(16)}`);
      body.push(`if (p === s) return ${LINE_MISMATCH}; if (p - s > 13) return ${LINE_NEEDS_EXACT}; out[o + ${f}] = v; }`);
    }
    if (left) body.push(`while (p - fs < ${c.width} && buf[p] === 32) p++;`);
    f++;
  }
  body.push('return p;');
  const src = `return function lineDecode(buf, p, out, o, dv) {\n  let s = 0, v = 0, d = 0, fs = 0, neg = false;\n  ${body.join('\n  ')}\n};`;
  const factory = new Function('HEX', src) as (hex: Int8Array) => LineDecode;
  return factory(HEX);
}

/** Compiles steps to a FastDecode, or undefined when the format needs the interpreter. */
export function compileFast(steps: readonly FormatStep[]): FastDecode | undefined {
  const body: string[] = [];
  let f = 0;
  for (const st of steps) {
    if (st.type === 'literal') { body.push(literal(encoder.encode(st.text))); continue; }
    const c = st.conv;
    if (c.kind === 'str' || c.kind === 'char' || c.kind === 'oct' || c.width < 0 || c.precision === -2) return undefined;
    const left = c.flags.includes('-') && c.width > 0;
    body.push('fs = p; while (p < end && buf[p] === 32) p++;');
    if (c.kind === 'int' || c.kind === 'uint') {
      body.push(c.kind === 'int'
        ? 'neg = false; if (p < end && buf[p] === 45) { neg = true; p++; } else if (p < end && buf[p] === 43) p++;'
        : 'neg = false; if (p < end && buf[p] === 43) p++;');
      body.push(`s = p; v = 0; ${digits(10)}`);
      body.push(`if (p === s) return false; if (p - s > 15) { if (!bigDec(buf, s, p, neg, ${c.kind === 'int'}, num, big, ${f})) return false; } else num[${f}] = neg ? -v : v;`);
    } else if (c.kind === 'hex') {
      if (c.flags.includes('#')) body.push('if (p + 1 < end && buf[p] === 48 && (buf[p + 1] === 120 || buf[p + 1] === 88)) p += 2;');
      body.push(`s = p; v = 0; ${digits(16)}`);
      body.push(`if (p === s) return false; if (p - s > 13) { if (!bigHex(buf, s, p, num, big, ${f})) return false; } else num[${f}] = v;`);
    } else {
      body.push(`if (p + 5 <= end && buf[p] === 40) { if (buf[p + 1] !== 110 || buf[p + 2] !== 105 || buf[p + 3] !== 108 || buf[p + 4] !== 41) return false; p += 5; num[${f}] = 0; } else {`);
      body.push('if (p + 2 > end || buf[p] !== 48 || buf[p + 1] !== 120) return false; p += 2;');
      body.push(`s = p; v = 0; ${digits(16)}`);
      body.push(`if (p === s) return false; if (p - s > 13) { if (!bigHex(buf, s, p, num, big, ${f})) return false; } else num[${f}] = v; }`);
    }
    if (left) body.push(`while (p < end && p - fs < ${c.width} && buf[p] === 32) p++;`);
    f++;
  }
  body.push('return p === end;');
  const src = `return function decode(buf, p, end, num, big) {\n  let s = 0, v = 0, d = 0, fs = 0, neg = false;\n  ${body.join('\n  ')}\n};`;
  const factory = new Function('HEX', 'bigDec', 'bigHex', src) as (hex: Int8Array, bd: typeof bigDec, bh: typeof bigHex) => FastDecode;
  return factory(HEX, bigDec, bigHex);
}
