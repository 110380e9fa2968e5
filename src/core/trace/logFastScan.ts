/**
 * The JavaScript line scanner: the hot loop that reads the log backend's common lines without
 * a string per line, used when the WebAssembly scanner is off or not built. A line with a
 * `tid@sec.usec:` or ISO-8601 prefix (or none), a catalogue event and a format with a line
 * decoder is decoded straight into its table's stage; any other line (or one the line decoder
 * rejects) goes to LogLines.parseLine, which parses it again from its start with the exact
 * decoders. Both give the same rows.
 */
import { NAME_HASH_SEED, type CatalogueEvent } from './catalogue';
import type { LineDecode } from './decoderCodegen';
import { IDENT as identBytes, POW10 as pow10, type LogLines } from './logLines';

// Read once per byte: local bindings, since an imported one is a getter call where the
// modules are not bundled (tests and benchmarks under tsx).
const IDENT = identBytes;
const POW10 = pow10;

function nameWordsOf(name: Uint8Array): Int32Array {
  const n = name.length >> 2;
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) out[k] = name[4 * k]! | (name[4 * k + 1]! << 8) | (name[4 * k + 2]! << 16) | (name[4 * k + 3]! << 24);
  return out;
}

export class FastLineScanner {
  private readonly lineBy: (LineDecode | null | undefined)[] = [];
  /** Per catalogue event: its name's whole 4-byte little-endian words. */
  private readonly nameWords: (Int32Array | undefined)[] = [];
  /** Last catalogue event seen per thread (slot: tid code & 63), tried first. */
  private readonly predicted: (CatalogueEvent | undefined)[] = new Array<CatalogueEvent | undefined>(64).fill(undefined);

  constructor(private readonly lines: LogLines) {}

  /**
   * Scans the complete lines of buf[start, end). buf[end - 1] is a newline, so every scan
   * below stops at a newline at the latest without bound checks.
   */
  scan(buf: Buffer, start: number, end: number): void {
    const lines = this.lines;
    const store = lines.store;
    const cat = lines.catalogue;
    const byEvent = lines.byEvent;
    const lineBy = this.lineBy;
    const tidKeys = lines.tidKeys;
    const tidCodes = lines.tidCodes;
    const predicted = this.predicted;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    /** Text of the last ten-digit seconds field as words (secW0 === 0: none; digits are never 0 bytes). */
    let secW0 = 0, secW1 = 0, secW2 = 0, lastSec = 0;
    let line = lines.line;
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
          if (c21 === undefined || c21 === 10 || (c21 === 13 && buf[s + 22] === 10)) { p = lines.slowLine(buf, s, end, line); continue; }
          const t = lines.parseIso(buf, s, end, v);
          if (t < 0 || IDENT[buf[t]!] !== 1) { p = lines.slowLine(buf, s, end, line); continue; }
          ts = lines.isoTs;
          i = t;
        } else {
        // The exact parser (parseLine) decides about a thread id or seconds of more than 15 digits.
        if (c !== 64 || i - s > 15) { p = lines.slowLine(buf, s, end, line); continue; }
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
          if (i === secStart || c !== 46 || i - secStart > 15) { p = lines.slowLine(buf, s, end, line); continue; }
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
        if (nd === 0 || nd > 9 || c !== 58) { p = lines.slowLine(buf, s, end, line); continue; }
        const ns = frac * POW10[nd]!;
        if (lines.baseSec !== lines.baseSec) { ts = store.relTime(sec, ns, 1e9); lines.baseSec = store.base!.a; lines.baseNs = store.base!.b; } else ts = (sec - lines.baseSec) * 1e9 + (ns - lines.baseNs);
        if (v !== lines.lastTid) {
          const slot = v & 63;
          if (tidKeys[slot] !== v) { tidKeys[slot] = v; tidCodes[slot] = store.tidCode(v); }
          lines.lastTid = v;
          lines.lastTidCode = tidCodes[slot]!;
        }
        tidCode = lines.lastTidCode;
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
        if (i === ns || (c !== 32 && c !== 10 && c !== 13)) { p = lines.slowLine(buf, s, end, line); continue; }
        ev = cat.lookupBytes(buf, ns, i, h);
        if (ev === undefined) { p = lines.slowLine(buf, s, end, line); continue; }
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
        if (d === undefined || (c !== 32 && i !== e)) { p = lines.slowLine(buf, s, end, line); continue; }
        lines.decodeExact(ev, d, buf, s, c === 32 ? i + 1 : e, e, ts, line, tidCode);
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
      else { p = lines.slowLine(buf, s, end, line); continue; }
      st[o] = ts;
      st[o + 1] = line;
      st[o + 2] = tidCode;
      t.count++;
      if (++t.staged * t.stride === st.length) t.commitStage();
      fastLines++;
      p = next;
    }
    store.lines += fastLines;
    lines.line = line;
  }
}
