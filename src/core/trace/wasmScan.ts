/**
 * The WebAssembly line scanner (wasm/logscan.c, built into dist/logscan.wasm): loading it,
 * and turning a format into the program it runs. LogLineParser drives it and hands
 * every line it declines to the JavaScript decoders.
 *
 * Programs: one opcode byte per step.
 *   LIT len:u16 bytes…   a literal, zero-filled to a multiple of 8 bytes
 *   INT|UINT|HEX|HEXALT|PTR field:u8 width:u16   a number (width: left-aligned padding, else 0)
 *   STR field:u8          a string up to the next literal, blank or the line end
 *   END
 * A format with strings is run the way Decoder.interpret reads it; one without, the way
 * its line decoder (decoderCodegen.compileLine) reads it. Formats with %c, %o, `*` widths,
 * padded or precise strings, or line ends in a literal get no program.
 */
import { existsSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { CHUNK_BYTES, readFdChunks, shrank, throwIfCancelled } from './source';
import type { Catalogue } from './catalogue';
import type { IntKind, StringTable } from './columns';
import type { Decoder } from './decoder';
import type { EventTable } from './store';

// Numbers logscan.c spells too, under the same names (wasmConstants.test.ts checks they agree).
export const OP_END = 0, OP_LIT = 1, OP_INT = 2, OP_UINT = 3, OP_HEX = 4, OP_HEXALT = 5, OP_PTR = 6, OP_STR = 7;
export const ST_END = 0, ST_SLOW = 1, ST_FULL = 2, ST_NEED_PROGRAM = 3, ST_STRINGS = 4, ST_NEED_PLAN = 5;
/** pack's kinds of packed values. */
export const PACK_U8 = 0, PACK_U16 = 1, PACK_I32 = 2, PACK_U32 = 3, PACK_F64 = 4;
/** set_record_plan's event for an id whose records always go back to JavaScript. */
export const RECORD_TO_JS = 0xffffffff;
/** Bytes after the input that the scanner may read (never past the last newline's line). */
export const INPUT_PAD = 64;

/** What logscan.c exports. Pointers are byte offsets into memory. */
export interface LogScanExports {
  readonly memory: WebAssembly.Memory;
  alloc(n: number): number;
  init(count: number): number;
  add_event(index: number, name: number, len: number): void;
  set_program(index: number, prog: number, nfields: number, hasStr: number): void;
  reset_store(): void;
  set_base(sec: number, ns: number): void;
  new_strings_ptr(): number;
  new_strings_count(): number;
  clear_new_strings(): void;
  /** Rows per stage: a stage holds each column's values contiguously, this many apart. */
  stage_rows(): number;
  stage_ptr(index: number): number;
  staged(index: number): number;
  clear_stage(index: number): void;
  dirty_ptr(): number;
  dirty_count(): number;
  clear_dirty(): void;
  status(): number;
  status_arg(): number;
  line(): number;
  lines_taken(): number;
  scan(p: number, end: number, line: number): number;
  column_range(index: number, k: number, n: number): void;
  time_range(index: number, n: number): void;
  range_min(): number;
  range_max(): number;
  /** kind: one of PACK_*; returns the address of the packed values, 0 when one does not fit. */
  pack(index: number, k: number, n: number, kind: number): number;
  /** Simpletrace: the plan of a file's event id (event: catalogue index + 1, or RECORD_TO_JS; ops: (op, field) pairs). */
  set_record_plan(id: number, event: number, ops: number, nops: number, nfields: number): number;
  reset_record_plans(): void;
  /** Simpletrace: takes whole records from p (offset: the file offset of p). */
  scan_records(p: number, end: number, offset: number): number;
}

/** What the scanner asks of the store it fills. */
export interface ScanHooks {
  tidCode(tid: number): number;
  /** Relative time of the first timed line; the store's base is set (or already was). */
  firstTime(sec: number, ns: number): { ts: number; baseSec: number; baseNs: number };
}

let cached: WebAssembly.Module | null | undefined;

/** Where the scanner is looked for: next to the bundle, or dist/ when running from source. */
function candidates(): string[] {
  const env = process.env.QMW_LOGSCAN_WASM;
  return [...(env ? [env] : []), join(__dirname, 'logscan.wasm'), join(__dirname, '..', '..', '..', 'dist', 'logscan.wasm')];
}

/**
 * The compiled scanner, or null when it is switched off (QMW_TRACE_WASM=0) or not built
 * (the reader then runs its JavaScript loop, same results).
 */
export function logScanModule(): WebAssembly.Module | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.env.QMW_TRACE_WASM === '0') return null;
  for (const p of candidates()) {
    if (!existsSync(p)) continue;
    cached = new WebAssembly.Module(readFileSync(p));
    break;
  }
  return cached;
}

/**
 * One instance of the scanner for a catalogue, with what lives as long as it: its input
 * area, the text of the strings it interned and the string fields of each program.
 * Instances are pooled per catalogue and thread (see acquireScanner): a reader holds one
 * only while it scans a range, so memory and programs are set up once, not per read.
 */
export class ScannerInstance {
  readonly x: LogScanExports;
  input = 0;
  inputCap = 0;
  /** Text of each interned string, by its id. */
  readonly strings: string[] = [];
  /** Per event given a program: the field indexes that hold string ids (null: none). */
  readonly strFields: (Int32Array | null | undefined)[] = [];
  /** Who the imports answer for while a range is scanned. */
  hooks: ScanHooks | null = null;
  /** Token of the reader and store its per-store state (thread codes, time base) belongs to; 0: none. */
  owner = 0;
  busy = false;

  constructor(module: WebAssembly.Module, catalogue: Catalogue) {
    const instance = new WebAssembly.Instance(module, {
      env: {
        tid_code: (tid: number): number => this.hooks!.tidCode(tid),
        first_time: (sec: number, ns: number): number => {
          const r = this.hooks!.firstTime(sec, ns);
          this.x.set_base(r.baseSec, r.baseNs);
          return r.ts;
        },
      },
    });
    const x = instance.exports as unknown as LogScanExports;
    this.x = x;
    this.catalogue = catalogue;
    if (x.init(catalogue.size) !== 0) throw new Error('trace scanner: out of memory');
  }

  private readonly catalogue: Catalogue;
  private named = false;

  /** Gives the scanner every event's name (the line scanner looks names up; the record scanner has ids). */
  addNames(): void {
    if (this.named) return;
    this.named = true;
    const x = this.x;
    const events = this.catalogue.events;
    let nameBytes = 0;
    for (const ev of events) nameBytes += ev.nameBytes.length;
    const names = x.alloc(nameBytes + 8);
    if (names === 0) throw new Error('trace scanner: out of memory');
    const mem = new Uint8Array(x.memory.buffer);
    let at = names;
    for (const ev of events) {
      mem.set(ev.nameBytes, at);
      x.add_event(ev.index, at, ev.nameBytes.length);
      at += ev.nameBytes.length;
    }
  }

  /** Makes the input area hold len bytes plus the padding; returns its address. */
  inputFor(len: number): number {
    if (len + INPUT_PAD > this.inputCap) {
      this.inputCap = Math.max(len + INPUT_PAD, 4 * 1024 * 1024 + INPUT_PAD);
      this.input = this.x.alloc(this.inputCap);
      if (this.input === 0) throw new Error('trace scanner: out of memory');
    }
    return this.input;
  }
}

export interface ScannerReadOptions {
  readonly signal?: AbortSignal | undefined;
  /** The file's name, for errors. */
  readonly path: string;
  /** Reading stops when this says so (after an error in the input). */
  readonly stop?: (() => boolean) | undefined;
}

/**
 * Reads [pos, end) of an open file straight into the scanner's input area, each read after
 * the bytes kept from the one before: consume(len) parses the first len bytes there and
 * returns how many it used; the rest is kept. Stops at end, when stop() says so, or when the
 * area is full of kept bytes (a line or record longer than it). afterRead(bytes) is called
 * after each read. Returns where reading stopped and a copy of the bytes kept.
 */
function readIntoScanner(sc: ScannerInstance, fd: number, pos: number, end: number, consume: (len: number) => number, afterRead: (bytes: number) => void, opts: ScannerReadOptions): { pos: number; kept: Buffer | undefined } {
  sc.inputFor(CHUNK_BYTES);
  const cap = sc.inputCap - INPUT_PAD;
  let carry = 0;
  while (pos < end && !(opts.stop?.() ?? false)) {
    throwIfCancelled(opts.signal);
    if (carry === cap) break;
    const want = Math.min(cap - carry, end - pos);
    const got = readSync(fd, new Uint8Array(sc.x.memory.buffer, sc.input + carry, want), 0, want, pos);
    if (got === 0) throw shrank(opts.path, pos, end);
    pos += got;
    const len = carry + got;
    const used = consume(len);
    carry = len - used;
    if (carry > 0 && used > 0) new Uint8Array(sc.x.memory.buffer).copyWithin(sc.input, sc.input + used, sc.input + len);
    afterRead(got);
  }
  return { pos, kept: carry > 0 ? Buffer.from(new Uint8Array(sc.x.memory.buffer, sc.input, carry)) : undefined };
}

/** How a reader reads an open plain file (scanFile). */
export interface FileScan {
  /** A scanner instance for the read, now held by the reader; null: every byte goes through push. */
  readonly take: () => ScannerInstance | null;
  /** The read is over (finished false: it threw): the reader lets go of the instance. */
  readonly give: (sc: ScannerInstance, finished: boolean) => void;
  /** Parses the first len bytes of the instance's input area; returns how many it used. */
  readonly consume: (sc: ScannerInstance, len: number) => number;
  /** Parses bytes the scanner did not (counting them as read). */
  readonly push: (chunk: Buffer) => void;
  /** Counts bytes read into the input area (negative: given back to push). */
  readonly countBytes: (n: number) => void;
  /** Reading into the input area stops when this says so (the rest goes through push). */
  readonly stop?: (() => boolean) | undefined;
}

/**
 * A reader's readFile: [start, end) of an open plain file straight into a scanner
 * instance's input area (readIntoScanner), then what is left through push(): the bytes kept
 * (a partial last line or record, or one longer than the area), and the rest of the file
 * after stop() or without an instance. afterRead(bytes) is called after each read.
 */
export function scanFile(f: FileScan, fd: number, start: number, end: number, afterRead: (bytes: number) => void, signal: AbortSignal | undefined, path: string): void {
  let pos = start;
  const sc = f.take();
  if (sc) {
    let finished = false;
    let kept: Buffer | undefined;
    try {
      ({ pos, kept } = readIntoScanner(sc, fd, pos, end, (len) => f.consume(sc, len), (got) => { f.countBytes(got); afterRead(got); }, { signal, path, stop: f.stop }));
      finished = true;
    } finally {
      f.give(sc, finished);
    }
    if (kept) { f.countBytes(-kept.length); f.push(kept); }
  }
  readFdChunks(fd, pos, end, f.push, afterRead, signal, path);
}

let scanTokens = 0;
/** A token naming a reader and its current store to a scanner instance (ScannerInstance.owner). */
export function nextScanToken(): number {
  return ++scanTokens;
}

const pools = new WeakMap<Catalogue, ScannerInstance[]>();

/**
 * Sets up ahead what a read with the catalogue takes first: the scanner's module, an instance
 * with its input area (its pages touched), and the catalogue's name index; names as for
 * acquireScanner. For a thread waiting for its first range.
 */
export function prepareScanner(catalogue: Catalogue, names: boolean): void {
  catalogue.nameIndex();
  const module = logScanModule();
  if (module === null) return;
  const sc = acquireScanner(module, catalogue, names);
  const input = sc.inputFor(CHUNK_BYTES);
  new Uint8Array(sc.x.memory.buffer, input, sc.inputCap).fill(0);
  releaseScanner(sc, true);
}

/**
 * A free scanner instance for the catalogue (made when none is free); give it back with
 * releaseScanner. names: it gets the event names (the line scanner needs them).
 */
export function acquireScanner(module: WebAssembly.Module, catalogue: Catalogue, names = true): ScannerInstance {
  let pool = pools.get(catalogue);
  if (!pool) { pool = []; pools.set(catalogue, pool); }
  let s = pool.find((p) => !p.busy);
  if (!s) { s = new ScannerInstance(module, catalogue); pool.push(s); }
  s.busy = true;
  if (names) s.addNames();
  return s;
}

/** Gives an instance back; after a scan that did not finish, its staged rows are dropped. */
export function releaseScanner(s: ScannerInstance, finished: boolean): void {
  if (!finished) {
    const x = s.x;
    const n = x.dirty_count();
    for (const idx of new Uint32Array(x.memory.buffer, x.dirty_ptr(), n).slice()) x.clear_stage(idx);
    x.clear_dirty();
    x.clear_new_strings();
    s.owner = 0;
  }
  s.hooks = null;
  s.busy = false;
}

/** The kind codes of logscan.c's pack() (bigint columns take doubles and convert). */
const PACK_KIND: Record<IntKind, number> = { u8: PACK_U8, u16: PACK_U16, i32: PACK_I32, u32: PACK_U32, f64: PACK_F64, i64: PACK_F64, u64: PACK_F64 };

/**
 * Moves a scanner's staged rows into a store's tables, its string ids turned into the
 * store's: one per reader and store (reset for the next store).
 */
export class WasmRowSink {
  /** Scanner string id → the store's string id (-1: not interned yet). */
  private ids = new Int32Array(0);
  /** The span of the times of every row committed since the last reset (Infinity, -Infinity: none). */
  firstNs = Infinity;
  lastNs = -Infinity;

  reset(): void {
    this.ids.fill(-1);
    this.firstNs = Infinity;
    this.lastNs = -Infinity;
  }

  /** Keeps the text of the strings the scanner interned in its last call; their bytes are in buf at (address + off). */
  takeStrings(sc: ScannerInstance, buf: Buffer, off: number): void {
    const x = sc.x;
    const log = new Uint32Array(x.memory.buffer, x.new_strings_ptr(), x.new_strings_count() * 3);
    for (let k = 0; k < log.length; k += 3) {
      const at = log[k + 1]! + off;
      sc.strings[log[k]!] = buf.toString('utf8', at, at + log[k + 2]!);
    }
    x.clear_new_strings();
  }

  /** Moves the scanner's staged rows of event idx into table t (string fields: sc.strFields[idx]). */
  commit(sc: ScannerInstance, idx: number, t: EventTable, strings: StringTable): void {
    const x = sc.x;
    const n = x.staged(idx);
    if (n === 0) return;
    const stage = x.stage_ptr(idx);
    const stride = x.stage_rows() * 8;
    const colAt = (k: number): number => stage + k * stride;
    // Views are made from the current memory each time: a growing memory detaches old ones.
    x.time_range(idx, n);
    this.firstNs = Math.min(this.firstNs, x.range_min());
    this.lastNs = Math.max(this.lastNs, x.range_max());
    const strs = sc.strFields[idx];
    if (strs) for (const f of strs) this.mapStrings(sc.strings, strings, new Int32Array(x.memory.buffer, colAt(3 + f), 2 * n));
    t.commitColumns(n, new Float64Array(x.memory.buffer, colAt(0), n), (k, kind) => {
      const at = x.pack(idx, k + 1, n, PACK_KIND[kind]);
      if (at === 0) return null;
      const mem = x.memory.buffer;
      return kind === 'u8' ? new Uint8Array(mem, at, n) : kind === 'u16' ? new Uint16Array(mem, at, n) : kind === 'i32' ? new Int32Array(mem, at, n)
        : kind === 'u32' ? new Uint32Array(mem, at, n) : new Float64Array(mem, at, n);
    }, (k) => {
      x.column_range(idx, k + 1, n);
      return [x.range_min(), x.range_max()];
    });
    x.clear_stage(idx);
  }

  /** Replaces scanner string ids by the store's; words holds a 64-bit column as 32-bit words (ids in the low ones). */
  private mapStrings(texts: readonly string[], strings: StringTable, words: Int32Array): void {
    if (this.ids.length < texts.length) {
      const next = new Int32Array(Math.max(64, texts.length * 2)).fill(-1);
      next.set(this.ids);
      this.ids = next;
    }
    const ids = this.ids;
    for (let r = 0; r < words.length; r += 2) {
      const id = words[r]!;
      let sid = ids[id]!;
      if (sid < 0) { sid = strings.intern(texts[id]!); ids[id] = sid; }
      words[r] = sid;
    }
  }
}

const encoder = new TextEncoder();

export interface Program {
  readonly bytes: Uint8Array;
  readonly nfields: number;
  readonly hasStr: boolean;
}

/** The scanner program for a decoder's format, or null when its lines stay with JavaScript. */
export function encodeProgram(decoder: Decoder | undefined): Program | null {
  if (decoder === undefined) return null;
  const steps = decoder.formatSteps;
  const hasStr = steps.some((s) => s.type === 'conversion' && s.conv.kind === 'str');
  // Without strings the scanner must read exactly what the line decoder reads; with
  // strings, what the interpreter reads (the only decoder such formats have).
  if (hasStr ? decoder.fastDecoder() !== null : decoder.lineDecoder() === null) return null;
  if (decoder.fields.length > 255) return null;
  const out: number[] = [];
  let f = 0;
  for (const st of steps) {
    if (st.type === 'literal') {
      const b = encoder.encode(st.text);
      if (b.length > 0xffff || b.includes(10) || b.includes(13)) return null;
      // Zero fill to a multiple of 8 bytes: the scanner compares 8 bytes at a time.
      out.push(OP_LIT, b.length & 0xff, b.length >> 8, ...b, ...new Array<number>((8 - (b.length % 8)) % 8).fill(0));
      continue;
    }
    const c = st.conv;
    if (c.width < 0 || c.precision === -2 || c.kind === 'char' || c.kind === 'oct') return null;
    if (c.kind === 'str') {
      if (c.width !== 0 || c.precision !== -1) return null;
      out.push(OP_STR, f++);
      continue;
    }
    const width = c.flags.includes('-') && c.width > 0 ? c.width : 0;
    if (width > 0xffff) return null;
    const op = c.kind === 'int' ? OP_INT : c.kind === 'uint' ? OP_UINT : c.kind === 'ptr' ? OP_PTR : c.flags.includes('#') ? OP_HEXALT : OP_HEX;
    out.push(op, f++, width & 0xff, width >> 8);
  }
  out.push(OP_END);
  return { bytes: Uint8Array.from(out), nfields: f, hasStr };
}
