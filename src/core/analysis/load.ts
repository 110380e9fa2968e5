/**
 * Loads one or two trace files (or a lab recording folder) into a MigrationModel:
 * guesses each file's QEMU version, reads it (in worker threads by default), detects
 * which side it is, puts both on one time axis and runs every analysis.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Catalogue } from '../trace/catalogue';
import { readTrace } from '../trace/readTrace';
import type { TraceStore } from '../trace/store';
import { guessQemuVersion } from '../trace/versionGuess';
import { prestartTraceWorkersFor, readTraceInWorker } from '../trace/workerClient';
import type { MigrationModel, Phase, Side, TraceInfo } from './model';
import { analyzeMultifd } from './multifd';
import { qmpPhases, tracePhases } from './phases';
import { analyzePostcopy } from './postcopy';
import { detectSides } from './sides';

export interface LoadOptions {
  readonly signal?: AbortSignal | undefined;
  /** Read on the calling thread (tests, small files). */
  readonly inProcess?: boolean | undefined;
  /** Catalogue to use instead of guessing from each file. */
  readonly catalogue?: Catalogue | undefined;
  /** Bytes read so far over all files, and their total size (compressed files count as read when done). */
  readonly onProgress?: ((bytesRead: number, totalBytes: number) => void) | undefined;
}

export interface LoadedTrace {
  readonly path: string;
  readonly side: Side;
  readonly store: TraceStore;
  readonly version: string;
  readonly parseMs: number;
}

export interface LoadedMigration {
  readonly model: MigrationModel;
  readonly traces: readonly LoadedTrace[];
}

const TRACE_NAMES = ['trace.log', 'trace.log.xz', 'trace.log.gz', 'trace.simple'];

/** A lab recording folder → its source and destination traces; files pass through. */
export function expandInputs(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p) || !statSync(p).isDirectory()) { out.push(p); continue; }
    const found = ['src', 'dst'].map((side) => TRACE_NAMES.map((n) => join(p, `${side}-${n}`)).find((f) => existsSync(f)));
    const files = found.filter((f): f is string => f !== undefined);
    if (files.length === 0) throw new Error(`${p} holds no src-trace.log or dst-trace.log`);
    out.push(...files);
  }
  if (out.length > 2) throw new Error(`expected at most two traces (source and destination), got ${out.length}`);
  return out;
}

async function readOne(
  path: string,
  opts: LoadOptions,
  onProgress?: (bytesRead: number) => void,
): Promise<{ store: TraceStore; version: string; parseMs: number }> {
  const t0 = performance.now();
  // A big file's workers boot while the version is guessed.
  if (!opts.inProcess) await prestartTraceWorkersFor(path);
  // Guessed even with a given catalogue: the summary names the QEMU version either way.
  const guess = await guessQemuVersion(path);
  const cat = opts.catalogue ?? guess.catalogue;
  const store = opts.inProcess
    ? await readTrace(path, cat, { signal: opts.signal })
    : await readTraceInWorker(path, cat, { signal: opts.signal, onProgress: onProgress && ((read: number) => onProgress(read)) });
  return { store, version: guess.version, parseMs: performance.now() - t0 };
}

/** Recordings saved from the live chart ("Save Recording"): `qmp-<label>-<time>.jsonl`. */
const SAVED_RECORDING = /^qmp-.+\.jsonl$/;

/**
 * The QMP transcript next to a trace, if any: a lab recording's qmp.jsonl (both sides), or
 * else every recording saved from the live chart in that folder (one side each), joined.
 */
export async function transcriptBeside(paths: readonly string[]): Promise<string | null> {
  for (const p of paths) {
    const f = join(dirname(p), 'qmp.jsonl');
    if (existsSync(f)) return readFile(f, 'utf8');
  }
  for (const dir of new Set(paths.map((p) => dirname(p)))) {
    const saved = (await readdir(dir).catch(() => [])).filter((n) => SAVED_RECORDING.test(n)).sort();
    if (saved.length === 0) continue;
    const texts = await Promise.all(saved.map((n) => readFile(join(dir, n), 'utf8')));
    return texts.map((t) => (t.endsWith('\n') || t === '' ? t : `${t}\n`)).join('');
  }
  return null;
}

export function modelFromStores(loaded: readonly LoadedTrace[], transcript: string | null): MigrationModel {
  const bases = loaded.map((l) => l.store.baseTimeNs);
  const known = bases.filter((b): b is bigint => b !== null);
  const origin = known.length ? known.reduce((a, b) => (b < a ? b : a)) : 0n;
  const offsets = bases.map((b) => (b === null ? 0 : Number(b - origin)));
  const src = loaded.findIndex((l) => l.side === 'src');
  const dst = loaded.findIndex((l) => l.side === 'dst');
  const phases: Phase[] = loaded.flatMap((l, i) => tracePhases(l.store, l.side, offsets[i]!));
  if (transcript !== null && known.length > 0) phases.push(...qmpPhases(transcript, origin));
  phases.sort((a, b) => a.t - b.t);
  const traces: TraceInfo[] = loaded.map((l, i) => {
    const span = l.store.timeSpan();
    return {
      side: l.side, path: l.path, version: l.version, events: l.store.count(), malformed: l.store.malformedCount, lines: l.store.lines,
      firstNs: (span?.firstNs ?? 0) + offsets[i]!, lastNs: (span?.lastNs ?? 0) + offsets[i]!, parseMs: l.parseMs,
    };
  });
  return {
    originNs: origin.toString(),
    traces,
    send: src >= 0 ? analyzeMultifd(loaded[src]!.store, 'src', offsets[src]!) : null,
    recv: dst >= 0 ? analyzeMultifd(loaded[dst]!.store, 'dst', offsets[dst]!) : null,
    postcopy: dst >= 0 ? analyzePostcopy(loaded[dst]!.store, offsets[dst]!) : null,
    phases,
  };
}

/** Reads the inputs (one or two trace files, or a recording folder) and analyses them. */
export async function loadMigration(paths: readonly string[], opts: LoadOptions = {}): Promise<LoadedMigration> {
  const files = expandInputs(paths);
  if (files.length === 0) throw new Error('no trace file given');
  const sizes = files.map((f) => statSync(f).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  const done = sizes.map(() => 0);
  const report = (i: number, bytes: number): void => {
    done[i] = Math.min(bytes, sizes[i]!);
    opts.onProgress?.(done.reduce((a, b) => a + b, 0), total);
  };
  const read = await Promise.all(files.map(async (f, i) => {
    const r = await readOne(f, opts, (bytes) => report(i, bytes));
    report(i, sizes[i]!);
    return r;
  }));
  const sides = detectSides(read.map((r) => r.store));
  const traces: LoadedTrace[] = read.map((r, i) => ({ path: files[i]!, side: sides[i]!, ...r }));
  return { model: modelFromStores(traces, await transcriptBeside(files)), traces };
}
