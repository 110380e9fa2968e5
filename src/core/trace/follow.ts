/**
 * Follow mode: tails a growing log-backend trace and delivers each tick's new
 * events as a small store. Survives truncation (size shrinks: read again from
 * the start) and replacement (a new inode at the path: reopen, start over).
 * It can resume where an earlier read of the file ended (its offset, line count and
 * time base), so a file already read is not read again: each tick costs what its
 * new bytes cost.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Catalogue } from './catalogue';
import { LogLineParser } from './logReader';
import { finishStore } from './readTrace';
import { TraceStore, type TimeBase } from './store';

export type FollowReset = 'truncated' | 'replaced';

/** Where an earlier read of a file ended: the next byte to read, the lines before it, its time base. */
export interface FollowResume {
  readonly offset: number;
  readonly line: number;
  readonly base: TimeBase | null;
}

export interface FollowOptions {
  readonly signal?: AbortSignal | undefined;
  /** Poll interval; default 250 ms. */
  readonly intervalMs?: number | undefined;
  /** Start at the current end of the file instead of its beginning. */
  readonly fromEnd?: boolean | undefined;
  /** Start at this byte offset (e.g. the size the caller saw; a shorter file is read from its start). */
  readonly fromOffset?: number | undefined;
  /** Go on from an earlier read: line numbers and times continue it (a shorter file is read from its start). */
  readonly resume?: FollowResume | undefined;
  /** A batch is handed over every this many bytes of input at most (default 4 MiB): a backlog comes in pieces. */
  readonly batchBytes?: number | undefined;
  /**
   * New events since the last call (line numbers continue until a reset); `next` is where
   * following would resume after them (the end of their last line).
   */
  readonly onBatch: (store: TraceStore, next: FollowResume) => void;
  /** The file was truncated or replaced; line numbers start again at 1. */
  readonly onReset?: ((reason: FollowReset) => void) | undefined;
  /** The file is missing or unreadable (following goes on and retries). */
  readonly onError?: ((message: string) => void) | undefined;
}

const READ_BYTES = 1024 * 1024;
const TAIL_BYTES = 64;
const BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Parses a log file's bytes as they come into one store per batch: line numbers go on from
 * batch to batch and every batch keeps the file's time base, so the batches of a file join
 * up as if the file had been read at once. A line cut between two pushes is parsed whole.
 */
export class LogBatcher {
  private parser: LogLineParser | undefined;
  private store: TraceStore | undefined;
  private base: TimeBase | null;
  private readonly firstLine: number;
  private lines: number;

  constructor(private readonly catalogue: Catalogue, from: { readonly line?: number; readonly base?: TimeBase | null } = {}) {
    this.firstLine = (from.line ?? 0) + 1;
    this.lines = from.line ?? 0;
    this.base = from.base ?? null;
  }

  /** Lines in the batches taken so far (with those before the first). */
  get line(): number { return this.lines; }

  /** The time base the batches share (null until a timed line). */
  get timeBase(): TimeBase | null { return this.base; }

  push(chunk: Buffer): void {
    if (!this.store) {
      this.store = new TraceStore();
      this.store.base = this.base;
      if (this.parser === undefined) this.parser = new LogLineParser(this.store, this.catalogue, this.firstLine);
      else this.parser.setStore(this.store);
    }
    this.parser!.push(chunk);
  }

  /** Input bytes in the current batch. */
  get pending(): number { return this.store?.bytes ?? 0; }

  /** The batch of the lines pushed since the last take (a trailing part of a line waits for the rest), or null. */
  take(): TraceStore | null {
    const store = this.store;
    if (!store) return null;
    this.store = undefined;
    finishStore(store);
    this.base = store.base;
    this.lines += store.lines;
    return store.lines > 0 ? store : null;
  }
}

async function tailUnchanged(fh: FileHandle, pos: number, tail: Buffer): Promise<boolean> {
  if (tail.length === 0) return true;
  const now = Buffer.alloc(tail.length);
  const { bytesRead } = await fh.read(now, 0, tail.length, pos - tail.length);
  return bytesRead === tail.length && now.equals(tail);
}

/** The last bytes before pos (what tailUnchanged compares later). */
async function tailBefore(fh: FileHandle, pos: number): Promise<Buffer> {
  const n = Math.min(TAIL_BYTES, pos);
  const b = Buffer.alloc(n);
  const { bytesRead } = await fh.read(b, 0, n, pos - n);
  return b.subarray(0, bytesRead);
}

/** The start of the line holding byte offset-1: offset itself when a newline ends what was read before it. */
async function lineStart(fh: FileHandle, offset: number): Promise<number> {
  const window = Math.min(offset, 64 * 1024);
  if (window === 0) return offset;
  const b = Buffer.alloc(window);
  const { bytesRead } = await fh.read(b, 0, window, offset - window);
  if (bytesRead < window || b[window - 1] === 10) return offset;
  const nl = b.lastIndexOf(10);
  return nl < 0 ? offset : offset - window + nl + 1;
}

/** Follows path until opts.signal aborts; resolves then. */
export async function followTrace(path: string, catalogue: Catalogue, opts: FollowOptions): Promise<void> {
  const interval = opts.intervalMs ?? 250;
  const batchBytes = opts.batchBytes ?? BATCH_BYTES;
  let fh: FileHandle | undefined;
  let ino = -1;
  let pos = 0;
  let batcher: LogBatcher | undefined;
  let first = true;
  /** The last bytes read before pos: if they change, the file was rewritten (truncated, then grown past pos). */
  let tail: Buffer = Buffer.alloc(0);
  let lastError = '';
  const buf = Buffer.allocUnsafe(READ_BYTES);

  const restart = async (reason: FollowReset | undefined, newIno: number): Promise<void> => {
    await fh?.close();
    fh = await open(path, 'r');
    ino = newIno;
    pos = 0;
    lineEnd = 0;
    tail = Buffer.alloc(0);
    batcher = new LogBatcher(catalogue);
    if (reason) opts.onReset?.(reason);
  };

  /** Just after the last newline read: where the lines of the batches end. */
  let lineEnd = 0;
  const emit = (): void => {
    const store = batcher?.take();
    if (store) opts.onBatch(store, { offset: lineEnd, line: batcher!.line, base: batcher!.timeBase });
  };

  try {
    while (!opts.signal?.aborted) {
      try {
        const st = await stat(path);
        if (fh === undefined || st.ino !== ino) {
          await restart(fh === undefined ? undefined : 'replaced', st.ino);
          if (first && opts.fromEnd) pos = lineEnd = st.size;
          else if (first && opts.resume) {
            if (opts.resume.offset <= st.size) {
              const at = await lineStart(fh!, opts.resume.offset);
              pos = at;
              lineEnd = at;
              // A line the earlier read took unfinished is read again whole (its number again).
              batcher = new LogBatcher(catalogue, { line: at < opts.resume.offset ? opts.resume.line - 1 : opts.resume.line, base: opts.resume.base });
              tail = await tailBefore(fh!, pos);
            } else {
              opts.onReset?.('truncated');
            }
          } else if (first && opts.fromOffset !== undefined && opts.fromOffset <= st.size) pos = lineEnd = opts.fromOffset;
        } else if (st.size < pos || (st.size > pos && !(await tailUnchanged(fh, pos, tail)))) {
          await restart('truncated', st.ino);
        }
        first = false;
        lastError = '';
        while (st.size > pos && fh && !opts.signal?.aborted) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(READ_BYTES, st.size - pos), pos);
          if (bytesRead === 0) break;
          const nl = buf.subarray(0, bytesRead).lastIndexOf(10);
          if (nl >= 0) lineEnd = pos + nl + 1;
          pos += bytesRead;
          // The batcher may keep a reference to the chunk's tail (a line not finished yet).
          batcher!.push(Buffer.from(buf.subarray(0, bytesRead)));
          tail = Buffer.from(buf.subarray(Math.max(0, bytesRead - TAIL_BYTES), bytesRead));
          if (batcher!.pending >= batchBytes) emit();
        }
        emit();
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (msg !== lastError) opts.onError?.(msg);
        lastError = msg;
        await fh?.close().catch(() => undefined);
        fh = undefined;
      }
      // An abort ends the wait early; the loop's condition then ends the follow.
      await sleep(interval, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined);
    }
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

