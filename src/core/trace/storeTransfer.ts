/**
 * Moving stores between threads (plain objects of typed arrays, transferable)
 * and merging stores read from consecutive parts of one input.
 */
import { F64Column, IntColumn, type IntArray, type IntKind } from './columns';
import type { FieldInfo } from './decoder';
import { TraceStore, type EventTable, type MalformedLine, type TimeBase, type TimeKind, SAMPLE_LIMIT } from './store';

interface SerializedColumn { kind: IntKind; data: IntArray }

export interface SerializedTable {
  name: string;
  unknown: boolean;
  fields: FieldInfo[];
  ts: Float64Array;
  pos: SerializedColumn;
  tid: SerializedColumn;
  cols: SerializedColumn[];
}

export interface SerializedStore {
  tables: SerializedTable[];
  strings: string[];
  tids: (number | undefined)[];
  other: number;
  otherLines: number[];
  malformedCount: number;
  malformed: MalformedLine[];
  unknownEvents: number;
  base: TimeBase | null;
  timeKind: TimeKind;
  positionKind: 'line' | 'byteOffset';
  bytes: number;
  lines: number;
  droppedEvents: number;
  errors: string[];
}

// Columns travel untrimmed (a view of the whole buffer, transferred): the receiver
// copies them while merging, or trims them when they are the whole result.
function col(c: IntColumn, transfer: ArrayBuffer[]): SerializedColumn {
  const data = c.view();
  transfer.push(data.buffer as ArrayBuffer);
  return { kind: c.kind, data };
}

/** Serializes a store; the returned buffers may be transferred (the store is then unusable). */
export function serializeStore(store: TraceStore): { data: SerializedStore; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const tables: SerializedTable[] = [];
  for (const t of store.tables.values()) {
    const ts = t.ts.data.subarray(0, t.ts.length);
    transfer.push(ts.buffer as ArrayBuffer);
    tables.push({ name: t.name, unknown: t.unknown, fields: [...t.fields], ts, pos: col(t.pos, transfer), tid: col(t.tid, transfer), cols: t.cols.map((c) => col(c, transfer)) });
  }
  return {
    data: {
      tables, strings: store.strings.values, tids: store.tids, other: store.other, otherLines: store.otherLines,
      malformedCount: store.malformedCount, malformed: store.malformed, unknownEvents: store.unknownEvents, base: store.base,
      timeKind: store.timeKind, positionKind: store.positionKind, bytes: store.bytes, lines: store.lines,
      droppedEvents: store.droppedEvents, errors: store.errors,
    },
    transfer,
  };
}

export function deserializeStore(s: SerializedStore): TraceStore {
  const store = new TraceStore();
  for (const str of s.strings) store.strings.intern(str);
  for (const tid of s.tids.slice(1)) if (tid !== undefined) store.tidCode(tid);
  for (const st of s.tables) {
    const t = store.tableFor(st.name, st.unknown ? null : st.fields);
    t.ts.data = st.ts;
    t.ts.length = st.ts.length;
    assign(t.pos, st.pos);
    assign(t.tid, st.tid);
    st.cols.forEach((c, i) => assign(t.cols[i]!, c));
    t.count = st.pos.data.length;
  }
  store.other = s.other;
  store.otherLines.push(...s.otherLines);
  store.malformedCount = s.malformedCount;
  store.malformed.push(...s.malformed);
  store.unknownEvents = s.unknownEvents;
  store.base = s.base;
  store.timeKind = s.timeKind;
  store.positionKind = s.positionKind;
  store.bytes = s.bytes;
  store.lines = s.lines;
  store.droppedEvents = s.droppedEvents;
  store.errors.push(...s.errors);
  return store;
}

function assign(target: IntColumn, s: SerializedColumn): void {
  target.load(s.kind, s.data);
}

/**
 * Appends part (read from the input after everything already in target) to target.
 * lineOffset is added to part's line numbers (its lines were numbered from 1).
 */
export function appendStore(target: TraceStore, part: TraceStore, lineOffset: number): void {
  let delta = 0;
  if (part.base !== null) {
    if (target.base === null) target.base = part.base;
    else delta = (part.base.a - target.base.a) * target.base.scale + (part.base.b - target.base.b);
  }
  if (part.timeKind !== 'none') target.timeKind = part.timeKind;
  target.positionKind = part.positionKind;
  const strMap = part.strings.values.map((s) => target.strings.intern(s));
  const tidMap = part.tids.map((t) => (t === undefined ? 0 : target.tidCode(t)));
  const posAdd = part.positionKind === 'line' ? lineOffset : 0;
  const strIdentity = isIdentity(strMap);
  const tidIdentity = isIdentity(tidMap);
  for (const pt of part.tables.values()) {
    const tt = target.tableFor(pt.name, pt.unknown ? null : pt.fields);
    appendTimes(tt.ts, pt.ts, pt.count, delta);
    tt.pos.append(pt.pos, false, posAdd);
    tt.tid.append(pt.tid, false, 0, tidIdentity ? undefined : tidMap);
    pt.cols.forEach((c, i) => {
      const f = pt.fields[i]!;
      tt.cols[i]!.append(c, f.signed, 0, f.valueType === 'string' && !strIdentity ? strMap : undefined);
    });
    tt.count += pt.count;
  }
  addCounts(target, part, posAdd);
}

/** The counts and samples of a store read from part of an input. */
export interface StoreCounts {
  readonly other: number;
  readonly otherLines: readonly number[];
  readonly malformedCount: number;
  readonly malformed: readonly MalformedLine[];
  readonly unknownEvents: number;
  readonly bytes: number;
  readonly lines: number;
  readonly droppedEvents: number;
  readonly errors: readonly string[];
}

/** Adds part's counts to target; posAdd is added to the line numbers of its samples. */
export function addCounts(target: TraceStore, part: StoreCounts, posAdd: number): void {
  target.other += part.other;
  for (const l of part.otherLines) if (target.otherLines.length < SAMPLE_LIMIT) target.otherLines.push(l + posAdd);
  target.malformedCount += part.malformedCount;
  for (const m of part.malformed) if (target.malformed.length < SAMPLE_LIMIT) target.malformed.push({ ...m, line: m.line + posAdd });
  target.unknownEvents += part.unknownEvents;
  target.bytes += part.bytes;
  target.lines += part.lines;
  target.droppedEvents += part.droppedEvents;
  target.errors.push(...part.errors);
}

function isIdentity(map: readonly number[]): boolean {
  for (let i = 0; i < map.length; i++) if (map[i] !== i) return false;
  return true;
}

function appendTimes(dst: F64Column, src: F64Column, n: number, delta: number): void {
  const have = Math.min(n, src.length);
  if (dst.data.length < dst.length + have) {
    const next = new Float64Array(Math.max(16, (dst.length + have) * 1.5 | 0));
    next.set(dst.data.subarray(0, dst.length));
    dst.data = next;
  }
  const d = dst.data, s = src.data, base = dst.length;
  if (delta === 0) d.set(s.subarray(0, have), base);
  else for (let i = 0; i < have; i++) d[base + i] = s[i]! + delta;
  dst.length += have;
}

/**
 * A store holding copies of some rows of some tables of store (rows [from, to) of each table
 * `pick` chooses), with its strings, threads, time base and kinds, and none of its counts:
 * what an analysis keeps of a followed trace's batch (appendStore adds it to what it kept).
 */
export function pickRows(store: TraceStore, pick: (t: EventTable) => readonly [from: number, to: number] | null): TraceStore {
  const out = new TraceStore();
  out.base = store.base;
  out.timeKind = store.timeKind;
  out.positionKind = store.positionKind;
  let stringsCopied = false;
  for (const t of store.tables.values()) {
    const range = t.count > 0 ? pick(t) : null;
    if (!range || range[1] <= range[0]) continue;
    const [a, b] = range;
    if (!stringsCopied) {
      for (const str of store.strings.values) out.strings.intern(str);
      for (const tid of store.tids.slice(1)) if (tid !== undefined) out.tidCode(tid);
      stringsCopied = true;
    }
    t.commitStage();
    const o = out.tableFor(t.name, t.unknown ? null : t.fields);
    o.ts.data = t.ts.data.slice(a, b);
    o.ts.length = b - a;
    o.pos.load(t.pos.kind, t.pos.view().slice(a, b));
    o.tid.load(t.tid.kind, t.tid.view().slice(a, b));
    t.cols.forEach((c, i) => o.cols[i]!.load(c.kind, c.view().slice(a, b)));
    o.count = b - a;
  }
  return out;
}
