/**
 * Fixed-cadence scheduling: polls start on the grid `first + k × interval`. A poll that is
 * still outstanding when its successor's tick comes makes that tick be skipped, never queued,
 * so at most one poll is ever in flight and a slow reply costs whole ticks, not drift.
 */

/** When the poll after one that started at `startedAt` is due, seen at time `now` (same clock). */
export function nextPollAt(startedAt: number, intervalMs: number, now: number): number {
  if (intervalMs <= 0) return now;
  const ticks = Math.max(1, Math.ceil((now - startedAt) / intervalMs));
  return startedAt + ticks * intervalMs;
}

/** Ticks of the grid passed over between a poll started at `startedAt` and the next one at `nextAt`. */
export function skippedTicks(startedAt: number, intervalMs: number, nextAt: number): number {
  if (intervalMs <= 0) return 0;
  return Math.max(0, Math.round((nextAt - startedAt) / intervalMs) - 1);
}

/** The clock and timer the poll cadence runs on; tests substitute a fake one. */
export interface PollClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const realClock: PollClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};
