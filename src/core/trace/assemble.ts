/**
 * Assembling one store from stores read from consecutive ranges of a file, in parallel:
 * each worker keeps the stores of its ranges and reports their shape (summarizeStore);
 * the main thread lays out the whole store in shared memory (planAssembly): every
 * column sized exactly, of a kind that holds every range's values, each range given
 * its row offset, line offset, time shift and thread and string renumbering; then each
 * worker copies its ranges into place (copyIntoPlace) while the main thread waits.
 * No value crosses threads twice and the main thread copies none.
 */
import { intView, type IntArray, type IntColumn, type IntKind } from './columns';
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
    droppedEvents: store.droppedEvents, errors: store.errors,
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

export interface Assembly {
  /** One plan per range, in range order. */
  readonly plans: readonly RangePlan[];
  /** The store, once every plan has been carried out. */
  finish(): TraceStore;
}

/** Lays out the store of ranges whose shapes are given in file order. */
export function planAssembly(shapes: readonly StoreShape[]): Assembly {
  const store = new TraceStore();
  // Whole-store strings, threads, time base and per-range renumbering.
  const strMaps = shapes.map((s) => codeMap(s.strings.map((x) => store.strings.intern(x))));
  const tidMaps = shapes.map((s) => codeMap(s.tids.map((t) => (t === undefined ? 0 : store.tidCode(t)))));
  const shifts = shapes.map((s) => {
    if (s.base === null) return 0;
    if (store.base === null) { store.base = s.base; return 0; }
    return (s.base.a - store.base.a) * store.base.scale + (s.base.b - store.base.b);
  });
  const lineOffsets: number[] = [];
  let lines = 0;
  for (const s of shapes) { lineOffsets.push(s.positionKind === 'line' ? lines : 0); lines += s.lines; }

  // Per table: rows, offsets and the kind of every column.
  interface Layout { name: string; unknown: boolean; fields: readonly FieldInfo[]; rows: number; posLo: number; posHi: number; colKinds: IntKind[] }
  const layouts = new Map<string, Layout>();
  const rowOffsets = shapes.map(() => new Map<string, number>());
  shapes.forEach((s, r) => {
    for (const t of s.tables) {
      let l = layouts.get(t.name);
      if (!l) { l = { name: t.name, unknown: t.unknown, fields: t.fields, rows: 0, posLo: Infinity, posHi: -Infinity, colKinds: [...t.colKinds] }; layouts.set(t.name, l); }
      rowOffsets[r]!.set(t.name, l.rows);
      l.rows += t.count;
      if (t.count > 0) {
        l.posLo = Math.min(l.posLo, t.posFirst + lineOffsets[r]!);
        l.posHi = Math.max(l.posHi, t.posLast + lineOffsets[r]!);
      }
      t.colKinds.forEach((k, i) => { l!.colKinds[i] = joinKinds(l!.colKinds[i] ?? k, k); });
    }
  });
  const nStrings = store.strings.values.length;
  const nTids = store.tids.length;
  interface Buffers { ts: SharedArrayBuffer | null; pos: SharedArrayBuffer; posKind: IntKind; tid: SharedArrayBuffer; tidKind: IntKind; cols: SharedArrayBuffer[]; colKinds: IntKind[] }
  const buffers = new Map<string, Buffers>();
  const anyTime = store.base !== null;
  for (const l of layouts.values()) {
    const posKind = l.posLo >= 0 ? kindUpTo(l.posHi) : 'f64';
    const tidKind = kindUpTo(nTids);
    const colKinds = l.colKinds.map((k, i) => (l.fields[i]!.valueType === 'string' ? kindUpTo(nStrings) : k));
    buffers.set(l.name, {
      ts: anyTime ? new SharedArrayBuffer(l.rows * 8) : null,
      pos: new SharedArrayBuffer(l.rows * BYTES[posKind]), posKind,
      tid: new SharedArrayBuffer(l.rows * BYTES[tidKind]), tidKind,
      cols: colKinds.map((k) => new SharedArrayBuffer(l.rows * BYTES[k])), colKinds,
    });
  }

  const plans: RangePlan[] = shapes.map((s, r) => ({
    tables: s.tables.map((t): TableTarget => {
      const b = buffers.get(t.name)!;
      return {
        name: t.name,
        rowOffset: rowOffsets[r]!.get(t.name)!,
        ts: b.ts,
        timeShift: shifts[r]!,
        pos: { buffer: b.pos, kind: b.posKind, add: lineOffsets[r]!, map: null },
        tid: { buffer: b.tid, kind: b.tidKind, add: 0, map: tidMaps[r]! },
        cols: t.fields.map((f, i) => ({ buffer: b.cols[i]!, kind: b.colKinds[i]!, add: 0, map: f.valueType === 'string' ? strMaps[r]! : null })),
      };
    }),
  }));

  const finish = (): TraceStore => {
    for (const l of layouts.values()) {
      const b = buffers.get(l.name)!;
      const t = store.tableFor(l.name, l.unknown ? null : l.fields);
      if (b.ts) { t.ts.data = new Float64Array(b.ts); t.ts.length = l.rows; } else { t.ts.data = new Float64Array(0); t.ts.length = 0; }
      t.pos.load(b.posKind, intView(b.posKind, b.pos));
      t.tid.load(b.tidKind, intView(b.tidKind, b.tid));
      b.cols.forEach((c, i) => t.cols[i]!.load(b.colKinds[i]!, intView(b.colKinds[i]!, c)));
      t.count = l.rows;
    }
    shapes.forEach((s, r) => {
      if (s.timeKind !== 'none') store.timeKind = s.timeKind;
      store.positionKind = s.positionKind;
      addCounts(store, s, lineOffsets[r]!);
    });
    if (store.base !== null && store.timeKind === 'none') store.timeKind = 'realtime';
    return store;
  };
  return { plans, finish };
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

/** dst = src + add: a native copy (dst's kind holds every sum), then the add in place. */
function addCopy(dst: NumArray, src: NumArray, add: number): void {
  dst.set(src);
  if (dst instanceof Uint32Array) addU32(dst, add);
  else if (dst instanceof Float64Array) addF64(dst, add);
  else addAny(dst, add);
}
