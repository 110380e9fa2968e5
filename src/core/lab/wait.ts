import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Rejects with the signal's reason (or an AbortError) once the signal is aborted. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}

export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}

/**
 * Polls `check` every `pollMs` until it returns a value other than undefined. `stillAlive` is asked
 * first on every round, so a crashed process ends the wait at once with its own error.
 */
export async function pollUntil<T>(
  check: () => T | undefined,
  opts: { timeoutMs: number; pollMs?: number; signal: AbortSignal; onTimeout: () => Error; stillAlive?: () => void },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    throwIfAborted(opts.signal);
    opts.stillAlive?.();
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw opts.onTimeout();
    await sleep(opts.pollMs ?? 50, undefined, { signal: opts.signal });
  }
}

export function fileExists(path: string): true | undefined {
  return existsSync(path) ? true : undefined;
}

/** Text of a file, or '' while it does not exist yet. */
export function readTextOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The last `n` non-empty lines of a text. */
export function lastLines(text: string, n: number): string[] {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-n);
}
