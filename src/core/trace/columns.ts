/**
 * Growable typed-array columns. Integer columns start at one byte per value and
 * widen (u8 → u16 → i32 → u32 → f64 → 64-bit bigint) only when a value needs it,
 * so a store costs what its data needs.
 */

export type IntKind = 'u8' | 'u16' | 'i32' | 'u32' | 'f64' | 'i64' | 'u64';
export type IntArray = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array | BigInt64Array | BigUint64Array;

// Bigint kinds get an empty range so every push takes the slow path.
const LO: Record<IntKind, number> = { u8: 0, u16: 0, i32: -2147483648, u32: 0, f64: -Infinity, i64: Infinity, u64: Infinity };
const HI: Record<IntKind, number> = { u8: 255, u16: 65535, i32: 2147483647, u32: 4294967295, f64: Infinity, i64: -Infinity, u64: -Infinity };

/**
 * Widening path: u8 → u16 → (u32 | i32) → f64. Values in a u8/u16 column are all in
 * [0, 65535], so the next kind depends only on the new value; i32 and u32 only go to f64.
 */
function nextKind(kind: IntKind, v: number): IntKind {
  if ((kind === 'u8' || kind === 'u16') && Number.isInteger(v)) {
    if (v >= 0 && v <= 65535) return 'u16';
    if (v >= 0 && v <= 4294967295) return 'u32';
    if (v < 0 && v >= -2147483648) return 'i32';
  }
  return 'f64';
}
/** The narrowest kind at or above `kind` that holds every value in [lo, hi]. */
function kindHolding(kind: IntKind, lo: number, hi: number): IntKind {
  let k = kind;
  if (!(lo >= LO[k] && lo <= HI[k])) k = nextKind(k, lo);
  if (!(hi >= LO[k] && hi <= HI[k])) k = nextKind(k, hi);
  if (!(lo >= LO[k] && lo <= HI[k])) k = 'f64';
  return k;
}
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

interface IntArrayConstructor {
  new (length: number): IntArray;
  new (buffer: SharedArrayBuffer, byteOffset?: number, length?: number): IntArray;
}
const INT_ARRAY: Record<IntKind, IntArrayConstructor> = {
  u8: Uint8Array, u16: Uint16Array, i32: Int32Array, u32: Uint32Array, f64: Float64Array, i64: BigInt64Array, u64: BigUint64Array,
};
const KIND_OF = new Map<unknown, IntKind>(Object.entries(INT_ARRAY).map(([k, c]) => [c, k as IntKind]));

/**
 * Column arrays given back for reuse (recycleColumns), by kind. Fresh memory costs a page
 * fault per 4 KiB on first write, which for large reads rivals parsing; a worker thread
 * that reads range after range reuses the arrays of the ranges it has handed over.
 * Off unless a thread switches it on (allowRecycling).
 */
const spare = new Map<IntKind, IntArray[]>();
let spareBytes = 0;
let spareLimit = 0;

/** Lets this thread keep up to limitBytes of given-back column arrays for reuse. */
export function allowRecycling(limitBytes: number): void {
  spareLimit = limitBytes;
}

/** Gives arrays no longer used back for reuse (no-op unless allowRecycling was called). */
export function recycleArrays(arrays: Iterable<IntArray>): void {
  for (const a of arrays) {
    const kind = KIND_OF.get(a.constructor);
    if (!kind || a.byteLength !== a.buffer.byteLength || a.byteLength < 65536 || spareBytes + a.byteLength > spareLimit) continue;
    let list = spare.get(kind);
    if (!list) { list = []; spare.set(kind, list); }
    list.push(a);
    spareBytes += a.byteLength;
  }
}

/** A spare array of the kind with room for n values (not wasting more than half), else undefined. */
function takeSpare(kind: IntKind, n: number): IntArray | undefined {
  const list = spare.get(kind);
  if (!list) return undefined;
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    if (a.length >= n && a.length <= 2 * n + 1024) {
      list.splice(i, 1);
      spareBytes -= a.byteLength;
      return a;
    }
  }
  return undefined;
}

/** An array for n values of the kind; only the values written later are meaningful (a reused one is not zeroed). */
export function allocInt(kind: IntKind, n: number): IntArray {
  if (spareBytes > 0 && n >= 8192) {
    const a = takeSpare(kind, n);
    if (a) return a;
  }
  return new INT_ARRAY[kind](n);
}

/** A Float64Array for n values, reused like allocInt's. */
export function allocF64(n: number): Float64Array {
  return allocInt('f64', n) as Float64Array;
}

/** The first `length` values of a shared buffer (default: all of it) as an array of the kind. */
export function intView(kind: IntKind, buffer: SharedArrayBuffer, length?: number): IntArray {
  return length === undefined ? new INT_ARRAY[kind](buffer) : new INT_ARRAY[kind](buffer, 0, length);
}

/** Whether a column of the kind holds every integer in [lo, hi] (bigint kinds: any). */
export function kindHolds(kind: IntKind, lo: number, hi: number): boolean {
  return isBigKind(kind) || (lo >= LO[kind] && hi <= HI[kind]);
}

function isBigKind(k: IntKind): boolean {
  return k === 'i64' || k === 'u64';
}

/** Numbers are exact up to 2^53; beyond, values are bigint. */
export function exactValue(v: number | bigint): number | bigint {
  if (typeof v === 'number') return v;
  return v <= BigInt(MAX_SAFE) && v >= -BigInt(MAX_SAFE) ? Number(v) : v;
}

/**
 * Pushed values go to a small Float64 staging buffer (one monomorphic store per value on
 * the hot path) and are committed in bulk: one min/max pass picks the column kind, then
 * a native typed-array copy converts. Reading through `data`, `get` or `trim` commits first.
 */
export class IntColumn {
  private knd: IntKind = 'u8';
  private arr: IntArray;
  private n = 0;
  private lo = 0;
  private hi = 255;
  private stage = new Float64Array(64);
  private staged = 0;

  constructor(capacity = 16) {
    this.arr = new Uint8Array(capacity);
  }

  /** Storage kind of the committed values (commits staged values first). */
  get kind(): IntKind {
    if (this.staged > 0) this.flush();
    return this.knd;
  }

  get length(): number {
    return this.n + this.staged;
  }

  /** Committed storage (exactly `length` values are meaningful). */
  get data(): IntArray {
    if (this.staged > 0) this.flush();
    return this.arr;
  }

  /** Appends an integer (or NaN for "no value"; NaN widens the column to f64). */
  push(v: number): void {
    let s = this.staged;
    if (s === this.stage.length) { this.flush(); s = 0; }
    this.stage[s] = v;
    this.staged = s + 1;
  }

  pushBig(v: bigint, signed: boolean): void {
    if (this.staged > 0) this.flush();
    if (!isBigKind(this.knd)) {
      if (v >= -BigInt(MAX_SAFE) && v <= BigInt(MAX_SAFE)) { this.push(Number(v)); return; }
      this.widenTo(signed || v < 0n ? 'i64' : 'u64');
    }
    this.reserve(1);
    (this.arr as BigInt64Array)[this.n++] = this.knd === 'u64' ? BigInt.asUintN(64, v) : BigInt.asIntN(64, v);
  }

  private flush(): void {
    const k = this.staged;
    const st = this.stage;
    this.staged = 0;
    if (k === 0) return;
    if (isBigKind(this.knd)) {
      this.reserve(k);
      const out = this.arr as BigInt64Array;
      for (let i = 0; i < k; i++) { const v = st[i]!; out[this.n + i] = Number.isNaN(v) ? 0n : BigInt(Math.trunc(v)); }
    } else {
      if (this.knd !== 'f64') {
        let lo = Infinity, hi = -Infinity, frac = false;
        for (let i = 0; i < k; i++) {
          const v = st[i]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
          if (v !== Math.trunc(v)) frac = true;
        }
        if (frac) this.widenTo('f64');
        else if (!(lo >= this.lo && hi <= this.hi)) {
          this.widenTo(kindHolding(this.knd, lo, hi));
        }
      }
      this.reserve(k);
      (this.arr as Float64Array).set(st.subarray(0, k), this.n);
    }
    this.n += k;
    if (st.length < 1024) this.stage = new Float64Array(st.length * 4);
  }

  /**
   * Appends src[off], src[off + stride], … (n values). Every value must be an integer
   * (no NaN): the rows a line decoder wrote, whose numbers are at most 15 decimal or
   * 13 hex digits.
   */
  appendStrided(src: Float64Array, off: number, stride: number, n: number): void {
    if (n === 0) return;
    if (this.staged > 0) this.flush();
    const end = off + n * stride;
    if (isBigKind(this.knd)) {
      for (let i = off; i < end; i += stride) this.pushBig(BigInt(src[i]!), this.knd === 'i64');
      return;
    }
    this.reserve(n);
    // Usually every value fits the current kind: copy and check in one pass, and only
    // when one does not, find the range, widen and copy again.
    if (!copyFits(this.knd, this.arr, this.n, src, off, stride, end)) {
      const lo = stridedMin(src, off, stride, end);
      const hi = stridedMax(src, off, stride, end);
      this.widenTo(kindHolding(this.knd, lo, hi));
      this.reserve(n);
      copyFits(this.knd, this.arr, this.n, src, off, stride, end);
    }
    const b = this.n;
    this.n = b + n;
  }

  /**
   * Appends n integer values (no NaN) given by values(kind) as an array of that kind, or
   * null when one of them does not fit it; range() then gives their [min, max] and the
   * column widens. No conversion here: the arrays are copied as they are.
   */
  appendPacked(n: number, values: (kind: IntKind) => IntArray | null, range: () => readonly [number, number]): void {
    if (n === 0) return;
    if (this.staged > 0) this.flush();
    if (isBigKind(this.knd)) {
      const src = values('f64')!;
      for (let i = 0; i < n; i++) this.pushBig(BigInt(src[i]!), this.knd === 'i64');
      return;
    }
    let vals = values(this.knd);
    if (vals === null) {
      const [lo, hi] = range();
      this.widenTo(kindHolding(this.knd, lo, hi));
      vals = values(this.knd)!;
    }
    this.reserve(n);
    (this.arr as Float64Array).set(vals as Float64Array, this.n);
    this.n += n;
  }

  private reserve(extra: number): void {
    if (this.n + extra <= this.arr.length) return;
    const next = allocInt(this.knd, Math.max(16, this.arr.length * 2, this.n + extra));
    next.set(this.arr as never);
    this.arr = next;
  }

  private widenTo(kind: IntKind): void {
    const next = allocInt(kind, Math.max(this.arr.length, 16));
    if (isBigKind(kind)) {
      const out = next as BigInt64Array;
      for (let i = 0; i < this.n; i++) { const x = Number(this.arr[i]); out[i] = Number.isNaN(x) ? 0n : BigInt(x); }
    } else {
      (next as Float64Array).set(this.arr.subarray(0, this.n) as Float64Array);
    }
    this.arr = next;
    this.knd = kind;
    this.lo = LO[kind];
    this.hi = HI[kind];
  }

  /** Value at i: a number when exact, else a bigint. */
  get(i: number): number | bigint {
    const v = this.data[i];
    if (v === undefined || i >= this.n) throw new RangeError(`row ${i} out of range (${this.length})`);
    return exactValue(v);
  }

  /** Value at i as a number (bigints rounded): for sums and plots. */
  getNumber(i: number): number {
    return Number(this.data[i]);
  }

  /** Drops spare capacity; returns the exact-size array. */
  trim(): IntArray {
    const d = this.data;
    if (d.length !== this.n || d.byteLength !== d.buffer.byteLength) this.arr = d.slice(0, this.n);
    return this.arr;
  }

  /** The committed values as a view (no copy; may share a larger buffer). */
  view(): IntArray {
    return this.data.subarray(0, this.n) as IntArray;
  }

  /** Replaces the content with data of the given kind (a column received from another thread). */
  load(kind: IntKind, data: IntArray): void {
    this.knd = kind;
    this.arr = data;
    this.n = data.length;
    this.staged = 0;
    this.lo = LO[kind];
    this.hi = HI[kind];
  }

  /**
   * Appends every value of other plus add, or mapped through map (string and thread
   * codes of another store). Used to merge results read in parallel.
   */
  append(other: IntColumn, signed: boolean, add = 0, map?: ArrayLike<number>): void {
    const src = other.data;
    const n = other.length;
    if (this.staged > 0) this.flush();
    if (n === 0) {
      if (other.kind === 'f64' && this.knd !== 'f64' && !isBigKind(this.knd)) this.widenTo('f64');
      return;
    }
    if (isBigKind(other.kind) || isBigKind(this.knd)) {
      for (let i = 0; i < n; i++) {
        const v = src[i]!;
        if (typeof v === 'bigint') this.pushBig(v + BigInt(add), signed); else this.push(map ? map[v]! : v + add);
      }
      return;
    }
    if (!map && add >= 0 && other.kind === 'u32' && this.knd === 'u32' && add + maxU32(src as Uint32Array, n) <= 4294967295) {
      this.reserve(n);
      addCopyU32(this.arr as Uint32Array, this.n, src as Uint32Array, n, add);
      this.n += n;
      return;
    }
    // Plain copy when nothing changes; else the values go through one Float64 buffer
    // (native conversions in and out, one monomorphic loop in between).
    let vals: IntArray = src.subarray(0, n) as IntArray;
    if (map || add !== 0) {
      const t = new Float64Array(n);
      t.set(vals as Float64Array);
      if (map) mapInPlace(t, map); else addInPlace(t, add);
      vals = t;
    }
    if (other.kind === 'f64' && this.knd !== 'f64') this.widenTo('f64');
    let lo: number, hi: number;
    if (vals instanceof Float64Array) { lo = stridedMin(vals, 0, 1, n); hi = stridedMax(vals, 0, 1, n); } else if (LO[other.kind] >= this.lo && HI[other.kind] <= this.hi) {
      // Unchanged values lie in their kind's range, which this column's kind covers.
      lo = this.lo;
      hi = this.hi;
    } else {
      const t = new Float64Array(n);
      t.set(vals as unknown as Float64Array);
      lo = stridedMin(t, 0, 1, n);
      hi = stridedMax(t, 0, 1, n);
    }
    if (!(lo >= this.lo && hi <= this.hi)) {
      this.widenTo(kindHolding(this.knd, lo, hi));
    }
    this.reserve(n);
    (this.arr as Float64Array).set(vals as Float64Array, this.n);
    this.n += n;
  }

  /** Widens the column now to a kind holding [lo, hi] (a known coming range: one allocation instead of several). */
  ensureKindFor(lo: number, hi: number): void {
    if (this.staged > 0) this.flush();
    if (!isBigKind(this.knd) && !(lo >= this.lo && hi <= this.hi)) this.widenTo(kindHolding(this.knd, lo, hi));
  }

  /** Makes room for n values in all, so appends up to that do not reallocate. */
  ensureCapacity(n: number): void {
    if (this.staged > 0) this.flush();
    if (n > this.arr.length) this.reserve(n - this.n);
  }
}

// One function per array type keeps each copy loop monomorphic.
function stridedMin(src: Float64Array, i: number, stride: number, end: number): number {
  let m = src[i]!;
  for (i += stride; i < end; i += stride) { const v = src[i]!; if (v < m) m = v; }
  return m;
}
function stridedMax(src: Float64Array, i: number, stride: number, end: number): number {
  let m = src[i]!;
  for (i += stride; i < end; i += stride) { const v = src[i]!; if (v > m) m = v; }
  return m;
}
// Line numbers: the common case of a merge with an offset.
function maxU32(a: Uint32Array, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) { const v = a[i]!; if (v > m) m = v; }
  return m;
}
function addCopyU32(dst: Uint32Array, k: number, src: Uint32Array, n: number, add: number): void {
  for (let i = 0; i < n; i++) dst[k + i] = src[i]! + add;
}
function mapInPlace(t: Float64Array, map: ArrayLike<number>): void {
  for (let i = 0; i < t.length; i++) t[i] = map[t[i]!]!;
}
function addInPlace(t: Float64Array, add: number): void {
  for (let i = 0; i < t.length; i++) t[i] = t[i]! + add;
}
// Each returns false when a value is not an integer in the array's range (the stored
// value is then wrong and the caller widens and copies again).
function copyU8(a: Uint8Array, k: number, src: Float64Array, i: number, stride: number, end: number): boolean {
  let ok = true;
  for (; i < end; i += stride) { const v = src[i]!; a[k++] = v; if ((v & 255) !== v) ok = false; }
  return ok;
}
function copyU16(a: Uint16Array, k: number, src: Float64Array, i: number, stride: number, end: number): boolean {
  let ok = true;
  for (; i < end; i += stride) { const v = src[i]!; a[k++] = v; if ((v & 65535) !== v) ok = false; }
  return ok;
}
function copyI32(a: Int32Array, k: number, src: Float64Array, i: number, stride: number, end: number): boolean {
  let ok = true;
  for (; i < end; i += stride) { const v = src[i]!; a[k++] = v; if ((v | 0) !== v) ok = false; }
  return ok;
}
function copyU32(a: Uint32Array, k: number, src: Float64Array, i: number, stride: number, end: number): boolean {
  let ok = true;
  for (; i < end; i += stride) { const v = src[i]!; a[k++] = v; if ((v >>> 0) !== v) ok = false; }
  return ok;
}
function copyFits(kind: IntKind, a: IntArray, k: number, src: Float64Array, i: number, stride: number, end: number): boolean {
  switch (kind) {
    case 'u8': return copyU8(a as Uint8Array, k, src, i, stride, end);
    case 'u16': return copyU16(a as Uint16Array, k, src, i, stride, end);
    case 'i32': return copyI32(a as Int32Array, k, src, i, stride, end);
    case 'u32': return copyU32(a as Uint32Array, k, src, i, stride, end);
    default: copyF64(a as Float64Array, k, src, i, stride, end); return true;
  }
}
function copyF64(a: Float64Array, k: number, src: Float64Array, i: number, stride: number, end: number): void {
  for (; i < end; i += stride) a[k++] = src[i]!;
}

/** Growable Float64 column (timestamps). */
export class F64Column {
  data: Float64Array;
  length = 0;
  constructor(capacity = 16) { this.data = new Float64Array(capacity); }
  push(v: number): void {
    if (this.length >= this.data.length) {
      const next = allocF64(Math.max(16, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  /** Makes room for n values in all. */
  ensureCapacity(n: number): void {
    if (n <= this.data.length) return;
    const next = allocF64(n);
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
  /** Appends src[off], src[off + stride], … (n values). */
  appendStrided(src: Float64Array, off: number, stride: number, n: number): void {
    const need = this.length + n;
    if (need > this.data.length) {
      const next = allocF64(Math.max(16, this.data.length * 2, need));
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    copyF64(this.data, this.length, src, off, stride, off + n * stride);
    this.length = need;
  }
  /** Appends every value of src. */
  appendValues(src: Float64Array): void {
    const need = this.length + src.length;
    if (need > this.data.length) {
      const next = allocF64(Math.max(16, this.data.length * 2, need));
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    this.data.set(src, this.length);
    this.length = need;
  }
  trim(): Float64Array {
    if (this.data.length !== this.length || this.data.byteLength !== this.data.buffer.byteLength) this.data = this.data.slice(0, this.length);
    return this.data;
  }
}

/** Interned strings shared by every string field of a store. */
export class StringTable {
  readonly values: string[] = [];
  private readonly ids = new Map<string, number>();
  intern(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(s);
      this.ids.set(s, id);
    }
    return id;
  }
  get(id: number): string {
    const s = this.values[id];
    if (s === undefined) throw new RangeError(`string id ${id} out of range`);
    return s;
  }
  /** Approximate heap bytes (2 per UTF-16 unit plus per-entry overhead). */
  bytes(): number {
    let n = 0;
    for (const s of this.values) n += s.length * 2 + 32;
    return n;
  }
}
