import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IntColumn } from './columns';
import { catalogueFromText } from './catalogue';
import { LogLineParser } from './logReader';
import { TraceStore } from './store';
import { appendStore, deserializeStore, serializeStore } from './storeTransfer';

describe('columns and store', () => {
  it('widens integer columns only as far as the values need', () => {
    const c = new IntColumn(2);
    for (const v of [1, 200]) c.push(v);
    assert.equal(c.kind, 'u8');
    c.push(60000);
    assert.equal(c.kind, 'u16');
    c.push(4_000_000_000);
    assert.equal(c.kind, 'u32');
    c.push(-1);
    assert.equal(c.kind, 'f64');
    c.pushBig(2n ** 63n + 5n, false);
    assert.equal(c.kind, 'u64');
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => c.get(i)), [1, 200, 60000, 4_000_000_000, 18446744073709551615n, 2n ** 63n + 5n]);
  });

  it('keeps every value exactly through widening, serialization and merging (fast-check)', () => {
    const val = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: -70000, max: 70000 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.maxSafeInteger(), fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n));
    fc.assert(fc.property(fc.array(val, { maxLength: 60 }), fc.array(val, { maxLength: 60 }), (a, b) => {
      const norm = (v: number | bigint): number | bigint => (typeof v === 'bigint' && v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
      const x = new IntColumn(1);
      const y = new IntColumn(1);
      for (const v of a) if (typeof v === 'bigint') x.pushBig(v, true); else x.push(v);
      for (const v of b) if (typeof v === 'bigint') y.pushBig(v, true); else y.push(v);
      x.append(y, true, 0);
      assert.deepEqual(Array.from({ length: x.length }, (_, i) => x.get(i)), [...a, ...b].map(norm));
    }));
  });

  it('serializes and merges stores (string tables, thread ids, time bases, line offsets)', () => {
    const cat = catalogueFromText('ev(const char *s, int n) "s=%s n=%d"\n', 't');
    const read = (text: string): TraceStore => {
      const s = new TraceStore();
      const p = new LogLineParser(s, cat);
      p.push(Buffer.from(text));
      p.end();
      s.trim();
      return s;
    };
    const a = read('7@10.000000:ev s=foo n=-1\nnoise\n');
    const b = read('8@11.500000:ev s=bar n=2\n7@12.000000:ev s=foo n=3\n');
    const target = deserializeStore(serializeStore(a).data);
    appendStore(target, deserializeStore(serializeStore(b).data), a.lines);
    const t = target.table('ev')!;
    assert.equal(t.count, 3);
    assert.deepEqual([0, 1, 2].map((i) => [t.line(i), t.time(i), t.threadId(i), t.row(i)]), [
      [1, 0, 7, { s: 'foo', n: -1 }],
      [3, 1_500_000_000, 8, { s: 'bar', n: 2 }],
      [4, 2_000_000_000, 7, { s: 'foo', n: 3 }],
    ]);
    assert.deepEqual(target.strings.values, ['foo', 'bar']);
    assert.deepEqual(target.otherLines, [2]);
    assert.deepEqual(target.timeSpan(), { firstNs: 0, lastNs: 2_000_000_000 });
    assert.equal(target.baseTimeNs, 10_000_000_000n);
    assert.throws(() => t.column('nope'), /event ev has no field 'nope' \(fields: s, n\)/);
    assert.ok(target.memoryBytes() > 0);
  });
});
