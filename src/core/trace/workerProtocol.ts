/** Messages between readTraceInWorker and src/worker/traceWorker.ts. */
import type { RangePlan, StoreShape } from './assemble';
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
  /** Time base of the whole file, when known: the range's times are relative to it. */
  readonly base?: TimeBase;
  /** Threads of the file's start: they take the first thread codes, as in the whole store. */
  readonly tids?: readonly number[];
}

export interface AssembleRequest { readonly type: 'assemble'; readonly range: number; readonly plan: RangePlan }

export interface CancelRequest { readonly type: 'cancel' }

export type ToWorker = ReadRequest | AssembleRequest | CancelRequest;

export type FromWorker =
  | { readonly type: 'progress'; readonly bytes: number }
  /** Part of the result; batches of one read arrive in input order, `done` carries the last. */
  | { readonly type: 'batch'; readonly store: SerializedStore }
  | { readonly type: 'done'; readonly store: SerializedStore }
  | { readonly type: 'held'; readonly range: number; readonly shape: StoreShape }
  | { readonly type: 'assembled'; readonly range: number }
  | { readonly type: 'error'; readonly message: string; readonly cancelled: boolean };
