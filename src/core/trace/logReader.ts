/**
 * Streaming reader for QEMU's log trace backend: the I/O of a read (chunks pushed or a file
 * range read, lines split across chunks held until they end, over-long lines skipped) in front
 * of its scanners. Complete lines go to the WebAssembly scanner (logWasmScan.ts) when it is
 * built, else to the JavaScript one (logFastScan.ts); the lines either declines, and lines
 * that arrive in pieces, are parsed by the exact parser (logLines.ts). A line is decoded in
 * place (no string per line) unless it is kept as text (unknown event, malformed line).
 */
import type { Catalogue } from './catalogue';
import { FastLineScanner } from './logFastScan';
import { LogLines } from './logLines';
import { WasmLineScanner } from './logWasmScan';
import type { TraceStore } from './store';
import { logScanModule, scanFile } from './wasmScan';

/** Longest line kept; longer lines are counted as "other" without being buffered further. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export class LogLineParser {
  private readonly lines: LogLines;
  /** The WebAssembly scanner (null: the JavaScript loop scans). */
  private readonly wasm: WasmLineScanner | null;
  private readonly fast: FastLineScanner;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skippingLongLine = false;

  /**
   * useWasm: scan with the WebAssembly scanner when it is built (the default); false keeps
   * the JavaScript loop. Both give the same store.
   */
  constructor(store: TraceStore, catalogue: Catalogue, firstLine = 1, useWasm = true) {
    this.lines = new LogLines(store, catalogue, firstLine);
    const module = useWasm ? logScanModule() : null;
    this.wasm = module ? new WasmLineScanner(this.lines, module) : null;
    this.fast = new FastLineScanner(this.lines);
  }

  /** True when lines are scanned by the WebAssembly scanner. */
  get usesWasm(): boolean {
    return this.wasm !== null;
  }

  /** Number of the last line parsed (1-based numbering from firstLine). */
  get line(): number {
    return this.lines.line;
  }

  private get store(): TraceStore {
    return this.lines.store;
  }

  /** Continues into another store (a new batch); line numbering goes on. */
  setStore(store: TraceStore): void {
    this.lines.setStore(store);
    this.wasm?.setStore();
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
        this.store.noteOther(++this.lines.line);
      } else {
        this.pending.push(chunk.subarray(0, nl));
        const line = Buffer.concat(this.pending, this.pendingBytes + nl);
        this.pending = [];
        this.pendingBytes = 0;
        this.lines.parseLine(line, 0, line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length, ++this.lines.line);
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
    if (this.skippingLongLine) { this.skippingLongLine = false; this.store.lines++; this.store.noteOther(++this.lines.line); }
    if (this.pending.length === 0) return;
    const line = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.lines.parseLine(line, 0, line.length, ++this.lines.line);
    this.store.commit();
  }

  /** Drops the unfinished last line (input that was cut short); returns its byte count. */
  dropPartialLine(): number {
    const n = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.skippingLongLine = false;
    return n;
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
      if (this.wasm) this.wasm.scan(buf, start, end); else this.fast.scan(buf, start, end);
    } else this.parseLines(buf, start, end);
    this.store.commit();
  }

  /**
   * Reads [start, end) of an open plain log file (start at a line start) and parses it.
   * With the scanner on, bytes are read straight into its input area, saving a copy;
   * otherwise, and for a line longer than that area, through push(). A last line without
   * a newline is kept as push() keeps it (end() parses it). afterRead(bytes) is called
   * after each read.
   */
  readFile(fd: number, start: number, end: number, afterRead: (bytes: number) => void, signal?: AbortSignal, path = ''): void {
    const wasm = this.wasm;
    scanFile({
      take: () => (wasm === null || this.pending.length > 0 || this.skippingLongLine ? null : wasm.take()),
      give: (sc, finished) => wasm!.give(sc, finished),
      consume: (sc, len) => wasm!.consume(sc, len),
      push: (chunk) => this.push(chunk),
      countBytes: (n) => { this.store.bytes += n; },
    }, fd, start, end, afterRead, signal, path);
  }

  /** The general loop: one parseLine call per line. */
  private parseLines(buf: Buffer, start: number, end: number): void {
    let p = start;
    let line = this.lines.line;
    while (p < end) {
      let nl = buf.indexOf(10, p);
      if (nl < 0 || nl >= end) nl = end;
      let e = nl;
      if (e > p && buf[e - 1] === 13) e--;
      this.lines.parseLine(buf, p, e, ++line);
      p = nl + 1;
    }
    this.lines.line = line;
  }
}
