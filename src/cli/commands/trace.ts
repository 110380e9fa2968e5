/** `qmig trace`: statistics, exports and following of QEMU trace files. */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { UsageError, type CliCommand, type CliIo } from '../command';
import { catalogueFromText, loadCatalogueFromDir, type Catalogue } from '../../core/trace/catalogue';
import { builtinCatalogue } from '../../core/trace/catalogues/index';
import { exportFormats, exportStore, type ExportFormat } from '../../core/trace/export';
import { followTrace } from '../../core/trace/follow';
import type { TraceStore } from '../../core/trace/store';
import { traceSummaryText } from '../../core/trace/summary';
import { guessQemuVersion } from '../../core/trace/versionGuess';
import { prestartTraceWorkersFor, readTraceInWorker } from '../../core/trace/workerClient';
import { readFile } from 'node:fs/promises';

const HELP = `Usage:
  qmig trace stats FILE... [--trace-events DIR|--qemu-version V] [--json]
  qmig trace export FILE --format jsonl|csv|chrome [--out FILE] [--trace-events DIR|--qemu-version V]
  qmig trace follow FILE [--trace-events DIR|--qemu-version V] [--from-end]

Reads QEMU trace output: the log backend (tid@sec.usec:, ISO-8601 or no prefix;
plain, .gz or .xz) and simpletrace v4 binaries.

Options:
  --trace-events DIR   decode with the trace-events files under DIR (a QEMU tree),
                       or with one file such as build/trace/trace-events-all
  --qemu-version V     use the built-in catalogue of QEMU V (7.2, 9.0, 10.2.50);
                       default: guessed from the first file
  --json               stats: print one JSON object
  --format F           export: jsonl, csv or chrome (Chrome trace-event JSON;
                       multifd channels become tracks)
  --out FILE           export: write to FILE instead of standard output
  --from-end           follow: only events written from now on
`;

interface Parsed {
  sub: string;
  files: string[];
  json: boolean;
  traceEvents?: string;
  qemuVersion?: string;
  format?: string;
  out?: string;
  fromEnd: boolean;
}

function parseArgs(args: string[]): Parsed {
  const [sub, ...rest] = args;
  if (sub === undefined) throw new UsageError('missing subcommand (stats, export or follow)');
  const p: Parsed = { sub, files: [], json: false, fromEnd: false };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--json') p.json = true;
    else if (a === '--from-end') p.fromEnd = true;
    else if (a === '--trace-events') p.traceEvents = value();
    else if (a === '--qemu-version') p.qemuVersion = value();
    else if (a === '--format') p.format = value();
    else if (a === '--out' || a === '-o') p.out = value();
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`);
    else p.files.push(a);
  }
  if (p.traceEvents !== undefined && p.qemuVersion !== undefined) throw new UsageError('use either --trace-events or --qemu-version');
  if (p.files.length === 0) throw new UsageError('missing trace file');
  return p;
}

async function chooseCatalogue(p: Parsed, io: CliIo): Promise<Catalogue> {
  // For a big first file, the read's workers boot while the catalogue is chosen.
  await prestartTraceWorkersFor(p.files[0]!);
  if (p.traceEvents !== undefined) {
    const st = await stat(p.traceEvents).catch(() => undefined);
    if (!st) throw new Error(`cannot read ${p.traceEvents}: no such file or directory`);
    const cat = st.isDirectory() ? await loadCatalogueFromDir(p.traceEvents) : catalogueFromText(await readFile(p.traceEvents, 'utf8'), p.traceEvents);
    for (const e of cat.errors.slice(0, 5)) io.err(`${e.file}:${e.line}:${e.column}: ${e.message}\n`);
    return cat;
  }
  if (p.qemuVersion !== undefined) return builtinCatalogue(p.qemuVersion);
  return (await guessQemuVersion(p.files[0]!)).catalogue;
}

async function statsOf(file: string, cat: Catalogue, io: CliIo): Promise<{ store: TraceStore; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const store = await readTraceInWorker(file, cat, { signal: io.signal });
  return { store, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

function summaryJson(file: string, store: TraceStore, seconds: number): Record<string, unknown> {
  const span = store.timeSpan();
  const events = store.count();
  return {
    file,
    events: store.counts(),
    other: store.other,
    malformed: store.malformedCount,
    firstNs: span?.firstNs ?? null,
    lastNs: span?.lastNs ?? null,
    bytes: store.bytes,
    totalEvents: events,
    unknownEvents: store.unknownEvents,
    lines: store.lines,
    otherLines: store.otherLines.slice(0, 10),
    malformedLines: store.malformed.slice(0, 10).map((m) => ({ line: m.line, name: m.name })),
    baseTimeNs: store.baseTimeNs?.toString() ?? null,
    timeKind: store.timeKind,
    positionKind: store.positionKind,
    droppedEvents: store.droppedEvents,
    errors: store.errors,
    seconds,
    mbPerSecond: seconds > 0 ? store.bytes / 1e6 / seconds : null,
    eventsPerSecond: seconds > 0 ? events / seconds : null,
    bytesPerEvent: events > 0 ? store.memoryBytes() / events : null,
  };
}

async function stats(p: Parsed, io: CliIo): Promise<number> {
  const cat = await chooseCatalogue(p, io);
  const results: Record<string, unknown>[] = [];
  let failed = false;
  for (const file of p.files) {
    const { store, seconds } = await statsOf(file, cat, io);
    for (const e of store.errors) { io.err(`qmig trace: ${file}: ${e}\n`); failed = true; }
    results.push(summaryJson(file, store, seconds));
    if (!p.json) io.out(traceSummaryText({ file, store, seconds, catalogue: cat.source }));
  }
  if (p.json) {
    const one = results.length === 1 ? results[0]! : mergeJson(results);
    io.out(JSON.stringify({ ...one, catalogue: cat.source }) + '\n');
  }
  return failed ? 1 : 0;
}

function mergeJson(results: Record<string, unknown>[]): Record<string, unknown> {
  const events: Record<string, number> = {};
  let other = 0, malformed = 0, bytes = 0;
  for (const r of results) {
    for (const [k, v] of Object.entries(r.events as Record<string, number>)) events[k] = (events[k] ?? 0) + v;
    other += r.other as number;
    malformed += r.malformed as number;
    bytes += r.bytes as number;
  }
  // Times of different files have different bases; the aggregate span is left to the per-file entries.
  return { events, other, malformed, firstNs: null, lastNs: null, bytes, files: results };
}

async function exportCmd(p: Parsed, io: CliIo): Promise<number> {
  if (p.files.length !== 1) throw new UsageError('export takes exactly one trace file');
  const format = p.format as ExportFormat | undefined;
  if (format === undefined || !exportFormats.includes(format)) throw new UsageError(`--format must be one of ${exportFormats.join(', ')}`);
  const cat = await chooseCatalogue(p, io);
  const store = await readTraceInWorker(p.files[0]!, cat, { signal: io.signal });
  for (const e of store.errors) io.err(`qmig trace: ${p.files[0]}: ${e}\n`);
  if (p.out === undefined) {
    await exportStore(store, format, (s) => io.out(s));
  } else {
    const ws = createWriteStream(p.out);
    const failed = new Promise<never>((_, reject) => ws.on('error', reject));
    await Promise.race([exportStore(store, format, (s) => (ws.write(s) ? undefined : new Promise<void>((r) => ws.once('drain', () => r())))), failed]);
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
  return store.errors.length ? 1 : 0;
}

async function follow(p: Parsed, io: CliIo): Promise<number> {
  if (p.files.length !== 1) throw new UsageError('follow takes exactly one trace file');
  const cat = p.traceEvents !== undefined || p.qemuVersion !== undefined ? await chooseCatalogue(p, io) : builtinCatalogue('10.2.50');
  await followTrace(p.files[0]!, cat, {
    signal: io.signal,
    fromEnd: p.fromEnd,
    onReset: (r) => io.err(`qmig trace: ${p.files[0]} was ${r}; reading from the start\n`),
    onError: (m) => io.err(`qmig trace: ${m}\n`),
    onBatch: (store) => void exportStore(store, 'jsonl', (s) => io.out(s)),
  });
  return 0;
}

export const traceCommand: CliCommand = {
  name: 'trace',
  summary: 'statistics, export (jsonl/csv/chrome) and follow of QEMU trace files',
  help: HELP,
  async run(args: string[], io: CliIo): Promise<number> {
    const p = parseArgs(args);
    switch (p.sub) {
      case 'stats': return stats(p, io);
      case 'export': return exportCmd(p, io);
      case 'follow': return follow(p, io);
      default: throw new UsageError(`unknown subcommand '${p.sub}' (stats, export or follow)`);
    }
  },
};
