/**
 * How well a catalogue fits a trace: a sample from the start of the file is decoded with
 * it, and its event lines are counted as decoded, unknown (a name the catalogue lacks) or
 * malformed (a known name whose arguments do not match the format). The closest built-in
 * QEMU version is the built-in catalogue that fits best (ties go to the newest version).
 * catalogueResolver.ts chooses the catalogue from these fits.
 */
import { existsSync } from 'node:fs';
import type { Catalogue } from './catalogue';
import { builtinCatalogue, builtinVersions } from './catalogues/index';
import { LogLineParser } from './logReader';
import { leadingMappings, looksLikeSimpletrace, SimpletraceParser } from './simpletrace';
import { readChunks } from './source';
import { TraceStore } from './store';

/** Bytes (decompressed) read from the start of a trace to compare catalogues. */
export const SAMPLE_BYTES = 256 * 1024;

export interface SampleFit {
  /** Event lines (records) the catalogue decoded. */
  readonly decoded: number;
  /** Event lines whose name the catalogue does not have. */
  readonly unknown: number;
  /** Event lines of a known name whose arguments do not fit its format. */
  readonly malformed: number;
}

/** Decoded minus twice the malformed: a wrong format costs more than a missing name. */
export const fitScore = (f: SampleFit): number => f.decoded - 2 * f.malformed;

export interface VersionGuess {
  readonly version: string;
  readonly catalogue: Catalogue;
  /** Per version: events decoded minus twice the malformed lines in the sample. */
  readonly scores: Record<string, number>;
}

/** Decodes a sample (whole lines or records from a trace's start) with each catalogue. */
export function fitsOfSample(sample: Buffer, cats: readonly Catalogue[]): SampleFit[] {
  const simpletrace = looksLikeSimpletrace(sample);
  // Most of a simpletrace sample is its mapping records (one per event of the QEMU tree):
  // they are read once, and each catalogue decodes the records after them.
  const part = simpletrace ? leadingMappings(sample) : undefined;
  const input = part ? sample.subarray(part.offset) : sample;
  return cats.map((cat) => {
    const store = new TraceStore();
    // A sample is small: JavaScript reads its records without setting up a scanner per catalogue.
    const parser = simpletrace ? new SimpletraceParser(store, cat, { useWasm: false, part }) : new LogLineParser(store, cat);
    parser.push(input);
    parser.end();
    return { decoded: store.count() - store.unknownEvents, unknown: store.unknownEvents, malformed: store.malformedCount };
  });
}

/** Scores a sample against every built-in catalogue. */
export function guessVersionFromSample(sample: Buffer): VersionGuess {
  const scores: Record<string, number> = {};
  let best = builtinVersions[builtinVersions.length - 1]!;
  let bestScore = -Infinity;
  const versions = [...builtinVersions].reverse();
  const fits = fitsOfSample(sample, versions.map((v) => builtinCatalogue(v)));
  for (const [i, v] of versions.entries()) {
    const score = fitScore(fits[i]!);
    scores[v] = score;
    if (score > bestScore) { bestScore = score; best = v; }
  }
  return { version: best, catalogue: builtinCatalogue(best), scores };
}

/**
 * Up to sampleBytes (decompressed) from the start of path, cut after its last whole line
 * (log files). A file that does not exist yet (follow mode) gives an empty sample; the read
 * itself reports it.
 */
export async function traceSample(path: string, sampleBytes = SAMPLE_BYTES): Promise<Buffer> {
  if (!existsSync(path)) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of readChunks(path, { chunkBytes: sampleBytes })) {
    parts.push(Buffer.from(chunk));
    n += chunk.length;
    if (n >= sampleBytes) break;
  }
  const sample = Buffer.concat(parts, n);
  const cut = looksLikeSimpletrace(sample) ? n : sample.lastIndexOf(10) + 1;
  return sample.subarray(0, cut > 0 ? cut : n);
}

/** Reads the start of path and guesses its QEMU version among the built-in catalogues. */
export async function guessQemuVersion(path: string, sampleBytes = SAMPLE_BYTES): Promise<VersionGuess> {
  return guessVersionFromSample(await traceSample(path, sampleBytes));
}
