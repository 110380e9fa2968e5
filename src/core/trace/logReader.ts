/**
 * Streaming reader for QEMU's log trace backend. Chunks are scanned as bytes;
 * a line is decoded in place (no string per line) unless it is kept as text
 * (unknown event, malformed line).
 *
 * Accepted prefixes: `tid@sec.usec:` (before QEMU 10.1), `YYYY-MM-DDTHH:MM:SS.ffffffZ `
 * (10.1+, `-msg timestamp=on`) and none. After a prefix any identifier followed by a
 * space is an event (unknown names kept with their text); without a prefix only
 * catalogue names are events and everything else is "other".
 */
import { NAME_HASH_SEED, type Catalogue, type CatalogueEvent } from './catalogue';
import { DecodeScratch, type Decoder } from './decoder';
import type { FastDecode, LineDecode } from './decoderCodegen';
import { readSync } from 'node:fs';
import type { IntKind } from './columns';
import { CHUNK_BYTES, throwIfCancelled } from './source';
import type { EventTable, TraceStore } from './store';
import { acquireScanner, encodeProgram, INPUT_PAD, logScanModule, releaseScanner, ST_FULL, ST_NEED_PROGRAM, ST_SLOW, type ScanHooks, type ScannerInstance } from './wasmScan';

/** The kind codes of logscan.c's pack() (bigint columns take doubles and convert). */
const PACK_KIND: Record<IntKind, number> = { u8: 0, u16: 1, i32: 2, u32: 3, f64: 4, i64: 4, u64: 4 };

let scanTokens = 0;
function nextScanToken(): number {
  return ++scanTokens;
}

const IDENT = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  IDENT[c] = /[A-Za-z0-9_]/.test(ch) ? 1 : 0;
}

/** Longest line kept; longer lines are counted as "other" without being buffered further. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const POW10 = [1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1];

function nameWordsOf(name: Uint8Array): Int32Array {
  const n = name.length >> 2;
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) out[k] = name[4 * k]! | (name[4 * k + 1]! << 8) | (name[4 * k + 2]! << 16) | (name[4 * k + 3]! << 24);
  return out;
}

export class LogLineParser {
  private readonly scratch: DecodeScratch;
  private readonly byEvent: (EventTable | undefined)[] = [];
  private readonly fastBy: (FastDecode | null | undefined)[] = [];
  private readonly lineBy: (LineDecode | null | undefined)[] = [];
  /** Per catalogue event: its name's whole 4-byte little-endian words. */
  private readonly nameWords: (Int32Array | undefined)[] = [];
  /** Last catalogue event seen per thread (slot: tid code & 63), tried first by scanLines. */
  private readonly predicted: (CatalogueEvent | undefined)[] = new Array<CatalogueEvent | undefined>(64).fill(undefined);
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skippingLongLine = false;
  /** Number of the last line parsed (1-based numbering from firstLine). */
  line: number;
  private lastTid = -1;
  private lastTidCode = 0;
  /** Direct-mapped cache tid → store code (a multifd trace switches threads on almost every line). */
  private readonly tidKeys = new Float64Array(64).fill(-1);
  private readonly tidCodes = new Int32Array(64);
  /** Copy of the store's time base (NaN until the first timed line), read on every line. */
  private baseSec = NaN;
  private baseNs = 0;

  /** The WebAssembly scanner's module (null: the JavaScript loop scans). */
  private readonly wasmModule: WebAssembly.Module | null;
  /** The scanner instance while a range is scanned. */
  private active: ScannerInstance | null = null;
  /** Scanner string id → this store's string id (-1: not interned yet). */
  private wasmStringIds = new Int32Array(0);
  /** Names this reader and its current store to a scanner instance (new for each store). */
  private scanToken = nextScanToken();
  private readonly scanHooks: ScanHooks = {
    tidCode: (tid) => this.store.tidCode(tid),
    firstTime: (sec, ns) => {
      const ts = this.store.relTime(sec, ns, 1e9);
      return { ts, baseSec: this.store.base!.a, baseNs: this.store.base!.b };
    },
  };

  /**
   * useWasm: scan with the WebAssembly scanner when it is built (the default); false keeps
   * the JavaScript loop. Both give the same store.
   */
  constructor(private store: TraceStore, private readonly catalogue: Catalogue, firstLine = 1, useWasm = true) {
    this.scratch = new DecodeScratch(Math.max(8, catalogue.maxFields));
    this.line = firstLine - 1;
    this.wasmModule = useWasm ? logScanModule() : null;
  }

  /** True when lines are scanned by the WebAssembly scanner. */
  get usesWasm(): boolean {
    return this.wasmModule !== null;
  }

  /** Continues into another store (a new batch); line numbering goes on. */
  setStore(store: TraceStore): void {
    this.store = store;
    this.byEvent.length = 0;
    this.lastTid = -1;
    this.tidKeys.fill(-1);
    this.baseSec = NaN;
    this.wasmStringIds.fill(-1);
    this.scanToken = nextScanToken();
  }

  /** Feeds the next chunk. The parser may keep a reference to chunk's tail. */
  push(chunk: Buffer): void {
    this.store.bytes += chunk.length;
    let start = 0;
    if (this.pending.length > 0 || this.skippingLongLine) {
      const nl = chunk.indexOf(10);
      if (nl < 0) { this.hold(chunk); return; }
      if (this.skippingLongLine) {
        this.skippingLongLine = false;
        this.store.lines++;
        this.store.noteOther(++this.line);
      } else {
        this.pending.push(chunk.subarray(0, nl));
        const line = Buffer.concat(this.pending, this.pendingBytes + nl);
        this.pending = [];
        this.pendingBytes = 0;
        this.parseLine(line, 0, line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length, ++this.line);
      }
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last >= start) {
      this.parseRange(chunk, start, last + 1);
      start = last + 1;
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
  }

  /** Parses the last line when the input does not end with a newline. */
  end(): void {
    if (this.skippingLongLine) { this.skippingLongLine = false; this.store.lines++; this.store.noteOther(++this.line); }
    if (this.pending.length === 0) return;
    const line = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.parseLine(line, 0, line.length, ++this.line);
    this.store.commit();
  }

  private hold(part: Buffer): void {
    if (this.skippingLongLine) return;
    if (this.pendingBytes + part.length > MAX_LINE_BYTES) {
      this.pending = [];
      this.pendingBytes = 0;
      this.skippingLongLine = true;
      return;
    }
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  /** Parses the complete lines in buf[start, end); end is just after a newline. */
  parseRange(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === 10) {
      if (this.wasmModule) this.scanWasm(this.wasmModule, buf, start, end); else this.scanLines(buf, start, end);
    } else this.parseLines(buf, start, end);
    this.store.commit();
  }

  /**
   * scanLines with the WebAssembly scanner: the range is copied into its memory and
   * scanned there; the lines it declines are parsed by parseLine from buf, and its rows
   * are moved into the tables when a stage fills, before a row of the same event is
   * added here, and at the end of the range.
   */
  private scanWasm(module: WebAssembly.Module, buf: Buffer, start: number, end: number): void {
    const sc = acquireScanner(module, this.catalogue);
    this.active = sc;
    let done = false;
    try {
      this.scanWith(sc, buf, start, end);
      done = true;
    } finally {
      this.active = null;
      releaseScanner(sc, done);
    }
  }

  private scanWith(sc: ScannerInstance, buf: Buffer, start: number, end: number): void {
    const len = end - start;
    const input = sc.inputFor(len);
    new Uint8Array(sc.x.memory.buffer, input, len).set(buf.subarray(start, end));
    this.scanInput(sc, len, start - input, () => buf);
  }

  /**
   * Scans the first len bytes of the scanner's input area (they end with a newline); the
   * lines it declines are parsed from bufNow() at (address + off). bufNow is asked again
   * after every scanner call (the scanner may grow its memory, detaching views of it).
   */
  private scanInput(sc: ScannerInstance, len: number, off: number, bufNow: () => Buffer): void {
    const x = sc.x;
    if (sc.owner !== this.scanToken) {
      // Thread codes and the time base the instance caches belong to another store.
      x.reset_store();
      sc.owner = this.scanToken;
    }
    sc.hooks = this.scanHooks;
    const input = sc.input;
    const wend = input + len;
    const end = wend + off;
    let p = input;
    let line = this.line;
    let taken = 0;
    while (p < wend) {
      p = x.scan(p, wend, line);
      line = x.line();
      taken += x.lines_taken();
      if (x.new_strings_count() > 0) this.takeWasmStrings(sc, bufNow(), off);
      const st = x.status();
      if (st === ST_SLOW) {
        p = this.slowLine(bufNow(), p + off, end, ++line) - off;
      } else if (st === ST_FULL) {
        this.commitWasmEvent(sc, x.status_arg());
      } else if (st === ST_NEED_PROGRAM) {
        this.programFor(sc, x.status_arg());
      }
    }
    this.store.lines += taken;
    this.line = line;
    const n = x.dirty_count();
    if (n > 0) {
      const dirty = new Uint32Array(x.memory.buffer, x.dirty_ptr(), n).slice();
      for (const idx of dirty) this.commitWasmEvent(sc, idx);
      x.clear_dirty();
    }
  }

  /**
   * Reads [start, end) of an open plain log file (start at a line start) and parses it.
   * With the scanner on, bytes are read straight into its input area, saving a copy;
   * otherwise, and for a line longer than that area, through push(). A last line without
   * a newline is kept as push() keeps it (end() parses it). afterRead(bytes) is called
   * after each read.
   */
  readFile(fd: number, start: number, end: number, afterRead: (bytes: number) => void, signal?: AbortSignal): void {
    let pos = start;
    if (this.wasmModule !== null && this.pending.length === 0 && !this.skippingLongLine) {
      const sc = acquireScanner(this.wasmModule, this.catalogue);
      this.active = sc;
      let finished = false;
      let tail: Buffer | undefined;
      try {
        sc.inputFor(CHUNK_BYTES);
        const cap = sc.inputCap - INPUT_PAD;
        let carry = 0;
        while (pos < end) {
          throwIfCancelled(signal);
          if (carry === cap) break;
          const want = Math.min(cap - carry, end - pos);
          const got = readSync(fd, new Uint8Array(sc.x.memory.buffer, sc.input + carry, want), 0, want, pos);
          if (got === 0) break;
          pos += got;
          this.store.bytes += got;
          const len = carry + got;
          const last = Buffer.from(sc.x.memory.buffer, sc.input, len).lastIndexOf(10);
          if (last >= 0) {
            const input = sc.input;
            this.scanInput(sc, last + 1, -input, () => Buffer.from(sc.x.memory.buffer, input, len));
            this.store.commit();
            carry = len - (last + 1);
            if (carry > 0) new Uint8Array(sc.x.memory.buffer).copyWithin(sc.input, sc.input + last + 1, sc.input + len);
          } else carry = len;
          afterRead(got);
        }
        if (carry > 0) tail = Buffer.from(new Uint8Array(sc.x.memory.buffer, sc.input, carry));
        finished = true;
      } finally {
        this.active = null;
        releaseScanner(sc, finished);
      }
      // The partial last line, or a line longer than the input area, goes on through push().
      if (tail) { this.store.bytes -= tail.length; this.push(tail); }
    }
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    while (pos < end) {
      throwIfCancelled(signal);
      const got = readSync(fd, chunk, 0, Math.min(chunk.length, end - pos), pos);
      if (got === 0) break;
      pos += got;
      this.push(chunk.subarray(0, got));
      afterRead(got);
    }
  }


  private programFor(sc: ScannerInstance, idx: number): void {
    const x = sc.x;
    const ev = this.catalogue.events[idx]!;
    const prog = encodeProgram(ev.decoder);
    if (prog === null) { x.set_program(idx, 0, 0, 0); return; }
    const at = x.alloc(prog.bytes.length);
    if (at === 0) { x.set_program(idx, 0, 0, 0); return; }
    new Uint8Array(x.memory.buffer).set(prog.bytes, at);
    x.set_program(idx, at, prog.nfields, prog.hasStr ? 1 : 0);
    const fields = ev.decoder!.fields;
    const strs = fields.flatMap((f, i) => (f.valueType === 'string' ? [i] : []));
    sc.strFields[idx] = strs.length > 0 ? Int32Array.from(strs) : null;
  }

  private takeWasmStrings(sc: ScannerInstance, buf: Buffer, off: number): void {
    const x = sc.x;
    const log = new Uint32Array(x.memory.buffer, x.new_strings_ptr(), x.new_strings_count() * 3);
    for (let k = 0; k < log.length; k += 3) {
      const at = log[k + 1]! + off;
      sc.strings[log[k]!] = buf.toString('utf8', at, at + log[k + 2]!);
    }
    x.clear_new_strings();
  }

  /** Moves the scanner's staged rows of event idx into its table. */
  private commitWasmEvent(sc: ScannerInstance, idx: number): void {
    const x = sc.x;
    const n = x.staged(idx);
    if (n === 0) return;
    const ev = this.catalogue.events[idx]!;
    let t = this.byEvent[idx];
    if (t === undefined) { t = this.store.tableFor(ev.decl.name, ev.decoder!.fields); this.byEvent[idx] = t; }
    const stage = x.stage_ptr(idx);
    const stride = x.stage_rows() * 8;
    const colAt = (k: number): number => stage + k * stride;
    // Views are made from the current memory each time: a growing memory detaches old ones.
    const strs = sc.strFields[idx];
    if (strs) for (const f of strs) this.mapWasmStrings(sc.strings, new Int32Array(x.memory.buffer, colAt(3 + f), 2 * n));
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

  /** Replaces scanner string ids by this store's string ids. */
  /** Replaces scanner string ids by this store's; words holds a 64-bit column as 32-bit words (ids in the low ones). */
  private mapWasmStrings(texts: readonly string[], words: Int32Array): void {
    if (this.wasmStringIds.length < texts.length) {
      const next = new Int32Array(Math.max(64, texts.length * 2)).fill(-1);
      next.set(this.wasmStringIds);
      this.wasmStringIds = next;
    }
    const ids = this.wasmStringIds;
    const strings = this.store.strings;
    for (let r = 0; r < words.length; r += 2) {
      const id = words[r]!;
      let sid = ids[id]!;
      if (sid < 0) { sid = strings.intern(texts[id]!); ids[id] = sid; }
      words[r] = sid;
    }
  }


  /** The general loop: one parseLine call per line. */
  private parseLines(buf: Buffer, start: number, end: number): void {
    let p = start;
    let line = this.line;
    while (p < end) {
      let nl = buf.indexOf(10, p);
      if (nl < 0 || nl >= end) nl = end;
      let e = nl;
      if (e > p && buf[e - 1] === 13) e--;
      this.parseLine(buf, p, e, ++line);
      p = nl + 1;
    }
    this.line = line;
  }

  /**
   * The hot loop. buf[end - 1] is a newline, so every scan below stops at a newline
   * at the latest without bound checks. A line with a `tid@sec.usec:` prefix (or none),
   * a catalogue event and a format with a line decoder is decoded straight into its
   * table's stage; any other line (or one the line decoder rejects) goes to parseLine,
   * which parses it again from its start with the exact decoders.
   */
  private scanLines(buf: Buffer, start: number, end: number): void {
    const store = this.store;
    const cat = this.catalogue;
    const byEvent = this.byEvent;
    const lineBy = this.lineBy;
    const tidKeys = this.tidKeys;
    const tidCodes = this.tidCodes;
    const predicted = this.predicted;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    /** Text of the last ten-digit seconds field as words (secW0 === 0: none; digits are never 0 bytes). */
    let secW0 = 0, secW1 = 0, secW2 = 0, lastSec = 0;
    let line = this.line;
    let fastLines = 0;
    let p = start;
    while (p < end) {
      line++;
      const s = p;
      let i = p;
      let ts = NaN;
      let tidCode = 0;
      let c = buf[i]!;
      if (c >= 48 && c <= 57) {
        let v = 0;
        do { v = v * 10 + (c - 48); c = buf[++i]!; } while (c >= 48 && c <= 57);
        if (c === 45 && i - s === 4) {
          // ISO-8601 prefix. parseLine reads one only in a line of more than 21 bytes (CR
          // excluded); a successful parse covers 21 bytes without a newline, so checking
          // byte 21 first gives the same lines (and the same first time base).
          const c21 = buf[s + 21];
          if (c21 === undefined || c21 === 10 || (c21 === 13 && buf[s + 22] === 10)) { p = this.slowLine(buf, s, end, line); continue; }
          const t = this.parseIso(buf, s, end, v);
          if (t < 0 || IDENT[buf[t]!] !== 1) { p = this.slowLine(buf, s, end, line); continue; }
          ts = this.isoTs;
          i = t;
        } else {
        if (c !== 64) { p = this.slowLine(buf, s, end, line); continue; }
        let sec = 0;
        const secStart = ++i;
        // Seconds change rarely: ten digits and '.' equal to the previous line's are that value.
        if (secW0 !== 0 && secStart + 11 <= end && dv.getInt32(secStart, true) === secW0 && dv.getInt32(secStart + 4, true) === secW1 && dv.getUint16(secStart + 8, true) === secW2 && buf[secStart + 10] === 46) {
          sec = lastSec;
          i = secStart + 10;
          c = 46;
        } else {
          c = buf[i]!;
          while (c >= 48 && c <= 57) { sec = sec * 10 + (c - 48); c = buf[++i]!; }
          if (i === secStart || c !== 46) { p = this.slowLine(buf, s, end, line); continue; }
          if (i - secStart === 10) {
            secW0 = dv.getInt32(secStart, true);
            secW1 = dv.getInt32(secStart + 4, true);
            secW2 = dv.getUint16(secStart + 8, true);
            lastSec = sec;
          } else secW0 = 0;
        }
        let frac = 0;
        const fs = ++i;
        c = buf[i]!;
        while (c >= 48 && c <= 57) { frac = frac * 10 + (c - 48); c = buf[++i]!; }
        const nd = i - fs;
        if (nd === 0 || nd > 9 || c !== 58) { p = this.slowLine(buf, s, end, line); continue; }
        const ns = frac * POW10[nd]!;
        if (this.baseSec !== this.baseSec) { ts = store.relTime(sec, ns, 1e9); this.baseSec = store.base!.a; this.baseNs = store.base!.b; } else ts = (sec - this.baseSec) * 1e9 + (ns - this.baseNs);
        if (v !== this.lastTid) {
          const slot = v & 63;
          if (tidKeys[slot] !== v) { tidKeys[slot] = v; tidCodes[slot] = store.tidCode(v); }
          this.lastTid = v;
          this.lastTidCode = tidCodes[slot]!;
        }
        tidCode = this.lastTidCode;
        i++;
        }
      }
      const ns = i;
      // A thread mostly repeats its previous event: try that name's bytes first.
      const slot = tidCode & 63;
      let ev = predicted[slot];
      if (ev !== undefined) {
        const nb = ev.nameBytes;
        const nl = nb.length;
        c = buf[ns + nl]!;
        if ((c === 32 || c === 10 || c === 13) && ns + nl < end) {
          const words = this.nameWords[ev.index]!;
          const nw = words.length;
          let k = 0;
          while (k < nw && dv.getInt32(ns + 4 * k, true) === words[k]) k++;
          if (k === nw) {
            k *= 4;
            while (k < nl && buf[ns + k] === nb[k]) k++;
          }
          if (k === nl) i = ns + nl; else ev = undefined;
        } else ev = undefined;
      }
      if (ev === undefined) {
        let h = NAME_HASH_SEED;
        c = buf[i]!;
        while (IDENT[c] === 1) { h = Math.imul(h ^ c, 0x01000193); c = buf[++i]!; }
        if (i === ns || (c !== 32 && c !== 10 && c !== 13)) { p = this.slowLine(buf, s, end, line); continue; }
        ev = cat.lookupBytes(buf, ns, i, h);
        if (ev === undefined) { p = this.slowLine(buf, s, end, line); continue; }
        predicted[slot] = ev;
        if (this.nameWords[ev.index] === undefined) this.nameWords[ev.index] = nameWordsOf(ev.nameBytes);
      }
      let dec = lineBy[ev.index];
      if (dec === undefined) { dec = ev.decoder?.lineDecoder() ?? null; lineBy[ev.index] = dec; }
      if (dec === null) {
        // No line decoder (%s, %c, %o): the exact decoders need the line end.
        const d = ev.decoder;
        let nl = buf.indexOf(10, i);
        if (nl < 0 || nl >= end) nl = end;
        let e = nl;
        if (e > s && buf[e - 1] === 13) e--;
        if (d === undefined || (c !== 32 && i !== e)) { p = this.slowLine(buf, s, end, line); continue; }
        this.decodeExact(ev, d, buf, s, c === 32 ? i + 1 : e, e, ts, line, tidCode);
        fastLines++;
        p = nl + 1;
        continue;
      }
      let t = byEvent[ev.index];
      if (t === undefined) { t = store.tableFor(ev.decl.name, ev.decoder!.fields); byEvent[ev.index] = t; }
      const st = t.stage.length === 0 ? t.openStage() : t.stage;
      const o = t.staged * t.stride;
      const r = dec(buf, c === 32 ? i + 1 : i, st, o + 3, dv);
      let next: number;
      if (r >= 0 && buf[r] === 10) next = r + 1;
      else if (r >= 0 && buf[r] === 13 && buf[r + 1] === 10) next = r + 2;
      else { p = this.slowLine(buf, s, end, line); continue; }
      st[o] = ts;
      st[o + 1] = line;
      st[o + 2] = tidCode;
      t.count++;
      if (++t.staged * t.stride === st.length) t.commitStage();
      fastLines++;
      p = next;
    }
    store.lines += fastLines;
    this.line = line;
  }

  /** Parses the line starting at s with parseLine; returns the start of the next line. */
  private slowLine(buf: Buffer, s: number, end: number, line: number): number {
    let nl = buf.indexOf(10, s);
    if (nl < 0 || nl >= end) nl = end;
    let e = nl;
    if (e > s && buf[e - 1] === 13) e--;
    this.parseLine(buf, s, e, line);
    return nl + 1;
  }

  private parseLine(buf: Buffer, s: number, e: number, line: number): void {
    const store = this.store;
    store.lines++;
    let i = s;
    let ts = NaN;
    let tidCode = 0;
    let prefixed = false;
    let c = buf[i];
    if (c !== undefined && c >= 48 && c <= 57 && i < e) {
      let v = 0;
      let j = i;
      while (j < e) { const d = buf[j]! - 48; if (d < 0 || d > 9) break; v = v * 10 + d; j++; }
      const sep = buf[j];
      if (sep === 64) {
        let sec = 0;
        let k = j + 1;
        const secStart = k;
        while (k < e) { const d = buf[k]! - 48; if (d < 0 || d > 9) break; sec = sec * 10 + d; k++; }
        if (k > secStart && buf[k] === 46) {
          k++;
          let frac = 0;
          const fs = k;
          while (k < e) { const d = buf[k]! - 48; if (d < 0 || d > 9) break; frac = frac * 10 + d; k++; }
          const nd = k - fs;
          if (nd > 0 && nd <= 9 && buf[k] === 58) {
            const ns = frac * POW10[nd]!;
            if (this.baseSec !== this.baseSec) { ts = store.relTime(sec, ns, 1e9); this.baseSec = store.base!.a; this.baseNs = store.base!.b; } else ts = (sec - this.baseSec) * 1e9 + (ns - this.baseNs);
            if (v !== this.lastTid) {
              const slot = v & 63;
              if (this.tidKeys[slot] !== v) { this.tidKeys[slot] = v; this.tidCodes[slot] = store.tidCode(v); }
              this.lastTid = v;
              this.lastTidCode = this.tidCodes[slot]!;
            }
            tidCode = this.lastTidCode;
            prefixed = true;
            i = k + 1;
          }
        }
      } else if (sep === 45 && j - i === 4 && e - i > 21) {
        const t = this.parseIso(buf, i, e, v);
        if (t >= 0) { ts = this.isoTs; prefixed = true; i = t; }
      }
    }
    const ns = i;
    let h = NAME_HASH_SEED;
    while (i < e) {
      c = buf[i]!;
      if (IDENT[c] === 0) break;
      h = Math.imul(h ^ c, 0x01000193);
      i++;
    }
    const ne = i;
    if (ne === ns || (ne < e && buf[ne] !== 32) || (buf[ns]! >= 48 && buf[ns]! <= 57)) {
      store.noteOther(line);
      return;
    }
    const ev = this.catalogue.lookupBytes(buf, ns, ne, h);
    if (ev !== undefined && ev.decoder !== undefined) {
      this.decodeExact(ev, ev.decoder, buf, s, ne < e ? ne + 1 : e, e, ts, line, tidCode);
      return;
    }
    if (!prefixed && ev === undefined) { store.noteOther(line); return; }
    const name = buf.toString('latin1', ns, ne);
    store.unknownEvents++;
    store.tableFor(name, null).addValues(ts, line, tidCode, [buf.toString('utf8', ne < e ? ne + 1 : e, e)]);
  }

  /** Decodes the arguments buf[argStart, e) of the line starting at s with the exact decoders and stores the row. */
  private decodeExact(ev: CatalogueEvent, decoder: Decoder, buf: Buffer, s: number, argStart: number, e: number, ts: number, line: number, tidCode: number): void {
    let fast = this.fastBy[ev.index];
    if (fast === undefined) { fast = decoder.fastDecoder(); this.fastBy[ev.index] = fast; }
    const scratch = this.scratch;
    if (fast !== null ? fast(buf, argStart, e, scratch.num, scratch.big) : decoder.interpret(buf, argStart, e, scratch)) {
      // The scanner's rows of this event come first.
      if (this.active !== null) this.commitWasmEvent(this.active, ev.index);
      let t = this.byEvent[ev.index];
      if (t === undefined) { t = this.store.tableFor(ev.decl.name, decoder.fields); this.byEvent[ev.index] = t; }
      t.addDecoded(ts, line, tidCode, scratch, buf);
    } else {
      this.store.noteMalformed(line, ev.decl.name, buf.toString('utf8', s, e));
    }
  }

  private isoTs = NaN;

  /** Parses `YYYY-MM-DDTHH:MM:SS.f+Z ` at s (year already read); returns the name start or -1. */
  private parseIso(buf: Buffer, s: number, e: number, year: number): number {
    const two = (at: number): number => {
      const a = buf[at]! - 48, b = buf[at + 1]! - 48;
      return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
    };
    if (buf[s + 7] !== 45 || buf[s + 10] !== 84 || buf[s + 13] !== 58 || buf[s + 16] !== 58) return -1;
    const mo = two(s + 5), d = two(s + 8), hh = two(s + 11), mi = two(s + 14), ss = two(s + 17);
    if (mo < 0 || d < 0 || hh < 0 || mi < 0 || ss < 0) return -1;
    let k = s + 19;
    let frac = 0;
    let nd = 0;
    if (buf[k] === 46) {
      k++;
      const fs = k;
      while (k < e) { const x = buf[k]! - 48; if (x < 0 || x > 9) break; frac = frac * 10 + x; k++; }
      nd = k - fs;
      if (nd === 0 || nd > 9) return -1;
    }
    if (buf[k] !== 90 || buf[k + 1] !== 32) return -1;
    const sec = daysFromCivil(year, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
    this.isoTs = this.store.relTime(sec, nd === 0 ? 0 : frac * POW10[nd]!, 1e9);
    return k + 2;
  }
}
