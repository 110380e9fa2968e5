import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { catalogueFromText } from './catalogue';
import { readTrace } from './readTrace';
import { builtinCatalogue, builtinVersions } from './catalogues/index';
import { estimateSimpletraceRecords, leadingMappings, SimpletraceParser } from './simpletrace';
import { fitsOfSample } from './versionGuess';
import { TraceStore } from './store';
import { recordings, traceEventsAll } from './testSupport';

const dir = join(recordings, 'qemu-10.2.50-simpletrace-small');
const tmp = mkdtempSync(join(tmpdir(), 'qmw-simple-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const all = catalogueFromText(readFileSync(traceEventsAll, 'utf8'), 'trace-events-all');

function events(store: TraceStore): string[] {
  return [...store.inOrder()].map(({ table, row }) => `${table.name} ${JSON.stringify(table.row(row), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
}

function parseBytes(buf: Buffer): TraceStore {
  const store = new TraceStore();
  const p = new SimpletraceParser(store, all);
  for (let i = 0; i < buf.length; i += 1000) p.push(buf.subarray(i, i + 1000));
  p.end();
  return store;
}

describe('simpletrace reader', () => {
  it('decodes the recording event by event like the log backend copy', async () => {
    const simple = await readTrace(join(dir, 'dst-trace.simple'), all);
    const log = await readTrace(join(dir, 'dst-trace.log'), all);
    assert.deepEqual(simple.errors, []);
    assert.equal(simple.positionKind, 'byteOffset');
    assert.equal(simple.timeKind, 'monotonic');
    assert.equal(simple.count(), 720);
    assert.deepEqual(events(simple), events(log));
    const t = simple.table('multifd_recv_unfill')!;
    assert.equal(t.line(0) > 24, true);
    assert.ok(t.time(t.count - 1) > 0);
    assert.ok(t.threadId(0)! > 0);
  });

  it('keeps everything before a truncated record and names its byte offset', () => {
    const buf = readFileSync(join(dir, 'dst-trace.simple'));
    const full = parseBytes(buf);
    const cut = buf.subarray(0, buf.length - 5);
    const s = parseBytes(cut);
    assert.equal(s.count(), full.count() - 1);
    assert.equal(s.errors.length, 1);
    const lastOffset = [...full.inOrder()].map(({ table, row }) => table.line(row)).pop()!;
    assert.match(s.errors[0]!, new RegExp(`^byte offset ${lastOffset}: truncated record`));
  });

  it('rejects a wrong magic or version with the offset', () => {
    const buf = Buffer.from(readFileSync(join(dir, 'dst-trace.simple')));
    const bad = Buffer.from(buf);
    bad[9] = 0;
    const s1 = parseBytes(bad);
    assert.deepEqual(s1.errors, ['byte offset 0: not a simpletrace file (wrong magic)']);
    const v3 = Buffer.from(buf);
    v3[16] = 3;
    assert.deepEqual(parseBytes(v3).errors, ['byte offset 16: unsupported simpletrace version 3 (only version 4 is read)']);
  });

  it('stops at a corrupt record and keeps what came before', async () => {
    const buf = Buffer.from(readFileSync(join(dir, 'dst-trace.simple')));
    const full = parseBytes(buf);
    const offsets = [...full.inOrder()].map(({ table, row }) => table.line(row));
    const at = offsets[100]!;
    buf.writeUInt32LE(7, at);
    const s = parseBytes(buf);
    assert.equal(s.count(), 100);
    assert.deepEqual(s.errors, [`byte offset ${at}: unknown record type 7`]);
    const f = join(tmp, 'corrupt.simple');
    writeFileSync(f, buf);
    const viaFile = await readTrace(f, all);
    assert.equal(viaFile.count(), 100);
  });

  it('counts dropped-event records', () => {
    const head = readFileSync(join(dir, 'dst-trace.simple')).subarray(0, 24);
    const rec = Buffer.alloc(8 + 32);
    rec.writeUInt32LE(1, 0);
    rec.writeUInt32LE(0xfffffffe, 8); rec.writeUInt32LE(0xffffffff, 12);
    rec.writeUInt32LE(1000, 16);
    rec.writeUInt32LE(32, 24);
    rec.writeUInt32LE(77, 32);
    const s = parseBytes(Buffer.concat([head, rec]));
    assert.deepEqual(s.errors, []);
    assert.equal(s.droppedEvents, 77);
  });

  it('knows its time span as it reads, the same as a look at every row, and looks again when rows are added', async () => {
    for (const scanner of ['wasm', 'js'] as const) {
      const store = await readTrace(join(dir, 'dst-trace.simple'), all, { scanner });
      let lo = Infinity, hi = -Infinity;
      for (const t of store.tables.values()) for (let i = 0; i < t.count; i++) { lo = Math.min(lo, t.time(i)); hi = Math.max(hi, t.time(i)); }
      assert.ok(hi > lo, scanner);
      assert.deepEqual(store.timeSpan(), { firstNs: lo, lastNs: hi }, scanner);
      const t = [...store.tables.values()].find((x) => x.fields.every((f) => f.valueType !== 'string'))!;
      t.addValues(hi + 5, 0, 0, t.fields.map(() => 1));
      assert.deepEqual(store.timeSpan(), { firstNs: lo, lastNs: hi + 5 }, `${scanner}: a row added later is counted`);
    }
  });

  it('fits a sample to catalogues with its mapping records read once, as a parse from the start would', () => {
    const file = readFileSync(join(dir, 'dst-trace.simple'));
    const part = leadingMappings(file);
    assert.ok(part && part.mappings.length > 1000, 'the recording maps every event of its tree first');
    assert.equal(file.readUInt32LE(part.offset), 1, 'the records after the mappings start with an event record');
    const cats = builtinVersions.map((v) => builtinCatalogue(v));
    for (const n of [file.length, 200_000, part.offset + 1000, part.offset - 7, 30]) {
      const sample = file.subarray(0, n);
      const fromStart = cats.map((cat) => {
        const store = new TraceStore();
        const p = new SimpletraceParser(store, cat, { useWasm: false });
        p.push(sample);
        p.end();
        return { decoded: store.count() - store.unknownEvents, unknown: store.unknownEvents, malformed: store.malformedCount };
      });
      assert.deepEqual(fitsOfSample(sample, cats), fromStart, `sample of ${n} bytes`);
    }
    assert.ok(fitsOfSample(file, cats).some((f) => f.decoded === 720));
  });

  it('estimates the records of each event from windows across the file, and a read sized by it gives the same store', () => {
    const path = join(dir, 'dst-trace.simple');
    const file = readFileSync(path);
    const estimate = estimateSimpletraceRecords(path, file.length);
    assert.ok(estimate);
    assert.equal(estimate.end, file.length);
    const plain = parseBytes(file);
    const ids = new Map(leadingMappings(file)!.mappings.map(([id, name]) => [name, id]));
    // The recording's most frequent event: its estimate is of the right size.
    const [top, rows] = Object.entries(plain.counts()).sort((a, b) => b[1] - a[1])[0]!;
    const guess = estimate.records.get(ids.get(top)!);
    assert.ok(guess !== undefined && guess > rows / 3 && guess < rows * 3, `${top}: ${rows} records, estimated ${guess}`);
    const store = new TraceStore();
    const p = new SimpletraceParser(store, all, { expectedRecords: estimate });
    p.push(file);
    p.end();
    assert.deepEqual(events(store), events(plain));
    const t = store.table(top)!;
    assert.ok(t.ts.data.length >= guess, 'the table was sized for its estimate when it was made');
  });
});
