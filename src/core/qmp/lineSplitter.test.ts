import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter } from './lineSplitter';
import { QmpProtocolError } from './errors';

const enc = new TextEncoder();
const message = '{"return": {"desc": "Ünïcødé — 日本語 🚀 ok"}, "id": 7}';

function splitAll(chunks: Uint8Array[], max = 1 << 20): string[] {
  const s = new LineSplitter(max);
  const out: string[] = [];
  for (const c of chunks) {
    const r = s.push(c);
    assert.equal(r.overflow, undefined);
    out.push(...r.lines);
  }
  return out;
}

test('a message split at every byte position decodes whole, multi-byte UTF-8 included', () => {
  const bytes = enc.encode(message + '\r\n');
  assert.ok(bytes.length > message.length, 'the message must contain multi-byte characters');
  for (let i = 0; i <= bytes.length; i++) {
    assert.deepEqual(splitAll([bytes.slice(0, i), bytes.slice(i)]), [message], `split at byte ${i}`);
  }
});

test('a message fed one byte at a time decodes whole', () => {
  const bytes = enc.encode(message + '\n');
  const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
  assert.deepEqual(splitAll(chunks), [message]);
});

test('several messages in one chunk, LF and CRLF mixed, empty lines kept', () => {
  const text = '{"a":1}\n{"b":"é"}\r\n\n{"c":3}\r\n{"partial"';
  const s = new LineSplitter(1000);
  const r = s.push(enc.encode(text));
  assert.deepEqual(r.lines, ['{"a":1}', '{"b":"é"}', '', '{"c":3}']);
  assert.equal(s.pendingBytes, '{"partial"'.length);
});

test('any chunking of a stream yields the same lines (property)', () => {
  const lineArb = fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ''));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(lineArb, fc.boolean()), { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (lines, cuts) => {
        const text = lines.map(([l, crlf]) => l + (crlf ? '\r\n' : '\n')).join('');
        const bytes = enc.encode(text);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          chunks.push(bytes.slice(prev, p));
          prev = p;
        }
        assert.deepEqual(splitAll(chunks), lines.map(([l]) => l));
      },
    ),
    { numRuns: 300 },
  );
});

test('an endless line overflows at the limit, naming the byte count, and holds no more bytes', () => {
  const s = new LineSplitter(1024);
  const chunk = new Uint8Array(300).fill(0x78);
  let overflow: QmpProtocolError | undefined;
  let pushes = 0;
  while (!overflow && pushes < 100) {
    overflow = s.push(chunk).overflow;
    pushes++;
    assert.ok(s.pendingBytes <= 1024, `holds ${s.pendingBytes} bytes`);
  }
  assert.ok(overflow instanceof QmpProtocolError);
  assert.equal(pushes, 4);
  assert.match(overflow.message, /1200 bytes/);
  assert.match(overflow.message, /limit of 1024 bytes/);
  assert.equal(s.pendingBytes, 0);
  assert.deepEqual(s.push(enc.encode('{"a":1}\n')).lines, [], 'a failed splitter stays failed');
});

test('a complete line longer than the limit overflows too; lines before it are still returned', () => {
  const s = new LineSplitter(10);
  const r = s.push(enc.encode('{"a":1}\n' + 'y'.repeat(11) + '\n'));
  assert.deepEqual(r.lines, ['{"a":1}']);
  assert.ok(r.overflow);
  assert.match(r.overflow.message, /11 bytes/);
});
