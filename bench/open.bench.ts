/**
 * Opening a 1 GiB trace pair in the migration view: time from the webview's `ready` to its
 * first complete frame, and the extension host's share of it (reading both files in worker
 * threads, the analysis, the model posted), against `wc -l` of the same two files in the
 * same run. This process plays the extension host (the view's MigrationDocument as VS Code
 * runs it); the webview is the real bundle in headless Chromium in a process of its own
 * (bench/webviewProcess.ts), whose own time is measured in the page (from the model's arrival
 * to the end of its handler) apart from the bench's transport into the page.
 *
 * The pair: copies of the real QEMU 10.2.50 source and destination traces of
 * fixtures/recordings/qemu-10.2.50-multifd-legacy, timestamps moved on a copy at a time,
 * about 1 GiB together (the source is 99 % of it: migration_transferred_bytes events).
 *
 * Usage: node --import tsx bench/open.bench.ts [--gib 1] [--runs 3]
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { recordings } from '../src/core/trace/testSupport';
import { MigrationDocument } from '../src/extension/migrationView/document';
import { Scope } from '../src/extension/scope';
import type { ToWebview } from '../src/webview/migrationView/protocol';
import { RealTraceLines, traceText } from '../test/support/traceGrowth';
import { startWebview, type Shown } from './webviewProcess';

const repoRoot = resolve(__dirname, '..');
const REC = join(recordings, 'qemu-10.2.50-multifd-legacy');
const arg = (name: string, dflt: number): number => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? Number(process.argv[i + 1]) : dflt; };
const median = (xs: readonly number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

async function writeCopies(path: string, lines: RealTraceLines, n: number): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 0; i < n; i += 8) if (!out.write(lines.copies(Math.min(8, n - i)))) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((r) => out.end(() => r()));
}

async function main(): Promise<void> {
  const gib = arg('gib', 1);
  const runs = arg('runs', 3);
  const load0 = loadavg();
  const dir = await mkdtemp(join(tmpdir(), 'qmw-bench-open-'));
  const src = new RealTraceLines(traceText(join(REC, 'src-trace.log.xz')));
  const dst = new RealTraceLines(traceText(join(REC, 'dst-trace.log')));
  // Both sides copied the same number of times, a copy of each a migration.
  const copies = Math.round((gib * 2 ** 30) / (src.bytesPerCopy + dst.bytesPerCopy));
  const files = [join(dir, 'src-trace.log'), join(dir, 'dst-trace.log')];
  await writeCopies(files[0]!, src, copies);
  await writeCopies(files[1]!, dst, copies);
  const bytes = copies * (src.bytesPerCopy + dst.bytesPerCopy);

  // The baseline: wc -l of both files, page cache warm (a first run warms it).
  execFileSync('wc', ['-l', ...files]);
  const wc: number[] = [];
  for (let i = 0; i < runs; i++) { const t0 = performance.now(); execFileSync('wc', ['-l', ...files]); wc.push(performance.now() - t0); }

  const results: { total: number; host: number; readMs: number; webview: number; transport: number; events: number; packets: number }[] = [];
  for (let run = 0; run < runs; run++) {
    // A new page for each run, as a new panel has.
    const view = await startWebview();
    const scope = new Scope(`open ${run}`);
    let readyAt = 0, postedAt = 0, packets = 0, readMs = 0;
    const shown = new Promise<Shown>((r) => view.onShown((s) => { if (s.events > 0 && postedAt > 0) r(s); }));
    const doc = new MigrationDocument(files, scope, {
      title: 'open bench', log: { info: () => undefined, warn: (t) => console.warn(t), error: (t) => console.error(t) }, catalogues: () => ({}),
      post: (m: ToWebview) => {
        if (m.type === 'model') {
          postedAt = performance.now();
          packets = (m.model.send?.packets.t.length ?? 0) + (m.model.recv?.packets.t.length ?? 0);
          // The two files are read at once; each trace's parse time is its catalogue choice and read.
          readMs = Math.max(...m.model.traces.map((t) => t.parseMs));
        }
        view.post(m);
      },
    });
    readyAt = performance.now();
    const wall0 = Date.now();
    await doc.ready();
    const s = await shown;
    const total = s.shownAt - wall0;
    const host = postedAt - readyAt;
    results.push({ total, host, readMs, webview: s.handleMs, transport: total - host - s.handleMs, events: s.events, packets });
    scope.dispose();
    await view.close();
  }
  const load1 = loadavg();
  await rm(dir, { recursive: true, force: true });

  const out = join(repoRoot, 'test-output', 'bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'open.json'), JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, memGiB: totalmem() / 2 ** 30, node: process.version, loadavg: { start: load0, end: load1 }, bytes, copies, wcMs: wc, runs: results }, null, 2));
  const r0 = (x: number): string => x.toFixed(0);
  console.log(`load average ${load0.map((x) => x.toFixed(2)).join(' ')} → ${load1.map((x) => x.toFixed(2)).join(' ')}; pair of ${(bytes / 2 ** 30).toFixed(2)} GiB (${copies} copies of the 10.2.50 source and destination traces)`);
  console.log(`wc -l of both files: ${wc.map(r0).join(', ')} ms (median ${r0(median(wc))} ms)`);
  for (const [i, r] of results.entries()) {
    console.log(`open ${i + 1}: first frame ${r0(r.total)} ms = host ${r0(r.host)} ms (of which reading ${r0(r.readMs)} ms; then analysis, model posted) + webview ${r0(r.webview)} ms (apply, index, draw, numbers) + transport ${r0(r.transport)} ms; ${r.events.toLocaleString('en-US')} source events, ${r.packets.toLocaleString('en-US')} packets; ${(r.total / median(wc)).toFixed(2)}× wc -l, host ${(r.host / median(wc)).toFixed(2)}× wc -l`);
  }
  const best = results.reduce((a, b) => (b.total < a.total ? b : a));
  console.log(`best: first frame ${r0(best.total)} ms (${(best.total / median(wc)).toFixed(2)}× wc -l), host share ${r0(best.host)} ms (${((100 * best.host) / best.total).toFixed(0)} %)`);
}

void main().catch((e: unknown) => { console.error(e); process.exit(1); });
