/** Messages between readTraceInWorker / followTraceInWorker and src/worker/traceWorker.ts. */
import type { RangePlan, StoreShape } from './assemble';
import type { FollowReset, FollowResume } from './follow';
import type { LineScanner } from './readTrace';
import type { SimpletracePart } from './simpletrace';
import type { TimeBase } from './store';
import type { SerializedStore } from './storeTransfer';
import type { TraceEventDecl } from './traceEventsParser';

export type CatalogueSpec =
  | { readonly kind: 'builtin'; readonly version: string }
  | { readonly kind: 'decls'; readonly decls: readonly TraceEventDecl[] };

export interface ReadRequest {
  readonly type: 'read';
  readonly path: string;
  readonly catalogue: CatalogueSpec;
  /** Byte range of a plain log file; absent for the whole file. */
  readonly start?: number;
  readonly end?: number;
  readonly batchBytes: number;
  /** Set for a simpletrace range after the first. */
  readonly simpletrace?: SimpletracePart;
  readonly scanner?: LineScanner;
  /**
   * Set when the file is read in several ranges: the worker keeps the range's store under
   * this id and answers with its shape ('held') instead of the store, then copies it into
   * place when asked ('assemble').
   */
  readonly hold?: number;
  /** The file is a plain log (ranges of log files split at lines). */
  readonly plainLog?: boolean;
  /** The file is a plain simpletrace file (ranges cut at records). */
  readonly plainSimpletrace?: boolean;
  /** Time base of the whole file, when known: the range's times are relative to it. */
  readonly base?: TimeBase;
  /** Threads of the file's start: they take the first thread codes, as in the whole store. */
  readonly tids?: readonly number[];
}

/**
 * Get ready for a read with this catalogue while waiting for it (a worker started ahead of a
 * read): its name index and a scanner; format, when known, says which scanner.
 */
export interface WarmRequest { readonly type: 'warm'; readonly catalogue: CatalogueSpec; readonly format?: 'log' | 'simpletrace' }

export interface AssembleRequest { readonly type: 'assemble'; readonly range: number; readonly plan: RangePlan }

/** Tail a plain log file (follow mode) until cancelled: a worker that follows does nothing else. */
export interface FollowRequest {
  readonly type: 'follow';
  readonly path: string;
  readonly catalogue: CatalogueSpec;
  readonly intervalMs: number;
  readonly batchBytes: number;
  /** Where the first read of the file ended; absent: from the file's start. */
  readonly resume?: FollowResume;
}

export type ToWorker = ReadRequest | AssembleRequest | FollowRequest | WarmRequest;

export type FromWorker =
  | { readonly type: 'progress'; readonly bytes: number }
  /** Part of the result; batches of one read arrive in input order, `done` carries the last. */
  | { readonly type: 'batch'; readonly store: SerializedStore }
  | { readonly type: 'done'; readonly store: SerializedStore }
  /** lateMapping: a simpletrace range met a mapping record after an event record (see SimpletraceParser). */
  | { readonly type: 'held'; readonly range: number; readonly shape: StoreShape; readonly lateMapping?: boolean }
  | { readonly type: 'assembled'; readonly range: number }
  | { readonly type: 'error'; readonly message: string }
  /** Follow mode: the new lines of one tick (or part of a backlog). */
  | { readonly type: 'followBatch'; readonly store: SerializedStore; readonly next: FollowResume }
  | { readonly type: 'followReset'; readonly reason: FollowReset }
  /** The file could not be read this tick; following goes on. */
  | { readonly type: 'followProblem'; readonly message: string };
