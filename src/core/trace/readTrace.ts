/**
 * Reads one trace file (log backend or simpletrace, plain, gzip or xz) into a
 * store on the calling thread, streaming. See readTraceInWorker for big files.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Catalogue } from './catalogue';
import { LogLineParser } from './logReader';
import { estimateSimpletraceRecords, looksLikeSimpletrace, SimpletraceParser, SIMPLETRACE_MAGIC_HI, SIMPLETRACE_MAGIC_LO, type RecordEstimate, type SimpletracePart } from './simpletrace';
import { readChunks, throwIfCancelled, TraceCutShortError } from './source';
import { TraceStore, type TimeBase } from './store';
import type { ReadRequest } from './workerProtocol';

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
  /** Simpletrace: called at a mapping record after the first event record (see SimpletraceParser). */
  readonly onLateMapping?: (() => void) | undefined;
  /** Time base to time events from (a range of a file whose first timed line is known). */
  readonly base?: TimeBase | undefined;
  /** Thread ids to give the first thread codes, in this order (the threads a file starts with). */
  readonly tids?: readonly number[] | undefined;
  /** Set when the caller knows the input is a plain (uncompressed) log file: it is then read without sniffing. */
  readonly plainLog?: boolean | undefined;
  /** Set when the caller knows the input is a plain simpletrace file (or gives simpletracePart): read the same way. */
  readonly plainSimpletrace?: boolean | undefined;
  /** Log lines are scanned by the WebAssembly scanner when it is built (default), or by JavaScript only. */
  readonly scanner?: LineScanner | undefined;
}

export type LineScanner = 'wasm' | 'js';

interface Parser {
  push(chunk: Buffer): void;
  end(): void;
  setStore(store: TraceStore): void;
}

/** A parser that reads an open plain file itself (straight into the scanner's memory). */
interface FileParser extends Parser {
  readFile(fd: number, start: number, end: number, afterRead: (bytes: number) => void, signal?: AbortSignal, path?: string): void;
}

function simpletraceParser(store: TraceStore, catalogue: Catalogue, opts: ReadTraceOptions, expectedRecords?: RecordEstimate): SimpletraceParser {
  return new SimpletraceParser(store, catalogue, { part: opts.simpletracePart, onLateMapping: opts.onLateMapping, useWasm: opts.scanner !== 'js', expectedRecords });
}

/** Simpletrace files at least this big have their records per event estimated before they are read. */
const ESTIMATE_FROM_BYTES = 16 * 1024 * 1024;

/** Bytes at the start of a file looked at to tell a trace from other data. */
const SNIFF_BYTES = 4096;

/**
 * Why the first bytes of a file are no QEMU trace, or undefined when they may be one: a
 * simpletrace header with a wrong magic, or binary data (a NUL byte, which log-backend text
 * never holds). The message names the byte offset.
 */
export function notATrace(head: Uint8Array): string | undefined {
  // A simpletrace file (or a header too short to tell) is for the simpletrace reader to judge.
  if (looksLikeSimpletrace(head) || (head.length < 16 && head[0] === 0xff)) return undefined;
  if (head.length >= 16 && head.subarray(0, 8).every((b) => b === 0xff) && !looksLikeSimpletrace(head)) {
    const dv = new DataView(head.buffer, head.byteOffset, head.length);
    const magic = (BigInt(dv.getUint32(12, true)) << 32n) | BigInt(dv.getUint32(8, true));
    const want = (BigInt(SIMPLETRACE_MAGIC_HI) << 32n) | BigInt(SIMPLETRACE_MAGIC_LO);
    return `byte offset 8: not a QEMU trace: a simpletrace header with the wrong magic 0x${magic.toString(16).padStart(16, '0')} (simpletrace files have 0x${want.toString(16)})`;
  }
  const nul = head.subarray(0, SNIFF_BYTES).indexOf(0);
  if (nul >= 0) return `byte offset ${nul}: not a QEMU trace: binary data (a NUL byte), neither log-backend text nor a simpletrace file`;
  return undefined;
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
  const fromStart = (opts.start ?? 0) === 0 && !opts.simpletracePart;
  if ((opts.plainLog || opts.plainSimpletrace || opts.simpletracePart) && opts.batchBytes === undefined) {
    // One store, read synchronously straight into the scanner (a worker's range).
    const fd = openSync(path, 'r');
    let cut: TraceCutShortError | undefined;
    let p: FileParser | undefined;
    try {
      const end = Math.min(opts.end ?? Infinity, fstatSync(fd).size);
      // A whole big simpletrace file: each table is sized once, for the records a look at windows across the file predicts.
      const expectedRecords = opts.plainSimpletrace && fromStart && end >= ESTIMATE_FROM_BYTES ? estimateSimpletraceRecords(path, end) : undefined;
      p = opts.plainLog ? new LogLineParser(store, catalogue, 1, opts.scanner !== 'js') : simpletraceParser(store, catalogue, opts, expectedRecords);
      if (fromStart) {
        const head = Buffer.alloc(Math.min(SNIFF_BYTES, end));
        const why = notATrace(head.subarray(0, readSync(fd, head, 0, head.length, 0)));
        if (why !== undefined) { store.errors.push(why); return finish(store); }
      }
      try {
        p.readFile(fd, opts.start ?? 0, end, (bytes) => {
          if (read === 0 && expected > 2 * bytes) store.presize(expected / bytes);
          read += bytes;
          opts.onProgress?.(read);
        }, opts.signal, path);
      } catch (e) {
        if (!(e instanceof TraceCutShortError)) throw e;
        cut = e;
      }
    } finally {
      closeSync(fd);
    }
    throwIfCancelled(opts.signal);
    if (cut) cutShort(store, p, cut);
    else p.end();
    return finish(store);
  }
  let cut: TraceCutShortError | undefined;
  try {
    for await (const chunk of readChunks(path, { start: opts.start, end: opts.end, signal: opts.signal, chunkBytes: opts.chunkBytes })) {
      if (parser === undefined && fromStart) {
        const why = notATrace(chunk);
        if (why !== undefined) { store.errors.push(why); return finish(store); }
      }
      if (parser === undefined) {
        if (opts.simpletracePart || looksLikeSimpletrace(chunk) || (chunk.length < 16 && chunk.length > 0 && chunk[0] === 0xff)) parser = simpletraceParser(store, catalogue, opts);
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
  } catch (e) {
    if (!(e instanceof TraceCutShortError)) throw e;
    cut = e;
  }
  throwIfCancelled(opts.signal);
  if (cut) cutShort(store, parser, cut);
  else parser?.end();
  return finish(store);
}

/**
 * Reads what a read request asks for (src/core/trace/workerProtocol.ts) on the calling
 * thread: a worker's reads, and the ranges the calling thread reads itself in a parallel
 * read (WorkerReadOptions.callerReads). A held range is one store, without batches.
 */
export function readRequested(msg: ReadRequest, catalogue: Catalogue, hooks: Pick<ReadTraceOptions, 'onLateMapping' | 'onBatch' | 'onProgress'>): Promise<TraceStore> {
  return readTraceWith(msg.path, catalogue, {
    start: msg.start,
    end: msg.end,
    simpletracePart: msg.simpletrace,
    batchBytes: msg.hold !== undefined ? undefined : msg.batchBytes,
    scanner: msg.scanner,
    base: msg.base,
    tids: msg.tids,
    plainLog: msg.plainLog,
    plainSimpletrace: msg.plainSimpletrace,
    ...hooks,
  }, finishBatch, true);
}

/**
 * The input stopped early: what was read stays, the unfinished last line is dropped (it is
 * not whole), and the store's errors say where and why.
 */
function cutShort(store: TraceStore, parser: Parser | undefined, cut: TraceCutShortError): void {
  if (parser instanceof LogLineParser) {
    parser.dropPartialLine();
    store.commit();
    store.errors.push(`${cut.message}; the ${parser.line} whole lines before it are kept, the unfinished line after them is dropped`);
    return;
  }
  parser?.end();
  store.commit();
  store.errors.push(`${cut.message}; the records before it are kept`);
}

