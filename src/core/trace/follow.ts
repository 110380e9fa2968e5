/**
 * Follow mode: tails a growing log-backend trace and delivers each tick's new
 * events as a small store. Survives truncation (size shrinks: read again from
 * the start) and replacement (a new inode at the path: reopen, start over).
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Catalogue } from './catalogue';
import { LogLineParser } from './logReader';
import { finishStore } from './readTrace';
import { TraceStore, type TimeBase } from './store';

export type FollowReset = 'truncated' | 'replaced';

export interface FollowOptions {
  readonly signal?: AbortSignal | undefined;
  /** Poll interval; default 250 ms. */
  readonly intervalMs?: number | undefined;
  /** Start at the current end of the file instead of its beginning. */
  readonly fromEnd?: boolean | undefined;
  /** New events since the last call (line numbers continue until a reset). */
  readonly onBatch: (store: TraceStore) => void;
  /** The file was truncated or replaced; line numbers start again at 1. */
  readonly onReset?: ((reason: FollowReset) => void) | undefined;
  /** The file is missing or unreadable (following goes on and retries). */
  readonly onError?: ((message: string) => void) | undefined;
}

const READ_BYTES = 4 * 1024 * 1024;
const TAIL_BYTES = 64;

async function tailUnchanged(fh: FileHandle, pos: number, tail: Buffer): Promise<boolean> {
  if (tail.length === 0) return true;
  const now = Buffer.alloc(tail.length);
  const { bytesRead } = await fh.read(now, 0, tail.length, pos - tail.length);
  return bytesRead === tail.length && now.equals(tail);
}

/** Follows path until opts.signal aborts; resolves then. */
export async function followTrace(path: string, catalogue: Catalogue, opts: FollowOptions): Promise<void> {
  const interval = opts.intervalMs ?? 250;
  let fh: FileHandle | undefined;
  let ino = -1;
  let pos = 0;
  let parser: LogLineParser | undefined;
  let first = true;
  /** The last bytes read before pos: if they change, the file was rewritten (truncated, then grown past pos). */
  let tail = Buffer.alloc(0);
  let base: TimeBase | null = null;
  let lastError = '';
  const buf = Buffer.allocUnsafe(READ_BYTES);

  const restart = async (reason: FollowReset | undefined, newIno: number): Promise<void> => {
    await fh?.close();
    fh = await open(path, 'r');
    ino = newIno;
    pos = 0;
    tail = Buffer.alloc(0);
    base = null;
    parser = undefined;
    if (reason) opts.onReset?.(reason);
  };

  try {
    while (!opts.signal?.aborted) {
      try {
        const st = await stat(path);
        if (fh === undefined || st.ino !== ino) {
          await restart(fh === undefined ? undefined : 'replaced', st.ino);
          if (first && opts.fromEnd) pos = st.size;
        } else if (st.size < pos || (st.size > pos && !(await tailUnchanged(fh, pos, tail)))) {
          await restart('truncated', st.ino);
        }
        first = false;
        lastError = '';
        if (st.size > pos && fh) {
          const store = new TraceStore();
          // Every batch of one file shares the first batch's time base, so times stay comparable.
          store.base = base;
          if (parser === undefined) parser = new LogLineParser(store, catalogue); else parser.setStore(store);
          while (pos < st.size) {
            const { bytesRead } = await fh.read(buf, 0, Math.min(READ_BYTES, st.size - pos), pos);
            if (bytesRead === 0) break;
            pos += bytesRead;
            parser.push(buf.subarray(0, bytesRead));
            tail = Buffer.from(buf.subarray(Math.max(0, bytesRead - TAIL_BYTES), bytesRead));
          }
          finishStore(store);
          base = store.base;
          if (store.lines > 0) opts.onBatch(store);
        }
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (msg !== lastError) opts.onError?.(msg);
        lastError = msg;
        await fh?.close().catch(() => undefined);
        fh = undefined;
      }
      await sleep(interval, opts.signal);
    }
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) { resolve(); return; }
    const t = setTimeout(() => { signal?.removeEventListener('abort', done); resolve(); }, ms);
    const done = (): void => { clearTimeout(t); resolve(); };
    signal?.addEventListener('abort', done, { once: true });
  });
}
