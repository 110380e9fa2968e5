import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MultifdSide } from './model';
import { emptyBuckets, GRID_CELLS, SideIndex } from './sideIndex';

function synthetic(n: number): MultifdSide {
  const t = new Float64Array(n), u = (): Uint32Array => new Uint32Array(n);
  const normal = u(), zero = u(), bytes = u();
  for (let i = 0; i < n; i++) { t[i] = i * 1000 + (i % 7) * 13; zero[i] = i % 5; normal[i] = 128 - (i % 5); bytes[i] = normal[i]! * 4096; }
  return {
    side: 'src', format: 'normal+zero', knows: { normalPages: true, zeroPages: true, bytes: true }, channels: [3], laneStart: Uint32Array.of(0, n),
    packets: { t, packetNum: new Float64Array(n), normal, zero, bytes, flags: u(), line: u() }, syncs: [], threads: [], crossCheck: [], limits: [],
    bytesRule: { payload: 'pages', pageSize: 4096, pageSizeFrom: 'assumed', headerBytes: 1344, handshakeBytes: 64, staleSizes: 0, tracedSizeBytes: 0 },
  };
}

test('bucket sums equal the range totals, through the grid (zoomed out) and the packets (zoomed in)', () => {
  const n = GRID_CELLS * 3;
  const ix = new SideIndex(synthetic(n));
  const end = n * 1000;
  for (const [t0, t1, w] of [[0, end, 1000], [end * 0.25, end * 0.25 + 5_000_000, 4000]] as const) {
    const b = ix.buckets(0, t0, t1, w, emptyBuckets(w));
    const total = ix.totals(t0, t1)[0]!;
    const sum = (a: Float64Array): number => a.reduce((s, x) => s + x, 0);
    assert.equal(sum(b.count), total.packets);
    assert.equal(sum(b.zero), total.zeroPages);
    assert.equal(sum(b.normal), total.normalPages);
  }
});

test('range totals of a zoomed window count exactly the packets inside it', () => {
  const ix = new SideIndex(synthetic(10_000));
  assert.equal(ix.totals(1_000_000, 2_000_000)[0]!.packets, 1000);
  assert.deepEqual(ix.laneRange(0, 1_000_000, 2_000_000), [1000, 2000]);
});

test('a zoomed-out window with edges inside grid cells is off by at most one cell per edge', () => {
  const n = GRID_CELLS * 3;
  const ix = new SideIndex(synthetic(n));
  const [t0, t1] = [n * 1000 * 0.3 + 1234, n * 1000 * 0.7 + 777];
  const b = ix.buckets(0, t0, t1, 500, emptyBuckets(500));
  const exact = ix.totals(t0, t1)[0]!.packets;
  assert.ok(Math.abs(b.count.reduce((s, x) => s + x, 0) - exact) <= 2 * 3, 'three packets per cell here');
});
