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
import type { Catalogue } from './catalogue';
import { DecodeScratch, type FieldInfo } from './decoder';
import type { EventTable, FieldValue, TraceStore } from './store';
import { isStringType } from './traceEventsParser';

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
 * Walks record headers only and returns about n ranges that start at record
 * boundaries, with every mapping record of the file. Undefined when the file is
 * not a well-formed version 4 trace (it is then read in one piece, which reports the error).
 */
export async function splitSimpletrace(path: string, size: number, n: number): Promise<{ ranges: [number, number][]; mappings: [number, string][] } | undefined> {
  const { open } = await import('node:fs/promises');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    const mappings: [number, string][] = [];
    const cuts = [0];
    let pos = 24;
    let next = Math.floor(size / n);
    const head = Buffer.alloc(24);
    await fh.read(head, 0, 24, 0);
    if (!looksLikeSimpletrace(head) || head.readUInt32LE(16) !== 4 || head.readUInt32LE(20) !== 0) return undefined;
    while (pos < size) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead < 8) return undefined;
      let p = 0;
      while (p + 8 <= bytesRead) {
        const type = u32(buf, p);
        if (type === 0) {
          if (p + 20 > bytesRead) break;
          const len = u32(buf, p + 16);
          if (p + 20 + len > bytesRead) { if (len > 4096) return undefined; break; }
          mappings.push([u32(buf, p + 8) + u32(buf, p + 12) * U32, buf.toString('latin1', p + 20, p + 20 + len)]);
          p += 20 + len;
        } else if (type === 1) {
          if (p + 32 > bytesRead) break;
          const length = u32(buf, p + 24);
          if (length < 24) return undefined;
          if (pos + p >= next && cuts.length < n) { cuts.push(pos + p); next = Math.floor((size * cuts.length) / n) + 1; }
          p += 8 + length;
        } else return undefined;
      }
      if (p === 0) return undefined;
      pos += p;
    }
    if (pos !== size) return undefined;
    cuts.push(size);
    const ranges: [number, number][] = [];
    for (let i = 0; i + 1 < cuts.length; i++) if (cuts[i + 1]! > cuts[i]!) ranges.push([cuts[i]!, cuts[i + 1]!]);
    return { ranges, mappings };
  } finally {
    await fh.close();
  }
}

interface EventPlan {
  readonly name: string;
  readonly argIsString: boolean[];
  /** Per declared argument: the store field it fills, -1 when the format does not print it. */
  readonly argField: Int32Array;
  readonly fields: readonly FieldInfo[];
  table: EventTable | undefined;
}

export class SimpletraceParser {
  private carry: Buffer = Buffer.alloc(0);
  /** File offset of carry[0]. */
  private offset = 0;
  private headerDone = false;
  private failed = false;
  private readonly plans = new Map<number, EventPlan | null>();

  /**
   * part: continue a file split at record boundaries: the input starts at byte
   * `offset` (no header) and the file's mapping records are given up front.
   */
  constructor(private store: TraceStore, private readonly catalogue: Catalogue, part?: SimpletracePart) {
    store.positionKind = 'byteOffset';
    store.timeKind = 'monotonic';
    if (part) {
      this.offset = part.offset;
      this.headerDone = true;
      for (const [id, name] of part.mappings) this.map(id, name);
    }
  }

  /** Continues into another store (a new batch). */
  setStore(store: TraceStore): void {
    this.store = store;
    store.positionKind = 'byteOffset';
    store.timeKind = 'monotonic';
    for (const p of this.plans.values()) if (p) p.table = undefined;
    this.baseHi = NaN;
    this.lastPid = -1;
  }

  push(chunk: Buffer): void {
    this.store.bytes += chunk.length;
    if (this.failed) return;
    const b = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const used = this.parse(b);
    this.offset += used;
    this.carry = used < b.length ? Buffer.from(b.subarray(used)) : Buffer.alloc(0);
  }

  end(): void {
    if (this.failed) return;
    if (!this.headerDone) this.fail(this.offset, this.carry.length === 0 ? 'empty file, expected a simpletrace header' : 'truncated simpletrace header');
    else if (this.carry.length > 0) this.fail(this.offset, `truncated record (${this.carry.length} bytes left at the end of the file)`);
  }

  private fail(offset: number, message: string): void {
    this.failed = true;
    this.store.errors.push(`byte offset ${offset}: ${message}`);
  }

  /** Parses complete records of b; returns how many bytes were consumed. */
  private parse(b: Buffer): number {
    let p = 0;
    const n = b.length;
    if (!this.headerDone) {
      if (n < 24) return 0;
      if (u32(b, 0) !== 0xffffffff || u32(b, 4) !== 0xffffffff || u32(b, 8) !== SIMPLETRACE_MAGIC_LO || u32(b, 12) !== SIMPLETRACE_MAGIC_HI) {
        this.fail(this.offset, 'not a simpletrace file (wrong magic)');
        return n;
      }
      const version = u32(b, 16) + u32(b, 20) * U32;
      if (version !== 4) { this.fail(this.offset + 16, `unsupported simpletrace version ${version} (only version 4 is read)`); return n; }
      this.headerDone = true;
      p = 24;
    }
    while (p + 8 <= n) {
      const typeLo = u32(b, p), typeHi = u32(b, p + 4);
      const at = this.offset + p;
      if (typeHi !== 0 || typeLo > 1) { this.fail(at, `unknown record type ${typeHi * U32 + typeLo}`); return n; }
      if (typeLo === 0) {
        if (p + 20 > n) break;
        const id = u32(b, p + 8) + u32(b, p + 12) * U32;
        const len = u32(b, p + 16);
        if (len > 4096) { this.fail(at, `mapping record with a name of ${len} bytes`); return n; }
        if (p + 20 + len > n) break;
        this.map(id, b.toString('latin1', p + 20, p + 20 + len));
        p += 20 + len;
        continue;
      }
      if (p + 32 > n) break;
      const length = u32(b, p + 24);
      if (length < 24) { this.fail(at, `event record length ${length} is shorter than its header`); return n; }
      if (length > 256 * 1024 * 1024) { this.fail(at, `event record length ${length} is implausible`); return n; }
      if (p + 8 + length > n) break;
      const idLo = u32(b, p + 8), idHi = u32(b, p + 12);
      const tsLo = u32(b, p + 16), tsHi = u32(b, p + 20);
      const pid = u32(b, p + 28);
      this.store.lines++;
      if (idHi === 0xffffffff && idLo === 0xfffffffe) {
        if (length >= 32) this.store.droppedEvents += u32(b, p + 32) + u32(b, p + 36) * U32;
      } else if (!this.event(b, at, idHi * U32 + idLo, tsHi, tsLo, pid, p + 32, p + 8 + length)) {
        return n;
      }
      p += 8 + length;
    }
    return p;
  }

  private map(id: number, name: string): void {
    const ev = this.catalogue.get(name);
    if (!ev || !ev.decoder) { this.plans.set(id, null); this.unknownNames.set(id, name); return; }
    const decl = ev.decl;
    const argField = new Int32Array(decl.args.length).fill(-1);
    ev.decoder.fields.forEach((f, i) => { if (f.argIndex < argField.length) argField[f.argIndex] = i; });
    this.scratch.ensure(ev.decoder.fields.length);
    this.plans.set(id, { name, argIsString: decl.args.map((a) => isStringType(a.type)), argField, fields: ev.decoder.fields, table: undefined });
  }

  private readonly unknownNames = new Map<number, string>();

  private event(b: Buffer, at: number, id: number, tsHi: number, tsLo: number, pid: number, s: number, e: number): boolean {
    const store = this.store;
    let ts: number;
    if (this.baseHi !== this.baseHi) { ts = store.relTime(tsHi, tsLo, U32); this.baseHi = store.base!.a; this.baseLo = store.base!.b; } else ts = (tsHi - this.baseHi) * U32 + (tsLo - this.baseLo);
    if (pid !== this.lastPid) { this.lastPid = pid; this.lastPidCode = store.tidCode(pid); }
    const plan = this.plans.get(id);
    if (plan === undefined || plan === null) {
      const name = this.unknownNames.get(id) ?? `event#${id}`;
      store.unknownEvents++;
      store.tableFor(name, null).addValues(ts, at, this.lastPidCode, [b.subarray(s, e).toString('hex')]);
      return true;
    }
    const out = this.scratch;
    const num = out.num;
    let p = s;
    const strArg = plan.argIsString;
    for (let a = 0; a < strArg.length; a++) {
      const f = plan.argField[a]!;
      if (strArg[a]) {
        if (p + 4 > e) { this.fail(at, `${plan.name}: argument ${a} runs past the record`); return false; }
        const len = u32(b, p);
        if (p + 4 + len > e) { this.fail(at, `${plan.name}: string argument ${a} runs past the record`); return false; }
        if (f >= 0) { out.strStart[f] = p + 4; out.strEnd[f] = p + 4 + len; }
        p += 4 + len;
      } else {
        if (p + 8 > e) { this.fail(at, `${plan.name}: argument ${a} runs past the record`); return false; }
        if (f >= 0) {
          const fi = plan.fields[f]!;
          if (fi.valueType === 'string') {
            // %c of an integer argument: its low byte, first in little-endian order.
            out.strStart[f] = p;
            out.strEnd[f] = p + 1;
          } else {
            const v = printedValue(u32(b, p), u32(b, p + 4), fi);
            if (typeof v === 'bigint') { num[f] = NaN; out.big[f] = v; } else num[f] = v as number;
          }
        }
        p += 8;
      }
    }
    let t = plan.table;
    if (t === undefined) { t = store.tableFor(plan.name, plan.fields); plan.table = t; }
    t.addDecoded(ts, at, this.lastPidCode, out, b);
    return true;
  }

  private readonly scratch = new DecodeScratch(64);
  private baseHi = NaN;
  private baseLo = 0;
  private lastPid = -1;
  private lastPidCode = 0;
}

function u32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 16777216;
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
