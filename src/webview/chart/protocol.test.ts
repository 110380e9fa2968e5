import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendColumns, columnBuffers, columnNames, columnsOf, emptyColumns, type ChartSample, type ToChart } from './protocol';

const sample = (i: number): ChartSample => ({
  t: 1_700_000_000_000 + i * 20, transferred: i * 4096.5, remaining: 1e12 - i, mbps: i / 3, 'dirty-pages-rate': 7, 'pages-per-second': 2 ** 40 + i, 'dirty-sync-count': i >> 2, 'postcopy-requests': 0,
});

test('samples cross as one Float64Array per column, each on its own buffer', () => {
  const c = columnsOf([0, 1, 2].map(sample));
  for (const k of columnNames) {
    assert.ok(c[k] instanceof Float64Array, k);
    assert.equal(c[k].length, 3);
    assert.equal(c[k].byteOffset, 0);
    assert.equal(c[k].buffer.byteLength, 3 * 8, `${k} owns its buffer, so transferring it detaches nothing else`);
  }
  assert.deepEqual([...c.transferred], [0, 4096.5, 8193]);
  assert.equal(c['pages-per-second'][2], 2 ** 40 + 2, 'doubles keep integers beyond 32 bits');
  assert.equal(new Set(columnBuffers(c)).size, columnNames.length);
});

test('an append message survives a transferring structured clone intact, with no number arrays in it', () => {
  const columns = columnsOf([0, 1, 2, 3].map(sample));
  const expected = columnNames.map((k) => [...columns[k]]);
  const message: ToChart = { type: 'append', columns, markers: [{ t: 1, kind: 'MIGRATION', text: 'active' }], status: 'src: active' };
  const received = structuredClone(message, { transfer: columnBuffers(columns) });
  assert.equal(columns.t.length, 0, 'the sender gave its buffers away');
  assert.equal(received.type, 'append');
  if (received.type !== 'append') return;
  assert.deepEqual(columnNames.map((k) => [...received.columns[k]]), expected);
  assert.ok(columnNames.every((k) => received.columns[k] instanceof Float64Array));
  const numberArrays = (v: unknown): number => Array.isArray(v) ? (v.some((x) => typeof x === 'number') ? 1 : 0) + v.reduce((n: number, x) => n + numberArrays(x), 0)
    : v !== null && typeof v === 'object' && !ArrayBuffer.isView(v) ? Object.values(v).reduce((n: number, x) => n + numberArrays(x), 0) : 0;
  assert.equal(numberArrays(received), 0);
});

test('appending keeps the newest rows up to the cap', () => {
  const a = columnsOf([0, 1, 2].map(sample));
  const b = columnsOf([3, 4].map(sample));
  assert.deepEqual([...appendColumns(a, b, 10)['dirty-sync-count']], [0, 0, 0, 0, 1]);
  assert.deepEqual([...appendColumns(a, b, 4).t].map((t) => (t - 1_700_000_000_000) / 20), [1, 2, 3, 4]);
  assert.deepEqual([...appendColumns(a, b, 1).t].map((t) => (t - 1_700_000_000_000) / 20), [4]);
  assert.deepEqual([...appendColumns(emptyColumns(), b, 10).mbps], [1, 4 / 3]);
  assert.equal(appendColumns(a, emptyColumns(), 2).remaining.length, 2);
});
