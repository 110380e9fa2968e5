/**
 * Byte sources for trace readers: plain files (optionally a byte range), gzip
 * through zlib and xz through `xz -dc` (argument array, no shell). Compression is
 * recognised by magic bytes, not by the file name.
 */
import { createReadStream, readSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';

export type Compression = 'none' | 'gzip' | 'xz';

export const CHUNK_BYTES = 4 * 1024 * 1024;

export class TraceReadError extends Error {
  override readonly name: string = 'TraceReadError';
  constructor(message: string, readonly file: string, readonly offset?: number) {
    super(message);
  }
}

/**
 * The input stopped early after `offset` good bytes (decompressed bytes for a compressed file):
 * a truncated or corrupt .gz/.xz, or a file that shrank while it was read. What came before is
 * good; readers keep it and record this error.
 */
export class TraceCutShortError extends TraceReadError {
  override readonly name: string = 'TraceCutShortError';
  constructor(message: string, file: string, override readonly offset: number) {
    super(message, file, offset);
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
  if (compression === 'gzip') { yield* gzipChunks(path, opts.signal); return; }
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
        if (bytesRead === 0) throw shrank(path, pos, end);
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

/**
 * Reads [pos, end) of an open plain file in chunks of up to CHUNK_BYTES, handing each to
 * onChunk (the buffer is reused: onChunk copies what it keeps) and then its size to afterRead.
 */
export function readFdChunks(fd: number, pos: number, end: number, onChunk: (chunk: Buffer) => void, afterRead: (bytes: number) => void, signal: AbortSignal | undefined, path: string): void {
  const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(1, end - pos)));
  while (pos < end) {
    throwIfCancelled(signal);
    const got = readSync(fd, chunk, 0, Math.min(chunk.length, end - pos), pos);
    if (got === 0) throw shrank(path, pos, end);
    pos += got;
    onChunk(chunk.subarray(0, got));
    afterRead(got);
  }
}

/** The error for a plain file that ends before the size it had when the read started. */
export function shrank(path: string, pos: number, end: number): TraceCutShortError {
  return new TraceCutShortError(`byte offset ${pos}: the file ended while it was read (it was ${end} bytes long when the read started): truncated while read`, path, pos);
}

async function* gzipChunks(path: string, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  // Loaded when first needed: a worker thread reading plain files never loads it.
  const { createGunzip } = await import('node:zlib');
  const input = createReadStream(path);
  const gunzip = createGunzip();
  const size = (await stat(path)).size;
  let out = 0;
  try {
    for await (const chunk of input.pipe(gunzip)) {
      throwIfCancelled(signal);
      const b = chunk as Buffer;
      out += b.length;
      yield b;
    }
  } catch (e) {
    if (e instanceof CancelledError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new TraceCutShortError(
      `byte offset ${out} of the decompressed data (compressed byte ${gunzip.bytesWritten} of ${size}): the gzip data ends early or is corrupt (${why})`,
      path, out);
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

async function* xzChunks(path: string, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  // Loaded when first needed, as zlib is.
  const { spawn } = await import('node:child_process');
  const child = spawn('xz', ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => { stderr += d; });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => reject(new TraceReadError(e.code === 'ENOENT' ? `cannot decompress ${path}: the xz program is not installed` : `cannot run xz: ${e.message}`, path)));
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => undefined);
  let out = 0;
  try {
    for await (const chunk of child.stdout) {
      throwIfCancelled(signal);
      const b = chunk as Buffer;
      out += b.length;
      yield b;
    }
    const code = await exited;
    if (code !== 0) {
      const why = stderr.trim().replace(/^xz: [^:]*: /gm, '') || `xz exited with ${code}`;
      throw new TraceCutShortError(`byte offset ${out} of the decompressed data: the xz data ends early or is corrupt (${why})`, path, out);
    }
  } finally {
    if (child.exitCode === null) child.kill();
  }
}
