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

/** A simpletrace file cut at record boundaries (splitSimpletrace). */
export interface SimpletraceSplit {
  readonly ranges: [number, number][];
  /** Every mapping record of the file. */
  readonly mappings: [number, string][];
  /** The time base a serial read takes (its first event), if any. */
  readonly base: TimeBase | undefined;
  /** Thread ids in the order a serial read first meets them (up to 64, from the file's start). */
  readonly tids: number[];
}

/** Dropped-events records carry this event id. */
const DROPPED_ID_LO = 0xfffffffe;
const DROPPED_ID_HI = 0xffffffff;

/**
 * Walks record headers only and returns ranges that start at record boundaries (about n
 * equal ones, or cut at the first record from each of the given offsets), with every
 * mapping record of the file. Undefined when the file is not a well-formed version 4
 * trace (it is then read in one piece, which reports the error).
 */
export async function splitSimpletrace(path: string, size: number, n: number | readonly number[]): Promise<SimpletraceSplit | undefined> {
  const targets = typeof n === 'number' ? evenCuts(size, n) : n;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    const mappings: [number, string][] = [];
    const cuts = [0];
    let base: TimeBase | undefined;
    const tids: number[] = [];
    let pos = 24;
    let next = targets[0] ?? Infinity;
    const head = Buffer.alloc(24);
    readSync(fd, head, 0, 24, 0);
    if (!looksLikeSimpletrace(head) || head.readUInt32LE(16) !== 4 || head.readUInt32LE(20) !== 0) return undefined;
    while (pos < size) {
      const bytesRead = readSync(fd, buf, 0, buf.length, pos);
      if (bytesRead < 8) return undefined;
      let p = 0;
      while (p + 8 <= bytesRead) {
        const type = dv.getUint32(p, true);
        if (type === 1) {
          if (p + 32 > bytesRead) break;
          const length = dv.getUint32(p + 24, true);
          if (length < 24) return undefined;
          if (pos + p >= next) { if (pos + p > cuts[cuts.length - 1]!) cuts.push(pos + p); next = targets[cuts.length - 1] ?? Infinity; }
          if (pos < 4 << 20 && !(dv.getUint32(p + 8, true) === DROPPED_ID_LO && dv.getUint32(p + 12, true) === DROPPED_ID_HI)) {
            base ??= { a: dv.getUint32(p + 20, true), b: dv.getUint32(p + 16, true), scale: U32 };
            const pid = dv.getUint32(p + 28, true);
            if (tids.length < 64 && !tids.includes(pid)) tids.push(pid);
          }
          p += 8 + length;
        } else if (type === 0) {
          if (p + 20 > bytesRead) break;
          const len = dv.getUint32(p + 16, true);
          if (p + 20 + len > bytesRead) { if (len > 4096) return undefined; break; }
          mappings.push([dv.getUint32(p + 8, true) + dv.getUint32(p + 12, true) * U32, buf.toString('latin1', p + 20, p + 20 + len)]);
          p += 20 + len;
        } else return undefined;
      }
      if (p === 0) return undefined;
      pos += p;
    }
    if (pos !== size) return undefined;
    cuts.push(size);
    const ranges: [number, number][] = [];
    for (let i = 0; i + 1 < cuts.length; i++) if (cuts[i + 1]! > cuts[i]!) ranges.push([cuts[i]!, cuts[i + 1]!]);
    return { ranges, mappings, base, tids };
  } finally {
    closeSync(fd);
  }
}

// How a declared argument is read (EventPlan.ops).
/** A u64 the format does not print. */
const OP_SKIP = 0;
/** A length-prefixed string the format does not print. */
const OP_SKIP_STR = 1;
/** A length-prefixed string printed with %s. */
const OP_STR = 2;
/** A u64 printed with %c (its low byte). */
const OP_CHAR = 3;
// A u64 printed as an integer of 8, 16, 32 or 64 bits, unsigned or signed.
const OP_U8 = 4, OP_S8 = 5, OP_U16 = 6, OP_S16 = 7, OP_U32 = 8, OP_S32 = 9, OP_U64 = 10, OP_S64 = 11;

interface EventPlan {
  readonly name: string;
  /** Per declared argument: how it is read (OP_*). */
  readonly ops: Uint8Array;
  /** Per declared argument: the store field it fills, -1 when the format does not print it. */
  readonly argField: Int32Array;
  readonly fields: readonly FieldInfo[];
  /** Every field is an integer: rows go straight to the table's stage. */
  readonly numeric: boolean;
  table: EventTable | undefined;
}

/** Event ids below this are planned in an array, others in a map. */
const DENSE_IDS = 1 << 16;

function opFor(isString: boolean, f: FieldInfo | undefined): number {
  if (isString) return f ? OP_STR : OP_SKIP_STR;
  if (!f) return OP_SKIP;
  if (f.valueType === 'string') return OP_CHAR;
  const base = f.bits === 8 ? OP_U8 : f.bits === 16 ? OP_U16 : f.bits === 32 ? OP_U32 : OP_U64;
  return base + (f.signed ? 1 : 0);
}

export class SimpletraceParser {
  private carry: Buffer = Buffer.alloc(0);
  /** File offset of carry[0]. */
  private offset = 0;
  private headerDone = false;
  private failed = false;
  /** Plans by event id (null: an event the catalogue cannot decode). */
  private readonly densePlans: (EventPlan | null | undefined)[] = [];
  private readonly sparsePlans = new Map<number, EventPlan | null>();
  /** Direct-mapped cache pid → thread code in the current store. */
  private readonly pidKeys = new Float64Array(64).fill(-1);
  private readonly pidCodes = new Int32Array(64);

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
    for (const p of this.densePlans) if (p) p.table = undefined;
    for (const p of this.sparsePlans.values()) if (p) p.table = undefined;
    this.baseHi = NaN;
    this.lastPid = -1;
    this.pidKeys.fill(-1);
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

  /** The input is complete: staged rows go into the columns; a partial record left is reported. */
  end(): void {
    this.store.commit();
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
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    if (!this.headerDone) {
      if (n < 24) return 0;
      if (dv.getUint32(0, true) !== 0xffffffff || dv.getUint32(4, true) !== 0xffffffff || dv.getUint32(8, true) !== SIMPLETRACE_MAGIC_LO || dv.getUint32(12, true) !== SIMPLETRACE_MAGIC_HI) {
        this.fail(this.offset, 'not a simpletrace file (wrong magic)');
        return n;
      }
      const version = dv.getUint32(16, true) + dv.getUint32(20, true) * U32;
      if (version !== 4) { this.fail(this.offset + 16, `unsupported simpletrace version ${version} (only version 4 is read)`); return n; }
      this.headerDone = true;
      p = 24;
    }
    while (p + 8 <= n) {
      const typeLo = dv.getUint32(p, true), typeHi = dv.getUint32(p + 4, true);
      const at = this.offset + p;
      if (typeHi !== 0 || typeLo > 1) { this.fail(at, `unknown record type ${typeHi * U32 + typeLo}`); return n; }
      if (typeLo === 0) {
        if (p + 20 > n) break;
        const id = dv.getUint32(p + 8, true) + dv.getUint32(p + 12, true) * U32;
        const len = dv.getUint32(p + 16, true);
        if (len > 4096) { this.fail(at, `mapping record with a name of ${len} bytes`); return n; }
        if (p + 20 + len > n) break;
        this.map(id, b.toString('latin1', p + 20, p + 20 + len));
        p += 20 + len;
        continue;
      }
      if (p + 32 > n) break;
      const length = dv.getUint32(p + 24, true);
      if (length < 24) { this.fail(at, `event record length ${length} is shorter than its header`); return n; }
      if (length > 256 * 1024 * 1024) { this.fail(at, `event record length ${length} is implausible`); return n; }
      if (p + 8 + length > n) break;
      const idLo = dv.getUint32(p + 8, true), idHi = dv.getUint32(p + 12, true);
      const tsLo = dv.getUint32(p + 16, true), tsHi = dv.getUint32(p + 20, true);
      const pid = dv.getUint32(p + 28, true);
      this.store.lines++;
      if (idHi === DROPPED_ID_HI && idLo === DROPPED_ID_LO) {
        if (length >= 32) this.store.droppedEvents += dv.getUint32(p + 32, true) + dv.getUint32(p + 36, true) * U32;
      } else if (!this.event(b, dv, at, idHi * U32 + idLo, tsHi, tsLo, pid, p + 32, p + 8 + length)) {
        return n;
      }
      p += 8 + length;
    }
    return p;
  }

  private setPlan(id: number, plan: EventPlan | null): void {
    if (id < DENSE_IDS) this.densePlans[id] = plan; else this.sparsePlans.set(id, plan);
  }

  private map(id: number, name: string): void {
    const ev = this.catalogue.get(name);
    if (!ev || !ev.decoder) { this.setPlan(id, null); this.unknownNames.set(id, name); return; }
    const decl = ev.decl;
    const fields = ev.decoder.fields;
    const argField = new Int32Array(decl.args.length).fill(-1);
    fields.forEach((f, i) => { if (f.argIndex < argField.length) argField[f.argIndex] = i; });
    const ops = Uint8Array.from(decl.args, (a, i) => opFor(isStringType(a.type), argField[i]! >= 0 ? fields[argField[i]!] : undefined));
    this.scratch.ensure(fields.length);
    this.setPlan(id, { name, ops, argField, fields, numeric: fields.every((f) => f.valueType !== 'string'), table: undefined });
  }

  private readonly unknownNames = new Map<number, string>();

  private event(b: Buffer, dv: DataView, at: number, id: number, tsHi: number, tsLo: number, pid: number, s: number, e: number): boolean {
    const store = this.store;
    let ts: number;
    if (this.baseHi !== this.baseHi) { ts = store.relTime(tsHi, tsLo, U32); this.baseHi = store.base!.a; this.baseLo = store.base!.b; } else ts = (tsHi - this.baseHi) * U32 + (tsLo - this.baseLo);
    if (pid !== this.lastPid) {
      const slot = pid & 63;
      if (this.pidKeys[slot] !== pid) { this.pidKeys[slot] = pid; this.pidCodes[slot] = store.tidCode(pid); }
      this.lastPid = pid;
      this.lastPidCode = this.pidCodes[slot]!;
    }
    const plan = id < DENSE_IDS ? this.densePlans[id] : this.sparsePlans.get(id);
    if (plan === undefined || plan === null) {
      const name = this.unknownNames.get(id) ?? `event#${id}`;
      store.unknownEvents++;
      store.tableFor(name, null).addValues(ts, at, this.lastPidCode, [b.subarray(s, e).toString('hex')]);
      return true;
    }
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
        if (op === OP_STR) { const f = argField[a]!; out.strStart[f] = p + 4; out.strEnd[f] = p + 4 + len; }
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
      else if (op === OP_CHAR) { out.strStart[f] = p; out.strEnd[f] = p + 1; }
      p += 8;
    }
    let t = plan.table;
    if (t === undefined) { t = store.tableFor(plan.name, plan.fields); plan.table = t; }
    if (plan.numeric && !big) {
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
      t.addDecoded(ts, at, this.lastPidCode, out, b);
    }
    return true;
  }

  private readonly scratch = new DecodeScratch(64);
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
