/**
 * A compiled format string: reads the text one event printed back into typed
 * values, scanning bytes by index. No regex and no allocation per line except
 * for bigint values (> 2^53).
 */
import { compileFast, compileLine, type FastDecode, type LineDecode } from './decoderCodegen';
import { parseFormat, type ConversionKind, type FormatStep } from './format';

export const F_INT = 0;
export const F_UINT = 1;
export const F_HEX = 2;
export const F_OCT = 3;
export const F_CHAR = 4;
export const F_STR = 5;
export const F_PTR = 6;

const KIND_CODE: Record<ConversionKind, number> = {
  int: F_INT, uint: F_UINT, hex: F_HEX, oct: F_OCT, char: F_CHAR, str: F_STR, ptr: F_PTR,
};

/** What a decoded field holds once stored. */
export type FieldValueType = 'number' | 'string' | 'pointer';

export interface FieldInfo {
  readonly name: string;
  /** C type from the declaration ('' when the format has more conversions than arguments). */
  readonly ctype: string;
  readonly kind: ConversionKind;
  readonly valueType: FieldValueType;
  readonly signed: boolean;
  /** Index of the declared argument this conversion prints. */
  readonly argIndex: number;
  /** Width printf converts the value to: 8, 16, 32 or 64 bits. */
  readonly bits: number;
}

/**
 * Where decode() writes; sized for the widest event of a catalogue, reused for every line.
 * A numeric field is num[f], or big[f] when num[f] is NaN (value beyond 2^53);
 * a string field is the byte range [strStart[f], strEnd[f]) of the decoded buffer.
 */
export class DecodeScratch {
  num: Float64Array;
  big: (bigint | undefined)[];
  strStart: Int32Array;
  strEnd: Int32Array;
  constructor(capacity = 64) {
    this.num = new Float64Array(capacity);
    this.big = new Array<bigint | undefined>(capacity).fill(undefined);
    this.strStart = new Int32Array(capacity);
    this.strEnd = new Int32Array(capacity);
  }
  ensure(n: number): void {
    if (n <= this.num.length) return;
    this.num = new Float64Array(n);
    this.big = new Array<bigint | undefined>(n).fill(undefined);
    this.strStart = new Int32Array(n);
    this.strEnd = new Int32Array(n);
  }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** The widest integers printf prints (64 bits): a longer number is malformed, never wrapped. */
export const U64_MAX = (1n << 64n) - 1n;
export const I64_MIN = -(1n << 63n);
export const I64_MAX = (1n << 63n) - 1n;

/** True when v (negative when neg) is a value a 64-bit conversion of this signedness prints. */
export function fitsPrinted(v: bigint, signed: boolean): boolean {
  return signed ? v >= I64_MIN && v <= I64_MAX : v >= 0n && v <= U64_MAX;
}
const NIL = [0x28, 0x6e, 0x69, 0x6c, 0x29]; // "(nil)"
const encoder = new TextEncoder();

function latin1(buf: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i++) out += String.fromCharCode(buf[i]!);
  return out;
}

export class Decoder {
  readonly fields: readonly FieldInfo[];
  /** Per step: -1 for a literal, else the field index. */
  private readonly stepField: Int32Array;
  private readonly stepLit: (Uint8Array | undefined)[];
  private readonly stepKind: Uint8Array;
  private readonly stepLeftAlign: Uint8Array;
  private readonly stepWidth: Int32Array;
  private readonly stepAlt: Uint8Array;
  private readonly nSteps: number;
  private readonly steps: FormatStep[];
  /** Compiled on first use; null when the format needs the interpreter. */
  private fast: FastDecode | null | undefined;
  private line: LineDecode | null | undefined;

  constructor(readonly format: string, argNames: readonly string[], argTypes: readonly string[], steps?: FormatStep[]) {
    const parsed = steps ?? parseFormat(format);
    this.steps = parsed;
    const fields: FieldInfo[] = [];
    const n = parsed.length;
    this.nSteps = n;
    this.stepField = new Int32Array(n);
    this.stepLit = new Array<Uint8Array | undefined>(n).fill(undefined);
    this.stepKind = new Uint8Array(n);
    this.stepLeftAlign = new Uint8Array(n);
    this.stepWidth = new Int32Array(n);
    this.stepAlt = new Uint8Array(n);
    let arg = 0;
    parsed.forEach((st, i) => {
      if (st.type === 'literal') {
        this.stepField[i] = -1;
        this.stepLit[i] = encoder.encode(st.text);
        return;
      }
      const c = st.conv;
      if (c.width === -1) arg++;
      if (c.precision === -2) arg++;
      const argIndex = arg;
      const name = argNames[arg] ?? `arg${arg}`;
      const ctype = argTypes[arg] ?? '';
      arg++;
      this.stepField[i] = fields.length;
      this.stepKind[i] = KIND_CODE[c.kind];
      this.stepLeftAlign[i] = c.flags.includes('-') ? 1 : 0;
      this.stepWidth[i] = c.width;
      this.stepAlt[i] = c.flags.includes('#') ? 1 : 0;
      const valueType: FieldValueType = c.kind === 'str' || c.kind === 'char' ? 'string' : c.kind === 'ptr' ? 'pointer' : 'number';
      const bits = c.length === 'hh' ? 8 : c.length === 'h' ? 16 : c.length === '' ? 32 : 64;
      fields.push({ name, ctype, kind: c.kind, valueType, signed: c.kind === 'int', argIndex, bits: c.kind === 'ptr' ? 64 : bits });
    });
    this.fields = fields;
  }

  /**
   * Decodes buf[pos, end) into out. Returns true when the whole range matched.
   * On a mismatch after a %s, retries with the next occurrences of the literal
   * that follows it (the last %s only, at most 16 times so the worst case stays linear).
   */
  decode(buf: Uint8Array, pos: number, end: number, out: DecodeScratch): boolean {
    const fast = this.fastDecoder();
    if (fast !== null) return fast(buf, pos, end, out.num, out.big);
    return this.interpret(buf, pos, end, out);
  }

  /** The format's literal and conversion steps. */
  get formatSteps(): readonly FormatStep[] {
    return this.steps;
  }

  /** The generated decoder for this format, or null when only the interpreter can read it. */
  fastDecoder(): FastDecode | null {
    let fast = this.fast;
    if (fast === undefined) fast = this.fast = compileFast(this.steps) ?? null;
    return fast;
  }

  /** The generated line decoder (see LineDecode), or null when the format has none. */
  lineDecoder(): LineDecode | null {
    let line = this.line;
    if (line === undefined) line = this.line = compileLine(this.steps) ?? null;
    return line;
  }

  /** The step interpreter: every format, no code generation. */
  interpret(buf: Uint8Array, pos: number, end: number, out: DecodeScratch): boolean {
    let step = 0;
    let p = pos;
    let retryStep = -1;
    let retryFrom = 0;
    let retryEnd = 0;
    let retries = 16;
    const n = this.nSteps;
    for (;;) {
      let ok = true;
      while (step < n) {
        const f = this.stepField[step]!;
        if (f < 0) {
          const lit = this.stepLit[step]!;
          const ll = lit.length;
          if (p + ll > end) { ok = false; break; }
          let k = 0;
          while (k < ll && buf[p + k] === lit[k]) k++;
          if (k !== ll) { ok = false; break; }
          p += ll;
          step++;
          continue;
        }
        const kind = this.stepKind[step]!;
        if (kind === F_STR) {
          // A padded field is at least `width` bytes, so the next literal starts no earlier.
          const w = this.stepWidth[step]!;
          const minEnd = w > 0 ? Math.min(p + w, end) : p;
          const next = step + 1 < n ? this.stepLit[step + 1] : undefined;
          let e: number;
          if (step + 1 >= n) e = end;
          else if (next === undefined) { e = minEnd; while (e < end && buf[e] !== 32) e++; }
          else {
            e = findBytes(buf, next, minEnd, end);
            if (e < 0) { ok = false; break; }
            retryStep = step;
            retryFrom = p;
            retryEnd = e;
          }
          let s = p;
          let se = e;
          if (w > 0) {
            if (this.stepLeftAlign[step]) { while (se > s && buf[se - 1] === 32) se--; } else { while (s < se && buf[s] === 32) s++; }
          }
          out.strStart[f] = s;
          out.strEnd[f] = se;
          p = e;
          step++;
          continue;
        }
        if (kind === F_CHAR) {
          const pad = this.stepWidth[step]! - 1;
          const left = this.stepLeftAlign[step] === 1;
          if (!left) for (let k = 0; k < pad && p < end && buf[p] === 32; k++) p++;
          if (p >= end) { ok = false; break; }
          out.strStart[f] = p;
          out.strEnd[f] = p + 1;
          p++;
          if (left) for (let k = 0; k < pad && p < end && buf[p] === 32; k++) p++;
          step++;
          continue;
        }
        const fieldStart = p;
        while (p < end && buf[p] === 32) p++;
        const np = kind === F_PTR ? readPtr(buf, p, end, out, f)
          : kind === F_HEX ? readHex(buf, this.stepAlt[step] ? skip0x(buf, p, end) : p, end, out, f)
          : kind === F_OCT ? readOct(buf, p, end, out, f)
          : readDec(buf, p, end, out, f, kind === F_INT);
        if (np < 0) { ok = false; break; }
        p = np;
        if (this.stepLeftAlign[step]) { const w = this.stepWidth[step]!; while (p < end && p - fieldStart < w && buf[p] === 32) p++; }
        step++;
      }
      if (ok && p === end) return true;
      if (retryStep < 0 || retries-- === 0) return false;
      const lit = this.stepLit[retryStep + 1]!;
      const f = this.stepField[retryStep]!;
      const e = findBytes(buf, lit, retryEnd + 1, end);
      if (e < 0) return false;
      out.strStart[f] = retryFrom;
      out.strEnd[f] = e;
      retryEnd = e;
      p = e;
      step = retryStep + 1;
    }
  }
}

function skip0x(buf: Uint8Array, p: number, end: number): number {
  return p + 1 < end && buf[p] === 48 && (buf[p + 1] === 120 || buf[p + 1] === 88) ? p + 2 : p;
}

function findBytes(buf: Uint8Array, lit: Uint8Array, from: number, end: number): number {
  const ll = lit.length;
  if (ll === 0) return from;
  const first = lit[0]!;
  const last = end - ll;
  outer: for (let i = from; i <= last; i++) {
    if (buf[i] !== first) continue;
    for (let k = 1; k < ll; k++) if (buf[i + k] !== lit[k]) continue outer;
    return i;
  }
  return -1;
}

function readDec(buf: Uint8Array, p: number, end: number, out: DecodeScratch, f: number, signed: boolean): number {
  let neg = false;
  if (p < end) {
    const c0 = buf[p]!;
    if (c0 === 45 && signed) { neg = true; p++; } else if (c0 === 43) p++;
  }
  const s = p;
  let v = 0;
  while (p < end) {
    const d = buf[p]! - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
    p++;
  }
  if (p === s) return -1;
  if (p - s > 15 && v > 999999999999999) {
    const b = BigInt(latin1(buf, s, p));
    if (!fitsPrinted(neg ? -b : b, signed)) return -1;
    if (b <= BigInt(MAX_SAFE)) { out.num[f] = neg ? -Number(b) : Number(b); } else { out.big[f] = neg ? -b : b; out.num[f] = NaN; }
    return p;
  }
  out.num[f] = neg ? -v : v;
  return p;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

function readHex(buf: Uint8Array, p: number, end: number, out: DecodeScratch, f: number): number {
  const s = p;
  let v = 0;
  while (p < end) {
    const d = hexDigit(buf[p]!);
    if (d < 0) break;
    v = v * 16 + d;
    p++;
  }
  if (p === s) return -1;
  if (p - s > 13 && v > MAX_SAFE) {
    const b = BigInt('0x' + latin1(buf, s, p));
    if (b > U64_MAX) return -1;
    out.big[f] = b;
    out.num[f] = NaN;
    return p;
  }
  out.num[f] = v;
  return p;
}

function readOct(buf: Uint8Array, p: number, end: number, out: DecodeScratch, f: number): number {
  const s = p;
  let v = 0;
  while (p < end) {
    const d = buf[p]! - 48;
    if (d < 0 || d > 7) break;
    v = v * 8 + d;
    p++;
  }
  if (p === s) return -1;
  if (p - s > 17 && v > MAX_SAFE) {
    const b = BigInt('0o' + latin1(buf, s, p));
    if (b > U64_MAX) return -1;
    out.big[f] = b;
    out.num[f] = NaN;
    return p;
  }
  out.num[f] = v;
  return p;
}

function readPtr(buf: Uint8Array, p: number, end: number, out: DecodeScratch, f: number): number {
  if (p + 5 <= end && buf[p] === 0x28) {
    for (let k = 0; k < 5; k++) if (buf[p + k] !== NIL[k]) return -1;
    out.num[f] = 0;
    return p + 5;
  }
  if (p + 2 > end || buf[p] !== 48 || buf[p + 1] !== 120) return -1;
  return readHex(buf, p + 2, end, out, f);
}
