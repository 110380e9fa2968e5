/**
 * Reads one trace file (log backend or simpletrace, plain, gzip or xz) into a
 * store on the calling thread, streaming. See readTraceInWorker for big files.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import type { Catalogue } from './catalogue';
import { LogLineParser } from './logReader';
import { looksLikeSimpletrace, SimpletraceParser, type SimpletracePart } from './simpletrace';
import { readChunks, throwIfCancelled } from './source';
import { TraceStore, type TimeBase } from './store';

export interface ReadTraceOptions {
  readonly signal?: AbortSignal | undefined;
  /** Called after each chunk with the input bytes read so far. */
  readonly onProgress?: ((bytes: number) => void) | undefined;
  /** Byte range of a plain log file (start and end at line boundaries). */
  readonly start?: number | undefined;
  readonly end?: number | undefined;
  /** When set, the store is handed to onBatch every batchBytes of input and a new one started. */
  readonly batchBytes?: number | undefined;
  readonly onBatch?: ((store: TraceStore) => void) | undefined;
  readonly chunkBytes?: number | undefined;
  /** The range is a middle part of a simpletrace file (see splitSimpletrace). */
  readonly simpletracePart?: SimpletracePart | undefined;
  /** Time base to time events from (a range of a file whose first timed line is known). */
  readonly base?: TimeBase | undefined;
  /** Thread ids to give the first thread codes, in this order (the threads a file starts with). */
  readonly tids?: readonly number[] | undefined;
  /** Set when the caller knows the input is a plain (uncompressed) log file: it is then read without sniffing. */
  readonly plainLog?: boolean | undefined;
  /** Log lines are scanned by the WebAssembly scanner when it is built (default), or by JavaScript only. */
  readonly scanner?: LineScanner | undefined;
}

export type LineScanner = 'wasm' | 'js';

export type TraceFormat = 'log' | 'simpletrace';

interface Parser {
  push(chunk: Buffer): void;
  end(): void;
  setStore(store: TraceStore): void;
}

/** Finishes a store after its last input: trims arrays and records the time kind. */
export function finishStore(store: TraceStore): TraceStore {
  if (store.base !== null && store.timeKind === 'none') store.timeKind = 'realtime';
  store.trim();
  return store;
}

/**
 * Reads path into a store. Errors that stop a simpletrace read are in store.errors
 * (events before them are kept); unreadable input throws TraceReadError.
 */
export async function readTrace(path: string, catalogue: Catalogue, opts: ReadTraceOptions = {}): Promise<TraceStore> {
  return readTraceWith(path, catalogue, opts, finishStore);
}

/**
 * Finishes a batch that is about to be moved to another thread: like finishStore but
 * keeps spare capacity (the receiver copies or trims), saving one copy of every column.
 */
export function finishBatch(store: TraceStore): TraceStore {
  if (store.base !== null && store.timeKind === 'none') store.timeKind = 'realtime';
  store.commit();
  if (!store.hasTime) for (const t of store.tables.values()) { t.ts.data = new Float64Array(0); t.ts.length = 0; }
  return store;
}

/**
 * readTrace with the function that finishes each batch and the result (the worker passes
 * finishBatch). With shareBase, every batch after the first keeps the first timed batch's
 * time base, so merging the batches of one range needs no time shift.
 */
export async function readTraceWith(path: string, catalogue: Catalogue, opts: ReadTraceOptions, finish: (store: TraceStore) => TraceStore, shareBase = false): Promise<TraceStore> {
  let store = new TraceStore();
  if (opts.base) store.base = opts.base;
  if (opts.tids) for (const t of opts.tids) store.tidCode(t);
  let parser: Parser | undefined;
  let read = 0;
  let sinceBatch = 0;
  let lineParser: LogLineParser | undefined;
  const expected = opts.end !== undefined ? opts.end - (opts.start ?? 0) : 0;
  if (opts.plainLog && opts.batchBytes === undefined) {
    // One store, read synchronously straight into the scanner (a worker's range).
    const p = new LogLineParser(store, catalogue, 1, opts.scanner !== 'js');
    const fd = openSync(path, 'r');
    try {
      const end = Math.min(opts.end ?? Infinity, fstatSync(fd).size);
      p.readFile(fd, opts.start ?? 0, end, (bytes) => {
        if (read === 0 && expected > 2 * bytes) store.presize(expected / bytes);
        read += bytes;
        opts.onProgress?.(read);
      }, opts.signal);
    } finally {
      closeSync(fd);
    }
    throwIfCancelled(opts.signal);
    p.end();
    return finish(store);
  }
  for await (const chunk of readChunks(path, { start: opts.start, end: opts.end, signal: opts.signal, chunkBytes: opts.chunkBytes })) {
    if (parser === undefined) {
      if (opts.simpletracePart) parser = new SimpletraceParser(store, catalogue, opts.simpletracePart);
      else if (looksLikeSimpletrace(chunk) || (chunk.length < 16 && chunk.length > 0 && chunk[0] === 0xff)) parser = new SimpletraceParser(store, catalogue);
      else { lineParser = new LogLineParser(store, catalogue, 1, opts.scanner !== 'js'); parser = lineParser; }
    }
    parser.push(chunk);
    read += chunk.length;
    sinceBatch += chunk.length;
    // After the first chunk, size the columns for the whole range or batch from its rows per byte.
    if (read === chunk.length && expected > 2 * read) store.presize(Math.min(expected, opts.batchBytes ?? Infinity) / read);
    opts.onProgress?.(read);
    if (opts.batchBytes !== undefined && opts.onBatch && sinceBatch >= opts.batchBytes) {
      sinceBatch = 0;
      const base = store.base;
      opts.onBatch(finish(store));
      store = new TraceStore();
      if (shareBase) store.base = base;
      parser.setStore(store);
    }
  }
  throwIfCancelled(opts.signal);
  parser?.end();
  return finish(store);
}

/** Sniffs the first bytes of a (decompressed) file. */
export async function detectTraceFormat(path: string): Promise<TraceFormat> {
  for await (const chunk of readChunks(path, { chunkBytes: 64 })) return looksLikeSimpletrace(chunk) ? 'simpletrace' : 'log';
  return 'log';
}
