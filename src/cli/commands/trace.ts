/** `qmig trace`: statistics, exports and following of QEMU trace files. */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { interruptedExitCode, UsageError, type CliCommand, type CliIo } from '../command';
import { parseCommandArgs } from '../args';
import { reportTraceProblems } from '../traceProblems';
import type { Catalogue } from '../../core/trace/catalogue';
import { qemuTreesAmong, resolveCatalogue, type ResolvedCatalogue } from '../../core/trace/catalogueResolver';
import { exportFormats, exportStore, type ExportFormat } from '../../core/trace/export';
import { followTrace } from '../../core/trace/follow';
import type { TraceStore } from '../../core/trace/store';
import { traceSummaryText } from '../../core/trace/summary';
import { prestartTraceWorkersFor, readTraceInWorker } from '../../core/trace/workerClient';

const HELP = `Usage:
  qmig trace stats FILE... [--trace-events DIR|--qemu-version V] [--json]
  qmig trace export FILE --format jsonl|csv|chrome [--out FILE] [--trace-events DIR|--qemu-version V]
  qmig trace follow FILE [--trace-events DIR|--qemu-version V] [--from-end]

Reads QEMU trace output: the log backend (tid@sec.usec:, ISO-8601 or no prefix;
plain, .gz or .xz) and simpletrace v4 binaries.

Options:
  --trace-events DIR   decode with the trace-events files under DIR (a QEMU tree),
                       or with one file such as build/trace/trace-events-all
  --qemu-version V     use the built-in catalogue of QEMU V (7.2, 9.0, 10.0, 10.2.50);
                       default: per file, the catalogue that fits (the current
                       folder's trace-events when it is a QEMU tree and the trace
                       fits them, else the best built-in), said on stderr
  --json               stats: print one JSON object
  --format F           export: jsonl, csv or chrome (Chrome trace-event JSON;
                       multifd channels become tracks)
  --out FILE           export: write to FILE instead of standard output
  --from-end           follow: only events written from now on
  --help, -h           show this help

A file that is cut short (a truncated .gz or .xz, a file that shrank while read) keeps
what was read; the error names the byte offset where it stops.

Exit status: 0 every file read whole and every event line decoded; 1 a file is not a
trace (binary data, a broken simpletrace header), was cut short, could not be read, or
has malformed lines (numbers beyond 64 bits, impossible timestamps, a format that does
not match the catalogue): stderr says which, with the file and line or byte offset;
2 bad usage; 130 follow ended by Ctrl-C (SIGINT), 143 by SIGTERM.
`;

interface Parsed {
  help: boolean;
  sub: string;
  files: string[];
  json: boolean;
  traceEvents?: string;
  qemuVersion?: string;
  format?: string;
  out?: string;
  fromEnd: boolean;
}

function parse(args: string[]): Parsed {
  const { values: v, positionals } = parseCommandArgs(args, {
    json: { type: 'boolean' }, 'from-end': { type: 'boolean' }, 'trace-events': { type: 'string' },
    'qemu-version': { type: 'string' }, format: { type: 'string' }, out: { type: 'string', short: 'o' },
  });
  const [sub = '', ...files] = positionals;
  const p: Parsed = {
    help: v.help === true, sub, files, json: v.json === true, fromEnd: v['from-end'] === true,
    ...(v['trace-events'] !== undefined ? { traceEvents: v['trace-events'] } : {}),
    ...(v['qemu-version'] !== undefined ? { qemuVersion: v['qemu-version'] } : {}),
    ...(v.format !== undefined ? { format: v.format } : {}),
    ...(v.out !== undefined ? { out: v.out } : {}),
  };
  if (p.help) return p;
  if (sub === '') throw new UsageError('missing subcommand (stats, export or follow)');
  if (p.traceEvents !== undefined && p.qemuVersion !== undefined) throw new UsageError('use either --trace-events or --qemu-version');
  if (p.files.length === 0) throw new UsageError('missing trace file');
  return p;
}

/** The catalogue of one file (catalogueResolver); a poor fit is said on stderr. */
/** Every FILE is a readable regular file (or a FIFO), else a message naming it and what it is. */
async function checkFiles(files: readonly string[]): Promise<void> {
  for (const f of files) {
    const st = await stat(f).catch((e: unknown) => e as NodeJS.ErrnoException);
    if (st instanceof Error) throw new Error(`cannot read ${f}: ${st.code === 'ENOENT' ? 'no such file' : st.code === 'EACCES' ? 'permission denied' : st.message}`);
    if (st.isDirectory()) throw new Error(`${f} is a directory, not a trace file`);
  }
}

async function chooseCatalogue(p: Parsed, io: CliIo, file = p.files[0]!): Promise<ResolvedCatalogue> {
  await checkFiles(p.files);
  // For a big file read with workers, they boot while the catalogue is chosen.
  await prestartTraceWorkersFor(file, { callerReads: true });
  const forced = p.traceEvents !== undefined ? { path: p.traceEvents } : p.qemuVersion !== undefined ? { version: p.qemuVersion } : undefined;
  const r = await resolveCatalogue(file, { forced, trees: qemuTreesAmong([{ path: process.cwd(), origin: 'current folder' }]), onTreeProblem: (m) => io.err(`qmig trace: ${m}\n`) });
  for (const e of r.catalogue.errors.slice(0, 5)) io.err(`${e.file}:${e.line}:${e.column}: ${e.message}\n`);
  if (r.choice.warning) io.err(`qmig trace: ${file}: ${r.choice.warning}\n`);
  return r;
}

async function statsOf(file: string, cat: Catalogue, io: CliIo): Promise<{ store: TraceStore; seconds: number }> {
  const t0 = process.hrtime.bigint();
  // This thread would only wait for workers: it reads too (alone, or ranges beside them).
  const store = await readTraceInWorker(file, cat, { signal: io.signal, callerReads: true });
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
  const results: Record<string, unknown>[] = [];
  const sources: string[] = [];
  let failed = false;
  for (const file of p.files) {
    const { catalogue: cat, choice } = await chooseCatalogue(p, io, file);
    const { store, seconds } = await statsOf(file, cat, io);
    if (reportTraceProblems('trace', file, store, cat.source, io)) failed = true;
    if (p.json) results.push({ ...summaryJson(file, store, seconds), catalogue: cat.source, catalogueChoice: choice });
    sources.push(cat.source);
    if (!p.json) io.out(traceSummaryText({ file, store, seconds, catalogue: cat.source, choice }));
  }
  if (p.json) {
    const one = results.length === 1 ? results[0]! : mergeJson(results);
    io.out(JSON.stringify({ ...one, catalogue: [...new Set(sources)].join(', ') }) + '\n');
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
  const { catalogue: cat } = await chooseCatalogue(p, io);
  const store = await readTraceInWorker(p.files[0]!, cat, { signal: io.signal, callerReads: true });
  const bad = reportTraceProblems('trace', p.files[0]!, store, cat.source, io);
  if (p.out === undefined) {
    await exportStore(store, format, (s) => io.out(s));
  } else {
    const ws = createWriteStream(p.out);
    const failed = new Promise<never>((_, reject) => ws.on('error', reject));
    await Promise.race([exportStore(store, format, (s) => (ws.write(s) ? undefined : new Promise<void>((r) => ws.once('drain', () => r())))), failed]);
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
  return bad ? 1 : 0;
}

async function follow(p: Parsed, io: CliIo): Promise<number> {
  if (p.files.length !== 1) throw new UsageError('follow takes exactly one trace file');
  const { catalogue: cat } = await chooseCatalogue(p, io);
  await followTrace(p.files[0]!, cat, {
    signal: io.signal,
    fromEnd: p.fromEnd,
    onReset: (r) => io.err(`qmig trace: ${p.files[0]} was ${r}; reading from the start\n`),
    onError: (m) => io.err(`qmig trace: ${m}\n`),
    onBatch: (store) => void exportStore(store, 'jsonl', (s) => io.out(s)),
  });
  // Following ends only when stopped: by a signal, which the exit status says.
  return io.signal.aborted ? interruptedExitCode(io.signal) : 0;
}

export const traceCommand: CliCommand = {
  name: 'trace',
  summary: 'statistics, export (jsonl/csv/chrome) and follow of QEMU trace files',
  help: HELP,
  async run(args: string[], io: CliIo): Promise<number> {
    const p = parse(args);
    if (p.help) {
      io.out(HELP);
      return 0;
    }
    switch (p.sub) {
      case 'stats': return stats(p, io);
      case 'export': return exportCmd(p, io);
      case 'follow': return follow(p, io);
      default: throw new UsageError(`unknown subcommand '${p.sub}' (stats, export or follow)`);
    }
  },
};
