/**
 * Follow mode on a trace growing at 20 MB/s for 60 s, end to end: this process plays the
 * extension host (the migration view's MigrationDocument as VS Code runs it: a follow worker
 * thread tails the file, the analysis takes its batches, deltas go to the webview at most
 * every 250 ms), the webview is the real bundle in headless Chromium in a process of its own
 * (bench/webviewProcess.ts), and a third process appends real lines of a QEMU 10.2.50 source
 * trace (fixtures/recordings/qemu-10.2.50-multifd-legacy: 78 thousand events a copy, 0.5 % of
 * them multifd packets) with fresh timestamps, 1 MB every 50 ms.
 *
 * Measured, each against an idle baseline of the same run (following, the file not growing):
 * - view lag: from a piece of the file being written to the view showing its events (p50, p95, max);
 * - the host's event-loop delay (perf_hooks.monitorEventLoopDelay, 1 ms resolution; p50, p99, max);
 * - host memory (RSS, and heap + array buffers; the follow worker thread is in the process) and
 *   webview memory (JS heap with array buffers, after a forced GC) from 10 s to the end.
 *
 * Usage: node --import tsx bench/follow.bench.ts [--seconds 60] [--rate 20] (MB/s)
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MigrationDocument } from '../src/extension/migrationView/document';
import { Scope } from '../src/extension/scope';
import { recordings } from '../src/core/trace/testSupport';
import { RealTraceLines, traceText } from '../test/support/traceGrowth';
import { startWebview, type PageMemory, type Shown } from './webviewProcess';

const repoRoot = resolve(__dirname, '..');
const SOURCE = join(recordings, 'qemu-10.2.50-multifd-legacy', 'src-trace.log.xz');
/** A migration that goes on: its threads' start and end and its teardown are left out of the copies. */
const ONGOING = /multifd_send_thread_(start|end)|terminate_threads|migration_cleanup|migration_cancel/;
const IDLE_S = 10;
const TICK_MS = 50;

const arg = (name: string, dflt: number): number => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? Number(process.argv[i + 1]) : dflt; };
const pct = (xs: readonly number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN; };
const mib = (b: number): number => b / 2 ** 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writer process: appends whole lines, `rate` bytes a second in TICK_MS pieces, for `seconds`; says how many lines each piece ended at. */
async function writer(path: string, rate: number, seconds: number): Promise<void> {
  const lines = new RealTraceLines(traceText(SOURCE), {}, ONGOING);
  let buf = Buffer.alloc(0), written = Number(process.argv[process.argv.indexOf('--lines') + 1]);
  const t0 = Date.now();
  let bytes = 0;
  for (let k = 1; Date.now() - t0 < seconds * 1000; k++) {
    // What is owed by now: a tick late is caught up in the next piece.
    const owed = Math.round((rate * (Date.now() - t0 + TICK_MS)) / 1000) - bytes;
    while (buf.length < owed) { lines.restartAt(Date.now()); buf = Buffer.concat([buf, lines.copies(1)]); }
    const cut = buf.lastIndexOf(10, owed) + 1;
    const piece = buf.subarray(0, cut);
    buf = buf.subarray(cut);
    let n = 0;
    for (let i = piece.indexOf(10); i >= 0; i = piece.indexOf(10, i + 1)) n++;
    await appendFile(path, piece);
    written += n;
    bytes += piece.length;
    process.send!({ lines: written, at: Date.now(), bytes: piece.length });
    const next = t0 + k * TICK_MS;
    if (next > Date.now()) await sleep(next - Date.now());
  }
  process.exit(0);
}

interface Sample { t: number; rss: number; heapArrays: number }

function hostSample(t0: number): Sample {
  const m = process.memoryUsage();
  return { t: (Date.now() - t0) / 1000, rss: mib(m.rss), heapArrays: mib(m.heapUsed + m.arrayBuffers) };
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 60);
  const rate = arg('rate', 20) * 1e6;
  const load0 = loadavg();
  const dir = await mkdtemp(join(tmpdir(), 'qmw-bench-follow-'));
  const path = join(dir, 'src-trace.log');
  const lines = new RealTraceLines(traceText(SOURCE), {}, ONGOING);
  await writeFile(path, lines.copies(1));
  const view = await startWebview();
  const scope = new Scope('bench');
  // What the model holds: packets and sync rounds the deltas added, by time.
  const model = { packets: 0, syncs: 0 };
  const modelAt: { t: number; packets: number; syncs: number }[] = [];
  const doc = new MigrationDocument([path], scope, {
    title: 'follow bench',
    post: (m) => {
      if (m.type === 'model') { model.packets = m.model.send?.packets.t.length ?? 0; model.syncs = m.model.send?.syncs.length ?? 0; }
      if (m.type === 'delta' && m.delta.send) { model.packets += m.delta.send.added.packets.t.length; model.syncs += m.delta.send.syncs.length; }
      view.post(m);
    },
    log: { info: () => undefined, warn: (t) => console.warn(t), error: (t) => console.error(t) }, catalogues: () => ({}) });
  const shown: Shown[] = [];
  view.onShown((s) => shown.push(s));
  view.onFromPage((m) => { if ((m as { type?: string }).type === 'ready') void doc.ready(); });
  const until = async (what: string, ms: number, ok: () => boolean): Promise<void> => {
    const end = Date.now() + ms;
    while (!ok()) { if (Date.now() > end) throw new Error(`timed out waiting for ${what}`); await sleep(20); }
  };
  const showing = (): number => shown[shown.length - 1]?.events ?? 0;
  await until('the first model', 60_000, () => showing() === lines.linesPerCopy);
  await doc.setFollow(true);

  // Idle baseline: following, the file not growing.
  const eld = monitorEventLoopDelay({ resolution: 1 });
  const idleStart = Date.now();
  const idleWeb0 = await view.memory(true);
  eld.enable();
  const idleHost: Sample[] = [];
  while (Date.now() - idleStart < IDLE_S * 1000) { await sleep(1000); idleHost.push(hostSample(idleStart)); }
  eld.disable();
  const idleEld = { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 };
  const idleWeb1 = await view.memory(true);

  // Growth: rate bytes a second for `seconds`.
  const written: { lines: number; at: number; bytes: number }[] = [];
  const w = fork(__filename, ['--writer', path, String(rate), String(seconds), '--lines', String(lines.linesPerCopy)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  w.on('message', (m: { lines: number; at: number; bytes: number }) => written.push(m));
  const writerDone = new Promise<void>((r) => w.once('exit', () => r()));
  eld.reset();
  eld.enable();
  const t0 = Date.now();
  const host: Sample[] = [];
  const web: { t: number; mem: PageMemory }[] = [];
  const gcAt = new Set([10, Math.round(seconds / 2), seconds]);
  let done = false;
  void writerDone.then(() => { done = true; });
  for (let s = 1; !done; s++) {
    await sleep(Math.max(0, t0 + s * 1000 - Date.now()));
    host.push(hostSample(t0));
    modelAt.push({ t: s, ...model });
    if (gcAt.has(s)) web.push({ t: s, mem: await view.memory(true) });
  }
  eld.disable();
  const growEld = { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 };
  const totalLines = written[written.length - 1]?.lines ?? 0;
  await until('the view to show every line', 60_000, () => showing() >= totalLines).catch((e: unknown) => console.warn(String(e)));
  const lastWeb = await view.memory(true);
  const load1 = loadavg();
  scope.dispose();
  await view.close();
  await rm(dir, { recursive: true, force: true });

  // Lag of each piece: until the first frame showing its last line.
  const lags: number[] = [];
  const lagAt: [number, number][] = [];
  let k = 0;
  for (const piece of written) {
    while (k < shown.length && shown[k]!.events < piece.lines) k++;
    if (k < shown.length) { lags.push(shown[k]!.shownAt - piece.at); lagAt.push([(piece.at - t0) / 1000, shown[k]!.shownAt - piece.at]); }
  }
  const handle = shown.slice(1).map((s) => s.handleMs);
  const bytes = written.reduce((a, p) => a + p.bytes, 0);
  // The writer's own span: from its first piece (its start-up is not writing).
  const span = (written[written.length - 1]!.at - written[0]!.at) / 1000 + TICK_MS / 1000;
  const at = (xs: Sample[], t: number): Sample => xs.reduce((best, x) => (Math.abs(x.t - t) < Math.abs(best.t - t) ? x : best));
  const from10 = at(host, 10), end = host[host.length - 1]!;
  const idleFirst = idleHost[0]!, idleLast = idleHost[idleHost.length - 1]!;
  const web10 = web.find((x) => x.t === 10)?.mem ?? web[0]!.mem;
  const result = {
    date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, memGiB: totalmem() / 2 ** 30, node: process.version, loadavg: { start: load0, end: load1 },
    written: { MB: bytes / 1e6, seconds: span, MBps: bytes / 1e6 / span, lines: totalLines },
    updates: shown.length, lagMs: { p50: pct(lags, 50), p95: pct(lags, 95), max: Math.max(...lags), pieces: lags.length, byTime: lagAt },
    updatesShown: shown.map((x) => ({ at: (x.shownAt - t0) / 1000, received: (x.receivedAt - t0) / 1000, handleMs: x.handleMs, events: x.events })),
    webviewHandleMs: { p50: pct(handle, 50), p95: pct(handle, 95), max: Math.max(...handle) },
    eventLoopDelayMs: { idle: idleEld, growing: growEld },
    hostMiB: { idle: { rss: [idleFirst.rss, idleLast.rss], heapArrays: [idleFirst.heapArrays, idleLast.heapArrays] }, growing: { rssAt10: from10.rss, rssEnd: end.rss, heapArraysAt10: from10.heapArrays, heapArraysEnd: end.heapArrays, samples: host } },
    webviewMiB: { idle: [idleWeb0.usedMiB, idleWeb1.usedMiB], growing: web.map((x) => ({ t: x.t, usedMiB: x.mem.usedMiB })), end: lastWeb.usedMiB },
    model: { at10: modelAt.find((x) => x.t === 10) ?? modelAt[0], end: { ...model } },
  };
  const m10 = result.model.at10!;
  /** The model's packet columns (8 + 8 + 5 × 4 bytes a packet), MiB. */
  const packetMiB = (n: number): number => (n * 36) / 2 ** 20;
  const out = join(repoRoot, 'test-output', 'bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'follow.json'), JSON.stringify(result, null, 2));

  const r2 = (x: number): string => x.toFixed(2), r0 = (x: number): string => x.toFixed(0), ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  console.log(`load average ${load0.map(r2).join(' ')} → ${load1.map(r2).join(' ')}; wrote ${r0(bytes / 1e6)} MB in ${span.toFixed(1)} s (${(bytes / 1e6 / span).toFixed(1)} MB/s, ${totalLines.toLocaleString('en-US')} lines); ${shown.length} view updates`);
  console.log(`view lag: p50 ${r0(result.lagMs.p50)} ms, p95 ${r0(result.lagMs.p95)} ms, max ${r0(result.lagMs.max)} ms over ${lags.length} pieces (goal p95 < 500 ms); the view's own handling of an update p50 ${r2(result.webviewHandleMs.p50)} ms, p95 ${r2(result.webviewHandleMs.p95)} ms`);
  console.log(`host event-loop delay: p50 ${r2(growEld.p50)} ms, p99 ${r2(growEld.p99)} ms, max ${r2(growEld.max)} ms; idle baseline p50 ${r2(idleEld.p50)}, p99 ${r2(idleEld.p99)}, max ${r2(idleEld.max)} ms: p99 ${ratio(growEld.p99, idleEld.p99)} the baseline (goal p99 < 20 ms)`);
  console.log(`host memory from 10 s to the end: RSS ${r0(from10.rss)} → ${r0(end.rss)} MiB (${(end.rss - from10.rss).toFixed(1)} MiB), heap + array buffers ${r0(from10.heapArrays)} → ${r0(end.heapArrays)} MiB (${(end.heapArrays - from10.heapArrays).toFixed(1)} MiB); idle baseline over ${IDLE_S} s: RSS ${(idleLast.rss - idleFirst.rss).toFixed(1)} MiB, heap + array buffers ${(idleLast.heapArrays - idleFirst.heapArrays).toFixed(1)} MiB`);
  console.log(`webview memory (after GC) from 10 s to the end: ${r0(web10.usedMiB)} → ${r0(lastWeb.usedMiB)} MiB (${(lastWeb.usedMiB - web10.usedMiB).toFixed(1)} MiB); idle baseline ${(idleWeb1.usedMiB - idleWeb0.usedMiB).toFixed(1)} MiB over ${IDLE_S} s`);
  console.log(`the model meanwhile: ${m10.packets.toLocaleString('en-US')} → ${model.packets.toLocaleString('en-US')} packets (${packetMiB(m10.packets).toFixed(1)} → ${packetMiB(model.packets).toFixed(1)} MiB of packet columns), ${m10.syncs} → ${model.syncs} sync rounds`);
  if (!(result.lagMs.p95 < 500)) console.log(`GOAL MISSED: view lag p95 ${r0(result.lagMs.p95)} ms`);
  if (!(growEld.p99 < 20)) console.log(`GOAL MISSED: host event-loop delay p99 ${r2(growEld.p99)} ms`);
}

if (process.argv.includes('--writer')) {
  const i = process.argv.indexOf('--writer');
  void writer(process.argv[i + 1]!, Number(process.argv[i + 2]), Number(process.argv[i + 3]));
} else {
  void main().catch((e: unknown) => { console.error(e); process.exit(1); });
}
