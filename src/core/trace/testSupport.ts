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

/** Deterministic pseudo-random numbers in [0, 1) from a seed (mulberry32), for generated inputs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A simpletrace file's header and the mapping records before its first event: their bytes, name → id, and where the first event starts. */
export function simpletracePrologue(b: Buffer): { head: Buffer; ids: Map<string, number>; firstEvent: number } {
  const ids = new Map<string, number>();
  let p = 24;
  while (p + 20 <= b.length && b.readUInt32LE(p) === 0) {
    const len = b.readUInt32LE(p + 16);
    ids.set(b.toString('latin1', p + 20, p + 20 + len), b.readUInt32LE(p + 8));
    p += 20 + len;
  }
  return { head: b.subarray(0, p), ids, firstEvent: p };
}
