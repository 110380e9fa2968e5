import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMigration, transcriptBeside } from '../analysis/load';
import { qmpPhases } from '../analysis/phases';
import { QmpClient } from '../qmp/client';
import type { MigrationInfo } from '../qmp/replies';
import { MigrationMonitor } from './monitor';
import { RecordingBuffer, recordingFileName, writeRecording } from './recording';
import { sampleOf } from './samples';
import { FakeMonitorPeer, progressReplies } from './testing/fakeMonitorPeer';
import type { TranscriptLine } from './transcriptLine';

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** QEMU's event timestamp for `s` seconds since the epoch. */
const at = (s: number): { seconds: number; microseconds: number } => ({ seconds: Math.floor(s), microseconds: Math.round((s % 1) * 1e6) });

/** A connection recorded the way the extension's session records it for Save Recording. */
async function recorded(buffer: RecordingBuffer, id: string, role: 'source' | 'destination'): Promise<{ peer: FakeMonitorPeer; m: MigrationMonitor }> {
  const peer = await FakeMonitorPeer.start();
  const spec = { id, label: id, role };
  const client = await QmpClient.connect(peer.path, { onTranscript: (e) => buffer.record(spec, e) });
  const m = await MigrationMonitor.attach(client, { role, fastPollMs: 20, slowPollMs: 10_000, changeDelayMs: 5 });
  return { peer, m };
}

test('Save Recording writes what the migration view opens beside traces: events as phases, samples as query-migrate replies', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qmig-recording-'));
  const buffer = new RecordingBuffer();
  const src = await recorded(buffer, 'src', 'source');
  const dst = await recorded(buffer, 'dst', 'destination');
  t.after(async () => {
    for (const { peer, m } of [src, dst]) {
      m.dispose();
      await m.client.close();
      await peer.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });
  // A log-backend trace of the destination whose clock the recorded events share.
  const trace = join(dir, 'dst-trace.log');
  writeFileSync(trace, '4242@1795296100.000100:migrate_set_state new state active\n4242@1795296102.000000:migrate_set_state new state completed\n');

  src.peer.state.progress = progressReplies(1000);
  await src.m.execute('migrate', { uri: 'unix:/nonexistent' });
  await until('chart samples', () => src.m.samples.length >= 5);
  const sc = src.peer.peer.connections[0];
  const dc = dst.peer.peer.connections[0];
  assert.ok(sc && dc);
  sc.event('MIGRATION_PASS', { pass: 1 }, at(1795296100.5));
  sc.event('STOP', undefined, at(1795296101.25));
  sc.event('MIGRATION', { status: 'completed' }, at(1795296101.5));
  dc.event('MIGRATION', { status: 'active' }, at(1795296100.25));
  await until('events received', () => src.m.events.length >= 4 && dst.m.events.length >= 1);
  src.m.dispose();
  dst.m.dispose();

  const now = new Date('2026-11-21T22:00:00.000Z');
  const srcFile = join(dir, recordingFileName('src', now));
  assert.equal(srcFile, join(dir, 'qmp-src-2026-11-21T22-00-00-000Z.jsonl'));
  await writeRecording(srcFile, buffer.lines('src'));
  await writeRecording(join(dir, recordingFileName('dst', now)), buffer.lines('dst'));

  // Every line is a transcript line; the query-migrate replies carry exactly the chart's samples.
  const lines = readFileSync(srcFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TranscriptLine);
  assert.ok(lines.every((l) => l.side === 'src' && l.label === 'src' && typeof l.ms === 'number'));
  const replySamples = lines
    .filter((l) => l.kind === 'reply')
    .map((l) => (l.message as { return?: unknown }).return as MigrationInfo)
    .flatMap((info) => sampleOf(info, 0) ?? [])
    .map((s) => `${s.status}/${s.transferred}/${s.passes}`);
  const chart = src.m.samples.toArray().map((s) => `${s.status}/${s.transferred}/${s.passes}`);
  assert.ok(chart.length >= 5);
  assert.deepEqual(chart.filter((k) => !replySamples.includes(k)), [], 'every chart sample is in the recording');
  const eventsInFile = lines.filter((l) => l.kind === 'event').map((l) => (l.message as { event: string }).event);
  assert.deepEqual(eventsInFile, src.m.events.toArray().map((e) => e.event.event), 'every marker event is in the recording');

  // The migration view's transcript reader finds both saved recordings beside the trace ...
  const text = await transcriptBeside([trace]);
  assert.ok(text !== null);
  const origin = 1795296100_000000000n;
  const phases = qmpPhases(text, origin).filter((p) => p.t >= 0);
  assert.deepEqual(phases.map((p) => [p.side, p.state, p.t / 1e6]), [
    ['dst', 'active', 250],
    ['src', 'pass 1', 500],
    ['src', 'completed', 1500],
  ]);
  // ... and the whole load puts them on the trace's time axis next to the trace's own phases.
  const { model } = await loadMigration([trace], { inProcess: true });
  const fromQmp = model.phases.filter((p) => p.from === 'qmp').map((p) => `${p.side} ${p.state}`);
  for (const want of ['dst active', 'src pass 1', 'src completed']) assert.ok(fromQmp.includes(want), `${want} in ${fromQmp.join(', ')}`);
  assert.ok(model.phases.some((p) => p.from === 'trace' && p.state === 'completed'));
});

test('a lab qmp.jsonl beside the trace wins over saved recordings; no transcript gives null', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qmig-recording-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const trace = join(dir, 'src-trace.log');
  assert.equal(await transcriptBeside([trace]), null);
  writeFileSync(join(dir, 'qmp-src-x.jsonl'), '{"kind":"event","side":"src"}');
  writeFileSync(join(dir, 'qmp-dst-x.jsonl'), '{"kind":"event","side":"dst"}\n');
  assert.equal(await transcriptBeside([trace]), '{"kind":"event","side":"dst"}\n{"kind":"event","side":"src"}\n');
  writeFileSync(join(dir, 'qmp.jsonl'), 'lab\n');
  assert.equal(await transcriptBeside([trace]), 'lab\n');
});
