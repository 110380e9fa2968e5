import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { builtinCatalogue } from './catalogues/index';
import { readTrace } from './readTrace';
import { CancelledError } from './source';
import type { TraceStore } from './store';
import { recordings } from './testSupport';
import { splitSimpletrace } from './simpletrace';
import { idleTraceWorkers, prestartTraceWorkersFor, rangeTargets, readTraceInWorker, splitAtLines } from './workerClient';

const tmp = mkdtempSync(join(tmpdir(), 'qmw-worker-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const cat = builtinCatalogue('10.2.50');

function dump(s: TraceStore): string {
  return JSON.stringify([...s.inOrder()].map(({ table, row }) => [table.name, table.line(row), table.time(row), table.threadId(row) ?? null, String(Object.values(table.row(row)))]));
}

describe('readTraceInWorker', () => {
  it('splits at line boundaries', async () => {
    const f = join(tmp, 'lines.txt');
    writeFileSync(f, 'aaaa\nbb\ncccccc\nd\n');
    const r = await splitAtLines(f, 17, 3);
    assert.deepEqual(r, [[0, 8], [8, 15], [15, 17]]);
    for (const [s] of r) assert.ok(s === 0 || readFileSync(f)[s - 1] === 10);
  });

  it('starts the workers ahead of a read only for a file it will read in parallel, and the read takes them', async () => {
    const line = '1001@1763700000.000003:multifd_send channel 0 packet_num 0 normal pages 128 zero pages 0 flags 0x0 next packet size 0\n';
    const big = join(tmp, 'prestart-big.log');
    writeFileSync(big, line.repeat(Math.ceil((33 << 20) / line.length)));
    const small = join(tmp, 'prestart-small.log');
    writeFileSync(small, line.repeat(10));
    const packed = join(tmp, 'prestart-big.log.gz');
    writeFileSync(packed, gzipSync(readFileSync(big)));
    const script = join(__dirname, '..', '..', 'worker', 'traceWorker.ts');
    const before = idleTraceWorkers();
    await prestartTraceWorkersFor(small, { workerScript: script });
    await prestartTraceWorkersFor(packed, { workerScript: script });
    await prestartTraceWorkersFor(join(tmp, 'missing.log'), { workerScript: script });
    assert.equal(idleTraceWorkers(), before, 'a small, compressed or missing file starts no worker');
    await prestartTraceWorkersFor(big, { workerScript: script });
    const started = idleTraceWorkers() - before;
    assert.equal(started, Math.min(availableParallelism(), 8));
    const store = await readTraceInWorker(big, cat, { workerScript: script });
    assert.equal(store.count(), Math.ceil((33 << 20) / line.length));
    // The read used the waiting workers and left them waiting again, none added.
    assert.equal(idleTraceWorkers() - before, started);
  });

  it('cuts a big file into equal ranges, then shorter ones towards its end', () => {
    const size = 1 << 30;
    const t = rangeTargets(size, 16, 2, 8 << 20);
    const lengths = [...t, size].map((x, i) => x - (i === 0 ? 0 : t[i - 1]!));
    assert.ok(t.every((x, i) => x > 0 && x < size && (i === 0 || x > t[i - 1]!)));
    assert.equal(lengths[0], size / 16);
    assert.ok(lengths.slice(-3).every((l) => l < size / 64), `last ranges ${lengths.slice(-3)}`);
    assert.ok(lengths.slice(0, -1).every((l) => l >= 8 << 20));
    // A small file: equal ranges only.
    assert.deepEqual(rangeTargets(3000, 3, 3, 8 << 20), [1000, 2000]);
  });

  it('reads in parallel byte ranges and merges to the same store as a serial read', async () => {
    // A trace with a tid prefix, text and string fields, big values and other/malformed lines spread over the ranges.
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const tid = 100 + (i % 3);
      const t = `${tid}@1700000000.${String(i * 11).padStart(6, '0')}:`;
      if (i % 97 === 5) lines.push('garbage line');
      else if (i % 101 === 7) lines.push(`${t}multifd_send_fill channel x`);
      else if (i % 3 === 0) lines.push(`${t}multifd_send_fill channel ${i % 4} packet_num ${i === 30 ? '18446744073709551615' : i} flags 0x${i.toString(16)} next packet size 0`);
      else if (i % 3 === 1) lines.push(`${t}migration_set_incoming_channel ioc=0x${(0x5562350b3c00 + i).toString(16)} ioctype=chan-${i % 5}`);
      else lines.push(`${t}brand_new_event x=${i}`);
    }
    const f = join(tmp, 'mixed.log');
    writeFileSync(f, lines.join('\n') + '\n');
    const serial = await readTrace(f, cat);
    let progress = 0;
    const par = await readTraceInWorker(f, cat, { workers: 3, parallelThreshold: 0, batchBytes: 20_000, onProgress: (b) => { progress = b; } });
    assert.equal(progress, readFileSync(f).length);
    assert.equal(dump(par), dump(serial));
    assert.deepEqual(par.counts(), serial.counts());
    assert.equal(par.other, serial.other);
    assert.deepEqual(par.otherLines, serial.otherLines);
    assert.equal(par.malformedCount, serial.malformedCount);
    assert.deepEqual(par.malformed, serial.malformed);
    assert.equal(par.lines, 3000);
    assert.equal(par.baseTimeNs, serial.baseTimeNs);
    assert.equal(par.table('multifd_send_fill')!.column('packet_num').get(10), 18446744073709551615n);
  });

  it('places ranges while they are read, also when later ranges outgrow what the first ones predict', async () => {
    // Untimed lines first (each range then has a time base of its own), then an event
    // that is rare early and on every line late, values that need wider columns late
    // (past 2^32, then 2^64 - 1), and more than 255 threads and strings late.
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) lines.push(i % 10 === 0 ? `multifd_send_fill channel 1 packet_num ${i} flags 0x0 next packet size 0` : `other output ${i}`);
    for (let i = 0; i < 1500; i++) {
      const t = `${100 + (i % 3)}@1700000000.${String(i * 7).padStart(6, '0')}:`;
      lines.push(i % 10 === 0 ? `${t}multifd_send_fill channel 2 packet_num ${i} flags 0x1 next packet size 4096` : `${t}migration_set_incoming_channel ioc=0x10 ioctype=chan-${i % 4}`);
    }
    for (let i = 0; i < 1500; i++) {
      const t = `${2000 + i}@1700000001.${String(i * 7).padStart(6, '0')}:`;
      const packet = i === 1400 ? '18446744073709551615' : String(2 ** 32 + i);
      lines.push(i % 2 === 0 ? `${t}multifd_send_fill channel ${i % 200} packet_num ${packet} flags 0x2 next packet size 8192` : `${t}migration_set_incoming_channel ioc=0x${i.toString(16)} ioctype=late-${i}`);
    }
    const f = join(tmp, 'outgrown.log');
    writeFileSync(f, lines.join('\n') + '\n');
    const serial = await readTrace(f, cat);
    const par = await readTraceInWorker(f, cat, { workers: 2, parallelThreshold: 0, rangeBytes: 4096 });
    assert.equal(dump(par), dump(serial));
    assert.deepEqual(par.counts(), serial.counts());
    assert.equal(par.other, serial.other);
    assert.deepEqual(par.otherLines, serial.otherLines);
    assert.equal(par.baseTimeNs, serial.baseTimeNs);
    const fill = par.table('multifd_send_fill')!;
    assert.equal(fill.column('packet_num').get(fill.count - 50), 18446744073709551615n);
    assert.equal(fill.threadId(fill.count - 1), 2000 + 1498);
    assert.equal(par.table('migration_set_incoming_channel')!.column('ioctype').get(par.table('migration_set_incoming_channel')!.count - 1), 'late-1499');
  });

  it('reads compressed and simpletrace files in one worker', async () => {
    const xz = join(recordings, 'qemu-10.2.50-multifd-legacy', 'src-trace.log.xz');
    assert.equal(dump(await readTraceInWorker(xz, cat, { parallelThreshold: 0 })), dump(await readTrace(xz, cat)));
    const simple = join(recordings, 'qemu-10.2.50-simpletrace-small', 'dst-trace.simple');
    const s = await readTraceInWorker(simple, cat, { workers: 1 });
    assert.equal(s.count(), 720);
    assert.ok(s.memoryBytes() / s.count() < 24, `${s.memoryBytes() / s.count()} bytes per event`);
  });

  it('splits a simpletrace file at record boundaries and merges it like a serial read', async () => {
    const simple = join(recordings, 'qemu-10.2.50-simpletrace-small', 'dst-trace.simple');
    const size = readFileSync(simple).length;
    const split = splitSimpletrace(simple, size, 3);
    assert.ok(split);
    assert.equal(split.ranges.length, 3);
    assert.equal(split.ranges[0]![0], 0);
    assert.equal(split.ranges[2]![1], size);
    assert.ok(split.mappings.some(([, name]) => name === 'multifd_recv_unfill'));
    const par = await readTraceInWorker(simple, cat, { workers: 3, parallelThreshold: 0, batchBytes: 50_000 });
    assert.deepEqual(par.errors, []);
    assert.equal(dump(par), dump(await readTrace(simple, cat)));
    const truncated = join(tmp, 'truncated.simple');
    writeFileSync(truncated, readFileSync(simple).subarray(0, size - 3));
    assert.equal(splitSimpletrace(truncated, size - 3, 3)!.ranges.length, 3);
    const t = await readTraceInWorker(truncated, cat, { workers: 3, parallelThreshold: 0 });
    assert.equal(t.count(), 719);
    assert.match(t.errors[0]!, /truncated record/);
  });

  it('with callerReads, reads ranges here beside the workers, and alone a file that a second thread would not read faster', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(`${100 + (i % 3)}@1700000000.${String(i * 11).padStart(6, '0')}:multifd_send_fill channel ${i % 4} packet_num ${i} flags 0x0 next packet size 0`);
    const f = join(tmp, 'caller.log');
    writeFileSync(f, lines.join('\n') + '\n');
    const simple = join(recordings, 'qemu-10.2.50-simpletrace-small', 'dst-trace.simple');
    // No worker can start from this script: a read that needs one fails.
    const none = join(tmp, 'no-such-worker.js');
    for (const file of [f, simple]) {
      const serial = await readTrace(file, cat);
      let progress = 0;
      const here = await readTraceInWorker(file, cat, { callerReads: true, workers: 3, parallelThreshold: 0, rangeBytes: 4096, onProgress: (b) => { progress = b; } });
      assert.equal(dump(here), dump(serial), `${file}: this thread and two workers`);
      assert.deepEqual(here.timeSpan(), serial.timeSpan());
      assert.equal(progress, readFileSync(file).length);
      const alone = await readTraceInWorker(file, cat, { callerReads: true, workers: 2, parallelThreshold: 0, workerScript: none });
      assert.equal(dump(alone), dump(serial), `${file}: alone, on two cores`);
      assert.deepEqual(alone.timeSpan(), serial.timeSpan());
      // A small file is read here too, with no worker.
      assert.equal(dump(await readTraceInWorker(file, cat, { callerReads: true, workerScript: none })), dump(serial));
    }
    await assert.rejects(readTraceInWorker(f, cat, { workers: 2, parallelThreshold: 0, workerScript: none }), 'without callerReads the read needs its workers');
  });

  it('is cancellable and reports unreadable input', async () => {
    const big = join(tmp, 'big.log');
    writeFileSync(big, '1@1.000001:multifd_send_fill channel 0 packet_num 1 flags 0x0 next packet size 0\n'.repeat(400_000));
    const ac = new AbortController();
    const p = readTraceInWorker(big, cat, { signal: ac.signal, workers: 2, parallelThreshold: 0 });
    setTimeout(() => ac.abort(), 5);
    await assert.rejects(p, CancelledError);
    await assert.rejects(readTraceInWorker(join(tmp, 'nope.log'), cat), /cannot read .*nope\.log: no such file/);
  });
});
