/**
 * Assembling one store from stores read from consecutive ranges of a file, in parallel:
 * each worker keeps the store of each range it reads and reports its shape
 * (summarizeStore); the main thread places the ranges in file order as their shapes
 * arrive (RangeAssembler): each range gets its row offsets in shared columns, its line
 * offset, time shift and thread and string renumbering; its worker then copies it into
 * place (copyIntoPlace) while the other ranges are still being read.
 * No value crosses threads twice.
 */
import { allocInt, intView, kindHolds, type IntArray, type IntColumn, type IntKind } from './columns';
import type { FieldInfo } from './decoder';
import { TraceStore, type TimeBase, type TimeKind } from './store';
import { addCounts, type StoreCounts } from './storeTransfer';

export interface TableShape {
  readonly name: string;
  readonly unknown: boolean;
  readonly fields: readonly FieldInfo[];
  readonly count: number;
  /** First and last position (positions increase within a range). */
  readonly posFirst: number;
  readonly posLast: number;
  readonly colKinds: readonly IntKind[];
}

/** Everything about a range's store except its column values. */
export interface StoreShape extends StoreCounts {
  readonly tables: readonly TableShape[];
  readonly strings: readonly string[];
  readonly tids: readonly (number | undefined)[];
  readonly base: TimeBase | null;
  readonly timeKind: TimeKind;
  readonly positionKind: 'line' | 'byteOffset';
  /** The range's time span, relative to its base (found where it was read, in parallel with the others). */
  readonly span: { readonly firstNs: number; readonly lastNs: number } | null;
}

export function summarizeStore(store: TraceStore): StoreShape {
  const tables: TableShape[] = [];
  for (const t of store.tables.values()) {
    t.commitStage();
    const n = t.count;
    tables.push({
      name: t.name, unknown: t.unknown, fields: [...t.fields], count: n,
      posFirst: n > 0 ? t.pos.getNumber(0) : 0, posLast: n > 0 ? t.pos.getNumber(n - 1) : 0,
      colKinds: t.cols.map((c) => c.kind),
    });
  }
  return {
    tables, strings: store.strings.values, tids: store.tids, other: store.other, otherLines: store.otherLines,
    malformedCount: store.malformedCount, malformed: store.malformed, unknownEvents: store.unknownEvents, base: store.base,
    timeKind: store.timeKind, positionKind: store.positionKind, bytes: store.bytes, lines: store.lines,
    droppedEvents: store.droppedEvents, errors: store.errors, span: store.timeSpan(),
  };
}

/** Where one column of one range goes. */
export interface ColumnTarget {
  readonly buffer: SharedArrayBuffer;
  readonly kind: IntKind;
  /** Added to every value (line offsets). */
  readonly add: number;
  /** Value → new value (thread and string codes), or null. */
  readonly map: Int32Array | null;
}

export interface TableTarget {
  readonly name: string;
  /** First row of the range in the target buffers. */
  readonly rowOffset: number;
  readonly ts: SharedArrayBuffer | null;
  /** Added to every time (the range's time base relative to the whole store's). */
  readonly timeShift: number;
  readonly pos: ColumnTarget;
  readonly tid: ColumnTarget;
  readonly cols: readonly ColumnTarget[];
}

/** What a worker does with one range's store. */
export interface RangePlan {
  readonly tables: readonly TableTarget[];
}

const BYTES: Record<IntKind, number> = { u8: 1, u16: 2, i32: 4, u32: 4, f64: 8, i64: 8, u64: 8 };
const RANK: Record<IntKind, number> = { u8: 0, u16: 1, i32: 2, u32: 2, f64: 3, i64: 4, u64: 4 };

/** The narrowest kind holding values of both kinds (the order IntColumn widens in). */
function joinKinds(a: IntKind, b: IntKind): IntKind {
  if (a === b) return a;
  if (RANK[a] !== RANK[b]) return RANK[a] > RANK[b] ? a : b;
  return RANK[a] === 2 ? 'f64' : 'i64';
}

/** The narrowest kind holding the integers [0, max]. */
function kindUpTo(max: number): IntKind {
  return max <= 255 ? 'u8' : max <= 65535 ? 'u16' : max <= 4294967295 ? 'u32' : 'f64';
}

function codeMap(from: readonly number[]): Int32Array | null {
  let identity = true;
  for (let i = 0; i < from.length; i++) if (from[i] !== i) { identity = false; break; }
  return identity ? null : Int32Array.from(from);
}

/**
 * Shared columns for a run of a table's rows, sized by an estimate: the pages past the
 * rows written are never touched, so the slack costs address space, not memory.
 */
interface Segment {
  /** The table's row at the segment's first row. */
  readonly start: number;
  readonly capacity: number;
  rows: number;
  readonly ts: SharedArrayBuffer | null;
  readonly pos: SharedArrayBuffer;
  readonly posKind: IntKind;
  readonly tid: SharedArrayBuffer;
  readonly tidKind: IntKind;
  readonly cols: readonly SharedArrayBuffer[];
  readonly colKinds: readonly IntKind[];
}

interface TableLayout {
  readonly name: string;
  readonly unknown: boolean;
  readonly fields: readonly FieldInfo[];
  rows: number;
  readonly segments: Segment[];
}

/** An estimate never reserves room for more rows than this per byte still to be placed. */
const MIN_LINE_BYTES = 16;
/** Room reserved beyond the rows the density so far predicts. */
const HEADROOM = 2;
/** A segment's estimate never reserves more than this many rows beyond the range's own. */
const MAX_SLACK_ROWS = 64 * 1024 * 1024;

/**
 * Lays out the store of consecutive ranges of one file while they are read. Ranges are
 * placed in file order as soon as every range before them has reported its shape: each
 * table's rows go to shared columns sized from the rows per byte seen so far, and the
 * range's plan tells its worker where to copy them, so a worker hands over a range (and
 * reuses its arrays) while later ranges are still being read. A range that does not fit
 * its table's columns (more rows than estimated, a value needing a wider kind, more
 * threads or strings than the codes' kind holds) starts a new segment; a table of
 * several segments is joined when the store is finished. The main thread copies no
 * values unless a table has several segments.
 */
export class RangeAssembler {
  private readonly store = new TraceStore();
  private readonly shapes: (StoreShape | undefined)[];
  private readonly layouts = new Map<string, TableLayout>();
  private next = 0;
  private lines = 0;
  /** The time span of the ranges placed so far, on the whole store's base. */
  private firstNs = Infinity;
  private lastNs = -Infinity;

  /**
   * ranges: the byte ranges in file order, contiguous from the file's start; tids: threads
   * every range's store was given first (ReadTraceOptions.tids), to be given first here too.
   */
  constructor(private readonly ranges: readonly (readonly [number, number])[], tids: readonly number[] = []) {
    this.shapes = ranges.map(() => undefined);
    for (const t of tids) this.store.tidCode(t);
  }

  /** Every range placed. */
  get complete(): boolean {
    return this.next === this.ranges.length;
  }

  /** Takes a range's shape; returns the plans of the ranges that can now be placed, in file order. */
  add(range: number, shape: StoreShape): { range: number; plan: RangePlan }[] {
    this.shapes[range] = shape;
    const out: { range: number; plan: RangePlan }[] = [];
    while (this.next < this.ranges.length && this.shapes[this.next]) {
      const r = this.next++;
      out.push({ range: r, plan: this.place(this.shapes[r]!, this.ranges[r]!) });
      this.shapes[r] = undefined;
    }
    return out;
  }

  private place(s: StoreShape, [from, to]: readonly [number, number]): RangePlan {
    const store = this.store;
    const strMap = codeMap(s.strings.map((x) => store.strings.intern(x)));
    const tidMap = codeMap(s.tids.map((t) => (t === undefined ? 0 : store.tidCode(t))));
    let shift = 0;
    if (s.base !== null) {
      if (store.base === null) store.base = s.base;
      else shift = (s.base.a - store.base.a) * store.base.scale + (s.base.b - store.base.b);
    }
    if (s.span !== null) {
      this.firstNs = Math.min(this.firstNs, s.span.firstNs + shift);
      this.lastNs = Math.max(this.lastNs, s.span.lastNs + shift);
    }
    const lineOffset = s.positionKind === 'line' ? this.lines : 0;
    this.lines += s.lines;
    if (s.timeKind !== 'none') store.timeKind = s.timeKind;
    store.positionKind = s.positionKind;
    addCounts(store, s, lineOffset);

    const tables: TableTarget[] = [];
    for (const t of s.tables) {
      let l = this.layouts.get(t.name);
      if (!l) { l = { name: t.name, unknown: t.unknown, fields: t.fields, rows: 0, segments: [] }; this.layouts.set(t.name, l); }
      if (t.count === 0) continue;
      let seg = l.segments[l.segments.length - 1];
      if (!seg || !this.fits(seg, t, lineOffset)) {
        seg = this.newSegment(l, t, seg, lineOffset, from, to);
        l.segments.push(seg);
      }
      const at = seg.rows;
      seg.rows += t.count;
      l.rows += t.count;
      tables.push({
        name: t.name, rowOffset: at, ts: seg.ts, timeShift: shift,
        pos: { buffer: seg.pos, kind: seg.posKind, add: lineOffset, map: null },
        tid: { buffer: seg.tid, kind: seg.tidKind, add: 0, map: tidMap },
        cols: t.fields.map((f, i) => ({ buffer: seg.cols[i]!, kind: seg.colKinds[i]!, add: 0, map: f.valueType === 'string' ? strMap : null })),
      });
    }
    return { tables };
  }

  /** Whether the range's rows of table t go into seg as it is. */
  private fits(seg: Segment, t: TableShape, lineOffset: number): boolean {
    const store = this.store;
    if (seg.rows + t.count > seg.capacity) return false;
    if (store.base !== null && seg.ts === null) return false;
    if (!kindHolds(seg.posKind, t.posFirst + lineOffset, t.posLast + lineOffset)) return false;
    if (!kindHolds(seg.tidKind, 0, store.tids.length)) return false;
    for (let i = 0; i < t.fields.length; i++) {
      const k = seg.colKinds[i]!;
      if (t.fields[i]!.valueType === 'string' ? !kindHolds(k, 0, store.strings.values.length) : joinKinds(k, t.colKinds[i]!) !== k) return false;
    }
    return true;
  }

  /** Columns for the table's rows from this range on, with room for the rows the file so far predicts. */
  private newSegment(l: TableLayout, t: TableShape, prev: Segment | undefined, lineOffset: number, from: number, to: number): Segment {
    const store = this.store;
    const total = this.ranges[this.ranges.length - 1]![1];
    const left = total - to;
    const density = Math.max((l.rows + t.count) / Math.max(1, to), t.count / Math.max(1, to - from));
    const slack = Math.ceil(Math.min(density * left * HEADROOM, left / MIN_LINE_BYTES, MAX_SLACK_ROWS));
    // Positions never exceed the byte count (a line has at least one byte).
    const posKind = kindUpTo(t.posFirst + lineOffset < 0 ? Infinity : store.positionKind === 'line' ? lineOffset + total - from : total);
    const tidKind = kindUpTo(Math.max(255, 2 * store.tids.length));
    const strKind = kindUpTo(Math.max(255, 2 * store.strings.values.length));
    const colKinds = t.fields.map((f, i) => (f.valueType === 'string' ? strKind : prev ? joinKinds(prev.colKinds[i]!, t.colKinds[i]!) : t.colKinds[i]!));
    const make = (capacity: number): Segment => ({
      start: l.rows, capacity, rows: 0,
      ts: store.base !== null ? new SharedArrayBuffer(capacity * 8) : null,
      pos: new SharedArrayBuffer(capacity * BYTES[posKind]), posKind,
      tid: new SharedArrayBuffer(capacity * BYTES[tidKind]), tidKind,
      cols: colKinds.map((k) => new SharedArrayBuffer(capacity * BYTES[k])), colKinds,
    });
    try {
      return make(t.count + slack);
    } catch (e) {
      // Address space refused for the estimate: room for this range only (later ranges start new segments).
      if (slack === 0 || !(e instanceof RangeError)) throw e;
      return make(t.count);
    }
  }

  /** The store, once every range is placed and every plan carried out. */
  finish(): TraceStore {
    if (!this.complete) throw new Error(`assembly: ${this.ranges.length - this.next} of ${this.ranges.length} ranges not placed`);
    const store = this.store;
    for (const l of this.layouts.values()) {
      const t = store.tableFor(l.name, l.unknown ? null : l.fields);
      const segs = l.segments;
      if (segs.length === 0) continue;
      const rows = l.rows;
      if (segs.length === 1) {
        const g = segs[0]!;
        t.ts.data = g.ts ? new Float64Array(g.ts, 0, rows) : new Float64Array(store.base !== null ? rows : 0);
        t.pos.load(g.posKind, intView(g.posKind, g.pos, rows));
        t.tid.load(g.tidKind, intView(g.tidKind, g.tid, rows));
        g.cols.forEach((c, i) => t.cols[i]!.load(g.colKinds[i]!, intView(g.colKinds[i]!, c, rows)));
      } else {
        // Joined here, one native copy per segment and column, in a kind that holds every segment's.
        const join = (col: IntColumn, kindOf: (g: Segment) => IntKind, bufferOf: (g: Segment) => SharedArrayBuffer): void => {
          const kind = segs.map(kindOf).reduce(joinKinds);
          const out = allocInt(kind, rows);
          for (const g of segs) copyConverting(out, g.start, intView(kindOf(g), bufferOf(g), g.rows));
          col.load(kind, out);
        };
        const ts = new Float64Array(store.base !== null ? rows : 0);
        if (store.base !== null) for (const g of segs) if (g.ts) ts.set(new Float64Array(g.ts, 0, g.rows), g.start);
        t.ts.data = ts;
        join(t.pos, (g) => g.posKind, (g) => g.pos);
        join(t.tid, (g) => g.tidKind, (g) => g.tid);
        t.cols.forEach((c, i) => join(c, (g) => g.colKinds[i]!, (g) => g.cols[i]!));
      }
      t.ts.length = t.ts.data.length;
      t.count = rows;
    }
    if (store.base !== null && store.timeKind === 'none') store.timeKind = 'realtime';
    if (store.base !== null && this.firstNs <= this.lastNs) store.setTimeSpan(this.firstNs, this.lastNs);
    return store;
  }
}

/** dst[at…] = src, converting between number and bigint kinds where they differ. */
function copyConverting(dst: IntArray, at: number, src: IntArray): void {
  const dstBig = dst instanceof BigInt64Array || dst instanceof BigUint64Array;
  const srcBig = src instanceof BigInt64Array || src instanceof BigUint64Array;
  if (dstBig === srcBig) { (dst as Float64Array).set(src as Float64Array, at); return; }
  if (dstBig) {
    const wide = dst instanceof BigUint64Array ? (v: bigint): bigint => BigInt.asUintN(64, v) : (v: bigint): bigint => BigInt.asIntN(64, v);
    for (let i = 0; i < src.length; i++) (dst as BigInt64Array)[at + i] = wide(BigInt(src[i] as number));
  } else {
    for (let i = 0; i < src.length; i++) (dst as Float64Array)[at + i] = Number(src[i] as bigint);
  }
}

/** Copies a range's store into the places its plan gives (in the worker that read it). */
export function copyIntoPlace(store: TraceStore, plan: RangePlan): void {
  for (const target of plan.tables) {
    const t = store.table(target.name);
    if (!t) throw new Error(`assembly: range has no table ${target.name}`);
    t.commitStage();
    const n = t.count;
    const at = target.rowOffset;
    if (target.ts) {
      const dst = new Float64Array(target.ts, at * 8, n);
      const src = t.ts.data.subarray(0, n);
      if (target.timeShift === 0) dst.set(src); else shiftCopy(dst, src, target.timeShift);
    }
    copyColumn(t.pos, target.pos, at, n);
    copyColumn(t.tid, target.tid, at, n);
    t.cols.forEach((c, i) => copyColumn(c, target.cols[i]!, at, n));
  }
}

function shiftCopy(dst: Float64Array, src: Float64Array, shift: number): void {
  for (let i = 0; i < src.length; i++) dst[i] = src[i]! + shift;
}

function copyColumn(col: IntColumn, target: ColumnTarget, at: number, n: number): void {
  const src = col.view();
  const dst = intView(target.kind, target.buffer).subarray(at, at + n) as IntArray;
  const srcBig = src instanceof BigInt64Array || src instanceof BigUint64Array;
  const dstBig = dst instanceof BigInt64Array || dst instanceof BigUint64Array;
  if (dstBig || srcBig) {
    const wide = dst instanceof BigUint64Array ? (v: bigint): bigint => BigInt.asUintN(64, v) : (v: bigint): bigint => BigInt.asIntN(64, v);
    for (let i = 0; i < n; i++) {
      const v = src[i]!;
      const x = typeof v === 'bigint' ? v : BigInt(target.map ? target.map[v]! : v + target.add);
      if (dstBig) (dst as BigInt64Array)[i] = wide(x); else (dst as Float64Array)[i] = Number(x);
    }
    return;
  }
  const s = src as Exclude<IntArray, BigInt64Array | BigUint64Array>;
  const d = dst as Exclude<IntArray, BigInt64Array | BigUint64Array>;
  if (target.map) mapCopy(d, s, target.map);
  else if (target.add !== 0) addCopy(d, s, target.add);
  else d.set(s);
}

type NumArray = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;

// One loop per array type (each stays monomorphic); the generic ones cover the rest.
function mapU8(dst: Uint8Array, src: Uint8Array, map: Int32Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = map[src[i]!]!;
}
function mapU16(dst: Uint16Array, src: Uint16Array, map: Int32Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = map[src[i]!]!;
}
function mapAny(dst: NumArray, src: NumArray, map: Int32Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = map[src[i]!]!;
}

function mapCopy(dst: NumArray, src: NumArray, map: Int32Array): void {
  if (dst instanceof Uint8Array && src instanceof Uint8Array) mapU8(dst, src, map);
  else if (dst instanceof Uint16Array && src instanceof Uint16Array) mapU16(dst, src, map);
  else mapAny(dst, src, map);
}

function addU32(a: Uint32Array, add: number): void {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + add;
}
function addF64(a: Float64Array, add: number): void {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + add;
}
function addAny(a: NumArray, add: number): void {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + add;
}

/** dst[i] = src[i] + add in one pass (line numbers: both 32-bit, the usual case). */
function addCopyU32(dst: Uint32Array, src: Uint32Array, add: number): void {
  for (let i = 0; i < src.length; i++) dst[i] = src[i]! + add;
}

/** dst = src + add (dst's kind holds every sum). */
function addCopy(dst: NumArray, src: NumArray, add: number): void {
  if (dst instanceof Uint32Array && src instanceof Uint32Array) { addCopyU32(dst, src, add); return; }
  // Otherwise a native copy, then the add in place.
  dst.set(src);
  if (dst instanceof Uint32Array) addU32(dst, add);
  else if (dst instanceof Float64Array) addF64(dst, add);
  else addAny(dst, add);
}
