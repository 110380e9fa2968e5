/**
 * Range sums over a numeric column in O(block) time and n/BLOCK memory: cumulative
 * sums are kept only at block boundaries, the rest is summed on the fly. Used for
 * per-channel totals of a time range and for per-pixel aggregation in the view, so
 * a frame costs O(pixels × BLOCK) whatever the number of events.
 *
 * Plain data, no DOM and no Node: imported by the analyses and by the webview.
 */
export const BLOCK = 64;

export type NumArray = Float64Array | Uint32Array | Uint16Array | Uint8Array | Int32Array;

export class BlockPrefix {
  /** cum[k] = sum of values[start .. start + k*BLOCK). */
  private readonly cum: Float64Array;

  constructor(private readonly values: NumArray, private readonly start: number, private readonly end: number) {
    const n = end - start;
    this.cum = new Float64Array(Math.floor(n / BLOCK) + 1);
    let sum = 0;
    for (let blk = 0, i = start; blk * BLOCK < n; blk++) {
      this.cum[blk] = sum;
      for (const e = Math.min(end, i + BLOCK); i < e; i++) { const v = values[i]!; if (v === v) sum += v; }
    }
    if (n % BLOCK === 0) this.cum[n / BLOCK] = sum;
  }

  /** Sum of values[start .. start + k), k in [0, end - start]. NaN values count as 0. */
  prefix(k: number): number {
    const b = Math.floor(k / BLOCK);
    let s = this.cum[b]!;
    const v = this.values;
    for (let i = this.start + b * BLOCK, e = this.start + k; i < e; i++) { const x = v[i]!; if (x === x) s += x; }
    return s;
  }

  /** Sum over absolute indices [a, b) with start <= a <= b <= end. */
  sum(a: number, b: number): number {
    if (b <= a) return 0;
    return this.prefix(b - this.start) - this.prefix(a - this.start);
  }

  get length(): number { return this.end - this.start; }
}

/** First index in [lo, hi) whose value is >= x (hi when none); times must be ascending there. */
export function lowerBound(times: Float64Array, x: number, lo = 0, hi = times.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Percentile (0..100) of the finite values, nearest-rank; null when none. */
export function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Finite values of xs, ascending. */
export function sortedFinite(xs: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < xs.length; i++) if (Number.isFinite(xs[i]!)) n++;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < xs.length; i++) { const v = xs[i]!; if (Number.isFinite(v)) out[k++] = v; }
  return out.sort();
}
