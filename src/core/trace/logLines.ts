/**
 * The lines of one log-backend read as its scanners share them: the store they go to, the line
 * count, the thread and time-base caches, and the exact parser of one line (parseLine), which
 * decides every line the fast scanners (logFastScan.ts, logWasmScan.ts) decline.
 *
 * Accepted prefixes: `tid@sec.usec:` (before QEMU 10.1), `YYYY-MM-DDTHH:MM:SS.ffffffZ `
 * (10.1+, `-msg timestamp=on`) and none. After a prefix any identifier followed by a
 * space is an event (unknown names kept with their text); without a prefix only
 * catalogue names are events and everything else is "other".
 */
import { NAME_HASH_SEED, type Catalogue, type CatalogueEvent } from './catalogue';
import { DecodeScratch, type Decoder } from './decoder';
import type { FastDecode } from './decoderCodegen';
import type { EventTable, TraceStore } from './store';

/** 1 for the bytes of an identifier ([A-Za-z0-9_]). */
export const IDENT = new Uint8Array(256);
for (let c = 0; c < 256; c++) IDENT[c] = /[A-Za-z0-9_]/.test(String.fromCharCode(c)) ? 1 : 0;

/** ns per unit of a fraction of n digits: POW10[n]. */
export const POW10 = [1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1];

function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export class LogLines {
  private readonly scratch: DecodeScratch;
  /** Per catalogue event: its table in the current store. */
  readonly byEvent: (EventTable | undefined)[] = [];
  private readonly fastBy: (FastDecode | null | undefined)[] = [];
  /** Number of the last line parsed (1-based numbering from the read's first line). */
  line: number;
  lastTid = -1;
  lastTidCode = 0;
  /** Direct-mapped cache tid → store code (a multifd trace switches threads on almost every line). */
  readonly tidKeys = new Float64Array(64).fill(-1);
  readonly tidCodes = new Int32Array(64);
  /** Copy of the store's time base (NaN until the first timed line), read on every line. */
  baseSec = NaN;
  baseNs = 0;
  /** Relative time of the ISO-8601 prefix parseIso read last. */
  isoTs = NaN;
  /**
   * Called before parseLine adds a row of catalogue event idx: the WebAssembly scanner moves
   * the rows it staged of that event first, so a table's rows stay in line order.
   */
  beforeRow: ((idx: number) => void) | null = null;

  constructor(public store: TraceStore, readonly catalogue: Catalogue, firstLine: number) {
    this.scratch = new DecodeScratch(Math.max(8, catalogue.maxFields));
    this.line = firstLine - 1;
  }

  /** Continues into another store (a new batch); line numbering goes on. */
  setStore(store: TraceStore): void {
    this.store = store;
    this.byEvent.length = 0;
    this.lastTid = -1;
    this.tidKeys.fill(-1);
    this.baseSec = NaN;
  }

  /** The table of catalogue event ev in the current store. */
  tableOf(ev: CatalogueEvent): EventTable {
    let t = this.byEvent[ev.index];
    if (t === undefined) { t = this.store.tableFor(ev.decl.name, ev.decoder!.fields); this.byEvent[ev.index] = t; }
    return t;
  }

  /** Time of `sec.ns` relative to the store's base (set by the first timed line). */
  relTime(sec: number, ns: number): number {
    if (this.baseSec !== this.baseSec) {
      const ts = this.store.relTime(sec, ns, 1e9);
      this.baseSec = this.store.base!.a;
      this.baseNs = this.store.base!.b;
      return ts;
    }
    return (sec - this.baseSec) * 1e9 + (ns - this.baseNs);
  }

  /** The store's code of thread id v. */
  tidCode(v: number): number {
    if (v !== this.lastTid) {
      const slot = v & 63;
      if (this.tidKeys[slot] !== v) { this.tidKeys[slot] = v; this.tidCodes[slot] = this.store.tidCode(v); }
      this.lastTid = v;
      this.lastTidCode = this.tidCodes[slot]!;
    }
    return this.lastTidCode;
  }

  /** Parses the line starting at s with parseLine; returns the start of the next line. */
  slowLine(buf: Buffer, s: number, end: number, line: number): number {
    let nl = buf.indexOf(10, s);
    if (nl < 0 || nl >= end) nl = end;
    let e = nl;
    if (e > s && buf[e - 1] === 13) e--;
    this.parseLine(buf, s, e, line);
    return nl + 1;
  }

  /** The exact parser of the line buf[s, e) (no line end): it stores the row, or notes the line as other or malformed. */
  parseLine(buf: Buffer, s: number, e: number, line: number): void {
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
        // `tid@sec.frac:` whose numbers no clock gives (more than 15 digits, a fraction of more
        // than 9) or whose form is broken: a line of the trace, malformed, not other output.
        const good = j - i <= 15 && k > secStart && k - secStart <= 15 && buf[k] === 46;
        if (!good) { this.badTimestamp(buf, s, e, line); return; }
        k++;
        let frac = 0;
        const fs = k;
        while (k < e) { const d = buf[k]! - 48; if (d < 0 || d > 9) break; frac = frac * 10 + d; k++; }
        const nd = k - fs;
        if (!(nd > 0 && nd <= 9 && buf[k] === 58)) { this.badTimestamp(buf, s, e, line); return; }
        ts = this.relTime(sec, frac * POW10[nd]!);
        tidCode = this.tidCode(v);
        prefixed = true;
        i = k + 1;
      } else if (sep === 45 && j - i === 4 && e - i > 21) {
        const t = this.parseIso(buf, i, e, v);
        if (t >= 0) { ts = this.isoTs; prefixed = true; i = t; }
        else if (buf[i + 7] === 45 && buf[i + 10] === 84) { this.badTimestamp(buf, s, e, line); return; }
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

  /** A line whose timestamp prefix cannot be read is malformed (named so), not other output. */
  private badTimestamp(buf: Buffer, s: number, e: number, line: number): void {
    this.store.noteMalformed(line, '(bad timestamp)', buf.toString('utf8', s, e));
  }

  /** Decodes the arguments buf[argStart, e) of the line starting at s with the exact decoders and stores the row. */
  decodeExact(ev: CatalogueEvent, decoder: Decoder, buf: Buffer, s: number, argStart: number, e: number, ts: number, line: number, tidCode: number): void {
    let fast = this.fastBy[ev.index];
    if (fast === undefined) { fast = decoder.fastDecoder(); this.fastBy[ev.index] = fast; }
    const scratch = this.scratch;
    if (fast !== null ? fast(buf, argStart, e, scratch.num, scratch.big) : decoder.interpret(buf, argStart, e, scratch)) {
      this.beforeRow?.(ev.index);
      this.tableOf(ev).addDecoded(ts, line, tidCode, scratch, buf);
    } else {
      this.store.noteMalformed(line, ev.decl.name, buf.toString('utf8', s, e));
    }
  }

  /** Parses `YYYY-MM-DDTHH:MM:SS.f+Z ` at s (year already read) into isoTs; returns the name start or -1. */
  parseIso(buf: Buffer, s: number, e: number, year: number): number {
    const two = (at: number): number => {
      const a = buf[at]! - 48, b = buf[at + 1]! - 48;
      return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
    };
    if (buf[s + 7] !== 45 || buf[s + 10] !== 84 || buf[s + 13] !== 58 || buf[s + 16] !== 58) return -1;
    const mo = two(s + 5), d = two(s + 8), hh = two(s + 11), mi = two(s + 14), ss = two(s + 17);
    // Fields out of their ranges (month 13, hour 24, ...) are no time: the line is not prefixed.
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 60) return -1;
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
