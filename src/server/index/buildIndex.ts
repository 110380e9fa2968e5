/** Indexes whole trees: what the worker runs (and what tests run in-process). */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import type { Parser } from 'web-tree-sitter';
import { emptyRecord, indexBytes, type FileRecord } from './fileRecord';
import { walkTree } from './walkTree';
import type { IndexStats } from './workerProtocol';

export interface BuildSink {
  files(traceEvents: readonly string[], cFiles: number): void;
  records(batch: readonly FileRecord[]): void;
}

/** Reads one file from disk; a file that vanished or cannot be read indexes as empty. */
export function indexFileFromDisk(parser: Parser, path: string): { record: FileRecord; readable: boolean } {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch {
    return { record: emptyRecord(path), readable: false };
  }
  return { record: indexBytes(parser, path, b), readable: true };
}

/** Indexes the C files of `roots` (every `shards`-th from `shard`, when several workers share the tree). */
/**
 * Reads whole files into one buffer that grows as needed: a tree of 200 MB is read without
 * allocating 200 MB of buffers for the garbage collector to find later. A file's bytes are
 * valid until the next read.
 */
class FileReader {
  private pool = Buffer.allocUnsafe(1 << 20);

  read(path: string): Buffer | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const size = fstatSync(fd).size;
      if (size + 1 > this.pool.length) this.pool = Buffer.allocUnsafe(Math.max(size + 1, this.pool.length * 2));
      let n = 0;
      // A file still growing is read up to the pool's end; one that shrank, up to where it ends now.
      for (;;) {
        const got = readSync(fd, this.pool, n, this.pool.length - n, n);
        if (got === 0) break;
        n += got;
        if (n === this.pool.length) break;
      }
      return this.pool.subarray(0, n);
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }
}

export function buildIndex(parser: Parser, roots: readonly string[], sink: BuildSink, cancelled: () => boolean = () => false, shard = 0, shards = 1): IndexStats | undefined {
  const t0 = performance.now();
  const tree = walkTree(roots, cancelled);
  if (cancelled()) return undefined;
  if (shard === 0) sink.files(tree.traceEvents, tree.cFiles.length);
  let batch: FileRecord[] = [];
  let candidates = 0;
  let bytesRead = 0;
  let calls = 0;
  let unreadable = 0;
  const reader = new FileReader();
  for (let i = shard; i < tree.cFiles.length; i += shards) {
    const f = tree.cFiles[i]!;
    if (cancelled()) return undefined;
    const b = reader.read(f);
    if (b === undefined) unreadable++;
    const record = b === undefined ? emptyRecord(f) : indexBytes(parser, f, b);
    bytesRead += record.bytes;
    if (record.calls.length === 0 && record.guards.length === 0 && record.definitions.length === 0) continue;
    candidates++;
    calls += record.calls.length;
    batch.push(record);
    if (batch.length >= 200) { sink.records(batch); batch = []; }
  }
  if (batch.length > 0) sink.records(batch);
  return { cFiles: Math.ceil((tree.cFiles.length - shard) / shards), candidates, bytesRead, calls, unreadable, ms: performance.now() - t0 };
}
