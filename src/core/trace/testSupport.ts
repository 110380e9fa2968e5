/** Paths and helpers shared by the trace engine tests. */
import { join, resolve } from 'node:path';

export const fixturesDir = process.env.QMW_FIXTURES ?? resolve(__dirname, '..', '..', '..', '..', 'shared', 'fixtures');
export const qemuFixtures = join(fixturesDir, 'qemu');
export const recordings = join(fixturesDir, 'recordings');
export const traceEventsAll = join(qemuFixtures, '10.2.50', 'trace-events-all');

/** `sort | uniq -c` output as name → count. */
export function parseUniqCounts(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(line);
    if (m) out.set(m[2]!, Number(m[1]));
  }
  return out;
}
