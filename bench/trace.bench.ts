/**
 * Trace engine benchmark: generates a 1 GiB log-backend trace (tid@sec.usec prefix,
 * QEMU 9.0 formats: multifd send/recv, postcopy faults and placements, sync events)
 * and a simpletrace file with the same events, then times `wc -l` and the engine
 * (worker threads, all cores) reading each into the store.
 * Usage: node --import tsx bench/trace.bench.ts [--size MiB] [--runs N] [--out BENCHMARKS.md]
 * (with --first-read FILE WORKER [guess] it is the child that times one first read in a fresh
 * process; with guess, its workers are started while the QEMU version is guessed, untimed).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { builtinCatalogue } from '../src/core/trace/catalogues/index';
import type { Catalogue } from '../src/core/trace/catalogue';
import { readTrace, type LineScanner } from '../src/core/trace/readTrace';
import { prestartTraceWorkersFor, readTraceInWorker } from '../src/core/trace/workerClient';
import { guessQemuVersion } from '../src/core/trace/versionGuess';
import { isStringType } from '../src/core/trace/traceEventsParser';

const args = process.argv.slice(2);
const sizeMiB = Number(args[args.indexOf('--size') + 1] ?? '') || 1024;
const runs = Number(args[args.indexOf('--runs') + 1] ?? '') || 3;
const outFile = args.includes('--out') ? args[args.indexOf('--out') + 1]! : join(__dirname, '..', 'BENCHMARKS.md');
const dataDir = join(__dirname, '.data');
const logPath = join(dataDir, `trace-${sizeMiB}m.log`);
const simplePath = join(dataDir, `trace-${sizeMiB}m.simple`);

/** One generated event: name and argument values in declaration order. */
type GenEvent = [name: string, values: (number | string)[]];

function* events(): Generator<[number, GenEvent]> {
  let packet = 0;
  let recvPacket = 0;
  let addr = 0x7f3a40000000;
  const rb = ['pc.ram', 'vga.vram', 'mem0'];
  for (let i = 0; ; i++) {
    const r = i % 100;
    const ch = i % 4;
    if (r < 44) yield [1001 + ch, ['multifd_send', [ch, packet++, 128 - (i % 7), i % 7, 0, 0]]];
    else if (r < 88) yield [2001 + ch, ['multifd_recv', [ch, recvPacket++, 128 - (i % 5), i % 5, 0, 0]]];
    else if (r < 93) { addr += 4096 * ((i % 13) + 1); yield [3000, ['postcopy_ram_fault_thread_request', [addr, rb[i % 3]!, (addr - 0x7f3a40000000) % 0x40000000, 4242]]]; }
    else if (r < 97) yield [3001, ['postcopy_place_page', [addr]]];
    else if (r === 97) yield [1000, ['multifd_send_sync_main', [packet]]];
    else if (r === 98) yield [2000, ['multifd_recv_sync_main', [recvPacket]]];
    else yield [1000, ['migration_bitmap_sync_end', [(i * 7919) % 262144]]];
  }
}

function formatLine(tid: number, sec: number, usec: number, ev: GenEvent): string {
  const [name, v] = ev;
  const p = `${tid}@${sec}.${String(usec).padStart(6, '0')}:${name} `;
  switch (name) {
    case 'multifd_send':
    case 'multifd_recv':
      return `${p}channel ${v[0]} packet_num ${v[1]} normal pages ${v[2]} zero pages ${v[3]} flags 0x${(v[4] as number).toString(16)} next packet size ${v[5]}\n`;
    case 'postcopy_ram_fault_thread_request':
      return `${p}Request for HVA=0x${(v[0] as number).toString(16)} rb=${v[1]} offset=0x${(v[2] as number).toString(16)} pid=${v[3]}\n`;
    case 'postcopy_place_page':
      return `${p}host=0x${(v[0] as number).toString(16)}\n`;
    case 'multifd_send_sync_main':
    case 'multifd_recv_sync_main':
      return `${p}packet num ${v[0]}\n`;
    default:
      return `${p}dirty_pages ${v[0]}\n`;
  }
}

function generateLog(target: number): number {
  const fd = openSync(logPath, 'w');
  let written = 0;
  let count = 0;
  let sec = 1763700000;
  let usec = 0;
  const gen = events();
  while (written < target) {
    const parts: string[] = [];
    for (let k = 0; k < 20000; k++) {
      const [tid, ev] = gen.next().value as [number, GenEvent];
      usec += 3;
      if (usec >= 1000000) { usec -= 1000000; sec++; }
      parts.push(formatLine(tid, sec, usec, ev));
    }
    let block = parts.join('');
    if (written + block.length > target) {
      const cut = block.lastIndexOf('\n', target - written - 1);
      block = block.slice(0, cut + 1);
      if (block.length === 0) break;
    }
    writeSync(fd, block, null, 'latin1');
    written += block.length;
    count += block.split('\n').length - 1;
  }
  closeSync(fd);
  return count;
}

/** Writes the same event sequence as a simpletrace v4 file. */
function generateSimple(cat: Catalogue, count: number): void {
  const fd = openSync(simplePath, 'w');
  const ids = new Map<string, number>();
  const buf = Buffer.alloc(16 * 1024 * 1024);
  let p = 0;
  const flush = (): void => { writeSync(fd, buf, 0, p); p = 0; };
  const u64 = (v: number): void => { buf.writeUInt32LE(v % 4294967296, p); buf.writeUInt32LE(Math.floor(v / 4294967296), p + 4); p += 8; };
  buf.writeUInt32LE(0xffffffff, 0); buf.writeUInt32LE(0xffffffff, 4);
  buf.writeUInt32LE(0x0aa429b4, 8); buf.writeUInt32LE(0xf2b177cb, 12);
  p = 16;
  u64(4);
  const gen = events();
  let ts = 5_000_000_000;
  for (let i = 0; i < count; i++) {
    if (p > buf.length - 4096) flush();
    const [tid, [name, values]] = gen.next().value as [number, GenEvent];
    let id = ids.get(name);
    if (id === undefined) {
      id = ids.size;
      ids.set(name, id);
      u64(0); u64(id); buf.writeUInt32LE(name.length, p); p += 4; p += buf.write(name, p, 'latin1');
    }
    const decl = cat.get(name)!.decl;
    const start = p;
    u64(1); u64(id); u64(ts += 3000);
    const lenAt = p; p += 4;
    buf.writeUInt32LE(tid, p); p += 4;
    decl.args.forEach((a, k) => {
      const v = values[k]!;
      if (isStringType(a.type)) { const s = String(v); buf.writeUInt32LE(s.length, p); p += 4; p += buf.write(s, p, 'latin1'); } else u64(v as number);
    });
    buf.writeUInt32LE(p - start - 8, lenAt);
  }
  flush();
  closeSync(fd);
}

function timeWcL(path: string): { seconds: number; lines: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('wc', ['-l', path], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, lines: Number(r.stdout.trim().split(/\s+/)[0]) };
}

/** The worker and the WebAssembly scanner as the extension ships them (the project build), so the timing excludes TypeScript loading. */
function buildWorker(): string {
  const root = join(__dirname, '..');
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('build failed');
  return join(root, 'dist', 'traceWorker.js');
}

let workerScript: string | undefined;

interface EngineRun { seconds: number; cpuSeconds: number; events: number; bytes: number; perEvent: number; malformed: number; other: number }

/** Wall time and CPU time of the whole process (main thread and workers) for one read. */
async function timeEngine(path: string, cat: Catalogue, scanner: LineScanner = 'wasm'): Promise<EngineRun> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const store = await readTraceInWorker(path, cat, { workerScript, scanner });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const events = store.count();
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, events, bytes: statSync(path).size, perEvent: store.memoryBytes() / events, malformed: store.malformedCount, other: store.other };
}

/** The same read on the calling thread only (readTrace): the per-core speed without worker start-up or merging. */
async function timeInline(path: string, cat: Catalogue): Promise<EngineRun> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const store = await readTrace(path, cat);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const events = store.count();
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, events, bytes: statSync(path).size, perEvent: store.memoryBytes() / events, malformed: store.malformedCount, other: store.other };
}

/**
 * The first read of a fresh process, as `qmig` or a newly started extension host does it
 * (workers started by the read): timed in a child process, which prints the run as JSON.
 */
function timeFirstRead(path: string, guess = false): EngineRun {
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, '--first-read', path, workerScript ?? '', ...(guess ? ['guess'] : [])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`first-read child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as EngineRun;
}

/** `qmig trace stats --json` on the file, the whole process from start to exit (the built CLI). */
function timeCli(path: string): { seconds: number; events: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(__dirname, '..', 'dist', 'cli.js'), 'trace', 'stats', path, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`qmig trace stats failed: ${r.stderr}`);
  return { seconds, events: (JSON.parse(r.stdout) as { totalEvents: number }).totalEvents };
}

/** Best of n runs (least disturbed by the other processes on the machine). */
async function bestOf(n: number, run: () => Promise<EngineRun>): Promise<EngineRun> {
  let best: EngineRun | undefined;
  for (let i = 0; i < n; i++) { const r = await run(); if (!best || r.seconds < best.seconds) best = r; }
  return best!;
}

async function main(): Promise<void> {
  const child = args.indexOf('--first-read');
  if (child >= 0) {
    workerScript = args[child + 2] || undefined;
    const path = args[child + 1]!;
    if (args[child + 3] === 'guess') {
      // As `qmig trace` and the extension open a big file: workers boot during the version guess.
      await prestartTraceWorkersFor(path, { workerScript });
      await guessQemuVersion(path);
    }
    const run = await timeEngine(path, builtinCatalogue('9.0'));
    console.log(JSON.stringify(run));
    process.exit(0);
  }
  mkdirSync(dataDir, { recursive: true });
  const cat = builtinCatalogue('9.0');
  const target = sizeMiB * 1024 * 1024;
  let lines: number;
  if (!existsSync(logPath) || statSync(logPath).size < target - 4096) {
    console.log(`generating ${logPath} (${sizeMiB} MiB)…`);
    lines = generateLog(target);
  } else {
    lines = timeWcL(logPath).lines;
  }
  if (!existsSync(simplePath)) { console.log(`generating ${simplePath} (${lines} events)…`); generateSimple(cat, lines); }
  if (args.includes('--generate-only')) return;

  workerScript = buildWorker();
  const loadStart = loadavg();
  timeWcL(logPath); // warm the page cache for both readers
  const wc = [timeWcL(logPath), timeWcL(logPath), timeWcL(logPath)].sort((a, b) => a.seconds - b.seconds)[0]!;
  // A first read starts the workers (each in a fresh process); later reads reuse them (kept idle for 15 s).
  const firsts = Array.from({ length: runs }, () => timeFirstRead(logPath)).sort((a, b) => a.seconds - b.seconds);
  const cold = firsts[0]!;
  const guessed = Array.from({ length: runs }, () => timeFirstRead(logPath, true)).sort((a, b) => a.seconds - b.seconds);
  const early = guessed[0]!;
  const cli = Array.from({ length: runs }, () => timeCli(logPath)).sort((a, b) => a.seconds - b.seconds);
  await timeEngine(logPath, cat);
  const log = await bestOf(runs, () => timeEngine(logPath, cat));
  const simple = await bestOf(runs, () => timeEngine(simplePath, cat));
  const inline = await bestOf(runs, () => timeInline(logPath, cat));
  const jsOnly = await bestOf(Math.min(runs, 2), () => timeEngine(logPath, cat, 'js'));
  const loadEnd = loadavg();
  const mb = log.bytes / 1e6;
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? cpus()[0]?.model ?? 'unknown';
  const rows = [
    `| \`wc -l\` | ${fmt(wc.seconds)} s | ${fmt(mb / wc.seconds)} MB/s | ${fmt(wc.lines / wc.seconds / 1e6)} M lines/s | – | – |`,
    `| engine, log backend, first read of a fresh process (workers started by the read; ${runs} processes: ${firsts.map((r) => fmt(r.seconds)).join(', ')} s) | ${fmt(cold.seconds)} s (CPU ${fmt(cold.cpuSeconds)} s) | ${fmt(mb / cold.seconds)} MB/s | ${fmt(cold.events / cold.seconds / 1e6)} M events/s | ${fmt(cold.seconds / wc.seconds)}× | ${fmt(cold.perEvent)} |`,
    `| engine, log backend, first read of a fresh process, workers started while the QEMU version is guessed (as \`qmig trace\` and the extension open a big file; untimed; ${runs} processes: ${guessed.map((r) => fmt(r.seconds)).join(', ')} s) | ${fmt(early.seconds)} s (CPU ${fmt(early.cpuSeconds)} s) | ${fmt(mb / early.seconds)} MB/s | ${fmt(early.events / early.seconds / 1e6)} M events/s | ${fmt(early.seconds / wc.seconds)}× | ${fmt(early.perEvent)} |`,
    `| engine, log backend (${log.events} events) | ${fmt(log.seconds)} s (CPU ${fmt(log.cpuSeconds)} s) | ${fmt(mb / log.seconds)} MB/s (${fmt(mb / log.cpuSeconds)} per CPU-s) | ${fmt(log.events / log.seconds / 1e6)} M events/s | ${fmt(log.seconds / wc.seconds)}× | ${fmt(log.perEvent)} |`,
    `| engine, log backend, JavaScript scanner only (no WebAssembly) | ${fmt(jsOnly.seconds)} s (CPU ${fmt(jsOnly.cpuSeconds)} s) | ${fmt(mb / jsOnly.seconds)} MB/s | ${fmt(jsOnly.events / jsOnly.seconds / 1e6)} M events/s | ${fmt(jsOnly.seconds / wc.seconds)}× | ${fmt(jsOnly.perEvent)} |`,
    `| one thread, log backend (\`readTrace\`, no workers) | ${fmt(inline.seconds)} s (CPU ${fmt(inline.cpuSeconds)} s) | ${fmt(mb / inline.seconds)} MB/s | ${fmt(inline.events / inline.seconds / 1e6)} M events/s | ${fmt(inline.seconds / wc.seconds)}× | ${fmt(inline.perEvent)} |`,
    `| \`qmig trace stats --json\`, whole process (node start, version guess, read, summary, exit; ${runs} runs: ${cli.map((r) => fmt(r.seconds)).join(', ')} s) | ${fmt(cli[0]!.seconds)} s | ${fmt(mb / cli[0]!.seconds)} MB/s | ${fmt(cli[0]!.events / cli[0]!.seconds / 1e6)} M events/s | ${fmt(cli[0]!.seconds / wc.seconds)}× | – |`,
    `| engine, simpletrace (${simple.events} events, ${fmt(simple.bytes / 1e6)} MB) | ${fmt(simple.seconds)} s (CPU ${fmt(simple.cpuSeconds)} s) | ${fmt(simple.bytes / 1e6 / simple.seconds)} MB/s (${fmt(simple.bytes / 1e6 / simple.cpuSeconds)} per CPU-s) | ${fmt(simple.events / simple.seconds / 1e6)} M events/s | – | ${fmt(simple.perEvent)} |`,
  ];
  const section = [
    '## Trace engine',
    '',
    `Run ${new Date().toISOString()} by \`npm run bench\` (bench/trace.bench.ts). Machine: ${availableParallelism()} cores (\`nproc\`), CPU "${cpu}", node ${process.version}, load average (1, 5, 15 min) at start ${loadStart.map((x) => x.toFixed(2)).join(' ')}, at end ${loadEnd.map((x) => x.toFixed(2)).join(' ')}.`,
    'The machine is a 2-core VM on a shared host: timings move with load on the host and in the VM (a load average above 2 means the engine did not have both cores to itself), so numbers are noisy; runs of the same build differed by up to 2.4× on 2026-11-21.',
    '',
    `Times are the best of ${runs} runs (\`wc -l\`: best of 3; every run is listed where the spread matters). A first read in a fresh process also starts the worker threads, so it is timed in ${runs} fresh processes each, two ways: with the workers started by the read itself (a bare \`readTraceInWorker\` call), and with the workers started while the QEMU version is guessed, untimed, as \`qmig trace\` and the extension open a big file (the extension also starts them when its file picker opens). The row below them is the best of ${runs} reads after a first one in one process (workers kept from the read before, as the extension keeps them for 15 s). CPU time counts every thread of the process (main thread and workers).`,
    '',
    `Input: ${fmt(mb)} MB generated log-backend trace (\`tid@sec.usec:\` prefix, QEMU 9.0 formats: 44% multifd_send, 44% multifd_recv, 5% postcopy fault requests with a \`%s\` field, 4% page placements, sync events), malformed ${log.malformed}, other ${log.other}; the same events as simpletrace v4. Files in page cache (read once before timing). Engine = \`readTraceInWorker\` as the extension runs it (the project build: \`dist/traceWorker.js\` and \`dist/logscan.wasm\`): one worker thread per core (started while the file is split at line boundaries into up to 8 byte ranges per worker, or kept from the read before), each given its next range before it finishes one. A worker reads its range straight into the WebAssembly scanner's memory (\`src/core/trace/wasm/logscan.c\`; lines it declines go to the TypeScript decoders) and keeps the range's store. As soon as every range before it has been read, the main thread places a range in the shared store (columns sized from the rows per byte seen so far; a table that outgrows them gets another segment, joined at the end) and its worker copies it into place and reuses its arrays for later ranges, while the other ranges are still being read. The JavaScript-only row is the same engine with the scanner switched off (\`scanner: 'js'\`), for comparison in the same run. The simpletrace file is cut at record boundaries the same way.`,
    '',
    '| reader | time | throughput | rate | vs `wc -l` | bytes/stored event |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'Goals: ≥ 500 MB/s and ≥ 5 M events/s end to end, within 5× of `wc -l`, < 24 bytes per stored event.',
    'Where the time goes (CPU profiles of a first read, 2026-11-22 04:30 UTC): per worker about 45% in the WebAssembly scan (prefix digits and numbers read 8 bytes at a time with a one-digit shortcut, the event name compared with the thread\'s previous event, each numeric format compiled to steps of a literal compared as two masked 8-byte words and a conversion, rows staged column by column in 2048-row stages), 10% in \`read\` (the kernel copying the file into the scanner\'s memory), 12% handing stages to the typed-array columns (narrowed in WebAssembly, then plain copies), 13% copying ranges into the shared store (line numbers offset in the same pass; mostly first writes to fresh memory, a page fault per 4 KiB), a few percent GC; the main thread idles while the workers run. A page fault costs 2–9 µs on this VM (touching 200 MB of new memory took 0.12–0.46 s of CPU in three tries), so the store is written once into shared memory and a worker\'s arrays are reused. Starting a worker costs about 50 ms of CPU before it runs a line of the project (Node\'s own start), plus about 3 ms to compile the bundle (12.5 ms while the built-in catalogues were text inside it) and 20–30 ms to build the catalogue, the scanner and the decoders of the events it meets; a read that starts its workers pays that on both cores, which is the difference between the two first-read rows.',
    'The `qmig trace stats` row is the command line, which reads on its own thread as well (`callerReads`): with two cores, a simpletrace file or a log file under 256 MiB alone, a bigger log file in ranges beside one worker (since 2026-12-02; before, it waited for two workers like the engine rows, 1.22–1.60 s).',
    'Spread: five runs of this bench on 2026-11-22 between 04:42 and 04:47 UTC, on the build measured then (load average 0.7–2.3, rising with the runs themselves), gave for the first read with the workers started by the read 4.79×, 4.53×, 4.55×, 4.92× and 4.68× `wc -l` (0.90–1.16 s against `wc -l` 0.19–0.25 s); with the workers started during the version guess 4.96×, 4.17×, 3.96×, 4.25× and 4.34× (0.81–1.02 s); for reads after the first 3.76×, 3.51×, 3.06×, 3.57× and 3.12× (0.60–0.78 s); for `qmig trace stats` from process start to exit 5.82–7.49× (1.30–1.53 s); for simpletrace 1.25–1.83 s (4.9–7.2 M events/s). Five runs between 04:29 and 04:33 on the build before the catalogues became data files gave 4.54–5.10× (first read, workers started by the read), 3.85–4.29× (workers started during the guess) and 2.58–4.01× (reads after the first).',
    'Earlier figures (same bench and machine): 2026-11-22T02:55Z, before the scanner compiled formats to steps: first read with the workers started by the read 1.30 s (5.67× `wc -l` at 0.23 s), reads after it 1.00 s (4.38×), and six runs gave 4.93–5.60× and 3.75–5.97×; 2026-11-22T01:39Z, before ranges were placed while others are read, before lazy catalogues and the simpletrace changes: first read of the process 1.28 s (7.25× `wc -l`; one read, in the bench process), reads after it 0.79 s (4.48×), simpletrace 2.45 s (3.67 M events/s); before the WebAssembly scanner and the shared-memory assembly (2026-11-21T22:54Z, quiet machine): engine 2.67 s / 5.09 s CPU (403 MB/s, 3.37 M events/s, 10.7× `wc -l`); before the first tuning of 2026-11-21: engine 6.60 s (163 MB/s).',
    `In this run (log backend, workers), reads after the first: ${goals(log, mb, wc.seconds)}; first read, workers started during the version guess: ${goals(early, mb, wc.seconds)}; first read, workers started by the read: ${goals(cold, mb, wc.seconds)}.`,
    '',
  ].join('\n');
  console.log(section);
  writeSection(outFile, section);
}

/** The four goals for one engine run (mb: input size, wcSeconds: `wc -l` time). */
function goals(r: EngineRun, mb: number, wcSeconds: number): string {
  return [
    goal(mb / r.seconds >= 500, `${fmt(mb / r.seconds)} MB/s`),
    goal(r.events / r.seconds >= 5e6, `${fmt(r.events / r.seconds / 1e6)} M events/s`),
    goal(r.seconds / wcSeconds <= 5, `${fmt(r.seconds / wcSeconds)}× \`wc -l\``),
    goal(r.perEvent < 24, `${fmt(r.perEvent)} bytes/event`),
  ].join(', ');
}

function goal(met: boolean, what: string): string {
  return `${what} ${met ? '(met)' : '(not met)'}`;
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** Replaces (or appends) the `## Trace engine` section, leaving other sections alone. */
function writeSection(file: string, section: string): void {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\n';
  const start = text.indexOf('## Trace engine');
  if (start >= 0) {
    const next = text.indexOf('\n## ', start + 1);
    text = text.slice(0, start) + section.replace(/\n*$/, '\n') + (next >= 0 ? '\n' + text.slice(next + 1) : '');
  } else {
    text = text.replace(/\n*$/, '\n\n') + section;
  }
  writeFileSync(file, text);
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
