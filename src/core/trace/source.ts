/**
 * Byte sources for trace readers: plain files (optionally a byte range), gzip
 * through zlib and xz through `xz -dc` (argument array, no shell). Compression is
 * recognised by magic bytes, not by the file name.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';

export type Compression = 'none' | 'gzip' | 'xz';

export const CHUNK_BYTES = 4 * 1024 * 1024;

export class TraceReadError extends Error {
  override readonly name = 'TraceReadError';
  constructor(message: string, readonly file: string, readonly offset?: number) {
    super(message);
  }
}

export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor() { super('cancelled'); }
}

export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Offsets that cut [0, size) into n about equal parts (n - 1 of them). */
export function evenCuts(size: number, n: number): number[] {
  return Array.from({ length: Math.max(0, n - 1) }, (_, k) => Math.floor((size * (k + 1)) / n));
}

export async function detectCompression(path: string): Promise<Compression> {
  const fh = await openForRead(path);
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await fh.read(head, 0, 6, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (bytesRead === 6 && head.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
    return 'none';
  } finally {
    await fh.close();
  }
}

async function openForRead(path: string): Promise<import('node:fs/promises').FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TraceReadError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(e)}`, path);
  }
}

export interface ChunkOptions {
  /** Byte range of a plain file; ignored for compressed files. */
  readonly start?: number;
  readonly end?: number;
  readonly signal?: AbortSignal | undefined;
  readonly chunkBytes?: number;
}

/**
 * Yields the (decompressed) content in chunks. For plain files the same buffer
 * is reused: a consumer must copy what it keeps beyond the current iteration.
 */
export async function* readChunks(path: string, opts: ChunkOptions = {}): AsyncGenerator<Buffer> {
  const compression = await detectCompression(path);
  if (compression === 'gzip') { yield* streamChunks(createReadStream(path).pipe(createGunzip()), path, opts.signal); return; }
  if (compression === 'xz') { yield* xzChunks(path, opts.signal); return; }
  const fh = await openForRead(path);
  try {
    const size = (await fh.stat()).size;
    let pos = opts.start ?? 0;
    const end = Math.min(opts.end ?? size, size);
    // Two buffers: the next read runs while the consumer works on the current chunk,
    // so a yielded buffer is overwritten during the consumer's next iteration.
    const size0 = opts.chunkBytes ?? CHUNK_BYTES;
    const bufs = [Buffer.allocUnsafe(size0), Buffer.allocUnsafe(size0)];
    let which = 0;
    const readAt = (at: number): Promise<{ bytesRead: number }> => fh.read(bufs[which]!, 0, Math.min(size0, end - at), at);
    let next = pos < end ? readAt(pos) : undefined;
    try {
      while (next !== undefined) {
        throwIfCancelled(opts.signal);
        const { bytesRead } = await next;
        next = undefined;
        if (bytesRead === 0) break;
        const cur = bufs[which]!;
        pos += bytesRead;
        which ^= 1;
        if (pos < end) next = readAt(pos);
        yield cur.subarray(0, bytesRead);
      }
    } finally {
      if (next !== undefined) await next.catch(() => undefined);
    }
  } finally {
    await fh.close();
  }
}

async function* streamChunks(stream: NodeJS.ReadableStream, path: string, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) {
      throwIfCancelled(signal);
      yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    }
  } catch (e) {
    if (e instanceof CancelledError) throw e;
    throw new TraceReadError(`cannot decompress ${path}: ${e instanceof Error ? e.message : String(e)}`, path);
  }
}

async function* xzChunks(path: string, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  const child = spawn('xz', ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => { stderr += d; });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => reject(new TraceReadError(e.code === 'ENOENT' ? `cannot decompress ${path}: the xz program is not installed` : `cannot run xz: ${e.message}`, path)));
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => undefined);
  try {
    for await (const chunk of child.stdout) {
      throwIfCancelled(signal);
      yield chunk as Buffer;
    }
    const code = await exited;
    if (code !== 0) throw new TraceReadError(`cannot decompress ${path}: xz exited with ${code}: ${stderr.trim()}`, path);
  } finally {
    if (child.exitCode === null) child.kill();
  }
}
