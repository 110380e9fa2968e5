/**
 * Columnar event store: one table per event name, a typed array per field,
 * one string table and one thread-id dictionary for the whole store.
 *
 * Rows of a table are in file order. Time is ns relative to the store's first
 * timed event (`baseTimeNs` holds that event's absolute time); position is the
 * 1-based source line (log) or record byte offset (simpletrace).
 */
import { F64Column, IntColumn, StringTable, type IntArray, type IntKind } from './columns';
import type { DecodeScratch, FieldInfo } from './decoder';

export type FieldValue = number | bigint | string;

/** A line that named a known event but did not match its format. */
export interface MalformedLine {
  readonly line: number;
  readonly name: string;
  readonly text: string;
}

/** How many first line numbers/samples a store keeps for "other" and malformed lines. */
export const SAMPLE_LIMIT = 100;

/** Rows a table stages before committing them to its columns: a first stage, grown to the most. */
const FIRST_STAGE_ROWS = 64;
const STAGE_ROWS = 2048;
const EMPTY_STAGE = new Float64Array(0);

const UNKNOWN_FIELDS: readonly FieldInfo[] = [{ name: 'text', ctype: '', kind: 'str', valueType: 'string', signed: false, argIndex: 0, bits: 0 }];

export class EventTable {
  readonly ts = new F64Column(16);
  readonly pos = new IntColumn(16);
  readonly tid = new IntColumn(16);
  readonly cols: IntColumn[];
  count = 0;
  /**
   * Rows written by the log reader's line decoders, not yet in the columns: row r is
   * stage[r * stride, (r + 1) * stride) = ts, pos, tid code, then one value per field
   * (integers only). `count` includes them; commitStage() moves them into the columns,
   * which every other append and TraceStore.commit()/trim() do first.
   */
  stage = EMPTY_STAGE;
  staged = 0;
  readonly stride: number;
  private readonly colIndex = new Map<string, number>();
  private readonly isString: Uint8Array;

  constructor(readonly name: string, readonly fields: readonly FieldInfo[], readonly unknown: boolean, readonly store: TraceStore) {
    this.cols = fields.map(() => new IntColumn(16));
    this.isString = Uint8Array.from(fields, (f) => (f.valueType === 'string' ? 1 : 0));
    fields.forEach((f, i) => { if (!this.colIndex.has(f.name)) this.colIndex.set(f.name, i); });
    this.stride = 3 + fields.length;
  }

  /** Makes room for n rows in all. */
  ensureCapacity(n: number): void {
    this.ts.ensureCapacity(n);
    this.pos.ensureCapacity(n);
    this.tid.ensureCapacity(n);
    for (const c of this.cols) c.ensureCapacity(n);
  }

  /** Allocates the stage on first use (small: most tables of a trace have few rows). */
  openStage(): Float64Array {
    if (this.stage.length === 0) this.stage = new Float64Array(FIRST_STAGE_ROWS * this.stride);
    return this.stage;
  }

  /** Moves staged rows into the columns; a stage that was full is replaced by a bigger one, up to STAGE_ROWS rows. */
  commitStage(): void {
    const n = this.staged;
    if (n === 0) return;
    this.staged = 0;
    this.appendRows(this.stage, n);
    if (n * this.stride === this.stage.length && n < STAGE_ROWS) this.stage = new Float64Array(Math.min(STAGE_ROWS, n * 4) * this.stride);
  }

  /**
   * Appends n rows given column by column (from the WebAssembly scanner), after any staged
   * ones: the times, then per integer column k (0 positions, 1 thread codes, 2 + f field f)
   * its values in a requested kind and their range (see IntColumn.appendPacked).
   */
  commitColumns(n: number, times: Float64Array, values: (k: number, kind: IntKind) => IntArray | null, range: (k: number) => readonly [number, number]): void {
    if (this.staged > 0) this.commitStage();
    this.ts.appendValues(times);
    this.pos.appendPacked(n, (kind) => values(0, kind), () => range(0));
    this.tid.appendPacked(n, (kind) => values(1, kind), () => range(1));
    const cols = this.cols;
    for (let f = 0; f < cols.length; f++) cols[f]!.appendPacked(n, (kind) => values(2 + f, kind), () => range(2 + f));
    this.count += n;
  }

  private appendRows(st: Float64Array, n: number): void {
    const stride = this.stride;
    this.ts.appendStrided(st, 0, stride, n);
    this.pos.appendStrided(st, 1, stride, n);
    this.tid.appendStrided(st, 2, stride, n);
    const cols = this.cols;
    for (let f = 0; f < cols.length; f++) cols[f]!.appendStrided(st, 3 + f, stride, n);
  }

  /** Appends a decoded row; string fields are read from buf. */
  addDecoded(ts: number, pos: number, tidCode: number, scratch: DecodeScratch, buf: Buffer): void {
    if (this.staged > 0) this.commitStage();
    this.ts.push(ts);
    this.pos.push(pos);
    this.tid.push(tidCode);
    const cols = this.cols;
    const isString = this.isString;
    const num = scratch.num;
    for (let f = 0; f < cols.length; f++) {
      const col = cols[f]!;
      if (isString[f] === 1) {
        col.push(this.store.strings.intern(buf.toString('utf8', scratch.strStart[f], scratch.strEnd[f])));
      } else {
        const v = num[f]!;
        if (v === v) col.push(v); else col.pushBig(scratch.big[f]!, this.fields[f]!.signed);
      }
    }
    this.count++;
  }

  /** Appends a row from plain values (simpletrace, tests). */
  addValues(ts: number, pos: number, tidCode: number, values: readonly FieldValue[]): void {
    if (this.staged > 0) this.commitStage();
    this.ts.push(ts);
    this.pos.push(pos);
    this.tid.push(tidCode);
    for (let f = 0; f < this.fields.length; f++) {
      const v = values[f];
      const col = this.cols[f]!;
      if (typeof v === 'string') col.push(this.store.strings.intern(v));
      else if (typeof v === 'bigint') col.pushBig(v, this.fields[f]!.signed);
      else col.push(v ?? NaN);
    }
    this.count++;
  }

  /** Field index by argument name, -1 if absent. */
  fieldIndex(name: string): number {
    return this.colIndex.get(name) ?? -1;
  }

  hasField(name: string): boolean {
    return this.colIndex.has(name);
  }

  /** Column view of one argument; throws naming the fields when absent. */
  column(name: string): ColumnView {
    const i = this.fieldIndex(name);
    if (i < 0) throw new Error(`event ${this.name} has no field '${name}' (fields: ${this.fields.map((f) => f.name).join(', ') || 'none'})`);
    return new ColumnView(this.fields[i]!, this.cols[i]!, this.store.strings);
  }

  /** Value of a field at row i: number when exact, bigint above 2^53, string, or 0x-hex string for pointers. */
  value(row: number, field: number): FieldValue {
    return new ColumnView(this.fields[field]!, this.cols[field]!, this.store.strings).get(row);
  }

  /** One row as an object (allocates; for exports and tests, not bulk analysis). */
  row(i: number): Record<string, FieldValue> {
    const out: Record<string, FieldValue> = {};
    this.fields.forEach((f, k) => { out[f.name] = this.value(i, k); });
    return out;
  }

  /** ns relative to the store base, NaN when the source had no time. */
  time(i: number): number {
    return this.store.hasTime ? this.ts.data[i]! : NaN;
  }

  line(i: number): number {
    return this.pos.getNumber(i);
  }

  /** Thread id (log prefix) or pid (simpletrace), undefined when the source had none. */
  threadId(i: number): number | undefined {
    return this.store.tids[this.tid.getNumber(i)];
  }

  /** Rows whose time is in [t0, t1), ascending. */
  rowsInTimeRange(t0: number, t1: number): Uint32Array {
    const ts = this.ts.data;
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) { const t = ts[i]!; if (t >= t0 && t < t1) out.push(i); }
    return Uint32Array.from(out);
  }

  trim(): void {
    this.commitStage();
    this.stage = EMPTY_STAGE;
    this.ts.trim(); this.pos.trim(); this.tid.trim();
    for (const c of this.cols) c.trim();
  }

  memoryBytes(): number {
    let n = this.ts.data.byteLength + this.pos.data.byteLength + this.tid.data.byteLength;
    for (const c of this.cols) n += c.data.byteLength;
    return n;
  }
}

/** Read-only view of one field column. */
export class ColumnView {
  constructor(readonly field: FieldInfo, private readonly col: IntColumn, private readonly strings: StringTable) {}
  get length(): number { return this.col.length; }
  /** Storage: string ids for string fields, values otherwise. Do not mutate. */
  get array(): IntArray { return this.col.data; }
  get kind(): IntKind { return this.col.kind; }
  get(i: number): FieldValue {
    if (this.field.valueType === 'string') return this.strings.get(this.col.getNumber(i));
    const v = this.col.get(i);
    if (this.field.valueType === 'pointer') return '0x' + v.toString(16);
    return v;
  }
  /** Numeric value (pointers and big values as rounded numbers); NaN for strings. */
  number(i: number): number {
    return this.field.valueType === 'string' ? NaN : this.col.getNumber(i);
  }
}

export type TimeKind = 'realtime' | 'monotonic' | 'none';

/** Time base: absolute = (a - baseA) * scale + (b - baseB) relative to the first event. */
export interface TimeBase {
  readonly a: number;
  readonly b: number;
  readonly scale: number;
}

export class TraceStore {
  readonly strings = new StringTable();
  readonly tables = new Map<string, EventTable>();
  /** Thread ids by code; code 0 is "none". */
  readonly tids: (number | undefined)[] = [undefined];
  private readonly tidCodes = new Map<number, number>();
  other = 0;
  readonly otherLines: number[] = [];
  malformedCount = 0;
  readonly malformed: MalformedLine[] = [];
  unknownEvents = 0;
  base: TimeBase | null = null;
  timeKind: TimeKind = 'none';
  positionKind: 'line' | 'byteOffset' = 'line';
  /** Bytes of input read (decompressed). */
  bytes = 0;
  /** Lines (log) or records (simpletrace) read. */
  lines = 0;
  /** Simpletrace dropped-event records: total events QEMU reported as dropped. */
  droppedEvents = 0;
  /** Errors that stopped the read (everything before them is kept). */
  readonly errors: string[] = [];

  get hasTime(): boolean { return this.base !== null; }

  /** Absolute time of relative time 0, in ns (epoch for realtime), null without time. */
  get baseTimeNs(): bigint | null {
    const b = this.base;
    return b ? BigInt(b.a) * BigInt(b.scale) + BigInt(b.b) : null;
  }

  table(name: string): EventTable | undefined { return this.tables.get(name); }

  /** Table for a name, created on first use. */
  tableFor(name: string, fields: readonly FieldInfo[] | null): EventTable {
    let t = this.tables.get(name);
    if (!t) {
      t = new EventTable(name, fields ?? UNKNOWN_FIELDS, fields === null, this);
      this.tables.set(name, t);
      const rows = this.expected?.get(name);
      if (rows !== undefined) {
        // Its positions take their kind first, so that the sized columns are not copied to widen them.
        if (this.lastPosition > 0) t.pos.ensureKindFor(0, this.lastPosition);
        t.ensureCapacity(rows);
      }
    }
    return t;
  }

  /**
   * The rows an event's table is expected to get (the reader's estimate): when it is made, it
   * is sized for them at once instead of growing on the way there.
   */
  expectRows(name: string, rows: number, lastPosition = 0): void {
    (this.expected ??= new Map()).set(name, rows);
    this.lastPosition = Math.max(this.lastPosition, lastPosition);
  }

  private lastPosition = 0;

  private expected: Map<string, number> | undefined;

  names(): string[] { return [...this.tables.keys()].sort(); }

  /** Events of one name, or of every name (unknown ones included). */
  count(name?: string): number {
    if (name !== undefined) return this.tables.get(name)?.count ?? 0;
    let n = 0;
    for (const t of this.tables.values()) n += t.count;
    return n;
  }

  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.names()) out[n] = this.tables.get(n)!.count;
    return out;
  }

  tidCode(tid: number): number {
    let c = this.tidCodes.get(tid);
    if (c === undefined) { c = this.tids.length; this.tids.push(tid); this.tidCodes.set(tid, c); }
    return c;
  }

  /** Relative ns for an absolute time given as (a, b); the first call fixes the base. */
  relTime(a: number, b: number, scale: number): number {
    const base = this.base;
    if (base === null) { this.base = { a, b, scale }; return 0; }
    return (a - base.a) * scale + (b - base.b);
  }

  noteOther(line: number): void {
    this.other++;
    if (this.otherLines.length < SAMPLE_LIMIT) this.otherLines.push(line);
  }

  noteMalformed(line: number, name: string, text: string): void {
    this.malformedCount++;
    if (this.malformed.length < SAMPLE_LIMIT) this.malformed.push({ line, name, text: text.length > 400 ? text.slice(0, 400) + '…' : text });
  }

  /** [first, last] relative ns over all events, null without time. */
  timeSpan(): { firstNs: number; lastNs: number } | null {
    if (!this.hasTime) return null;
    const known = this.knownSpan;
    const events = this.count();
    if (known !== undefined && known.events === events) return { firstNs: known.firstNs, lastNs: known.lastNs };
    let lo = Infinity, hi = -Infinity;
    for (const t of this.tables.values()) {
      const d = t.ts.data;
      const n = t.count;
      for (let i = 0; i < n; i++) { const x = d[i]!; if (x < lo) lo = x; if (x > hi) hi = x; }
    }
    if (lo > hi) return null;
    this.knownSpan = { events, firstNs: lo, lastNs: hi };
    return { firstNs: lo, lastNs: hi };
  }

  /**
   * Gives timeSpan its answer for the events the store has now, found by whoever made it (a
   * reader that saw every row, the assembly of ranges from theirs); more events make it look again.
   */
  setTimeSpan(firstNs: number, lastNs: number): void {
    this.knownSpan = { events: this.count(), firstNs, lastNs };
  }

  private knownSpan: { readonly events: number; readonly firstNs: number; readonly lastNs: number } | undefined;

  /** Every event in position order as (table, row); a k-way merge, no copy. */
  *inOrder(): Generator<{ table: EventTable; row: number }> {
    const tables = [...this.tables.values()].filter((t) => t.count > 0);
    const next = new Int32Array(tables.length);
    for (;;) {
      let best = -1, bestPos = Infinity;
      for (let k = 0; k < tables.length; k++) {
        const t = tables[k]!;
        const r = next[k]!;
        if (r < t.count) { const p = t.pos.getNumber(r); if (p < bestPos) { bestPos = p; best = k; } }
      }
      if (best < 0) return;
      const row = next[best]!;
      next[best] = row + 1;
      yield { table: tables[best]!, row };
    }
  }

  /** Makes room in every table for its rows so far times factor (a little more), so columns grow once. */
  presize(factor: number): void {
    // Line numbers will reach about lines × factor: their column takes its kind first.
    const lastLine = this.positionKind === 'line' ? Math.ceil(this.lines * factor * 1.05) + 64 : 0;
    for (const t of this.tables.values()) {
      if (lastLine > 0) t.pos.ensureKindFor(0, lastLine);
      t.ensureCapacity(Math.ceil(t.count * factor * 1.05) + 64);
    }
  }

  /** Moves every table's staged rows into its columns. */
  commit(): void {
    for (const t of this.tables.values()) if (t.staged > 0) t.commitStage();
  }

  /** Drops spare capacity, and the time columns when the source had no time. */
  trim(): void {
    for (const t of this.tables.values()) {
      t.commitStage();
      if (!this.hasTime) { t.ts.data = new Float64Array(0); t.ts.length = 0; }
      t.trim();
    }
  }

  /** Every column array of every table (to give back with recycleArrays once the store is dropped). */
  *arrays(): Generator<IntArray> {
    for (const t of this.tables.values()) {
      yield t.ts.data;
      yield t.pos.data;
      yield t.tid.data;
      for (const c of t.cols) yield c.data;
    }
  }

  /** Bytes held by typed arrays plus the string table estimate. */
  memoryBytes(): number {
    let n = this.strings.bytes();
    for (const t of this.tables.values()) n += t.memoryBytes();
    return n;
  }
}
