/**
 * Rows of typed columns ordered by time, kept by an analysis that takes a trace batch by
 * batch (follow mode) and merged the same way by whoever applies its deltas (the webview).
 * Every sequence is ordered by (t, line): a line number (or simpletrace byte offset) is
 * unique within a file, so the order is total and a sequence built batch by batch equals
 * the one built from the whole file at once. Plain data: no DOM, no Node.
 */

/** A typed array that columns are made of. */
export type NumArray = Float64Array | Uint32Array | Uint8Array;
type Maker = (n: number) => NumArray;

/** Column name → how to make an array of it; `t` and `line` order the rows. */
export type Schema = Readonly<Record<string, Maker>> & { readonly t: (n: number) => Float64Array; readonly line: (n: number) => Uint32Array };

/** Columns of equal length, one typed array per schema key. */
export type ColumnsOf<S extends Schema> = { [K in keyof S]: ReturnType<S[K]> };

export const f64 = (n: number): Float64Array => new Float64Array(n);
export const u32 = (n: number): Uint32Array => new Uint32Array(n);
export const u8 = (n: number): Uint8Array => new Uint8Array(n);

export function emptyColumns<S extends Schema>(schema: S, n = 0): ColumnsOf<S> {
  const out: Record<string, NumArray> = {};
  for (const k of Object.keys(schema)) out[k] = schema[k]!(n);
  return out as ColumnsOf<S>;
}

function keysOf<S extends Schema>(schema: S): (keyof S & string)[] {
  return Object.keys(schema) as (keyof S & string)[];
}

export function lengthOf<S extends Schema>(c: ColumnsOf<S>): number {
  return c.t.length;
}

/** Is row i before row j? (t, then line) */
const before = (t: Float64Array, line: Uint32Array, i: number, tj: number, lj: number): boolean => t[i]! < tj || (t[i] === tj && line[i]! < lj);

/** The rows in (t, line) order: the columns themselves when already ordered, else reordered copies. */
export function sortedRows<S extends Schema>(schema: S, c: ColumnsOf<S>): ColumnsOf<S> {
  const n = lengthOf(c);
  let ordered = true;
  for (let i = 1; i < n && ordered; i++) if (!before(c.t, c.line, i - 1, c.t[i]!, c.line[i]!)) ordered = false;
  if (ordered) return c;
  const idx = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => c.t[a]! - c.t[b]! || c.line[a]! - c.line[b]!);
  const out = emptyColumns(schema, n);
  for (const k of keysOf(schema)) {
    const src = c[k] as NumArray, dst = out[k] as NumArray;
    for (let j = 0; j < n; j++) dst[j] = src[idx[j]!]!;
  }
  return out;
}

/** First index in [0, n) whose row comes after (t, line). */
function upperBound(t: Float64Array, line: Uint32Array, n: number, tv: number, lv: number): number {
  let lo = 0, hi = n;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (before(t, line, m, tv, lv) || (t[m] === tv && line[m] === lv)) lo = m + 1; else hi = m;
  }
  return lo;
}

/**
 * Writes old[0, n) merged with added (ordered) into out (length n + added), in (t, line)
 * order. Rows of old before added's first row are copied as they are (usually all of them).
 */
function mergeInto<S extends Schema>(schema: S, old: ColumnsOf<S>, n: number, added: ColumnsOf<S>, out: ColumnsOf<S>, copyHead: boolean): void {
  const m = lengthOf(added);
  const keys = keysOf(schema);
  const head = m === 0 ? n : upperBound(old.t, old.line, n, added.t[0]!, added.line[0]!);
  if (copyHead) for (const k of keys) (out[k] as NumArray).set((old[k] as NumArray).subarray(0, head), 0);
  // The rest of old (rarely any) merged with added.
  const tail = emptyColumns(schema, n - head);
  for (const k of keys) (tail[k] as NumArray).set((old[k] as NumArray).subarray(head, n), 0);
  let i = 0, j = 0, o = head;
  while (i < n - head || j < m) {
    const takeOld = j >= m || (i < n - head && before(tail.t, tail.line, i, added.t[j]!, added.line[j]!));
    for (const k of keys) (out[k] as NumArray)[o] = takeOld ? (tail[k] as NumArray)[i]! : (added[k] as NumArray)[j]!;
    if (takeOld) i++; else j++;
    o++;
  }
}

/** old and added (any order) as new columns in (t, line) order; old must be ordered. */
export function mergeRows<S extends Schema>(schema: S, old: ColumnsOf<S>, added: ColumnsOf<S>): ColumnsOf<S> {
  const a = sortedRows(schema, added);
  const n = lengthOf(old);
  const out = emptyColumns(schema, n + lengthOf(a));
  mergeInto(schema, old, n, a, out, true);
  return out;
}

/** Index of the row (t, line) in ordered columns of length n, or -1. */
export function findRow(t: Float64Array, line: Uint32Array, n: number, tv: number, lv: number): number {
  const i = upperBound(t, line, n, tv, lv) - 1;
  return i >= 0 && t[i] === tv && line[i] === lv ? i : -1;
}

/** Ordered rows that grow by doubling their capacity; what one batch added can be taken as a delta. */
export class GrowingRows<S extends Schema> {
  private cols: ColumnsOf<S>;
  private n = 0;
  /** Rows received since the last takeAdded, in the order received (pieces of columns). */
  private added: ColumnsOf<S>[] = [];

  constructor(private readonly schema: S) {
    this.cols = emptyColumns(schema, 16);
  }

  get length(): number { return this.n; }

  /** Columns of the rows (views over the capacity: valid until the next add). */
  view(): ColumnsOf<S> {
    const out: Record<string, NumArray> = {};
    for (const k of keysOf(this.schema)) out[k] = (this.cols[k] as NumArray).subarray(0, this.n);
    return out as ColumnsOf<S>;
  }

  /** Exact-length copies of the rows (a model's arrays, owned by whoever takes them). */
  copy(): ColumnsOf<S> {
    const out: Record<string, NumArray> = {};
    for (const k of keysOf(this.schema)) out[k] = (this.cols[k] as NumArray).slice(0, this.n);
    return out as ColumnsOf<S>;
  }

  /** Adds rows (any order), keeping the whole in (t, line) order. */
  add(rows: ColumnsOf<S>): void {
    const m = lengthOf(rows);
    if (m === 0) return;
    const a = sortedRows(this.schema, rows);
    this.added.push(a === rows ? copyColumns(this.schema, rows) : a);
    if (this.n + m > lengthOf(this.cols)) {
      const grown = emptyColumns(this.schema, Math.max(16, (this.n + m) * 2));
      for (const k of keysOf(this.schema)) (grown[k] as NumArray).set((this.cols[k] as NumArray).subarray(0, this.n), 0);
      this.cols = grown;
    }
    const last = this.n - 1;
    if (last < 0 || before(this.cols.t, this.cols.line, last, a.t[0]!, a.line[0]!)) {
      // The usual case: the batch comes after everything held.
      for (const k of keysOf(this.schema)) (this.cols[k] as NumArray).set(a[k] as NumArray, this.n);
    } else {
      mergeInto(this.schema, this.view(), this.n, a, this.cols, false);
    }
    this.n += m;
  }

  /** Sets a value of the row (t, line); false when there is no such row. */
  set(key: keyof S & string, t: number, line: number, value: number): boolean {
    const i = findRow(this.cols.t, this.cols.line, this.n, t, line);
    if (i < 0) return false;
    (this.cols[key] as NumArray)[i] = value;
    return true;
  }

  /** The rows added since the last call, for a delta (merged by mergeRows on the other side). */
  takeAdded(): ColumnsOf<S> {
    const parts = this.added;
    this.added = [];
    if (parts.length === 1) return parts[0]!;
    const total = parts.reduce((s, p) => s + lengthOf(p), 0);
    const out = emptyColumns(this.schema, total);
    let o = 0;
    for (const p of parts) {
      for (const k of keysOf(this.schema)) (out[k] as NumArray).set(p[k] as NumArray, o);
      o += lengthOf(p);
    }
    return out;
  }

  /** Forgets what was added so far (the whole rows go out in a full model instead). */
  dropAdded(): void {
    this.added = [];
  }
}

function copyColumns<S extends Schema>(schema: S, c: ColumnsOf<S>): ColumnsOf<S> {
  const out: Record<string, NumArray> = {};
  for (const k of keysOf(schema)) out[k] = (c[k] as NumArray).slice();
  return out as ColumnsOf<S>;
}
