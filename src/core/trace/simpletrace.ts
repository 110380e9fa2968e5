/**
 * Streaming reader for QEMU's simpletrace binary format, version 4 (little-endian):
 *
 *   header:   u64 0xffffffffffffffff, u64 magic 0xf2b177cb0aa429b4, u64 version (4)
 *   mapping:  u64 type 0, u64 event id, u32 name length, name bytes
 *   event:    u64 type 1, u64 event id, u64 timestamp ns, u32 record length
 *             (from the event id on, arguments included), u32 pid, then per declared
 *             argument a u64, or for `char *` arguments a u32 length and the bytes
 *   dropped:  an event record with id 0xfffffffffffffffe and one u64 argument (count)
 *
 * Values are stored as the log backend would print them (the format's conversion
 * decides width and sign), so both backends give the same store.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Catalogue } from './catalogue';
import { evenCuts } from './source';
import { DecodeScratch, type FieldInfo } from './decoder';
import type { EventTable, FieldValue, TimeBase, TraceStore } from './store';
import { isStringType } from './traceEventsParser';
import { acquireScanner, logScanModule, nextScanToken, RECORD_TO_JS, releaseScanner, scanFile, ST_END, ST_FULL, ST_NEED_PLAN, ST_SLOW, WasmRowSink, type ScanHooks, type ScannerInstance } from './wasmScan';

export const SIMPLETRACE_MAGIC_LO = 0x0aa429b4;
export const SIMPLETRACE_MAGIC_HI = 0xf2b177cb;
const U32 = 4294967296;

/** True when buf starts with a simpletrace header (any version). */
export function looksLikeSimpletrace(buf: Uint8Array): boolean {
  if (buf.length < 16) return false;
  for (let i = 0; i < 8; i++) if (buf[i] !== 0xff) return false;
  const b = Buffer.from(buf.buffer, buf.byteOffset, 16);
  return b.readUInt32LE(8) === SIMPLETRACE_MAGIC_LO && b.readUInt32LE(12) === SIMPLETRACE_MAGIC_HI;
}

export interface SimpletracePart {
  readonly offset: number;
  readonly mappings: readonly (readonly [number, string])[];
}

/**
 * The mapping records a simpletrace file starts with (after its version 4 header), read from
 * buf (the file's first bytes), and where the records after them start: a part to parse the
 * rest of buf with (SimpletraceParserOptions.part), as if from the start. Undefined without
 * a version 4 header or mapping records; a malformed or cut record ends them (the parser
 * reports it).
 */
export function leadingMappings(buf: Uint8Array): SimpletracePart | undefined {
  if (buf.length < 24 || !looksLikeSimpletrace(buf)) return undefined;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b.readUInt32LE(16) !== 4 || b.readUInt32LE(20) !== 0) return undefined;
  const mappings: [number, string][] = [];
  let p = 24;
  while (p + 20 <= b.length && b.readUInt32LE(p) === 0 && b.readUInt32LE(p + 4) === 0) {
    const len = b.readUInt32LE(p + 16);
    if (len > 4096 || p + 20 + len > b.length) break;
    mappings.push([b.readUInt32LE(p + 12) * U32 + b.readUInt32LE(p + 8), b.toString('latin1', p + 20, p + 20 + len)]);
    p += 20 + len;
  }
  return mappings.length > 0 ? { offset: p, mappings } : undefined;
}

/** How splitSimpletrace reads. */
export interface SplitOptions {
  /** Bytes read at a time near each target (default 1 MiB; the cut is looked for in the first half). */
  readonly window?: number | undefined;
  /** False: the mapping records' names are not kept (SimpletraceSplit.mappings is empty), only their ids. */
  readonly names?: boolean | undefined;
}

/** A simpletrace file cut at likely record boundaries (splitSimpletrace). */
export interface SimpletraceSplit {
  readonly ranges: [number, number][];
  /** The mapping records at the file's start, before its first event record. */
  readonly mappings: [number, string][];
  /** The time base a serial read takes (its first event), if any. */
  readonly base: TimeBase | undefined;
  /** Thread ids in the order a serial read first meets them (up to 64, from the file's start). */
  readonly tids: number[];
  /**
   * Event records per event id in the windows read to place the cuts (from each cut on), the
   * bytes they span, and where the file's records after its leading mappings start.
   */
  readonly sampled: { readonly records: ReadonlyMap<number, number>; readonly bytes: number; readonly from: number };
}

/** Dropped-events records carry this event id. */
const DROPPED_ID_LO = 0xfffffffe;
const DROPPED_ID_HI = 0xffffffff;
/** Event ids below this are kept in arrays, others in maps. */
const DENSE_IDS = 1 << 16;

/** Bytes after the mapping records read to find the time base and the first threads. */
const HEAD_EVENTS_BYTES = 64 * 1024;
/** A cut is taken where this many records in a row look well-formed (or the file ends after fewer). */
const CHAIN = 8;
/** Longest record a cut is placed before (QEMU cuts string arguments at 512 bytes: records stay far smaller). */
const MAX_CUT_RECORD = 64 * 1024;
/** Bytes read at a time while looking for a cut; candidates are tried in the first half. */
const CUT_WINDOW = 1 << 20;
/** A target with no cut within this many bytes after it is dropped. */
const CUT_SEARCH = 16 << 20;

/** Whether an id was mapped at the file's start (or is the dropped-events id). */
type IdCheck = (lo: number, hi: number) => boolean;

/**
 * Bytes from p to the next record when p starts a plausible record (mapping or event),
 * -1 when it cannot start one, 0 when the window ends before it is complete.
 */
function recordAt(dv: DataView, p: number, end: number, known: IdCheck): number {
  if (p + 8 > end) return 0;
  if (dv.getUint32(p + 4, true) !== 0) return -1;
  const type = dv.getUint32(p, true);
  if (type === 1) {
    if (p + 32 > end) return 0;
    const length = dv.getUint32(p + 24, true);
    if (length < 24 || length > MAX_CUT_RECORD || !known(dv.getUint32(p + 8, true), dv.getUint32(p + 12, true))) return -1;
    return p + 8 + length > end ? 0 : 8 + length;
  }
  if (type === 0) {
    if (p + 20 > end) return 0;
    const len = dv.getUint32(p + 16, true);
    if (dv.getUint32(p + 12, true) !== 0 || len === 0 || len > 4096) return -1;
    return p + 20 + len > end ? 0 : 20 + len;
  }
  return -1;
}

/**
 * Cuts a simpletrace file into ranges that start at record boundaries without walking every
 * record: the header and the mapping records at the start are read, then near each target
 * offset the first place where CHAIN records in a row look well-formed (a known event id, a
 * length a record can have; or the file's exact end) is taken as a cut. A cut is only likely:
 * the reader of the range before it confirms it by ending exactly there (readTraceInWorker
 * reads the file in one piece otherwise). Targets at or before the first event record are
 * dropped. Undefined when the file's start is not a well-formed version 4 trace (it is then
 * read in one piece, which reports the error).
 */
export function splitSimpletrace(path: string, size: number, n: number | readonly number[], opts: SplitOptions = {}): SimpletraceSplit | undefined {
  const window = opts.window ?? CUT_WINDOW;
  const targets = typeof n === 'number' ? evenCuts(size, n) : n;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.max(window, 64 * 1024));
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    /** File offset of buf[0] and the bytes read there. */
    let at = 0, got = 0;
    const readAt = (pos: number): void => { at = pos; got = readSync(fd, buf, 0, buf.length, pos); };
    readAt(0);
    if (got < 24 || !looksLikeSimpletrace(buf.subarray(0, 24)) || buf.readUInt32LE(16) !== 4 || buf.readUInt32LE(20) !== 0) return undefined;
    const mappings: [number, string][] = [];
    const denseIds = new Uint8Array(DENSE_IDS);
    const sparseIds = new Set<number>();
    const known: IdCheck = (lo, hi) => (hi === 0 ? (lo < DENSE_IDS ? denseIds[lo] === 1 : sparseIds.has(lo)) : hi === DROPPED_ID_HI && lo === DROPPED_ID_LO);
    // The mapping records, then the first events: the time base and the first threads.
    let pos = 24;
    let firstEvent = -1;
    let base: TimeBase | undefined;
    const tids: number[] = [];
    while (pos < size && (firstEvent < 0 || pos < firstEvent + HEAD_EVENTS_BYTES)) {
      let p = pos - at;
      if (p + 32 > got && at + got < size) { readAt(pos); p = 0; }
      const end = got;
      // A record cut short by the file's end is the reader's to report.
      if (p + 8 > end) break;
      const type = dv.getUint32(p, true);
      if (dv.getUint32(p + 4, true) !== 0 || type > 1) return undefined;
      if (type === 0) {
        if (p + 20 > end) break;
        const len = dv.getUint32(p + 16, true);
        if (len > 4096) return undefined;
        if (p + 20 + len > end) { if (at + got >= size) break; readAt(pos); continue; }
        const idLo = dv.getUint32(p + 8, true), idHi = dv.getUint32(p + 12, true);
        if (firstEvent >= 0) break; // a mapping record between events: cuts stop here
        if (idHi === 0 && idLo < DENSE_IDS) denseIds[idLo] = 1; else sparseIds.add(idHi * U32 + idLo);
        if (opts.names !== false) mappings.push([idHi * U32 + idLo, buf.toString('latin1', p + 20, p + 20 + len)]);
        pos += 20 + len;
        continue;
      }
      if (p + 32 > end) break;
      const length = dv.getUint32(p + 24, true);
      if (length < 24) return undefined;
      if (firstEvent < 0) firstEvent = pos;
      if (!(dv.getUint32(p + 8, true) === DROPPED_ID_LO && dv.getUint32(p + 12, true) === DROPPED_ID_HI)) {
        base ??= { a: dv.getUint32(p + 20, true), b: dv.getUint32(p + 16, true), scale: U32 };
        const pid = dv.getUint32(p + 28, true);
        if (tids.length < 64 && !tids.includes(pid)) tids.push(pid);
      }
      pos += 8 + length;
    }
    if (firstEvent < 0) return undefined;
    const cuts = [0];
    const chainFrom = (q: number): boolean => {
      let p = q - at;
      for (let k = 0; k < CHAIN; k++) {
        if (at + p === size) return true;
        const len = recordAt(dv, p, got, known);
        if (len <= 0) return false;
        p += len;
      }
      return true;
    };
    const half = buf.length / 2;
    /** Event records by id from the cuts on, to the end of their windows. */
    const seen = new Map<number, number>();
    let sampledBytes = 0;
    for (const target of targets) {
      const from = Math.max(target, firstEvent + 1, cuts[cuts.length - 1]! + 1);
      let cut = -1;
      for (let w = from; cut < 0 && w < Math.min(size, from + CUT_SEARCH); w += half) {
        readAt(w);
        const last = at + got >= size ? got : Math.min(got, half);
        for (let p = 0; p < last; p++) {
          if (buf[p]! > 1 || !chainFrom(at + p)) continue;
          cut = at + p;
          break;
        }
      }
      if (cut < 0 || cut >= size) continue;
      cuts.push(cut);
      // The records after the cut in the window read: a sample of the event mix there.
      let p = cut - at;
      for (let len = recordAt(dv, p, got, known); len > 0; len = recordAt(dv, p, got, known)) {
        const id = dv.getUint32(p + 8, true);
        if (dv.getUint32(p, true) === 1 && dv.getUint32(p + 12, true) === 0) seen.set(id, (seen.get(id) ?? 0) + 1);
        p += len;
      }
      sampledBytes += p - (cut - at);
    }
    cuts.push(size);
    const ranges: [number, number][] = [];
    for (let i = 0; i + 1 < cuts.length; i++) if (cuts[i + 1]! > cuts[i]!) ranges.push([cuts[i]!, cuts[i + 1]!]);
    return { ranges, mappings, base, tids, sampled: { records: seen, bytes: sampledBytes, from: firstEvent } };
  } finally {
    closeSync(fd);
  }
}

/** Windows read over a file to estimate its records per event (estimateSimpletraceRecords), and their size. */
const ESTIMATE_WINDOWS = 8;
const ESTIMATE_WINDOW_BYTES = 32 * 1024;

/**
 * Event records per event id in a whole simpletrace file, estimated from windows spread over
 * it (splitSimpletrace's, from each cut on) and scaled to its size, with some room to spare:
 * for SimpletraceParserOptions.expectedRecords, so that a read sizes each table once.
 * Undefined when the file's start is not well-formed or no window holds records.
 */
export function estimateSimpletraceRecords(path: string, size: number): RecordEstimate | undefined {
  const split = splitSimpletrace(path, size, ESTIMATE_WINDOWS, { window: ESTIMATE_WINDOW_BYTES, names: false });
  if (!split || split.sampled.bytes === 0) return undefined;
  const scale = (1.1 * (size - split.sampled.from)) / split.sampled.bytes;
  const records = new Map<number, number>();
  for (const [id, k] of split.sampled.records) records.set(id, Math.ceil(k * scale) + 64);
  return { records, end: size };
}

/** Records per event id a simpletrace file of `end` bytes is expected to hold. */
export interface RecordEstimate {
  readonly records: ReadonlyMap<number, number>;
  readonly end: number;
}

// How a declared argument is read (EventPlan.ops); logscan.c's R_* (wasmConstants.test.ts checks they agree).
/** A u64 the format does not print. */
export const OP_SKIP = 0;
/** A length-prefixed string the format does not print. */
export const OP_SKIP_STR = 1;
/** A length-prefixed string printed with %s. */
export const OP_STR = 2;
/** A u64 printed with %c (its low byte). */
export const OP_CHAR = 3;
// A u64 printed as an integer of 8, 16, 32 or 64 bits, unsigned or signed.
export const OP_U8 = 4, OP_S8 = 5, OP_U16 = 6, OP_S16 = 7, OP_U32 = 8, OP_S32 = 9, OP_U64 = 10, OP_S64 = 11;

/** How one event's records are read: the same for every file decoded with the catalogue. */
interface EventPlan {
  readonly name: string;
  /** The event's index in the catalogue (the scanner's event). */
  readonly index: number;
  /** Per declared argument: how it is read (OP_*). */
  readonly ops: Uint8Array;
  /** Per declared argument: the store field it fills, -1 when the format does not print it. */
  readonly argField: Int32Array;
  readonly fields: readonly FieldInfo[];
  /** Fields no argument fills (a format with more conversions than arguments): stored as NaN. */
  readonly unfilled: Int32Array;
}

/** A plan with the table it fills in the parser's current store. */
interface ParserPlan {
  readonly plan: EventPlan;
  table: EventTable | undefined;
  /** Per field: the bytes and code of the last string stored (strings repeat: block names, states). */
  readonly lastBytes: (Buffer | undefined)[];
  readonly lastCode: Int32Array;
}

function opFor(isString: boolean, f: FieldInfo | undefined): number {
  if (isString) return f ? OP_STR : OP_SKIP_STR;
  if (!f) return OP_SKIP;
  if (f.valueType === 'string') return OP_CHAR;
  const base = f.bits === 8 ? OP_U8 : f.bits === 16 ? OP_U16 : f.bits === 32 ? OP_U32 : OP_U64;
  return base + (f.signed ? 1 : 0);
}

/**
 * Plans by catalogue and event name, made when a record of the event is first met: a file
 * maps every event of its tree (thousands) up front and records a few dozen of them, and a
 * worker reading several ranges of a file plans each event once.
 */
const planCache = new WeakMap<Catalogue, Map<string, EventPlan | null>>();

function planFor(catalogue: Catalogue, name: string): EventPlan | null {
  let plans = planCache.get(catalogue);
  if (!plans) { plans = new Map(); planCache.set(catalogue, plans); }
  let plan = plans.get(name);
  if (plan !== undefined) return plan;
  plan = null;
  const ev = catalogue.get(name);
  if (ev && ev.decoder) {
    const decl = ev.decl;
    const fields = ev.decoder.fields;
    const argField = new Int32Array(decl.args.length).fill(-1);
    fields.forEach((f, i) => { if (f.argIndex < argField.length) argField[f.argIndex] = i; });
    const ops = Uint8Array.from(decl.args, (a, i) => opFor(isStringType(a.type), argField[i]! >= 0 ? fields[argField[i]!] : undefined));
    const filled = new Set(argField);
    const unfilled = Int32Array.from(fields.keys()).filter((i) => !filled.has(i));
    plan = { name, index: ev.index, ops, argField, fields, unfilled };
  }
  plans.set(name, plan);
  return plan;
}

export interface SimpletraceParserOptions {
  /** Continue a file split at record boundaries: the input starts at part.offset (no header), its mappings given up front. */
  readonly part?: SimpletracePart | undefined;
  /**
   * Called at a mapping record that comes after an event record, or anywhere in a part:
   * ranges read after this one were not given it (readTraceInWorker then reads the file
   * in one piece).
   */
  readonly onLateMapping?: (() => void) | undefined;
  /** Records are taken by the WebAssembly scanner when it is built (default), or by JavaScript only. */
  readonly useWasm?: boolean | undefined;
  /**
   * Records each event id is expected to have in a file of `end` bytes (estimateSimpletraceRecords):
   * its table is sized for them, and for positions up to end, when its mapping record is read.
   */
  readonly expectedRecords?: RecordEstimate | undefined;
}


export class SimpletraceParser {
  private carry: Buffer = Buffer.alloc(0);
  /** File offset of carry[0] (of the next byte to parse). */
  private offset = 0;
  private headerDone = false;
  private failed = false;
  /** Event names by id, from the mapping records. */
  private readonly denseNames: (string | undefined)[] = [];
  private readonly sparseNames = new Map<number, string>();
  /** Plans by event id: undefined until the id's first record, null for an event the catalogue cannot decode. */
  private readonly densePlans: (ParserPlan | null | undefined)[] = [];
  private readonly sparsePlans = new Map<number, ParserPlan | null>();
  /** Direct-mapped cache pid → thread code in the current store. */
  private readonly pidKeys = new Float64Array(64).fill(-1);
  private readonly pidCodes = new Int32Array(64);
  /** An event record was parsed (or the input is a part): mapping records from here on are late. */
  private eventSeen = false;
  private readonly onLateMapping: (() => void) | undefined;
  private readonly expectedRecords: ReadonlyMap<number, number> | undefined;
  private readonly expectedEnd: number;

  /** The WebAssembly scanner's module (null: JavaScript reads every record). */
  private readonly wasmModule: WebAssembly.Module | null;
  /** The scanner instance while input is scanned. */
  private active: ScannerInstance | null = null;
  private readonly rows = new WasmRowSink();
  /** Names this parser and its current store to a scanner instance. */
  private scanToken = nextScanToken();
  /** Tables by catalogue event index, for the scanner's rows. */
  private readonly byEvent: (EventTable | undefined)[] = [];
  private readonly scanHooks: ScanHooks = {
    tidCode: (tid) => this.store.tidCode(tid),
    firstTime: (hi, lo) => {
      const ts = this.store.relTime(hi, lo, U32);
      return { ts, baseSec: this.store.base!.a, baseNs: this.store.base!.b };
    },
  };

  constructor(private store: TraceStore, private readonly catalogue: Catalogue, opts: SimpletraceParserOptions = {}) {
    store.positionKind = 'byteOffset';
    store.timeKind = 'monotonic';
    this.onLateMapping = opts.onLateMapping;
    this.expectedRecords = opts.expectedRecords?.records;
    this.expectedEnd = opts.expectedRecords?.end ?? 0;
    this.wasmModule = opts.useWasm === false ? null : logScanModule();
    const part = opts.part;
    if (part) {
      this.offset = part.offset;
      this.headerDone = true;
      this.eventSeen = true;
      for (const [id, name] of part.mappings) this.name(id, name);
    }
  }

  /** True when records are taken by the WebAssembly scanner. */
  get usesWasm(): boolean {
    return this.wasmModule !== null;
  }

  /** Continues into another store (a new batch). */
  setStore(store: TraceStore): void {
    this.store = store;
    store.positionKind = 'byteOffset';
    store.timeKind = 'monotonic';
    const reset = (p: ParserPlan | null | undefined): void => { if (p) { p.table = undefined; p.lastBytes.fill(undefined); } };
    this.densePlans.forEach(reset);
    this.sparsePlans.forEach(reset);
    this.byEvent.length = 0;
    this.rows.reset();
    this.scanToken = nextScanToken();
    this.baseHi = NaN;
    this.lastPid = -1;
    this.pidKeys.fill(-1);
    this.firstNs = Infinity;
    this.lastNs = -Infinity;
  }

  push(chunk: Buffer): void {
    this.store.bytes += chunk.length;
    if (this.failed) return;
    let rest = chunk;
    if (this.carry.length > 0) {
      // The record split across chunks is completed with as few bytes of this chunk as it
      // needs (a copy of those only), then the chunk is parsed where it lies.
      let take = Math.min(chunk.length, 256);
      for (;;) {
        const carried = this.carry.length;
        const b = Buffer.concat([this.carry, chunk.subarray(0, take)]);
        const used = this.parse(b);
        if (this.failed) return;
        this.offset += used;
        if (used >= carried) {
          rest = chunk.subarray(used - carried);
          this.carry = Buffer.alloc(0);
          break;
        }
        // Records parsed are never parsed again: only what is left is carried on.
        if (used > 0) this.carry = Buffer.from(b.subarray(used, carried));
        if (take === chunk.length) {
          this.carry = Buffer.from(b.subarray(used));
          return;
        }
        take = Math.min(chunk.length, take * 8);
      }
    }
    const used = this.parse(rest);
    this.offset += used;
    this.carry = used < rest.length ? Buffer.from(rest.subarray(used)) : Buffer.alloc(0);
  }

  /**
   * Reads [start, end) of an open file (start at a record boundary, or 0) and parses it.
   * With the scanner on, bytes are read straight into its input area; a partial last
   * record is kept as push() keeps it (end() reports it). afterRead(bytes) is called after
   * each read.
   */
  readFile(fd: number, start: number, end: number, afterRead: (bytes: number) => void, signal?: AbortSignal, path = ''): void {
    scanFile({
      take: () => (this.wasmModule === null || this.carry.length > 0 ? null : (this.active = acquireScanner(this.wasmModule, this.catalogue, false))),
      give: (sc, finished) => { this.active = null; releaseScanner(sc, finished); },
      consume: (sc, len) => {
        let used = 0;
        if (!this.headerDone) used = this.header(Buffer.from(sc.x.memory.buffer, sc.input, len));
        if (this.headerDone && !this.failed) used = this.scanInput(sc, used, len, this.offset);
        this.offset += used;
        return used;
      },
      // After an error the rest is counted, not parsed.
      push: (chunk) => this.push(chunk),
      countBytes: (n) => { this.store.bytes += n; },
      stop: () => this.failed,
    }, fd, start, end, afterRead, signal, path);
  }

  /** The input is complete: staged rows go into the columns; a partial record left is reported. */
  end(): void {
    this.store.commit();
    // Every row of the store came from here: its time span is known without a look at every row.
    const first = Math.min(this.firstNs, this.rows.firstNs), last = Math.max(this.lastNs, this.rows.lastNs);
    if (first <= last) this.store.setTimeSpan(first, last);
    if (this.failed) return;
    if (!this.headerDone) this.fail(this.offset, this.carry.length === 0 ? 'empty file, expected a simpletrace header' : 'truncated simpletrace header');
    else if (this.carry.length > 0) this.fail(this.offset, `truncated record (${this.carry.length} bytes left at the end of the file)`);
  }

  private fail(offset: number, message: string): void {
    this.failed = true;
    this.store.errors.push(`byte offset ${offset}: ${message}`);
  }

  /** Checks the header at b[0] (file offset this.offset): 24 when read, 0 when b is too short, b.length after an error. */
  private header(b: Buffer): number {
    if (b.length < 24) return 0;
    const dv = new DataView(b.buffer, b.byteOffset, 24);
    if (dv.getUint32(0, true) !== 0xffffffff || dv.getUint32(4, true) !== 0xffffffff || dv.getUint32(8, true) !== SIMPLETRACE_MAGIC_LO || dv.getUint32(12, true) !== SIMPLETRACE_MAGIC_HI) {
      this.fail(this.offset, 'not a simpletrace file (wrong magic)');
      return b.length;
    }
    const version = dv.getUint32(16, true) + dv.getUint32(20, true) * U32;
    if (version !== 4) { this.fail(this.offset + 16, `unsupported simpletrace version ${version} (only version 4 is read)`); return b.length; }
    this.headerDone = true;
    return 24;
  }

  /** Parses the header (if not read yet) and the complete records of b (at file offset this.offset); returns the bytes consumed. */
  private parse(b: Buffer): number {
    let p = 0;
    if (!this.headerDone) {
      p = this.header(b);
      if (!this.headerDone) return p;
    }
    if (this.wasmModule !== null && b.length - p >= 32) return p + this.scanCopy(this.wasmModule, b, p);
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    while (p + 8 <= b.length) {
      const q = this.record(b, dv, p, b.length, this.offset);
      if (q < 0) break;
      p = q;
    }
    return p;
  }

  /**
   * Parses the one record at b[p] (file offset base + p): returns where the next one starts,
   * -1 when b ends before it does, or b.length after an error.
   */
  private record(b: Buffer, dv: DataView, p: number, n: number, base: number): number {
    const typeLo = dv.getUint32(p, true), typeHi = dv.getUint32(p + 4, true);
    const at = base + p;
    if (typeHi !== 0 || typeLo > 1) { this.fail(at, `unknown record type ${typeHi * U32 + typeLo}`); return n; }
    if (typeLo === 0) {
      if (p + 20 > n) return -1;
      const id = dv.getUint32(p + 8, true) + dv.getUint32(p + 12, true) * U32;
      const len = dv.getUint32(p + 16, true);
      if (len > 4096) { this.fail(at, `mapping record with a name of ${len} bytes`); return n; }
      if (p + 20 + len > n) return -1;
      if (this.eventSeen) this.onLateMapping?.();
      this.map(id, b.toString('latin1', p + 20, p + 20 + len));
      return p + 20 + len;
    }
    if (p + 32 > n) return -1;
    const length = dv.getUint32(p + 24, true);
    if (length < 24) { this.fail(at, `event record length ${length} is shorter than its header`); return n; }
    if (length > 256 * 1024 * 1024) { this.fail(at, `event record length ${length} is implausible`); return n; }
    if (p + 8 + length > n) return -1;
    const idLo = dv.getUint32(p + 8, true), idHi = dv.getUint32(p + 12, true);
    const tsLo = dv.getUint32(p + 16, true), tsHi = dv.getUint32(p + 20, true);
    const pid = dv.getUint32(p + 28, true);
    this.store.lines++;
    this.eventSeen = true;
    if (idHi === DROPPED_ID_HI && idLo === DROPPED_ID_LO) {
      if (length >= 32) this.store.droppedEvents += dv.getUint32(p + 32, true) + dv.getUint32(p + 36, true) * U32;
    } else if (!this.event(b, dv, at, idHi * U32 + idLo, tsHi, tsLo, pid, p + 32, p + 8 + length)) {
      return n;
    }
    return p + 8 + length;
  }

  /** Scans b[p…] with the WebAssembly scanner (copied into its input area); returns the bytes consumed. */
  private scanCopy(module: WebAssembly.Module, b: Buffer, p: number): number {
    const sc = acquireScanner(module, this.catalogue, false);
    this.active = sc;
    let done = false;
    try {
      const len = b.length - p;
      const input = sc.inputFor(len);
      new Uint8Array(sc.x.memory.buffer, input, len).set(b.subarray(p));
      const used = this.scanInput(sc, 0, len, this.offset + p);
      done = true;
      return used;
    } finally {
      this.active = null;
      releaseScanner(sc, done);
    }
  }

  /**
   * Parses bytes [from, len) of the scanner's input area, whose first byte is at file
   * offset base: the scanner takes what it can, the rest is read here a record at a time.
   * Returns where it stopped (after the last whole record; len after an error).
   */
  private scanInput(sc: ScannerInstance, from: number, len: number, base: number): number {
    const x = sc.x;
    if (sc.owner !== this.scanToken) {
      // Thread codes, time base and id plans the instance holds belong to another reader or store.
      x.reset_store();
      x.reset_record_plans();
      sc.owner = this.scanToken;
    }
    sc.hooks = this.scanHooks;
    const input = sc.input;
    const end = input + len;
    // Views of the input are made again after each scanner call (a growing memory detaches them).
    const bufNow = (): Buffer => Buffer.from(x.memory.buffer, input, len);
    let p = input + from;
    let taken = 0;
    while (p < end && !this.failed) {
      p = x.scan_records(p, end, base + (p - input));
      const n = x.lines_taken();
      if (n > 0) { taken += n; this.eventSeen = true; }
      if (x.new_strings_count() > 0) this.rows.takeStrings(sc, bufNow(), -input);
      const st = x.status();
      if (st === ST_FULL) this.commitWasm(sc, x.status_arg());
      else if (st === ST_NEED_PLAN) this.planForScanner(sc, x.status_arg());
      else if (st === ST_SLOW || (st === ST_END && end - p >= 8)) {
        const b = bufNow();
        const q = this.record(b, new DataView(b.buffer, b.byteOffset, len), p - input, len, base);
        if (q < 0) break;
        p = input + q;
      } else if (st === ST_END) break;
    }
    this.store.lines += taken;
    const n = x.dirty_count();
    if (n > 0) {
      for (const idx of new Uint32Array(x.memory.buffer, x.dirty_ptr(), n).slice()) this.commitWasm(sc, idx);
      x.clear_dirty();
    }
    return this.failed ? len : p - input;
  }

  /** Gives the scanner the plan of event id `id` (its records go back here when it has none it can run). */
  private planForScanner(sc: ScannerInstance, id: number): void {
    const x = sc.x;
    const pp = this.planOf(id);
    const plan = pp?.plan;
    if (!plan || plan.unfilled.length > 0 || plan.fields.length > 255) { x.set_record_plan(id, RECORD_TO_JS, 0, 0, 0); return; }
    const nops = plan.ops.length;
    const ops = new Uint8Array(2 * nops);
    for (let a = 0; a < nops; a++) { ops[2 * a] = plan.ops[a]!; ops[2 * a + 1] = Math.max(0, plan.argField[a]!); }
    const at = x.alloc(Math.max(1, ops.length));
    if (at === 0 || x.set_record_plan(id, plan.index + 1, at, nops, plan.fields.length) !== 0) throw new Error('trace scanner: out of memory');
    new Uint8Array(x.memory.buffer).set(ops, at);
    const strs = plan.fields.flatMap((f, i) => (f.valueType === 'string' ? [i] : []));
    sc.strFields[plan.index] = strs.length > 0 ? Int32Array.from(strs) : null;
  }

  /** Moves the scanner's staged rows of catalogue event idx into its table. */
  private commitWasm(sc: ScannerInstance, idx: number): void {
    if (sc.x.staged(idx) === 0) return;
    let t = this.byEvent[idx];
    if (t === undefined) {
      const ev = this.catalogue.event(idx);
      t = this.store.tableFor(ev.decl.name, ev.decoder!.fields);
      this.byEvent[idx] = t;
    }
    this.rows.commit(sc, idx, t, this.store.strings);
  }

  /** A mapping record read: it (re)names an id. */
  private map(id: number, name: string): void {
    this.name(id, name);
    // The id's plan is made at its next record, here and in the scanner (which forgets its
    // plans when it next scans for this parser, or now).
    this.scanToken = nextScanToken();
    if (this.active) { this.active.x.reset_record_plans(); this.active.owner = this.scanToken; }
  }

  /** Names an id (a mapping record, or a part's mappings before any record is scanned). */
  private name(id: number, name: string): void {
    if (id < DENSE_IDS) { this.denseNames[id] = name; this.densePlans[id] = undefined; } else { this.sparseNames.set(id, name); this.sparsePlans.delete(id); }
    const expected = this.expectedRecords?.get(id);
    if (expected !== undefined) this.store.expectRows(name, expected, this.expectedEnd);
  }

  private nameOf(id: number): string | undefined {
    return id < DENSE_IDS ? this.denseNames[id] : this.sparseNames.get(id);
  }

  /** The plan of an id, made at its first record (null: no mapping, or an event the catalogue cannot decode). */
  private planOf(id: number): ParserPlan | null {
    const known = id < DENSE_IDS ? this.densePlans[id] : this.sparsePlans.get(id);
    if (known !== undefined) return known;
    const name = this.nameOf(id);
    const plan = name === undefined ? null : planFor(this.catalogue, name);
    const pp = plan ? { plan, table: undefined, lastBytes: plan.fields.map(() => undefined), lastCode: new Int32Array(plan.fields.length) } : null;
    if (plan) this.scratch.ensure(plan.fields.length);
    if (id < DENSE_IDS) this.densePlans[id] = pp; else this.sparsePlans.set(id, pp);
    return pp;
  }

  /** The store's code for the string in b[s, e), without decoding it when it repeats the field's last one. */
  private stringCode(pp: ParserPlan, f: number, b: Buffer, s: number, e: number): number {
    const last = pp.lastBytes[f];
    if (last !== undefined && last.length === e - s) {
      let i = 0;
      const len = e - s;
      while (i < len && last[i] === b[s + i]) i++;
      if (i === len) return pp.lastCode[f]!;
    }
    const code = this.store.strings.intern(b.toString('utf8', s, e));
    pp.lastBytes[f] = Buffer.from(b.subarray(s, e));
    pp.lastCode[f] = code;
    return code;
  }

  private event(b: Buffer, dv: DataView, at: number, id: number, tsHi: number, tsLo: number, pid: number, s: number, e: number): boolean {
    const store = this.store;
    let ts: number;
    if (this.baseHi !== this.baseHi) { ts = store.relTime(tsHi, tsLo, U32); this.baseHi = store.base!.a; this.baseLo = store.base!.b; } else ts = (tsHi - this.baseHi) * U32 + (tsLo - this.baseLo);
    if (ts < this.firstNs) this.firstNs = ts;
    if (ts > this.lastNs) this.lastNs = ts;
    if (pid !== this.lastPid) {
      const slot = pid & 63;
      if (this.pidKeys[slot] !== pid) { this.pidKeys[slot] = pid; this.pidCodes[slot] = store.tidCode(pid); }
      this.lastPid = pid;
      this.lastPidCode = this.pidCodes[slot]!;
    }
    const pp = this.planOf(id);
    if (pp === null) {
      const name = this.nameOf(id) ?? `event#${id}`;
      store.unknownEvents++;
      store.tableFor(name, null).addValues(ts, at, this.lastPidCode, [b.subarray(s, e).toString('hex')]);
      return true;
    }
    const plan = pp.plan;
    // The scanner's rows of this event come first.
    if (this.active !== null) this.commitWasm(this.active, plan.index);
    const out = this.scratch;
    const num = out.num;
    const ops = plan.ops;
    const argField = plan.argField;
    let big = false;
    let p = s;
    for (let a = 0; a < ops.length; a++) {
      const op = ops[a]!;
      if (op === OP_SKIP_STR || op === OP_STR) {
        if (p + 4 > e) { this.fail(at, `${plan.name}: argument ${a} runs past the record`); return false; }
        const len = dv.getUint32(p, true);
        if (p + 4 + len > e) { this.fail(at, `${plan.name}: string argument ${a} runs past the record`); return false; }
        if (op === OP_STR) num[argField[a]!] = this.stringCode(pp, argField[a]!, b, p + 4, p + 4 + len);
        p += 4 + len;
        continue;
      }
      if (p + 8 > e) { this.fail(at, `${plan.name}: argument ${a} runs past the record`); return false; }
      const f = argField[a]!;
      const lo = dv.getUint32(p, true);
      // Most common first: 64-bit, then 32-bit integers.
      if (op === OP_U64 || op === OP_S64) {
        const hi = dv.getUint32(p + 4, true);
        if (hi < 0x200000) num[f] = hi * U32 + lo;
        else {
          const v = printedValue(lo, hi, plan.fields[f]!);
          if (typeof v === 'bigint') { num[f] = NaN; out.big[f] = v; big = true; } else num[f] = v as number;
        }
      } else if (op === OP_U32) num[f] = lo;
      else if (op === OP_S32) num[f] = lo | 0;
      else if (op === OP_U8) num[f] = lo & 0xff;
      else if (op === OP_U16) num[f] = lo & 0xffff;
      else if (op === OP_S8) num[f] = (lo << 24) >> 24;
      else if (op === OP_S16) num[f] = (lo << 16) >> 16;
      // %c of an integer argument: its low byte, first in little-endian order.
      else if (op === OP_CHAR) num[f] = this.stringCode(pp, f, b, p, p + 1);
      p += 8;
    }
    const unfilled = plan.unfilled;
    for (let k = 0; k < unfilled.length; k++) num[unfilled[k]!] = NaN;
    let t = pp.table;
    if (t === undefined) { t = store.tableFor(plan.name, plan.fields); pp.table = t; }
    if (!big) {
      // Integers and string codes alike go to the table's stage.
      const st = t.stage.length === 0 ? t.openStage() : t.stage;
      const o = t.staged * t.stride;
      st[o] = ts;
      st[o + 1] = at;
      st[o + 2] = this.lastPidCode;
      const nf = plan.fields.length;
      for (let f = 0; f < nf; f++) st[o + 3 + f] = num[f]!;
      t.count++;
      if (++t.staged * t.stride === st.length) t.commitStage();
    } else {
      // A value beyond 2^53 (bigint): this row goes to the columns as values.
      const values: FieldValue[] = [];
      for (let f = 0; f < plan.fields.length; f++) {
        const v = num[f]!;
        values.push(v !== v && !unfilled.includes(f) ? out.big[f]! : v);
      }
      t.addValues(ts, at, this.lastPidCode, values);
    }
    return true;
  }

  private readonly scratch = new DecodeScratch(64);
  /** The span of the times of the rows this class stored itself (the scanner's: rows.firstNs, rows.lastNs). */
  private firstNs = Infinity;
  private lastNs = -Infinity;
  private baseHi = NaN;
  private baseLo = 0;
  private lastPid = -1;
  private lastPidCode = 0;
}

/** The value printf would print for a raw u64 argument under the field's conversion. */
function printedValue(lo: number, hi: number, f: FieldInfo): FieldValue {
  if (f.valueType === 'string') return String.fromCharCode(lo & 0xff);
  if (f.bits === 8) return f.signed ? (lo << 24) >> 24 : lo & 0xff;
  if (f.bits === 16) return f.signed ? (lo << 16) >> 16 : lo & 0xffff;
  if (f.bits === 32) return f.signed ? lo | 0 : lo;
  if (f.signed && hi >= 0x80000000) {
    if (hi === 0xffffffff && lo !== 0) return lo - U32;
    const v = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
    return v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  if (hi < 0x200000) return hi * U32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}
