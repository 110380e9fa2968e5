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
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalogue } from './catalogue';
import type { Decoder } from './decoder';

export const OP_END = 0, OP_LIT = 1, OP_INT = 2, OP_UINT = 3, OP_HEX = 4, OP_HEXALT = 5, OP_PTR = 6, OP_STR = 7;
export const ST_END = 0, ST_SLOW = 1, ST_FULL = 2, ST_NEED_PROGRAM = 3, ST_STRINGS = 4;
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
  range_min(): number;
  range_max(): number;
  /** kind: 0 u8, 1 u16, 2 i32, 3 u32, 4 f64; returns the address of the packed values, 0 when one does not fit. */
  pack(index: number, k: number, n: number, kind: number): number;
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
    const events = catalogue.events;
    let nameBytes = 0;
    for (const ev of events) nameBytes += ev.nameBytes.length;
    if (x.init(events.length) !== 0) throw new Error('trace scanner: out of memory');
    const names = x.alloc(nameBytes + 8);
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

const pools = new WeakMap<Catalogue, ScannerInstance[]>();

/** A free scanner instance for the catalogue (made when none is free); give it back with releaseScanner. */
export function acquireScanner(module: WebAssembly.Module, catalogue: Catalogue): ScannerInstance {
  let pool = pools.get(catalogue);
  if (!pool) { pool = []; pools.set(catalogue, pool); }
  let s = pool.find((p) => !p.busy);
  if (!s) { s = new ScannerInstance(module, catalogue); pool.push(s); }
  s.busy = true;
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
