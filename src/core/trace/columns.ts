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
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export function allocInt(kind: IntKind, n: number): IntArray {
  switch (kind) {
    case 'u8': return new Uint8Array(n);
    case 'u16': return new Uint16Array(n);
    case 'i32': return new Int32Array(n);
    case 'u32': return new Uint32Array(n);
    case 'f64': return new Float64Array(n);
    case 'i64': return new BigInt64Array(n);
    case 'u64': return new BigUint64Array(n);
  }
}

function isBigKind(k: IntKind): boolean {
  return k === 'i64' || k === 'u64';
}

/** Numbers are exact up to 2^53; beyond, values are bigint. */
export function exactValue(v: number | bigint): number | bigint {
  if (typeof v === 'number') return v;
  return v <= BigInt(MAX_SAFE) && v >= -BigInt(MAX_SAFE) ? Number(v) : v;
}

export class IntColumn {
  kind: IntKind = 'u8';
  data: IntArray;
  length = 0;
  private lo = 0;
  private hi = 255;

  constructor(capacity = 16) {
    this.data = new Uint8Array(capacity);
  }

  /** Appends an integer (or NaN for "no value"; NaN widens the column to f64). */
  push(v: number): void {
    if (v >= this.lo && v <= this.hi && this.length < this.data.length) {
      (this.data as Uint8Array)[this.length++] = v;
      return;
    }
    this.pushSlow(v);
  }

  pushBig(v: bigint, signed: boolean): void {
    if (!isBigKind(this.kind)) {
      if (v >= -BigInt(MAX_SAFE) && v <= BigInt(MAX_SAFE)) { this.push(Number(v)); return; }
      this.widenTo(signed || v < 0n ? 'i64' : 'u64');
    }
    if (this.length >= this.data.length) this.grow();
    (this.data as BigInt64Array)[this.length++] = this.kind === 'u64' ? BigInt.asUintN(64, v) : BigInt.asIntN(64, v);
  }

  private pushSlow(v: number): void {
    if (isBigKind(this.kind)) {
      if (this.length >= this.data.length) this.grow();
      (this.data as BigInt64Array)[this.length++] = Number.isNaN(v) ? 0n : BigInt(v);
      return;
    }
    if (this.kind !== 'f64' && !(v >= this.lo && v <= this.hi)) this.widenTo(nextKind(this.kind, v));
    if (this.length >= this.data.length) this.grow();
    this.data[this.length++] = v as never;
  }

  private widenTo(kind: IntKind): void {
    const next = allocInt(kind, Math.max(this.data.length, 16));
    if (isBigKind(kind)) {
      const out = next as BigInt64Array;
      for (let i = 0; i < this.length; i++) { const x = Number(this.data[i]); out[i] = Number.isNaN(x) ? 0n : BigInt(x); }
    } else {
      for (let i = 0; i < this.length; i++) (next as Float64Array)[i] = this.data[i] as number;
    }
    this.data = next;
    this.kind = kind;
    this.lo = LO[kind];
    this.hi = HI[kind];
  }

  private grow(): void {
    const next = allocInt(this.kind, Math.max(16, this.data.length * 2));
    next.set(this.data as never);
    this.data = next;
  }

  /** Value at i: a number when exact, else a bigint. */
  get(i: number): number | bigint {
    const v = this.data[i];
    if (v === undefined) throw new RangeError(`row ${i} out of range (${this.length})`);
    return exactValue(v);
  }

  /** Value at i as a number (bigints rounded): for sums and plots. */
  getNumber(i: number): number {
    return Number(this.data[i]);
  }

  /** Drops spare capacity; returns the exact-size array. */
  trim(): IntArray {
    if (this.data.length !== this.length) this.data = this.data.slice(0, this.length);
    return this.data;
  }

  /** Replaces the content with data of the given kind (a column received from another thread). */
  load(kind: IntKind, data: IntArray): void {
    this.kind = kind;
    this.data = data;
    this.length = data.length;
    this.lo = LO[kind];
    this.hi = HI[kind];
  }

  /**
   * Appends every value of other plus add, or mapped through map (string and thread
   * codes of another store). Used to merge results read in parallel.
   */
  append(other: IntColumn, signed: boolean, add = 0, map?: ArrayLike<number>): void {
    const n = other.length;
    if (isBigKind(other.kind) || isBigKind(this.kind)) {
      for (let i = 0; i < n; i++) {
        const v = other.data[i]!;
        if (typeof v === 'bigint') this.pushBig(v + BigInt(add), signed); else this.push(map ? map[v]! : v + add);
      }
      return;
    }
    const src = other.data as Float64Array;
    if (map) {
      for (let i = 0; i < n; i++) this.push(map[src[i]!]!);
      return;
    }
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) { const v = src[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
    if (other.kind === 'f64' && this.kind !== 'f64') this.widenTo('f64');
    if (n > 0) {
      if (!(lo + add >= this.lo && lo + add <= this.hi)) this.widenTo(this.kind === 'f64' ? 'f64' : nextKind(this.kind, lo + add));
      if (!(hi + add >= this.lo && hi + add <= this.hi)) this.widenTo(this.kind === 'f64' ? 'f64' : nextKind(this.kind, hi + add));
      if (!(lo + add >= this.lo && lo + add <= this.hi)) this.widenTo('f64');
    }
    while (this.length + n > this.data.length) this.grow();
    const dst = this.data as Float64Array;
    const base = this.length;
    if (add === 0) dst.set(src.subarray(0, n), base);
    else for (let i = 0; i < n; i++) dst[base + i] = src[i]! + add;
    this.length += n;
  }
}

/** Growable Float64 column (timestamps). */
export class F64Column {
  data: Float64Array;
  length = 0;
  constructor(capacity = 16) { this.data = new Float64Array(capacity); }
  push(v: number): void {
    if (this.length >= this.data.length) {
      const next = new Float64Array(Math.max(16, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  trim(): Float64Array {
    if (this.data.length !== this.length) this.data = this.data.slice(0, this.length);
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
