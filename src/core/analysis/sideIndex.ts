/**
 * Range queries over one side's multifd packets: per-channel totals of a time range and
 * per-bucket aggregates for drawing. Each query is a binary search per boundary plus
 * block-prefix sums, so its cost does not grow with the number of packets.
 * Plain data: shared by the CLI summary and the webview.
 */
import type { MultifdSide } from './model';
import { BlockPrefix, lowerBound } from './prefix';

export interface ChannelTotals {
  readonly channel: number;
  readonly packets: number;
  readonly normalPages: number | null;
  readonly zeroPages: number | null;
  readonly bytes: number | null;
}

/** Per-bucket aggregates of one lane (or of all lanes summed). */
export interface Buckets {
  readonly count: Float64Array;
  readonly normal: Float64Array;
  readonly zero: Float64Array;
  readonly bytes: Float64Array;
  /** Index of one packet in each bucket (the first), -1 when empty: for hover and click. */
  readonly first: Int32Array;
}

export class SideIndex {
  private readonly normal: BlockPrefix[] = [];
  private readonly zero: BlockPrefix[] = [];
  private readonly bytes: BlockPrefix[] = [];

  constructor(readonly side: MultifdSide) {
    const p = side.packets;
    for (let k = 0; k < side.channels.length; k++) {
      const a = side.laneStart[k]!, b = side.laneStart[k + 1]!;
      this.normal.push(new BlockPrefix(p.normal, a, b));
      this.zero.push(new BlockPrefix(p.zero, a, b));
      this.bytes.push(new BlockPrefix(p.bytes, a, b));
    }
  }

  /** Packet index range of lane k with time in [t0, t1). */
  laneRange(k: number, t0: number, t1: number): [number, number] {
    const a = this.side.laneStart[k]!, b = this.side.laneStart[k + 1]!;
    const t = this.side.packets.t;
    return [lowerBound(t, t0, a, b), lowerBound(t, t1, a, b)];
  }

  /** Totals per channel for packets with time in [t0, t1) (whole trace by default). */
  totals(t0 = -Infinity, t1 = Infinity): ChannelTotals[] {
    const { knows } = this.side;
    return this.side.channels.map((channel, k) => {
      const [a, b] = this.laneRange(k, t0, t1);
      return {
        channel,
        packets: b - a,
        normalPages: knows.normalPages ? this.normal[k]!.sum(a, b) : null,
        zeroPages: knows.zeroPages ? this.zero[k]!.sum(a, b) : null,
        bytes: knows.bytes ? this.bytes[k]!.sum(a, b) : null,
      };
    });
  }

  /** Aggregates of lane k (or every lane when k < 0) over n equal buckets of [t0, t1). */
  buckets(k: number, t0: number, t1: number, n: number, out?: Buckets): Buckets {
    const b = out ?? emptyBuckets(n);
    if (!out) b.first.fill(-1);
    const lanes = k < 0 ? this.side.channels.map((_, i) => i) : [k];
    const t = this.side.packets.t;
    const w = (t1 - t0) / n;
    for (const lane of lanes) {
      const lo = this.side.laneStart[lane]!, hi = this.side.laneStart[lane + 1]!;
      let i = lowerBound(t, t0, lo, hi);
      for (let j = 0; j < n; j++) {
        const e = lowerBound(t, j === n - 1 ? t1 : t0 + (j + 1) * w, i, hi);
        if (e > i) {
          b.count[j]! += e - i;
          b.normal[j]! += this.normal[lane]!.sum(i, e);
          b.zero[j]! += this.zero[lane]!.sum(i, e);
          b.bytes[j]! += this.bytes[lane]!.sum(i, e);
          if (b.first[j]! < 0) b.first[j] = i;
        }
        i = e;
        if (i >= hi) break;
      }
    }
    return b;
  }
}

export function emptyBuckets(n: number): Buckets {
  const first = new Int32Array(n);
  first.fill(-1);
  return { count: new Float64Array(n), normal: new Float64Array(n), zero: new Float64Array(n), bytes: new Float64Array(n), first };
}
