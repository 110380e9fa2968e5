/**
 * Range queries over one side's multifd packets: per-channel totals of a time range and
 * per-bucket aggregates for drawing. Each query is a binary search per boundary plus
 * block-prefix sums, so its cost does not grow with the number of packets.
 * Plain data: shared by the CLI summary and the webview.
 */
import type { MultifdSide } from './model';
import { BLOCK, BlockPrefix, lowerBound } from './prefix';

export interface ChannelTotals {
  readonly channel: number;
  readonly packets: number;
  readonly normalPages: number | null;
  readonly zeroPages: number | null;
  /** Payload bytes of the packets (MultifdSide.bytesRule.payload). */
  readonly payloadBytes: number | null;
  /**
   * Bytes as QEMU counts multifd-bytes: payload, plus a header per packet, plus the channel's
   * handshake when its thread started in the range (MultifdSide.bytesRule).
   */
  readonly bytes: number | null;
}

/** Per-bucket aggregates of one lane (or of all lanes summed). */
export interface Buckets {
  readonly count: Float64Array;
  readonly normal: Float64Array;
  readonly zero: Float64Array;
  readonly bytes: Float64Array;
}

/** Cells of the precomputed time grid per lane at most; a zoomed-out frame reads only this grid. */
export const GRID_CELLS = 1 << 16;
/** A side with fewer packets per lane gets a grid of about as many cells (a power of two, at least this): building it stays proportional to the packets. */
const MIN_GRID_CELLS = 1 << 8;

/** Below this many packets per bucket a frame walks the packets instead of searching bucket edges. */
const SPARSE = 8;

/**
 * Level of detail: per lane, cumulative count/normal/zero/bytes over GRID_CELLS equal time
 * cells spanning the side. A bucket at least one cell wide is a difference of two cumulative
 * values (its edges rounded to the nearest cell, under half a bucket); narrower buckets go
 * to the packets themselves.
 */
interface Grid { t0: number; cell: number; cells: number; cum: Float64Array[][] }

export class SideIndex {
  private readonly normal: BlockPrefix[] = [];
  private readonly zero: BlockPrefix[] = [];
  private readonly bytes: BlockPrefix[] = [];
  private readonly grid: Grid;
  /** Per lane, the time of every BLOCK-th packet: searched first, so a lookup touches the big array only within one block. */
  private readonly blockTimes: Float64Array[] = [];

  constructor(readonly side: MultifdSide) {
    const p = side.packets;
    for (let k = 0; k < side.channels.length; k++) {
      const a = side.laneStart[k]!, b = side.laneStart[k + 1]!;
      this.normal.push(new BlockPrefix(p.normal, a, b));
      this.zero.push(new BlockPrefix(p.zero, a, b));
      this.bytes.push(new BlockPrefix(p.bytes, a, b));
      const tb = new Float64Array(Math.ceil((b - a) / BLOCK));
      for (let k = 0; k < tb.length; k++) tb[k] = p.t[a + k * BLOCK]!;
      this.blockTimes.push(tb);
    }
    this.grid = buildGrid(side);
  }

  /** First packet index of lane k in [from, laneEnd) with time >= x. */
  private bound(k: number, x: number, from: number): number {
    const lo = this.side.laneStart[k]!, hi = this.side.laneStart[k + 1]!;
    const tb = this.blockTimes[k]!;
    const kb = lowerBound(tb, x, Math.floor((from - lo) / BLOCK));
    // tb[kb - 1] < x <= tb[kb]: the answer is in the block before kb, or is kb's first packet.
    const a = Math.max(from, lo + (kb - 1) * BLOCK), b = Math.min(hi, lo + kb * BLOCK);
    return lowerBound(this.side.packets.t, x, Math.max(a, from), Math.max(b, from));
  }

  /** Packet index range of lane k with time in [t0, t1). */
  laneRange(k: number, t0: number, t1: number): [number, number] {
    const a = this.bound(k, t0, this.side.laneStart[k]!);
    return [a, this.bound(k, t1, a)];
  }

  /** Totals per channel for packets with time in [t0, t1) (whole trace by default). */
  totals(t0 = -Infinity, t1 = Infinity): ChannelTotals[] {
    const { knows, bytesRule: rule, threads, packets } = this.side;
    return this.side.channels.map((channel, k) => {
      const [a, b] = this.laneRange(k, t0, t1);
      const payload = knows.bytes ? this.bytes[k]!.sum(a, b) : null;
      // The handshake goes out when the channel's thread starts (else: before its first packet).
      const lo = this.side.laneStart[k]!, hi = this.side.laneStart[k + 1]!;
      const at = threads.find((th) => th.channel === channel)?.startNs ?? (hi > lo ? packets.t[lo]! : null);
      const handshake = at !== null && at >= t0 && at < t1 ? rule.handshakeBytes : 0;
      return {
        channel,
        packets: b - a,
        normalPages: knows.normalPages ? this.normal[k]!.sum(a, b) : null,
        zeroPages: knows.zeroPages ? this.zero[k]!.sum(a, b) : null,
        payloadBytes: payload,
        bytes: payload === null ? null : payload + (b - a) * rule.headerBytes + handshake,
      };
    });
  }

  /** Aggregates of lane k (or every lane when k < 0) over n equal buckets of [t0, t1). */
  buckets(k: number, t0: number, t1: number, n: number, out?: Buckets): Buckets {
    const b = out ?? emptyBuckets(n);
    const lanes = k < 0 ? this.side.channels.map((_, i) => i) : [k];
    const w = (t1 - t0) / n;
    if (w >= this.grid.cell) { for (const lane of lanes) this.gridBuckets(lane, t0, w, n, b); return b; }
    for (const lane of lanes) {
      const lo = this.side.laneStart[lane]!, hi = this.side.laneStart[lane + 1]!;
      const nm = this.normal[lane]!, zr = this.zero[lane]!, by = this.bytes[lane]!;
      let i = this.bound(lane, t0, lo);
      if (i >= hi) continue;
      const end = this.bound(lane, t1, i);
      if (end - i <= SPARSE * n) { this.sparseBuckets(i, end, t0, w, n, b); continue; }
      // Each bucket boundary is searched and prefix-summed once; a bucket is the difference of two.
      let pn = nm.prefix(i - lo), pz = zr.prefix(i - lo), pb = by.prefix(i - lo);
      for (let j = 0; j < n; j++) {
        const e = this.bound(lane, j === n - 1 ? t1 : t0 + (j + 1) * w, i);
        if (e > i) {
          const qn = nm.prefix(e - lo), qz = zr.prefix(e - lo), qb = by.prefix(e - lo);
          b.count[j]! += e - i;
          b.normal[j]! += qn - pn;
          b.zero[j]! += qz - pz;
          b.bytes[j]! += qb - pb;
          pn = qn; pz = qz; pb = qb;
          i = e;
        }
        if (i >= hi) break;
      }
    }
    return b;
  }

  /** Few packets per bucket: each visible packet is added to its bucket directly. */
  private sparseBuckets(a: number, e: number, t0: number, w: number, n: number, b: Buckets): void {
    const p = this.side.packets;
    for (let i = a; i < e; i++) {
      const j = Math.min(n - 1, Math.floor((p.t[i]! - t0) / w));
      b.count[j]!++;
      b.normal[j]! += p.normal[i]!;
      b.zero[j]! += p.zero[i]!;
      b.bytes[j]! += p.bytes[i]!;
    }
  }

  private gridBuckets(lane: number, t0: number, w: number, n: number, b: Buckets): void {
    const { cum, cell } = this.grid;
    const [cc, cn, cz, cb] = cum[lane] as [Float64Array, Float64Array, Float64Array, Float64Array];
    const cells = this.grid.cells;
    const at = (t: number): number => Math.min(cells, Math.max(0, Math.round((t - this.grid.t0) / cell)));
    let g = at(t0);
    for (let j = 0; j < n; j++) {
      const e = at(t0 + (j + 1) * w);
      if (e > g) {
        b.count[j]! += cc[e]! - cc[g]!;
        b.normal[j]! += cn[e]! - cn[g]!;
        b.zero[j]! += cz[e]! - cz[g]!;
        b.bytes[j]! += cb[e]! - cb[g]!;
      }
      g = e;
    }
  }
}

function buildGrid(side: MultifdSide): Grid {
  const p = side.packets;
  let lo = Infinity, hi = -Infinity;
  side.channels.forEach((_, k) => {
    const a = side.laneStart[k]!, b = side.laneStart[k + 1]!;
    if (b > a) { lo = Math.min(lo, p.t[a]!); hi = Math.max(hi, p.t[b - 1]!); }
  });
  if (!(hi >= lo)) { lo = 0; hi = 1; }
  let most = 0;
  for (let k = 0; k < side.channels.length; k++) most = Math.max(most, side.laneStart[k + 1]! - side.laneStart[k]!);
  let cells = MIN_GRID_CELLS;
  while (cells < most && cells < GRID_CELLS) cells *= 2;
  // Slightly wider than (hi - lo) / cells so the last packet falls inside the last cell.
  const cell = Math.max(((hi - lo) / cells) * (1 + 1e-9), 1e-9);
  const cum = side.channels.map((_, k) => {
    const cols = [0, 1, 2, 3].map(() => new Float64Array(cells + 1));
    const [cc, cn, cz, cb] = cols as [Float64Array, Float64Array, Float64Array, Float64Array];
    for (let i = side.laneStart[k]!, e = side.laneStart[k + 1]!; i < e; i++) {
      const g = Math.min(cells - 1, Math.floor((p.t[i]! - lo) / cell)) + 1;
      cc[g]!++; cn[g]! += p.normal[i]!; cz[g]! += p.zero[i]!; cb[g]! += p.bytes[i]!;
    }
    for (const c of cols) for (let g = 1; g <= cells; g++) c[g]! += c[g - 1]!;
    return cols;
  });
  return { t0: lo, cell, cells, cum };
}

export function emptyBuckets(n: number): Buckets {
  return { count: new Float64Array(n), normal: new Float64Array(n), zero: new Float64Array(n), bytes: new Float64Array(n) };
}
