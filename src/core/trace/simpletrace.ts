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
import type { FieldInfo } from './decoder';
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
  private readonly values: FieldValue[] = [];

  constructor(private store: TraceStore, private readonly catalogue: Catalogue) {
    store.positionKind = 'byteOffset';
    store.timeKind = 'monotonic';
  }

  /** Continues into another store (a new batch). */
  setStore(store: TraceStore): void {
    this.store = store;
    store.positionKind = 'byteOffset';
    store.timeKind = 'monotonic';
    for (const p of this.plans.values()) if (p) p.table = undefined;
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
      if (b.readUInt32LE(0) !== 0xffffffff || b.readUInt32LE(4) !== 0xffffffff || b.readUInt32LE(8) !== SIMPLETRACE_MAGIC_LO || b.readUInt32LE(12) !== SIMPLETRACE_MAGIC_HI) {
        this.fail(this.offset, 'not a simpletrace file (wrong magic)');
        return n;
      }
      const version = b.readUInt32LE(16) + b.readUInt32LE(20) * U32;
      if (version !== 4) { this.fail(this.offset + 16, `unsupported simpletrace version ${version} (only version 4 is read)`); return n; }
      this.headerDone = true;
      p = 24;
    }
    while (p + 8 <= n) {
      const typeLo = b.readUInt32LE(p), typeHi = b.readUInt32LE(p + 4);
      const at = this.offset + p;
      if (typeHi !== 0 || typeLo > 1) { this.fail(at, `unknown record type ${typeHi * U32 + typeLo}`); return n; }
      if (typeLo === 0) {
        if (p + 20 > n) break;
        const id = b.readUInt32LE(p + 8) + b.readUInt32LE(p + 12) * U32;
        const len = b.readUInt32LE(p + 16);
        if (len > 4096) { this.fail(at, `mapping record with a name of ${len} bytes`); return n; }
        if (p + 20 + len > n) break;
        this.map(id, b.toString('latin1', p + 20, p + 20 + len));
        p += 20 + len;
        continue;
      }
      if (p + 32 > n) break;
      const length = b.readUInt32LE(p + 24);
      if (length < 24) { this.fail(at, `event record length ${length} is shorter than its header`); return n; }
      if (length > 256 * 1024 * 1024) { this.fail(at, `event record length ${length} is implausible`); return n; }
      if (p + 8 + length > n) break;
      const idLo = b.readUInt32LE(p + 8), idHi = b.readUInt32LE(p + 12);
      const tsLo = b.readUInt32LE(p + 16), tsHi = b.readUInt32LE(p + 20);
      const pid = b.readUInt32LE(p + 28);
      this.store.lines++;
      if (idHi === 0xffffffff && idLo === 0xfffffffe) {
        if (length >= 32) this.store.droppedEvents += b.readUInt32LE(p + 32) + b.readUInt32LE(p + 36) * U32;
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
    this.plans.set(id, { name, argIsString: decl.args.map((a) => isStringType(a.type)), argField, fields: ev.decoder.fields, table: undefined });
  }

  private readonly unknownNames = new Map<number, string>();

  private event(b: Buffer, at: number, id: number, tsHi: number, tsLo: number, pid: number, s: number, e: number): boolean {
    const store = this.store;
    const ts = store.relTime(tsHi, tsLo, U32);
    const plan = this.plans.get(id);
    if (plan === undefined || plan === null) {
      const name = this.unknownNames.get(id) ?? `event#${id}`;
      store.unknownEvents++;
      store.tableFor(name, null).addValues(ts, at, store.tidCode(pid), [b.subarray(s, e).toString('hex')]);
      return true;
    }
    const values = this.values;
    values.length = plan.fields.length;
    let p = s;
    for (let a = 0; a < plan.argIsString.length; a++) {
      const f = plan.argField[a]!;
      if (plan.argIsString[a]) {
        if (p + 4 > e) { this.fail(at, `${plan.name}: argument ${a} runs past the record`); return false; }
        const len = b.readUInt32LE(p);
        if (p + 4 + len > e) { this.fail(at, `${plan.name}: string argument ${a} runs past the record`); return false; }
        if (f >= 0) values[f] = b.toString('utf8', p + 4, p + 4 + len);
        p += 4 + len;
      } else {
        if (p + 8 > e) { this.fail(at, `${plan.name}: argument ${a} runs past the record`); return false; }
        if (f >= 0) values[f] = printedValue(b.readUInt32LE(p), b.readUInt32LE(p + 4), plan.fields[f]!);
        p += 8;
      }
    }
    let t = plan.table;
    if (t === undefined) { t = store.tableFor(plan.name, plan.fields); plan.table = t; }
    t.addValues(ts, at, store.tidCode(pid), values);
    return true;
  }
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
