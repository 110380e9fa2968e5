import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { builtinCatalogue, builtinVersions } from './catalogues/index';
import { DecodeScratch, Decoder } from './decoder';
import { LINE_NEEDS_EXACT } from './decoderCodegen';
import { parseFormat, type Conversion, type FormatStep } from './format';

type Val = number | bigint | string;

/** A small C printf for the conversions trace formats use (glibc behaviour for %p). */
function cConv(c: Conversion, v: Val): string {
  const bits = c.kind === 'ptr' ? 64 : c.length === 'hh' ? 8 : c.length === 'h' ? 16 : c.length === '' ? 32 : 64;
  let sign = '';
  let prefix = '';
  let body: string;
  const numeric = c.kind !== 'str' && c.kind !== 'char';
  switch (c.kind) {
    case 'int': {
      let x = BigInt.asIntN(bits, BigInt(v));
      if (x < 0n) { sign = '-'; x = -x; } else if (c.flags.includes('+')) sign = '+'; else if (c.flags.includes(' ')) sign = ' ';
      body = x.toString(10);
      break;
    }
    case 'uint': case 'hex': case 'oct': {
      const x = BigInt.asUintN(bits, BigInt(v));
      body = x.toString(c.kind === 'uint' ? 10 : c.kind === 'hex' ? 16 : 8);
      if (c.letter === 'X') body = body.toUpperCase();
      if (c.flags.includes('#') && x !== 0n) prefix = c.kind === 'hex' ? (c.letter === 'X' ? '0X' : '0x') : c.kind === 'oct' ? '0' : '';
      break;
    }
    case 'ptr': {
      const x = BigInt(v);
      body = x === 0n ? '(nil)' : '0x' + x.toString(16);
      break;
    }
    case 'char': body = String(v); break;
    case 'str': body = c.precision >= 0 ? bytePrefix(String(v), c.precision) : String(v); break;
  }
  if (numeric && c.precision > 0 && c.kind !== 'ptr') body = body.padStart(c.precision, '0');
  if (c.kind === 'oct' && prefix === '0') { if (body.startsWith('0')) prefix = ''; }
  let s = sign + prefix + body;
  // Widths count bytes, as in C.
  const pad = c.width - Buffer.byteLength(s);
  if (pad > 0) {
    if (c.flags.includes('-')) s = s + ' '.repeat(pad);
    else if (c.flags.includes('0') && numeric && c.precision < 0 && c.kind !== 'ptr') s = sign + prefix + '0'.repeat(pad) + body;
    else s = ' '.repeat(pad) + s;
  }
  return s;
}

/** The longest prefix of s of at most n UTF-8 bytes (C cuts bytes; whole characters keep the test text valid). */
function bytePrefix(s: string, n: number): string {
  let out = '';
  for (const ch of s) { if (Buffer.byteLength(out + ch) > n) break; out += ch; }
  return out;
}

function cPrintf(steps: readonly FormatStep[], values: readonly Val[]): string {
  let out = '';
  let k = 0;
  for (const st of steps) out += st.type === 'literal' ? st.text : cConv(st.conv, values[k++]!);
  return out;
}

/** What the decoder should give back for value v printed by c. */
function expected(c: Conversion, v: Val): Val {
  if (c.kind === 'str') return c.precision >= 0 ? bytePrefix(String(v), c.precision) : String(v);
  if (c.kind === 'char') return String(v);
  const bits = c.kind === 'ptr' ? 64 : c.length === 'hh' ? 8 : c.length === 'h' ? 16 : c.length === '' ? 32 : 64;
  const x = c.kind === 'int' ? BigInt.asIntN(bits, BigInt(v)) : BigInt.asUintN(bits, BigInt(v));
  return x <= BigInt(Number.MAX_SAFE_INTEGER) && x >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
}

function decodeText(d: Decoder, text: string): Val[] | undefined {
  const buf = Buffer.from(text, 'utf8');
  const values = (out: DecodeScratch): Val[] => d.fields.map((f, i) => {
    if (f.valueType === 'string') return buf.toString('utf8', out.strStart[i], out.strEnd[i]);
    return Number.isNaN(out.num[i]) ? out.big[i]! : out.num[i]!;
  });
  // The generated decoder (when the format allows one) and the interpreter must agree.
  const a = new DecodeScratch(d.fields.length + 1);
  const b = new DecodeScratch(d.fields.length + 1);
  const okA = d.decode(buf, 0, buf.length, a);
  const okB = d.interpret(buf, 0, buf.length, b);
  assert.equal(okA, okB, `decode and interpret disagree on ${JSON.stringify(text)}`);
  checkLineDecoder(d, text, okA ? values(a) : undefined);
  if (!okA) return undefined;
  assert.deepEqual(values(a), values(b));
  return values(a);
}

/**
 * The log reader's line decoder (when the format has one) reads the text followed by a
 * newline and more bytes: it must stop at the same place with the same values, or
 * leave the line to the exact decoders (LINE_NEEDS_EXACT).
 */
function checkLineDecoder(d: Decoder, text: string, want: Val[] | undefined): void {
  const line = d.lineDecoder();
  if (line === null) return;
  for (const tail of ['\n', '\r\nnext 1 2 3\n']) {
    const buf = Buffer.from('xy' + text + tail, 'utf8');
    const out = new Float64Array(d.fields.length + 1);
    const r: number = line(buf, 2, out, 1, new DataView(buf.buffer, buf.byteOffset, buf.length));
    if (r === LINE_NEEDS_EXACT) continue;
    const ok: boolean = r >= 0 && (buf[r] === 10 || (buf[r] === 13 && buf[r + 1] === 10));
    assert.equal(ok, want !== undefined, `line decoder and decode disagree on ${JSON.stringify(text)}`);
    if (ok) assert.deepEqual(d.fields.map((_, i) => out[1 + i]), want, `line decoder values for ${JSON.stringify(text)}`);
  }
}

const STR_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-éü';

function valueArb(c: Conversion): fc.Arbitrary<Val> {
  switch (c.kind) {
    case 'str': return fc.string({ unit: fc.constantFrom(...STR_ALPHABET), minLength: 1, maxLength: 20 });
    case 'char': return fc.constantFrom(...'abcXYZ019_.');
    case 'ptr': return fc.oneof(fc.constant(0n), fc.bigInt(1n, (1n << 64n) - 1n));
    case 'int': return fc.oneof(fc.bigInt(-(1n << 63n), (1n << 63n) - 1n), fc.integer({ min: -1000, max: 1000 }).map(BigInt));
    default: return fc.oneof(fc.bigInt(0n, (1n << 64n) - 1n), fc.integer({ min: 0, max: 70000 }).map(BigInt));
  }
}

/** Random conversions and separators that keep the printed text unambiguous. */
const convArb = fc.record({
  letter: fc.constantFrom('d', 'i', 'u', 'x', 'X', 'o', 'c', 's', 'p'),
  flags: fc.subarray(['-', '0', '#', '+', ' ']),
  width: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })),
  precision: fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 12 })),
  length: fc.constantFrom('', 'h', 'hh', 'l', 'll', 'z'),
}).map(({ letter, flags, width, precision, length }) => {
  const num = !'csp'.includes(letter);
  const f = flags.filter((x) => (x === '#' ? 'xXo'.includes(letter) : x === '+' || x === ' ' ? 'di'.includes(letter) : x === '0' ? num : true)).join('');
  const prec = letter === 's' || num ? (precision > 0 ? `.${precision}` : '') : '';
  return `%${f}${width || ''}${prec}${num ? length : letter === 's' ? '' : ''}${letter}`;
});
const sepArb = fc.constantFrom(' ', '=', ', ', ': ', ' x=', ' [', '] ', '/', ' %% ', ' len ');

describe('format decoder', () => {
  it('round-trips random formats printed like C printf (fast-check)', () => {
    fc.assert(fc.property(
      fc.string({ unit: fc.constantFrom('a', 'b', 'Q', ' ', '='), maxLength: 4 }),
      fc.array(fc.tuple(convArb, sepArb), { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      fc.gen(),
      (lead, parts, trailing, gen) => {
        const fmt = lead.replace(/^ /, 'x') + parts.map(([c, s], i) => c + (i === parts.length - 1 && !trailing ? '' : s)).join('');
        const steps = parseFormat(fmt);
        const convs = steps.flatMap((s) => (s.type === 'conversion' ? [s.conv] : []));
        const values = convs.map((c) => gen(() => valueArb(c)));
        const text = cPrintf(steps, values);
        const d = new Decoder(fmt, convs.map((_, i) => `a${i}`), []);
        const got = decodeText(d, text);
        assert.deepEqual(got, convs.map((c, i) => expected(c, values[i]!)), `format ${JSON.stringify(fmt)} text ${JSON.stringify(text)}`);
      },
    ), { numRuns: Number(process.env.QMW_RUNS ?? 3000) });
  });

  it('round-trips every unambiguous event format of every built-in catalogue', () => {
    for (const v of builtinVersions) {
      let checked = 0;
      let skipped = 0;
      for (const ev of builtinCatalogue(v).events) {
        const d = ev.decoder;
        assert.ok(d, `${v} ${ev.decl.name} has a decoder`);
        const steps = parseFormat(ev.decl.format);
        if (ambiguous(steps)) { skipped++; continue; }
        const convs = steps.flatMap((s) => (s.type === 'conversion' ? [s.conv] : []));
        fc.assert(fc.property(fc.tuple(...convs.map(valueArb)), (values) => {
          const text = cPrintf(steps, values);
          assert.deepEqual(decodeText(d, text), convs.map((c, i) => expected(c, values[i]!)), `${ev.decl.name}: ${JSON.stringify(text)}`);
        }), { numRuns: 5 });
        checked++;
      }
      assert.ok(checked > skipped * 10, `${v}: ${checked} checked, ${skipped} ambiguous`);
    }
  });

  it('decodes the QEMU conversions seen in real traces', () => {
    const d = new Decoder('Request for HVA=0x%lx rb=%s offset=0x%zx pid=%u', ['hostaddr', 'ramblock', 'offset', 'pid'], []);
    assert.deepEqual(decodeText(d, 'Request for HVA=0x7f3a40001000 rb=pc.ram offset=0x1000 pid=4242'), [0x7f3a40001000, 'pc.ram', 0x1000, 4242]);
    assert.deepEqual(decodeText(new Decoder('host=%p', ['h'], []), 'host=(nil)'), [0]);
    assert.deepEqual(decodeText(new Decoder('v %lu', ['v'], []), 'v 18446744073709551615'), [18446744073709551615n]);
    assert.deepEqual(decodeText(new Decoder('v %lu', ['v'], []), 'v 9007199254740991'), [9007199254740991]);
    assert.deepEqual(decodeText(new Decoder('v %ld', ['v'], []), 'v -9223372036854775808'), [-9223372036854775808n]);
    assert.deepEqual(decodeText(new Decoder('%s: start: 0x%zx', ['rb', 's'], []), 'a: b: start: 0x10'), ['a: b', 16]);
    assert.deepEqual(decodeText(new Decoder('100%% done %d', ['x'], []), '100% done 7'), [7]);
    assert.equal(decodeText(new Decoder('channel %u', ['id'], []), 'channel x'), undefined);
    assert.equal(decodeText(new Decoder('channel %u', ['id'], []), 'channel 1 extra'), undefined);
  });
});

/** Formats whose printed text cannot be split back uniquely (adjacent conversions, digits after a number). */
function ambiguous(steps: readonly FormatStep[]): boolean {
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.type !== 'conversion') continue;
    const next = steps[i + 1];
    if (next?.type === 'conversion') return true;
    const first = next?.type === 'literal' ? next.text[0]! : '';
    if (s.conv.kind === 'str' && next !== undefined && /[A-Za-z0-9_.\-éü]/.test(first)) return true;
    if (s.conv.kind === 'str' && next?.type === 'literal' && /[A-Za-z0-9_.\-éü]/.test(next.text)) {
      // The decoder takes the first occurrence of the next literal; strings from the test alphabet never contain it unless it is made of alphabet characters only.
      if (/^[A-Za-z0-9_.\-éü]+$/.test(next.text)) return true;
    }
    if (s.conv.kind === 'hex' && /[0-9a-fA-F]/.test(first)) return true;
    if (s.conv.kind === 'ptr' && /[0-9a-fA-F]/.test(first)) return true;
    if ((s.conv.kind === 'int' || s.conv.kind === 'uint') && /[0-9]/.test(first)) return true;
    if (s.conv.kind === 'oct' && /[0-7]/.test(first)) return true;
    if (s.conv.flags.includes('-') && first === ' ') return true;
    if (s.conv.width > 0 && s.conv.kind === 'str') return true;
  }
  return false;
}
