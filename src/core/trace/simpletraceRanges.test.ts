/**
 * Simpletrace files read by the WebAssembly record scanner and in ranges by worker threads:
 * the same store as the JavaScript reader and as a serial read, on the real recording and on
 * generated files with every argument shape, values the scanner hands back, cuts that only
 * look like record boundaries, corrupt and truncated records and late mapping records.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { catalogueFromText } from './catalogue';
import { builtinCatalogue } from './catalogues/index';
import { readTrace } from './readTrace';
import { SimpletraceParser, splitSimpletrace } from './simpletrace';
import { TraceStore } from './store';
import { recordings, seededRandom, simpletracePrologue, traceEventsAll } from './testSupport';
import { isStringType } from './traceEventsParser';
import { logScanModule } from './wasmScan';
import { readTraceInWorker } from './workerClient';

const real = join(recordings, 'qemu-10.2.50-simpletrace-small', 'dst-trace.simple');
const tmp = mkdtempSync(join(tmpdir(), 'qmw-simple-ranges-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const all = catalogueFromText(readFileSync(traceEventsAll, 'utf8'), 'trace-events-all');
const builtin = builtinCatalogue('10.2.50');

/** Every row in file order with its offset, time, thread and values (bigints as text). */
function dump(s: TraceStore): string {
  return JSON.stringify([...s.inOrder()].map(({ table, row }) => [table.name, table.line(row), table.time(row), table.threadId(row) ?? null, table.row(row)]), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

function summary(s: TraceStore): unknown {
  return { counts: s.counts(), lines: s.lines, bytes: s.bytes, unknown: s.unknownEvents, dropped: s.droppedEvents, errors: s.errors, base: s.baseTimeNs?.toString() ?? null };
}

/** Parses buf in chunks of the given size, by the scanner or by JavaScript only. */
function parse(buf: Buffer, wasm: boolean, chunk: number, cat = all): TraceStore {
  const store = new TraceStore();
  const p = new SimpletraceParser(store, cat, { useWasm: wasm });
  assert.equal(p.usesWasm, wasm, wasm ? 'dist/logscan.wasm is not built (npm run build)' : 'JavaScript reader expected');
  for (let i = 0; i < buf.length; i += chunk) p.push(buf.subarray(i, i + chunk));
  p.end();
  store.trim();
  return store;
}

/** The real recording's header and mapping records. */
const prologue = simpletracePrologue(readFileSync(real));

/** Events of every argument shape: strings, %c, signed and unsigned widths, pointers, none. */
const KINDS = ['ram_load_loop', 'postcopy_ram_fault_thread_request', 'migrate_set_state', 'loadvm_process_command', 'postcopy_blocktime_begin',
  'migration_dirty_limit_guest', 'vmstate_load_state_end', 'multifd_recv_unfill', 'ram_save_complete', 'lsi_execute_script_tc_compp',
  'serial_update_parameters', 'qemu_file_fclose', 'postcopy_place_page'];

const u64 = (v: bigint): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt.asUintN(64, v)); return b; };
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };

function eventRecord(id: bigint, ts: bigint, pid: number, args: Buffer): Buffer {
  return Buffer.concat([u64(1n), u64(id), u64(ts), u32(24 + args.length), u32(pid), args]);
}

function mappingRecord(id: number, name: string): Buffer {
  return Buffer.concat([u64(0n), u64(BigInt(id)), u32(name.length), Buffer.from(name, 'latin1')]);
}

/** Eight records in a row that look whole: what a cut looks for, inside a string argument. */
function fakeChain(): Buffer {
  const id = BigInt(prologue.ids.get('qemu_file_fclose')!);
  return Buffer.concat(Array.from({ length: 9 }, (_, k) => eventRecord(id, 5_000_000_000n + BigInt(k), 77, Buffer.alloc(0))));
}

interface GenOptions {
  readonly events: number;
  readonly seed: number;
  /** Share of string arguments that hold a fake chain of records. */
  readonly fakes?: number;
  /** Mapping records added after this many events (a late one renames an id). */
  readonly lateMappingAt?: number;
  /** The first events are all of a shape the scanner takes (no dropped, unknown or bigint ones). */
  readonly plainFirst?: number;
}

/** A simpletrace file: the real recording's prologue, then random events of KINDS with every value shape. */
function generate(o: GenOptions): Buffer {
  const rnd = seededRandom(o.seed);
  const parts: Buffer[] = [prologue.head];
  let ts = 1_816_882_528_416n;
  const fake = fakeChain();
  for (let i = 0; i < o.events; i++) {
    if (i === o.lateMappingAt) {
      // An id renamed (both events have no arguments) and a new one.
      parts.push(mappingRecord(prologue.ids.get('qemu_file_fclose')!, 'postcopy_ram_listen_thread_exit'));
      parts.push(mappingRecord(60_001, 'ram_save_complete'));
    }
    ts += BigInt(Math.floor(rnd() * 5000));
    const plain = i < (o.plainFirst ?? 0);
    const r = plain ? 1 : rnd();
    if (r < 0.01) { parts.push(eventRecord(0xfffffffffffffffen, ts, 1, u64(BigInt(1 + Math.floor(rnd() * 9))))); continue; }
    if (r < 0.02) { parts.push(eventRecord(BigInt(50_000 + Math.floor(rnd() * 3)), ts, 1, u64(7n))); continue; }
    if (r < 0.025 && o.lateMappingAt !== undefined && i > o.lateMappingAt) { parts.push(eventRecord(60_001n, ts, 1, Buffer.concat([u64(5n), u64(1n)]))); continue; }
    const name = KINDS[Math.floor(rnd() * KINDS.length)]!;
    const decl = all.get(name)!.decl;
    const args = decl.args.map((a) => {
      if (isStringType(a.type)) {
        const s = rnd() < (o.fakes ?? 0) ? fake : rnd() < 0.5 ? Buffer.from(['pc.ram', 'vga.vram', 'active', 'é-ß'][Math.floor(rnd() * 4)]!, 'utf8')
          : Buffer.from(Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)));
        return Buffer.concat([u32(s.length), s]);
      }
      const k = plain ? 0 : rnd();
      const v = k < 0.6 ? BigInt(Math.floor(rnd() * 300)) : k < 0.75 ? BigInt(Math.floor(rnd() * 2 ** 52)) : k < 0.85 ? -BigInt(1 + Math.floor(rnd() * 1e6))
        : k < 0.92 ? (1n << 53n) + BigInt(Math.floor(rnd() * 1e9)) : k < 0.96 ? -(1n << 60n) : 0xffffffffffffffffn;
      return u64(v);
    });
    // A few records carry bytes after their arguments, which readers skip.
    if (rnd() < 0.02) args.push(Buffer.alloc(3, 0x5a));
    parts.push(eventRecord(BigInt(prologue.ids.get(name)!), ts, rnd() < 0.9 ? 6044 : 6045 + Math.floor(rnd() * 3), Buffer.concat(args)));
  }
  return Buffer.concat(parts);
}

/** Offsets where records start, walking the file from its header. */
function recordStarts(b: Buffer): Set<number> {
  const out = new Set<number>();
  for (let p = 24; p + 8 <= b.length;) {
    out.add(p);
    const type = b.readUInt32LE(p);
    p += type === 0 ? 20 + b.readUInt32LE(p + 16) : 8 + b.readUInt32LE(p + 24);
  }
  return out;
}

/** Reads a file in ranges on 2 workers (cuts every `rangeBytes`); whole: why it was read again in one piece, if it was. */
async function readInRanges(f: string, rangeBytes: number, cat = all): Promise<{ store: TraceStore; progress: number[]; whole: string[] }> {
  const progress: number[] = [];
  const whole: string[] = [];
  const store = await readTraceInWorker(f, cat, { workers: 2, parallelThreshold: 0, rangeBytes, onProgress: (b) => progress.push(b), onWholeFile: (why) => whole.push(why) });
  return { store, progress, whole };
}

const rising = (xs: readonly number[]): boolean => xs.every((x, i) => i === 0 || x >= xs[i - 1]!);

describe('simpletrace record scanner (WebAssembly)', () => {
  it('gives the JavaScript reader\'s store on the real recording, in any chunking', () => {
    assert.ok(logScanModule(), 'dist/logscan.wasm is not built (npm run build)');
    const buf = readFileSync(real);
    const js = parse(buf, false, 1 << 20);
    assert.equal(js.count(), 720);
    for (const chunk of [1 << 20, 4096, 97]) {
      const w = parse(buf, true, chunk);
      assert.equal(dump(w), dump(js));
      assert.deepEqual(summary(w), summary(js));
    }
  });

  it('gives the JavaScript reader\'s store on random records of every shape, bigints and late mappings included', () => {
    for (const seed of [1, 2, 3]) {
      const buf = generate({ events: 3000, seed, lateMappingAt: 1500 });
      const js = parse(buf, false, 1 << 20);
      assert.deepEqual(js.errors, []);
      assert.ok(js.unknownEvents > 0 && js.droppedEvents > 0);
      for (const cat of [all, builtin]) {
        const jsCat = cat === all ? js : parse(buf, false, 1 << 20, cat);
        // Small chunks: some records (the late mappings among them) are read by JavaScript between scanner calls.
        for (const chunk of [1 << 20, 1000, 31]) assert.equal(dump(parse(buf, true, chunk, cat)), dump(jsCat), `seed ${seed}, chunk ${chunk}`);
      }
    }
  });

  it('plans an id again after a mapping record renames it, whichever reader met the mapping', () => {
    const fclose = BigInt(prologue.ids.get('qemu_file_fclose')!);
    const events = (n: number, from: bigint): Buffer => Buffer.concat(Array.from({ length: n }, (_, k) => eventRecord(fclose, from + BigInt(k), 6044, Buffer.alloc(0))));
    // Short enough (20 + 8 bytes) to be read by JavaScript alone, between two scanner calls.
    const rename = mappingRecord(Number(fclose), 'wct_init');
    for (const wasm of [false, true]) {
      const store = new TraceStore();
      const p = new SimpletraceParser(store, all, { useWasm: wasm });
      p.push(Buffer.concat([prologue.head, events(100, 5_000_000_000n)]));
      p.push(rename);
      p.push(events(50, 6_000_000_000n));
      p.end();
      assert.deepEqual(store.errors, []);
      assert.deepEqual([store.table('qemu_file_fclose')?.count, store.table('wct_init')?.count], [100, 50], wasm ? 'scanner' : 'JavaScript');
    }
  });

  it('stops at a corrupt record or argument and names its offset, like the JavaScript reader', () => {
    const buf = generate({ events: 2000, seed: 9 });
    const starts = [...recordStarts(buf)].filter((p) => p >= prologue.firstEvent);
    const at = starts[1200]!;
    const badType = Buffer.from(buf);
    badType.writeUInt32LE(9, at);
    const badLength = Buffer.from(buf);
    badLength.writeUInt32LE(23, at + 24);
    for (const b of [badType, badLength]) {
      const js = parse(b, false, 1 << 20);
      const w = parse(b, true, 5000);
      assert.equal(js.count() + js.droppedEvents > 0, true);
      assert.equal(js.errors.length, 1);
      assert.match(js.errors[0]!, new RegExp(`^byte offset ${at}: `));
      assert.deepEqual(summary(w), summary(js));
      assert.equal(dump(w), dump(js));
    }
  });
});

describe('simpletrace in ranges', () => {
  it('cuts only at record boundaries, from the first event on', async () => {
    for (const b of [readFileSync(real), generate({ events: 4000, seed: 4 })]) {
      const f = join(tmp, 'cuts.simple');
      writeFileSync(f, b);
      const serial = await readTrace(f, all);
      const starts = recordStarts(b);
      const split = splitSimpletrace(f, b.length, 12)!;
      assert.ok(split.ranges.length > 3);
      assert.equal(split.ranges[0]![0], 0);
      assert.equal(split.ranges[split.ranges.length - 1]![1], b.length);
      for (const [s] of split.ranges.slice(1)) assert.ok(starts.has(s) && s > prologue.firstEvent, `cut at ${s}`);
      assert.equal(split.mappings.length, prologue.ids.size);
      assert.ok(split.tids.length > 0);
      assert.deepEqual(split.tids, serial.tids.slice(1, 1 + split.tids.length));
      assert.deepEqual(split.base, serial.base);
    }
  });

  it('reads the real recording and random files on two workers like a serial read, each byte once', async () => {
    const files: [string, Buffer][] = [[real, readFileSync(real)], [join(tmp, 'random.simple'), generate({ events: 6000, seed: 5 })]];
    for (const [f, b] of files) {
      if (f !== real) writeFileSync(f, b);
      const serial = await readTrace(f, all);
      const { store, progress, whole } = await readInRanges(f, 6000);
      assert.deepEqual(whole, []);
      assert.equal(dump(store), dump(serial));
      assert.deepEqual(summary(store), summary(serial));
      assert.ok(rising(progress) && progress[progress.length - 1] === b.length, `progress ${progress.join(' ')}`);
    }
  });

  it('confirms a cut by the range before it: records that only look whole make it read the file in one piece', async () => {
    const b = generate({ events: 3000, seed: 6, fakes: 0.5 });
    const f = join(tmp, 'fakes.simple');
    writeFileSync(f, b);
    const starts = recordStarts(b);
    const split = splitSimpletrace(f, b.length, 40)!;
    assert.ok(split.ranges.slice(1).some(([s]) => !starts.has(s)), 'a cut inside a string argument');
    const serial = await readTrace(f, all);
    const { store, whole } = await readInRanges(f, 3000);
    assert.equal(whole.length, 1);
    // The range before the false cut ends inside a record, the range after it starts inside one.
    assert.match(whole[0]!, /^the records of range \d+ do not fit its cuts \(byte offset \d+: /);
    assert.deepEqual(store.errors, []);
    assert.equal(dump(store), dump(serial));
    assert.deepEqual(summary(store), summary(serial));
  });

  it('reads again in one piece when a range meets a mapping record after the first event', async () => {
    // Late in the file (a later range), and in the first range, after events the scanner took.
    for (const [events, lateMappingAt, rangeBytes] of [[3000, 1000, 4000], [8000, 20, 300_000]] as const) {
      const b = generate({ events, seed: 7, lateMappingAt, plainFirst: lateMappingAt });
      const f = join(tmp, 'late.simple');
      writeFileSync(f, b);
      const serial = await readTrace(f, all);
      assert.ok(serial.table('ram_save_complete')!.count > 0);
      const { store, whole } = await readInRanges(f, rangeBytes);
      assert.equal(whole.length, 1);
      assert.match(whole[0]!, /^range \d+ has a mapping record after an event record$/);
      if (lateMappingAt === 20) assert.equal(whole[0], 'range 0 has a mapping record after an event record');
      assert.equal(dump(store), dump(serial));
      assert.deepEqual(summary(store), summary(serial));
    }
  });

  it('keeps what comes before a corrupt record in a middle range and names its offset; a truncated end keeps every whole record', async () => {
    const b = generate({ events: 4000, seed: 8 });
    const starts = [...recordStarts(b)].filter((p) => p > prologue.firstEvent);
    const at = starts[2000]!;
    const corrupt = Buffer.from(b);
    corrupt.writeUInt32LE(5, at + 4);
    const f = join(tmp, 'corrupt.simple');
    writeFileSync(f, corrupt);
    const serial = await readTrace(f, all);
    assert.equal(serial.errors.length, 1);
    assert.match(serial.errors[0]!, new RegExp(`^byte offset ${at}: unknown record type`));
    const { store, whole: why } = await readInRanges(f, 5000);
    assert.equal(why.length, 1);
    assert.deepEqual(summary(store), summary(serial));
    assert.equal(dump(store), dump(serial));

    const cut = join(tmp, 'cut.simple');
    writeFileSync(cut, b.subarray(0, b.length - 5));
    const last = Math.max(...starts);
    const whole = await readTrace(cut, all);
    assert.match(whole.errors[0]!, new RegExp(`^byte offset ${last}: truncated record`));
    const { store: part, progress, whole: again } = await readInRanges(cut, 5000);
    assert.deepEqual(again, []);
    assert.deepEqual(summary(part), summary(whole));
    assert.equal(dump(part), dump(whole));
    assert.ok(rising(progress) && progress[progress.length - 1] === statSync(cut).size);
  });
});
