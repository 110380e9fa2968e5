/**
 * Guesses which built-in catalogue fits a trace: each candidate decodes a sample
 * from the start of the file; the one with most decoded and fewest malformed
 * events wins (ties go to the newest version).
 */
import type { Catalogue } from './catalogue';
import { builtinCatalogue, builtinVersions } from './catalogues/index';
import { LogLineParser } from './logReader';
import { looksLikeSimpletrace, SimpletraceParser } from './simpletrace';
import { readChunks } from './source';
import { TraceStore } from './store';

export interface VersionGuess {
  readonly version: string;
  readonly catalogue: Catalogue;
  /** Per version: events decoded minus malformed lines in the sample. */
  readonly scores: Record<string, number>;
}

/** Scores a sample (the first bytes of a trace) against every built-in catalogue. */
export function guessVersionFromSample(sample: Buffer): VersionGuess {
  const scores: Record<string, number> = {};
  let best = builtinVersions[builtinVersions.length - 1]!;
  let bestScore = -Infinity;
  const simple = looksLikeSimpletrace(sample);
  for (const v of [...builtinVersions].reverse()) {
    const cat = builtinCatalogue(v);
    const store = new TraceStore();
    const parser = simple ? new SimpletraceParser(store, cat) : new LogLineParser(store, cat);
    parser.push(sample);
    const decoded = store.count() - store.unknownEvents;
    const score = decoded - 2 * store.malformedCount;
    scores[v] = score;
    if (score > bestScore) { bestScore = score; best = v; }
  }
  return { version: best, catalogue: builtinCatalogue(best), scores };
}

/** Reads up to sampleBytes (decompressed) from the start of path and guesses its QEMU version. */
export async function guessQemuVersion(path: string, sampleBytes = 256 * 1024): Promise<VersionGuess> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of readChunks(path, { chunkBytes: sampleBytes })) {
    parts.push(Buffer.from(chunk));
    n += chunk.length;
    if (n >= sampleBytes) break;
  }
  const sample = Buffer.concat(parts, n);
  const cut = looksLikeSimpletrace(sample) ? n : sample.lastIndexOf(10) + 1;
  return guessVersionFromSample(sample.subarray(0, cut > 0 ? cut : n));
}
