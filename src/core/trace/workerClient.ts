/**
 * readTraceInWorker: reads a trace off the calling thread. A big plain log file
 * (or simpletrace file) is split into byte ranges at line (record) boundaries, read
 * by one worker per core, and assembled in file order.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Catalogue } from './catalogue';
import type { FollowOptions } from './follow';
import { detectCompression, evenCuts, CancelledError, TraceReadError } from './source';
import { finishBatch, finishStore, readRequested, readTraceWith, type LineScanner } from './readTrace';
import { LogLineParser } from './logReader';
import { TraceStore, type TimeBase } from './store';
import { copyIntoPlace, RangeAssembler, summarizeStore, type RangePlan, type StoreShape } from './assemble';
import { allowRecycling, recycleArrays } from './columns';
import { appendStore, deserializeStore } from './storeTransfer';
import type { CatalogueSpec, FromWorker, ReadRequest, ToWorker, WarmRequest } from './workerProtocol';
import { latestBuiltinVersion } from './catalogues/index';
import { looksLikeSimpletrace, splitSimpletrace, type SimpletracePart } from './simpletrace';

export interface WorkerReadOptions {
  readonly signal?: AbortSignal | undefined;
  /** Input bytes read so far and the file size (compressed files: size of the decompressed bytes is unknown, total is the file size). */
  readonly onProgress?: ((bytesRead: number, totalBytes: number) => void) | undefined;
  /** Number of threads reading a big plain file in parallel (workers, and this thread with callerReads); default: available cores (at most 8). */
  readonly workers?: number | undefined;
  /** Files below this size are read by one worker. */
  readonly parallelThreshold?: number | undefined;
  /** Plain log files are split into ranges of about this size (default 8 MiB, at most 8 per worker). */
  readonly rangeBytes?: number | undefined;
  /** Batch size for results posted by a worker. */
  readonly batchBytes?: number | undefined;
  /** Worker script; default dist/traceWorker.js next to the bundle, or the TypeScript source under tsx. */
  readonly workerScript?: string | undefined;
  /** See ReadTraceOptions.scanner. */
  readonly scanner?: LineScanner | undefined;
  /** Called when a file cut into ranges is read again in one piece (a simpletrace cut not confirmed), with why. */
  readonly onWholeFile?: ((why: string) => void) | undefined;
  /**
   * The calling thread reads: for a process whose thread would only wait for the workers
   * (the command line). A file too small or compressed for a parallel read, and one that is
   * read faster alone (readsAlone), is read here without workers; otherwise this thread reads
   * ranges beside one worker fewer. The extension host leaves it unset, so that its thread
   * stays free while a trace is read.
   */
  readonly callerReads?: boolean | undefined;
}

/** Plain log files are split into up to this many ranges per worker… */
const RANGES_PER_WORKER = 8;
/** …of at least this size. */
const MIN_RANGE_BYTES = 8 * 1024 * 1024;

/** The catalogue as a worker can rebuild it: built-ins by version, others as declarations. */
export function catalogueSpec(cat: Catalogue): CatalogueSpec {
  const m = /^builtin:qemu-(.+)$/.exec(cat.source);
  return m ? { kind: 'builtin', version: m[1]! } : { kind: 'decls', decls: cat.decls() };
}

const HOOK_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * The parent's node flags minus module hooks (e.g. `--import tsx`): a bundled worker needs
 * none, and each hook would otherwise be loaded and consulted in every worker.
 */
function withoutModuleHooks(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (HOOK_FLAGS.has(a)) { i++; continue; }
    const eq = a.indexOf('=');
    if (eq > 0 && HOOK_FLAGS.has(a.slice(0, eq))) continue;
    out.push(a);
  }
  return out;
}

/** Starts the worker script; a .ts script (tests, bench under tsx) is loaded through tsx's require hook. */
function startWorker(script: string | undefined): Worker {
  let file = script;
  if (file === undefined) {
    const bundled = join(__dirname, 'traceWorker.js');
    file = existsSync(bundled) ? bundled : join(__dirname, '..', '..', 'worker', 'traceWorker.ts');
  }
  if (!file.endsWith('.ts')) {
    const execArgv = withoutModuleHooks(process.execArgv);
    if (execArgv.length < process.execArgv.length) {
      try {
        return new Worker(file, { execArgv });
      } catch (e) {
        // Process-wide flags (--max-old-space-size, --title, …) are refused when listed
        // explicitly; the worker then inherits every flag, hooks included.
        if ((e as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
      }
    }
    return new Worker(file);
  }
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { eval: true });
}

/**
 * What a serial read of a log file would start with, from its first 64 KiB: the time base
 * (its first timed line), so that every range is timed from it and no time is shifted when
 * the ranges are assembled; and the first threads, which then have the same codes in every
 * range's store as in the whole store, so their codes are copied without renumbering.
 */
function fileStart(head: Buffer, catalogue: Catalogue): { base: TimeBase | undefined; tids: number[] } {
  const end = head.lastIndexOf(10) + 1;
  if (end === 0) return { base: undefined, tids: [] };
  const store = new TraceStore();
  new LogLineParser(store, catalogue, 1, false).parseRange(head, 0, end);
  return { base: store.base ?? undefined, tids: store.tids.filter((t): t is number => t !== undefined) };
}

/** The first bytes of a file (up to n). */
function readHead(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** How long a worker waits, unreferenced, for the next read before it is ended. */
const IDLE_MS = 15_000;
const MAX_IDLE = 8;
interface IdleWorker { readonly w: Worker; readonly script: string | undefined; readonly timer: NodeJS.Timeout }
/** Workers of finished reads, kept for the next read (their catalogues and scanners are ready). */
const idle: IdleWorker[] = [];

/** Removes what a read attached (only those events: the worker keeps its own listeners). */
function detach(w: Worker): void {
  for (const ev of ['message', 'error', 'exit'] as const) w.removeAllListeners(ev);
}

function dropIdle(w: Worker): void {
  const i = idle.findIndex((e) => e.w === w);
  if (i >= 0) { clearTimeout(idle[i]!.timer); idle.splice(i, 1); }
}

/** An idle worker for the script, or a new one. */
function takeWorker(script: string | undefined): Worker {
  const i = idle.findIndex((e) => e.script === script);
  if (i < 0) return startWorker(script);
  const e = idle[i]!;
  dropIdle(e.w);
  detach(e.w);
  e.w.ref();
  return e.w;
}

/** Keeps a worker whose read ended well for the next read; it does not keep the process alive. */
function keepWorker(w: Worker, script: string | undefined): void {
  detach(w);
  if (idle.length >= MAX_IDLE) { void w.terminate(); return; }
  w.unref();
  w.on('error', () => dropIdle(w));
  w.once('exit', () => dropIdle(w));
  const timer = setTimeout(() => { dropIdle(w); void w.terminate(); }, IDLE_MS);
  timer.unref();
  idle.push({ w, script, timer });
}

/** Files at least this big (and not compressed) are read in parallel by default. */
export const PARALLEL_THRESHOLD = 32 * 1024 * 1024;

/** Whether a file of this size is read in ranges (big enough, and not compressed). */
async function readsInParallel(path: string, size: number, threshold: number): Promise<boolean> {
  return size >= threshold && (await detectCompression(path)) === 'none';
}

/** The default number of threads reading a big file in parallel. */
function defaultWorkers(): number {
  return Math.min(availableParallelism(), 8);
}

/** Workers a parallel read of n threads starts: one fewer when the calling thread reads too. */
function workersOf(n: number, callerReads: boolean | undefined): number {
  return callerReads === true ? Math.max(1, n - 1) : n;
}

/** Options of prestartTraceWorkersFor. */
export interface PrestartOptions {
  /** See WorkerReadOptions.workerScript. */
  readonly workerScript?: string | undefined;
  /** The read will have WorkerReadOptions.callerReads: one worker fewer. */
  readonly callerReads?: boolean | undefined;
}

/** Workers waiting for a read (started ahead of one, or kept from the last one). */
export function idleTraceWorkers(): number {
  return idle.length;
}

/**
 * Starts the workers when the file will be read in parallel (big, not compressed; or, without a file,
 * when one is about to be chosen), so that they boot while the caller guesses the QEMU
 * version or shows a file picker instead of when the read begins. They wait idle,
 * unreferenced, like the workers of a finished read; meanwhile each gets the newest
 * built-in catalogue ready (the one that wins ties, so the likeliest) and the scanner for
 * the file's format.
 */
export async function prestartTraceWorkersFor(path?: string, opts: PrestartOptions = {}): Promise<void> {
  let format: TraceFormat;
  if (path !== undefined) {
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile() || !(await readsInParallel(path, st.size, PARALLEL_THRESHOLD))) return;
    format = formatOf(readHead(path, 16));
    if (opts.callerReads === true && readsAlone(defaultWorkers(), st.size, format)) return;
  }
  const script = opts.workerScript;
  const warm: WarmRequest = { type: 'warm', catalogue: { kind: 'builtin', version: latestBuiltinVersion() }, ...(format ? { format } : {}) };
  let have = idle.filter((e) => e.script === script).length;
  while (have++ < workersOf(defaultWorkers(), opts.callerReads) && idle.length < MAX_IDLE) {
    const w = startWorker(script);
    w.postMessage(warm);
    keepWorker(w, script);
  }
}

/**
 * Where to cut [0, size) for a parallel read: ranges of size/count bytes, then shorter ones
 * towards the end (a quarter of what is left per worker pair, down to minBytes), so that the
 * workers finish together instead of one waiting while the other reads a whole last range.
 */
export function rangeTargets(size: number, count: number, workers: number, minBytes: number): number[] {
  const base = Math.max(1, Math.floor(size / count));
  const min = Math.max(1, Math.min(minBytes, base));
  const targets: number[] = [];
  let pos = 0;
  for (;;) {
    const left = size - pos;
    const step = Math.min(base, Math.max(min, Math.floor(left / (2 * workers))));
    if (left - step < min / 2) break;
    pos += step;
    targets.push(pos);
  }
  return targets;
}

/**
 * Splits [0, size) into ranges whose boundaries are just after a newline: about n equal
 * ranges, or cut at the first newline from each of the given offsets.
 */
export async function splitAtLines(path: string, size: number, n: number | readonly number[]): Promise<[number, number][]> {
  const targets = typeof n === 'number' ? evenCuts(size, n) : n;
  const cuts = [0];
  // A few small reads from the page cache: synchronous, so the workers booting meanwhile
  // are not kept waiting on the thread pool.
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(16 * 1024);
    for (const target of targets) {
      let pos = Math.max(target, cuts[cuts.length - 1]!);
      let cut = -1;
      while (pos < size && cut < 0) {
        const bytesRead = readSync(fd, buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        const nl = buf.subarray(0, bytesRead).indexOf(10);
        if (nl >= 0) cut = pos + nl + 1; else pos += bytesRead;
      }
      if (cut < 0 || cut >= size) break;
      if (cut > cuts[cuts.length - 1]!) cuts.push(cut);
    }
  } finally {
    closeSync(fd);
  }
  cuts.push(size);
  const ranges: [number, number][] = [];
  for (let i = 0; i + 1 < cuts.length; i++) ranges.push([cuts[i]!, cuts[i + 1]!]);
  return ranges;
}

/** Log files at least this big are read in parallel by a caller that reads (callerReads) on two cores. */
const CALLER_ALONE_LOG_BYTES = 256 * 1024 * 1024;

/**
 * Whether a caller that reads (callerReads) with n threads in all reads a big plain file
 * alone. With one worker beside it (two cores), the worker's start, a second cold start of
 * the reading code and the copy of every range into place cost more than the worker's half of
 * the reading saves: for every simpletrace file measured (73.5 MB to 1 GiB) and for log files
 * up to 128 MiB, while a 1 GiB log file is read faster by two (BENCHMARKS.md, Simpletrace).
 */
function readsAlone(n: number, size: number, format: TraceFormat): boolean {
  return n <= 2 && (format === 'simpletrace' || size < CALLER_ALONE_LOG_BYTES);
}

type TraceFormat = 'log' | 'simpletrace' | undefined;

/** The format of a plain file, from its first bytes. */
function formatOf(head: Uint8Array): 'log' | 'simpletrace' {
  return looksLikeSimpletrace(head) ? 'simpletrace' : 'log';
}

/**
 * The whole file read on the calling thread (callerReads): a plain file of known format
 * straight into the scanner, others streamed. The store keeps its spare capacity, as an
 * assembled one does (no copy to trim it).
 */
function readAlone(path: string, catalogue: Catalogue, opts: WorkerReadOptions, size: number, format: TraceFormat): Promise<TraceStore> {
  return readTraceWith(path, catalogue, {
    signal: opts.signal,
    scanner: opts.scanner,
    onProgress: (bytes) => opts.onProgress?.(bytes, size),
    ...(format === 'log' ? { plainLog: true } : format === 'simpletrace' ? { plainSimpletrace: true } : {}),
  }, finishBatch);
}

/** How many bytes of spare arrays the calling thread keeps when it reads ranges itself. */
const CALLER_RECYCLING_BYTES = 256 * 1024 * 1024;

/** A simpletrace range did not end at the next range's cut, whole (see splitSimpletrace). */
class UnconfirmedCut extends Error {}

/** Reads path in worker threads and resolves to the merged store. Rejects with CancelledError on abort. */
export async function readTraceInWorker(path: string, catalogue: Catalogue, opts: WorkerReadOptions = {}): Promise<TraceStore> {
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new TraceReadError(`cannot read ${path}: is a directory`, path);
    size = st.size;
  } catch (e) {
    if (e instanceof TraceReadError) throw e;
    throw new TraceReadError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(e)}`, path);
  }
  const threshold = opts.parallelThreshold ?? PARALLEL_THRESHOLD;
  const n = Math.max(1, Math.min(opts.workers ?? defaultWorkers(), 64));
  let ranges: ([number, number] | undefined)[] = [undefined];
  let parts: (SimpletracePart | undefined)[] = [undefined];
  const parallel = n > 1 && (await readsInParallel(path, size, threshold));
  // A file read in parallel: its first lines or records say how to split it.
  const head = parallel ? readHead(path, 64 * 1024) : undefined;
  const format = head ? formatOf(head) : undefined;
  if (opts.callerReads === true && (!parallel || readsAlone(n, size, format))) return readAlone(path, catalogue, opts, size, format);
  const callerReads = parallel && opts.callerReads === true;
  // Arrays of ranges read here and copied into place are reused for the next ones, as in a worker.
  if (callerReads) allowRecycling(CALLER_RECYCLING_BYTES);
  // Workers boot while the file is split.
  // A worker that fails before it is given work is remembered here and reported then.
  const bootFailures = new Map<Worker, Error>();
  const booting = Array.from({ length: parallel ? workersOf(n, callerReads) : 1 }, () => {
    const w = takeWorker(opts.workerScript);
    w.on('error', (e) => { if (!bootFailures.has(w)) bootFailures.set(w, e instanceof Error ? e : new Error(String(e))); });
    w.once('exit', (code) => { if (!bootFailures.has(w)) bootFailures.set(w, new Error(`trace worker exited with code ${code}`)); });
    return w;
  });
  let base: TimeBase | undefined;
  let tids: number[] = [];
  let log = false;
  try {
    if (head) {
      // More ranges than workers, handed out as workers finish: a worker slowed down by other
      // load on the machine takes fewer ranges instead of holding up the end.
      const minBytes = opts.rangeBytes ?? MIN_RANGE_BYTES;
      const targets = rangeTargets(size, Math.max(n, Math.min(n * RANGES_PER_WORKER, Math.ceil(size / minBytes))), n, minBytes);
      log = format === 'log';
      if (log) {
        ranges = await splitAtLines(path, size, targets);
        ({ base, tids } = fileStart(head, catalogue));
      } else {
        const split = splitSimpletrace(path, size, targets);
        if (split && split.ranges.length > 1) {
          ranges = split.ranges;
          ({ base, tids } = split);
          parts = split.ranges.map(([start], i) => (i === 0 ? undefined : { offset: start, mappings: split.mappings }));
        }
      }
    }
  } catch (e) {
    for (const w of booting) void w.terminate();
    throw e;
  }
  const batchBytes = opts.batchBytes ?? 64 * 1024 * 1024;
  const spec = catalogueSpec(catalogue);
  const several = ranges.length > 1;
  /** One range: its batches, merged here. Several: ranges placed as they are read. */
  const batches: TraceStore[] = [];
  /** The worker holding each range read by one (ranges the calling thread read are in heldHere). */
  const holder: (Worker | undefined)[] = [];
  const heldHere = new Map<number, TraceStore>();
  const assembly = several ? new RangeAssembler(ranges.map((r) => r!), tids) : undefined;
  const workers: Worker[] = [];
  let read = 0;

  try {
    await new Promise<void>((resolve, reject) => {
      let assembled = 0;
      let next = 0;
      let failed = false;
      const fail = (e: Error): void => {
        if (failed) return;
        failed = true;
        for (const w of workers) void w.terminate();
        reject(e);
      };
      const onAbort = (): void => fail(new CancelledError());
      if (opts.signal?.aborted) { onAbort(); return; }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (): void => { opts.signal?.removeEventListener('abort', onAbort); resolve(); };
      const rangeAssembled = (): void => { if (++assembled === ranges.length) finish(); };
      /** Copies a range the calling thread read into place, as a worker does with its own. */
      const assembleHere = (range: number, plan: RangePlan): void => {
        const store = heldHere.get(range)!;
        copyIntoPlace(store, plan);
        heldHere.delete(range);
        // The next ranges read here reuse its arrays.
        recycleArrays(store.arrays());
        rangeAssembled();
      };
      /** A range read: place it and every range after it already read; their readers copy them into place. */
      const place = (range: number, shape: StoreShape): void => {
        try {
          for (const p of assembly!.add(range, shape)) {
            const w = holder[p.range];
            if (w) w.postMessage({ type: 'assemble', range: p.range, plan: p.plan } satisfies ToWorker);
            else assembleHere(p.range, p.plan);
          }
        } catch (e) {
          fail(e instanceof Error ? e : new Error(String(e)));
        }
      };
      /**
       * Whether a range read confirms its cuts (else the read is given up): a simpletrace cut is
       * confirmed by the range before it ending there, whole, and a range's mappings must be
       * all the file has; otherwise the file is read in one piece.
       */
      const confirmed = (range: number, shape: StoreShape, lateMapping: boolean): boolean => {
        if (parts.length > 1 && range < ranges.length - 1 && (shape.errors.length > 0 || lateMapping)) {
          fail(new UnconfirmedCut(lateMapping ? `range ${range} has a mapping record after an event record` : `the records of range ${range} do not fit its cuts (${shape.errors[0]})`));
          return false;
        }
        return true;
      };
      /** The request that reads range i. */
      const request = (i: number): ReadRequest => {
        const range = ranges[i];
        const part = parts[i];
        return {
          type: 'read', path, catalogue: spec, batchBytes,
          ...(opts.scanner ? { scanner: opts.scanner } : {}),
          ...(range ? { start: range[0], end: range[1] } : {}),
          ...(part ? { simpletrace: part } : {}),
          ...(several ? { hold: i } : {}),
          ...(base ? { base } : {}),
          ...(several && tids.length > 0 ? { tids } : {}),
          ...(several && log ? { plainLog: true } : {}),
          ...(several && !log ? { plainSimpletrace: true } : {}),
        };
      };
      // The calling thread starts with the first range: each range after it is placed as soon
      // as it is read (the workers boot meanwhile, and get the ranges after it).
      const firstHere = callerReads ? next++ : -1;
      const nWorkers = Math.min(booting.length, ranges.length);
      for (let k = 0; k < nWorkers; k++) {
        const w = booting[k]!;
        workers.push(w);
        const early = bootFailures.get(w);
        if (early) { fail(early); return; }
        /** Ranges given to the worker and not read yet (it reads them in order). */
        let given = 0;
        const startNext = (): void => {
          const current = next++;
          given++;
          holder[current] = w;
          w.postMessage(request(current));
        };
        w.on('message', (msg: FromWorker) => {
          if (failed) return;
          switch (msg.type) {
            case 'progress': read += msg.bytes; opts.onProgress?.(read, size); return;
            case 'error': fail(new TraceReadError(msg.message, path)); return;
            case 'batch': batches.push(deserializeStore(msg.store)); return;
            case 'done': batches.push(deserializeStore(msg.store)); given--; finish(); return;
            case 'held':
              if (!confirmed(msg.range, msg.shape, msg.lateMapping === true)) return;
              given--;
              if (next < ranges.length) startNext();
              place(msg.range, msg.shape);
              return;
            case 'assembled':
              rangeAssembled();
              return;
          }
        });
        w.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
        w.on('exit', (code) => { if (!failed && (given > 0 || holder.includes(w)) && assembled < ranges.length) fail(new Error(`trace worker exited with code ${code}`)); });
        // Two ranges each to start with: the next one is queued while the first is read.
        startNext();
        if (several && next < ranges.length && nWorkers * 2 <= ranges.length) startNext();
      }
      if (callerReads) void readHere(firstHere);
      /**
       * The calling thread's share: the next range not handed out, read synchronously, then a
       * turn of the event loop for the workers' messages (their next ranges, their copies).
       */
      async function readHere(first: number): Promise<void> {
        for (let current = first; !failed && current < ranges.length; current = next++) {
          let lateMapping = false;
          let before = 0;
          try {
            const store = await readRequested(request(current), catalogue, {
              onLateMapping: () => { lateMapping = true; },
              onProgress: (bytes) => { read += bytes - before; before = bytes; opts.onProgress?.(read, size); },
            });
            if (failed) return;
            const shape = summarizeStore(store);
            if (!confirmed(current, shape, lateMapping)) return;
            heldHere.set(current, store);
            place(current, shape);
          } catch (e) {
            fail(new TraceReadError(e instanceof Error ? e.message : String(e), path));
            return;
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    });
    // Every worker is idle now: keep them for the next read.
    for (const w of booting) keepWorker(w, opts.workerScript);
  } catch (e) {
    for (const w of booting) void w.terminate();
    if (e instanceof UnconfirmedCut) {
      opts.onWholeFile?.(e.message);
      return readTraceInWorker(path, catalogue, { ...opts, workers: 1 });
    }
    throw e;
  }
  return assembly ? assembly.finish() : mergeParts([batches]);
}

/** Following in a worker: followTrace's options that cross to it, and the caller's side of them. */
export interface WorkerFollowOptions extends Pick<FollowOptions, 'resume' | 'intervalMs' | 'batchBytes' | 'onBatch' | 'onReset'> {
  /** Following ends (and its worker with it) when this aborts. */
  readonly signal: AbortSignal;
  /** The file could not be read this tick (following goes on and retries). */
  readonly onProblem?: ((message: string) => void) | undefined;
  readonly workerScript?: string | undefined;
}

/**
 * Follows a plain log file in a worker thread of its own: the worker reads and parses the new
 * bytes of each tick and posts only their events (arrays transferred), so the caller's
 * thread does no reading or parsing. Resolves when opts.signal aborts (the worker is ended
 * then); rejects when the worker fails.
 */
export function followTraceInWorker(path: string, catalogue: Catalogue, opts: WorkerFollowOptions): Promise<void> {
  if (opts.signal.aborted) return Promise.resolve();
  const w = startWorker(opts.workerScript);
  return new Promise<void>((resolve, reject) => {
    let ended = false;
    const end = (e?: Error): void => {
      if (ended) return;
      ended = true;
      opts.signal.removeEventListener('abort', onAbort);
      void w.terminate();
      if (e) reject(e); else resolve();
    };
    const onAbort = (): void => end();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    w.on('message', (msg: FromWorker) => {
      if (ended) return;
      switch (msg.type) {
        case 'followBatch': opts.onBatch(deserializeStore(msg.store), msg.next); return;
        case 'followReset': opts.onReset?.(msg.reason); return;
        case 'followProblem': opts.onProblem?.(msg.message); return;
        case 'error': end(new TraceReadError(msg.message, path)); return;
        default: return;
      }
    });
    w.on('error', (e) => end(e instanceof Error ? e : new Error(String(e))));
    w.on('exit', (code) => end(code === 0 || opts.signal.aborted ? undefined : new Error(`trace follow worker exited with code ${code}`)));
    const req: ToWorker = {
      type: 'follow', path, catalogue: catalogueSpec(catalogue),
      intervalMs: opts.intervalMs ?? 100, batchBytes: opts.batchBytes ?? 4 * 1024 * 1024,
      ...(opts.resume ? { resume: opts.resume } : {}),
    };
    w.postMessage(req);
  });
}

/** Merges the batches of each range, ranges in file order. */
export function mergeParts(parts: TraceStore[][]): TraceStore {
  const flat = parts.flat();
  if (flat.length === 1) return finishStore(flat[0]!);
  const target = new TraceStore();
  // Sizes every column once, so the appends below copy each value once.
  const rows = new Map<string, number>();
  for (const p of flat) {
    for (const t of p.tables.values()) {
      if (!rows.has(t.name)) target.tableFor(t.name, t.unknown ? null : t.fields);
      rows.set(t.name, (rows.get(t.name) ?? 0) + t.count);
    }
  }
  for (const [name, n] of rows) target.table(name)!.ensureCapacity(n);
  let lineOffset = 0;
  for (const range of parts) {
    let rangeLines = 0;
    for (const p of range) { appendStore(target, p, lineOffset); rangeLines += p.lines; }
    lineOffset += rangeLines;
  }
  return finishStore(target);
}
