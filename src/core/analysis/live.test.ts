/**
 * Follow mode's model against a fresh read: real recordings read in part, then fed the rest
 * in random pieces (cut anywhere, mid-line included) as a followed file is, give the model a
 * whole read gives; and the webview's model, made from the first model and the deltas alone,
 * is that model too.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LogBatcher } from '../trace/follow';
import { readTrace } from '../trace/readTrace';
import { applyDelta } from './delta';
import { LiveMigration } from './live';
import { finalQueryMigrate, loadMigration, transcriptBeside } from './load';
import { labRecording, rawText, recordings } from './testSupport';
import { comparableModel } from '../../../test/support/modelCompare';

let dir = '';
before(async () => { dir = await mkdtemp(join(tmpdir(), 'qmw-live-')); });
after(() => rm(dir, { recursive: true, force: true }));

/** A small deterministic generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

async function followedAgainstWhole(recording: string, seed: number): Promise<void> {
  const rnd = random(seed);
  const whole = await loadMigration([recording], { inProcess: true });
  const files = whole.traces.map((t) => t.path);
  const texts = files.map((f) => Buffer.from(rawText(f)));
  // The first read: a prefix of each file that ends with a line.
  const firstReads = await Promise.all(whole.traces.map(async (t, i) => {
    const text = texts[i]!;
    const cut = text.lastIndexOf(10, Math.floor(text.length * (0.1 + 0.5 * rnd()))) + 1;
    const path = join(dir, `${seed}-${basename(t.path).replace(/\.xz$/, '')}`);
    await writeFile(path, text.subarray(0, cut));
    return { cut, store: await readTrace(path, t.catalogue) };
  }));
  const live = new LiveMigration(
    whole.traces.map((t, i) => ({ path: t.path, side: t.side, version: t.version, choice: t.choice, parseMs: t.parseMs, store: firstReads[i]!.store })),
    await transcriptBeside(files), await finalQueryMigrate(files),
  );
  let view = live.model();
  // The rest, in pieces of 1 byte to 64 KiB, a batch taken now and then, a delta posted now and then.
  const batchers = whole.traces.map((t, i) => new LogBatcher(t.catalogue, { line: firstReads[i]!.store.lines, base: firstReads[i]!.store.base }));
  const at = firstReads.map((r) => r.cut);
  let deltas = 0;
  while (at.some((p, i) => p < texts[i]!.length)) {
    const i = Math.floor(rnd() * files.length);
    if (at[i]! >= texts[i]!.length) continue;
    const n = 1 + Math.floor(rnd() ** 3 * 65536);
    batchers[i]!.push(texts[i]!.subarray(at[i]!, at[i]! + n));
    at[i]! += n;
    if (rnd() < 0.3) { const b = batchers[i]!.take(); if (b) live.append(i, b); }
    if (rnd() < 0.2) { view = applyDelta(view, live.takeDelta()); deltas++; }
  }
  batchers.forEach((b, i) => { const s = b.take(); if (s) live.append(i, s); });
  view = applyDelta(view, live.takeDelta());
  const followed = live.model();
  assert.deepEqual(comparableModel(followed), comparableModel(whole.model), `${recording} (seed ${seed}): the followed model is the whole read's`);
  assert.deepEqual(comparableModel(view), comparableModel(whole.model), `${recording} (seed ${seed}): the model made of ${deltas + 1} deltas is the whole read's`);
}

describe('follow mode model', () => {
  const cases = [
    labRecording('precopy-multifd'),
    labRecording('postcopy'),
    labRecording('postcopy-vhost-user'),
    join(recordings, 'qemu-10.2.50-multifd-legacy'),
  ];
  for (const rec of cases) {
    it(`${basename(rec)}: read in part and followed in random pieces equals a whole read`, { timeout: 120_000 }, async () => {
      for (const seed of [1, 2, 3]) await followedAgainstWhole(rec, seed);
    });
  }
});
