/** Messages between the language server and its index worker (one typed union per direction). */
import type { FileRecord } from './fileRecord';

export interface IndexRequest {
  readonly type: 'index';
  readonly roots: readonly string[];
  /** This worker indexes the C files whose position in the walk is `shard` modulo `shards`. */
  readonly shard: number;
  readonly shards: number;
}

export type WorkerMessage =
  | { readonly type: 'files'; readonly traceEvents: readonly string[]; readonly cFiles: number }
  | { readonly type: 'records'; readonly records: readonly FileRecord[] }
  | { readonly type: 'done'; readonly stats: IndexStats }
  | { readonly type: 'failed'; readonly message: string };

export interface IndexStats {
  readonly cFiles: number;
  /** Files whose bytes could name an event (the prefilter's pass). */
  readonly candidates: number;
  readonly bytesRead: number;
  readonly calls: number;
  /** Files that vanished or could not be read while indexing. */
  readonly unreadable: number;
  readonly ms: number;
}

export function isIndexRequest(m: unknown): m is IndexRequest {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'index'
    && Array.isArray((m as { roots?: unknown }).roots) && (m as { roots: unknown[] }).roots.every((r) => typeof r === 'string')
    && Number.isInteger((m as { shard?: unknown }).shard) && Number.isInteger((m as { shards?: unknown }).shards);
}

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  switch (t) {
    case 'files': return Array.isArray((m as { traceEvents?: unknown }).traceEvents);
    case 'records': return Array.isArray((m as { records?: unknown }).records);
    case 'done': return typeof (m as { stats?: unknown }).stats === 'object';
    case 'failed': return typeof (m as { message?: unknown }).message === 'string';
    default: return false;
  }
}
