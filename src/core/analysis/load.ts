/**
 * Loads one or two trace files (or a lab recording folder) into a MigrationModel:
 * resolves each file's catalogue, reads it (in worker threads by default), detects which
 * side it is, puts both on one time axis, runs every analysis and puts QEMU's own totals
 * of the recording beside them.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { labFileNames } from '../lab/record';
import type { Catalogue } from '../trace/catalogue';
import { resolveCatalogues, type CatalogueChoice, type ResolveOptions } from '../trace/catalogueResolver';
import { readTrace } from '../trace/readTrace';
import type { TraceStore } from '../trace/store';
import { prestartTraceWorkersFor, readTraceInWorker } from '../trace/workerClient';
import { LiveMigration } from './live';
import type { MigrationModel, QemuFigures, Side } from './model';
import { figuresOf } from './qemuReported';
import { detectSides } from './sides';

export interface LoadOptions {
  readonly signal?: AbortSignal | undefined;
  /** Read on the calling thread (tests, small files). */
  readonly inProcess?: boolean | undefined;
  /** The candidate catalogues (the user's trees) or the one asked for; see catalogueResolver. */
  readonly catalogues?: ResolveOptions | undefined;
  /** Bytes read so far over all files, and their total size (compressed files count as read when done). */
  readonly onProgress?: ((bytesRead: number, totalBytes: number) => void) | undefined;
}

export interface LoadedTrace {
  readonly path: string;
  readonly side: Side;
  readonly store: TraceStore;
  readonly version: string;
  /** The catalogue that decoded it and why; follow mode decodes the growth with the same. */
  readonly catalogue: Catalogue;
  readonly choice: CatalogueChoice;
  readonly parseMs: number;
}

export interface LoadedMigration {
  readonly model: MigrationModel;
  readonly traces: readonly LoadedTrace[];
  /** The analysis of the traces as read, which follow mode goes on with. */
  readonly live: LiveMigration;
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
  cat: Catalogue,
  opts: LoadOptions,
  onProgress?: (bytesRead: number) => void,
): Promise<TraceStore> {
  return opts.inProcess
    ? readTrace(path, cat, { signal: opts.signal })
    : readTraceInWorker(path, cat, { signal: opts.signal, onProgress: onProgress && ((read: number) => onProgress(read)) });
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

async function finalFile(dirs: readonly string[], side: Side): Promise<QemuFigures | null> {
  for (const d of dirs) {
    const f = join(d, side === 'src' ? labFileNames.finalQueryMigrateSrc : labFileNames.finalQueryMigrateDst);
    if (!existsSync(f)) continue;
    let parsed: unknown;
    try { parsed = JSON.parse(await readFile(f, 'utf8')); } catch { continue; }
    const figures = figuresOf(side, basename(f), parsed);
    if (figures) return figures;
  }
  return null;
}

/** The final query-migrate of each side written beside the traces (a lab recording's final-query-migrate-<side>.json). */
export async function finalQueryMigrate(paths: readonly string[]): Promise<{ src: QemuFigures | null; dst: QemuFigures | null }> {
  const dirs = [...new Set(paths.map((p) => dirname(p)))];
  return { src: await finalFile(dirs, 'src'), dst: await finalFile(dirs, 'dst') };
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
  // A big file's workers boot while the catalogues are compared.
  if (!opts.inProcess) await Promise.all(files.map((f) => prestartTraceWorkersFor(f)));
  const read = await Promise.all(files.map(async (f, i) => {
    const t0 = performance.now();
    const [resolved] = await resolveCatalogues([f], opts.catalogues);
    const store = await readOne(f, resolved!.catalogue, opts, (bytes) => report(i, bytes));
    report(i, sizes[i]!);
    return { store, catalogue: resolved!.catalogue, choice: resolved!.choice, version: resolved!.choice.version, parseMs: performance.now() - t0 };
  }));
  const sides = detectSides(read.map((r) => r.store));
  const traces: LoadedTrace[] = read.map((r, i) => ({ path: files[i]!, side: sides[i]!, ...r }));
  const finals = await finalQueryMigrate(files);
  const live = new LiveMigration(traces, await transcriptBeside(files), finals);
  return { model: live.model(), traces, live };
}
