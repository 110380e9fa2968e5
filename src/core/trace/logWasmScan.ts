/**
 * The log backend's lines through the WebAssembly scanner (wasm/logscan.c, loaded by
 * wasmScan.ts): input is copied (or read straight) into its memory and scanned there; the lines
 * it declines are parsed by LogLines.parseLine from the same bytes, and its staged rows are
 * moved into the tables when a stage fills, before a row of the same event is added by
 * parseLine, and at the end of the range.
 */
import { acquireScanner, encodeProgram, nextScanToken, releaseScanner, ST_FULL, ST_NEED_PROGRAM, ST_SLOW, WasmRowSink, type ScanHooks, type ScannerInstance } from './wasmScan';
import type { LogLines } from './logLines';

export class WasmLineScanner {
  private readonly rows = new WasmRowSink();
  /** Names this reader and its current store to a scanner instance (new for each store). */
  private scanToken = nextScanToken();
  private readonly scanHooks: ScanHooks = {
    tidCode: (tid) => this.lines.store.tidCode(tid),
    firstTime: (sec, ns) => {
      const store = this.lines.store;
      const ts = store.relTime(sec, ns, 1e9);
      return { ts, baseSec: store.base!.a, baseNs: store.base!.b };
    },
  };

  constructor(private readonly lines: LogLines, private readonly module: WebAssembly.Module) {}

  /** Continues into another store: the instance's caches of the last one are dropped. */
  setStore(): void {
    this.rows.reset();
    this.scanToken = nextScanToken();
  }

  /** Scans the complete lines of buf[start, end); buf[end - 1] is a newline. */
  scan(buf: Buffer, start: number, end: number): void {
    const sc = this.take();
    let done = false;
    try {
      const len = end - start;
      const input = sc.inputFor(len);
      new Uint8Array(sc.x.memory.buffer, input, len).set(buf.subarray(start, end));
      this.scanInput(sc, len, start - input, () => buf);
      done = true;
    } finally {
      this.give(sc, done);
    }
  }

  /**
   * Scans what a file read put into the input area (len bytes, up to its last newline);
   * returns the bytes taken (0: no newline yet, the caller reads on).
   */
  consume(sc: ScannerInstance, len: number): number {
    const input = sc.input;
    const last = Buffer.from(sc.x.memory.buffer, input, len).lastIndexOf(10);
    if (last < 0) return 0;
    this.scanInput(sc, last + 1, -input, () => Buffer.from(sc.x.memory.buffer, input, len));
    this.lines.store.commit();
    return last + 1;
  }

  /** An instance for this reader's catalogue, held until give(). */
  take(): ScannerInstance {
    const sc = acquireScanner(this.module, this.lines.catalogue);
    this.lines.beforeRow = (idx) => this.commitEvent(sc, idx);
    return sc;
  }

  give(sc: ScannerInstance, finished: boolean): void {
    this.lines.beforeRow = null;
    releaseScanner(sc, finished);
  }

  /**
   * Scans the first len bytes of the scanner's input area (they end with a newline); the
   * lines it declines are parsed from bufNow() at (address + off). bufNow is asked again
   * after every scanner call (the scanner may grow its memory, detaching views of it).
   */
  private scanInput(sc: ScannerInstance, len: number, off: number, bufNow: () => Buffer): void {
    const x = sc.x;
    const lines = this.lines;
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
    let line = lines.line;
    let taken = 0;
    while (p < wend) {
      p = x.scan(p, wend, line);
      line = x.line();
      taken += x.lines_taken();
      if (x.new_strings_count() > 0) this.rows.takeStrings(sc, bufNow(), off);
      const st = x.status();
      if (st === ST_SLOW) {
        p = lines.slowLine(bufNow(), p + off, end, ++line) - off;
      } else if (st === ST_FULL) {
        this.commitEvent(sc, x.status_arg());
      } else if (st === ST_NEED_PROGRAM) {
        this.programFor(sc, x.status_arg());
      }
    }
    lines.store.lines += taken;
    lines.line = line;
    const n = x.dirty_count();
    if (n > 0) {
      const dirty = new Uint32Array(x.memory.buffer, x.dirty_ptr(), n).slice();
      for (const idx of dirty) this.commitEvent(sc, idx);
      x.clear_dirty();
    }
  }

  private programFor(sc: ScannerInstance, idx: number): void {
    const x = sc.x;
    const ev = this.lines.catalogue.events[idx]!;
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

  /** Moves the scanner's staged rows of event idx into its table. */
  private commitEvent(sc: ScannerInstance, idx: number): void {
    if (sc.x.staged(idx) === 0) return;
    const lines = this.lines;
    this.rows.commit(sc, idx, lines.tableOf(lines.catalogue.events[idx]!), lines.store.strings);
  }
}
