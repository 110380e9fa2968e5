// The migration view's document (no VS Code): one read however often the webview restarts,
// closing the panel cancels a read in progress through the worker threads, and follow mode
// tails a growing trace in a worker, posting only what is new.
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyDelta } from '../../core/analysis/delta';
import { loadMigration, type LoadedMigration, type LoadOptions } from '../../core/analysis/load';
import type { MigrationModel } from '../../core/analysis/model';
import { labRecording } from '../../core/analysis/testSupport';
import { idleTraceWorkers } from '../../core/trace/workerClient';
import type { ToWebview } from '../../webview/migrationView/protocol';
import { comparableModel } from '../../../test/support/modelCompare';
import { RealTraceLines, traceText } from '../../../test/support/traceGrowth';
import { Scope } from '../scope';
import { MigrationDocument, type DocumentOptions } from './document';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
let dir = '';
before(async () => { dir = await mkdtemp(join(tmpdir(), 'qmw-document-')); });
after(() => rm(dir, { recursive: true, force: true }));

/** Loads that are counted, and how each ended. */
function countingLoad(): { load: NonNullable<DocumentOptions['load']>; outcomes: Promise<string>[] } {
  const outcomes: Promise<string>[] = [];
  return {
    outcomes,
    load: (files: readonly string[], opts: LoadOptions): Promise<LoadedMigration> => {
      const p = loadMigration(files, opts);
      outcomes.push(p.then(() => 'read', (e: unknown) => (e instanceof Error ? e.name : String(e))));
      return p;
    },
  };
}

describe('migration view document', () => {
  it('closing the panel cancels its read: the workers stop and no model is posted', { timeout: 120_000 }, async () => {
    // 200 MB of real lines: a read of several ranges, in parallel worker threads.
    const path = join(dir, 'src-trace.log');
    const lines = new RealTraceLines(traceText(join(labRecording('precopy-multifd'), 'src-trace.log')));
    const out = createWriteStream(path);
    for (let written = 0; written < 200e6; written += lines.bytesPerCopy * 100) {
      if (!out.write(lines.copies(100))) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(() => r()));

    const posted: ToWebview[] = [];
    const { load, outcomes } = countingLoad();
    const scope = new Scope('panel');
    let reports = 0;
    const doc = new MigrationDocument([path], scope, {
      title: 'big', post: (m) => posted.push(m), log: quiet, catalogues: () => ({}), load,
      // The panel is closed as soon as the first progress of the read arrives.
      showProgress: (_title, run) => run(() => { if (reports++ === 0) scope.dispose(); }, new AbortController().signal),
    });
    await doc.ready();
    assert.ok(reports > 0, 'the read reported progress before the panel was closed');
    assert.equal(await outcomes[0], 'CancelledError', 'the read was cancelled');
    assert.deepEqual(posted.map((m) => m.type), ['loading'], 'no model after the panel closed');
    // This test runs first: the only workers were the cancelled read's.
    assert.equal(idleTraceWorkers(), 0, 'the cancelled read\'s workers were ended, not kept');
  });
  it('reads once: a later ready (the tab shown again) is answered from the model kept', async () => {
    const files = ['src', 'dst'].map((s) => join(labRecording('precopy-multifd'), `${s}-trace.log`));
    const posted: ToWebview[] = [];
    const { load, outcomes } = countingLoad();
    const scope = new Scope('test');
    const doc = new MigrationDocument(files, scope, { title: 't', post: (m) => posted.push(m), log: quiet, catalogues: () => ({}), load });
    await doc.ready();
    await doc.ready();
    await doc.ready();
    assert.equal(outcomes.length, 1, 'one read for three readies');
    const models = posted.flatMap((m) => (m.type === 'model' ? [m.model] : []));
    assert.equal(models.length, 3, 'every ready got the model');
    assert.deepEqual(models[2], models[0], 'the same model, from what was kept');
    scope.dispose();
  });


  it('follow: a worker tails the file from where the read ended; only the new packets are posted', { timeout: 120_000 }, async (t) => {
    const path = join(dir, 'follow', 'src-trace.log');
    await rm(join(dir, 'follow'), { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(join(dir, 'follow'));
    const lines = new RealTraceLines(traceText(join(labRecording('precopy-multifd'), 'src-trace.log')), { packets: /:multifd_send /, events: /./ });
    await writeFile(path, lines.copies(1));
    const posted: ToWebview[] = [];
    const scope = new Scope('follow');
    t.after(() => scope.dispose());
    const doc = new MigrationDocument([path], scope, { title: 'live', post: (m) => posted.push(m), log: quiet, catalogues: () => ({}) });
    await doc.ready();
    await doc.setFollow(true);
    let view: MigrationModel | null = null;
    let seq = -1, added = 0;
    const take = (): void => {
      for (const m of posted.splice(0)) {
        if (m.type === 'model') { view = m.model; seq = m.seq; }
        if (m.type === 'delta') {
          assert.equal(m.from, seq, 'each delta adds to the model before it');
          view = applyDelta(view!, m.delta);
          seq = m.seq;
          added += m.delta.send?.added.counts.reduce((a, b) => a + b, 0) ?? 0;
        }
      }
    };
    const events = (): number => (view as MigrationModel | null)?.traces[0]?.events ?? 0;
    for (let copies = 2; copies <= 4; copies++) {
      await appendFile(path, lines.copies(1));
      const want = copies * lines.perCopy.get('events')!;
      for (let i = 0; i < 400 && events() < want; i++) { await new Promise((r) => setTimeout(r, 25)); take(); }
      assert.equal(events(), want, `events after ${copies} copies`);
    }
    assert.equal(added, 3 * lines.perCopy.get('packets')!, 'the deltas carried the appended packets, and only them');
    const fresh = await loadMigration([path], { inProcess: true });
    assert.deepEqual(comparableModel(view!, { sampled: true }), comparableModel(fresh.model, { sampled: true }), 'the model made of the deltas is a fresh read of the grown file');
    scope.dispose();
    const before = posted.length;
    await appendFile(path, lines.copies(1));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(posted.length, before, 'nothing is posted once the panel is closed');
  });

  it('follow: a followed file truncated and written again is read again from its start', { timeout: 120_000 }, async (t) => {
    const path = join(dir, 'truncated', 'src-trace.log');
    await (await import('node:fs/promises')).mkdir(join(dir, 'truncated'), { recursive: true });
    const lines = new RealTraceLines(traceText(join(labRecording('precopy-multifd'), 'src-trace.log')));
    await writeFile(path, lines.copies(3));
    const posted: ToWebview[] = [];
    const scope = new Scope('truncated');
    t.after(() => scope.dispose());
    const doc = new MigrationDocument([path], scope, { title: 'live', post: (m) => posted.push(m), log: quiet, catalogues: () => ({}) });
    await doc.ready();
    await doc.setFollow(true);
    // QEMU started again with the same -D file: it is cut to nothing and written anew.
    await (await import('node:fs/promises')).truncate(path, 0);
    await new Promise((r) => setTimeout(r, 300));
    await appendFile(path, lines.copies(1));
    let last: MigrationModel | null = null;
    for (let i = 0; i < 400; i++) {
      for (const m of posted.splice(0)) if (m.type === 'model') last = m.model; else if (m.type === 'delta' && last) last = applyDelta(last, m.delta);
      if ((last as MigrationModel | null)?.traces[0]?.events === lines.linesPerCopy) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const fresh = await loadMigration([path], { inProcess: true });
    assert.deepEqual(comparableModel(last!, { sampled: true }), comparableModel(fresh.model, { sampled: true }), 'after the truncation the view holds the new file only');
  });
});
