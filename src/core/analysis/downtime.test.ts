/**
 * The downtime waterfall against real QEMU 10.0.2 recordings: every device and checkpoint equals
 * the raw vmstate_downtime_* lines (counted here with a plain regex over the file), the total is
 * compared with the downtime query-migrate reported, and traces that cannot tell say n/a.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { requireComponent } from '../../../test/support/components';
import { analyzeCommand } from '../../cli/commands/analyze';
import type { CliIo } from '../../cli/command';
import { formatMicros } from '../units';
import { downtimeSummary } from './downtime';
import { figuresOf, lastQueryMigrate, reportedDowntime } from './qemuReported';
import { loadMigration } from './load';
import { SummaryIndex } from './summary';
import { assertDowntimeAgainstQueryMigrate, assertWaterfallEqualsRaw, labRecording, rawText, recordings } from './testSupport';

const testdata = resolve(__dirname, 'testdata');
const RECORDINGS = ['qemu-10.0.2-precopy-downtime', 'qemu-10.0.2-multifd-downtime'];

function capture(): { io: CliIo; out: () => string } {
  let out = '';
  return { io: { out: (t) => { out += t; }, err: () => undefined, signal: new AbortController().signal, isTty: false }, out: () => out };
}

interface JsonSide { devices: { type: string; idstr: string; instanceId: number; us: number }[]; checkpoints: { name: string; t: number }[]; totalUs: number | null }
async function analyzeJson(args: string[]): Promise<{ downtime: { source: JsonSide | null; destination: JsonSide | null } }> {
  const c = capture();
  assert.equal(await analyzeCommand.run([...args, '--json'], c.io), 0);
  return JSON.parse(c.out()) as { downtime: { source: JsonSide | null; destination: JsonSide | null } };
}

for (const name of RECORDINGS) {
  const dir = join(testdata, name);
  describe(`downtime waterfall of ${name}`, () => {
    it('each side equals the sums of its raw vmstate_downtime_* lines', async () => {
      await assertWaterfallEqualsRaw(dir, '10.0.2');
    });

    it('the total sits inside the downtime query-migrate reported', async () => {
      await assertDowntimeAgainstQueryMigrate(dir);
    });

    it('qmig analyze --json has exactly the downtime shape, t in µs on the shared axis', async () => {
      const j = await analyzeJson([dir]);
      const { model } = await loadMigration([dir], { inProcess: true });
      const s = downtimeSummary(model.downtime);
      assert.deepEqual(Object.keys(j.downtime), ['source', 'destination']);
      for (const [side, sum] of [[j.downtime.source!, s.source!], [j.downtime.destination!, s.destination!]] as const) {
        assert.deepEqual(Object.keys(side), ['devices', 'checkpoints', 'totalUs']);
        assert.deepEqual(Object.keys(side.devices[0]!), ['type', 'idstr', 'instanceId', 'us']);
        assert.deepEqual(Object.keys(side.checkpoints[0]!), ['name', 't']);
        assert.equal(side.totalUs, sum.totalUs);
        assert.equal(side.totalUs, side.devices.reduce((n, x) => n + x.us, 0));
        assert.deepEqual(side.checkpoints.map((c) => c.t), sum.checkpoints.map((c) => c.t / 1000));
      }
      const c = capture();
      assert.equal(await analyzeCommand.run([dir], c.io), 0);
      assert.match(c.out(), /t in ms on the shared time axis, 0 = \d{4}-\d\d-\d\dT[\d:.]+Z/);
      assert.match(c.out(), new RegExp(`source \\(QEMU 10\\.0\\.2\\): ${s.source!.devices.length} devices saved in ${formatMicros(s.source!.totalUs).replace('.', '\\.')}`));
      assert.match(c.out(), /query-migrate downtime: \d+ ms \(final-query-migrate-src\.json\)/);
    });
  });
}

describe('downtime where the trace cannot tell', () => {
  it('QEMU 7.2 has no such events: n/a, never 0', async (t) => {
    const dir = labRecording('postcopy');
    if (!requireComponent(t, 'lab recording demo/recordings/postcopy', existsSync(join(dir, 'src-trace.log')))) return;
    const s = new SummaryIndex((await loadMigration([dir], { inProcess: true })).model).summary().downtime;
    for (const side of [s.source!, s.destination!]) {
      assert.equal(side.status, 'not-in-version');
      assert.equal(side.totalUs, null);
      assert.match(side.note!, /QEMU 7\.2\.22 has no vmstate_downtime_\* trace events/);
    }
    const j = await analyzeJson([dir]);
    assert.deepEqual(j.downtime.source, { devices: [], checkpoints: [], totalUs: null });
    const c = capture();
    await analyzeCommand.run([dir], c.io);
    assert.match(c.out(), /source: n\/a\. QEMU 7\.2\.22 has no vmstate_downtime_\*/);
    assert.doesNotMatch(c.out(), /devices saved in 0/);
  });

  it('a QEMU 10.x trace without the events enabled says so', async () => {
    const dir = join(recordings, 'qemu-10.2.50-multifd-legacy');
    assert.equal(/vmstate_downtime_/.test(rawText(join(dir, 'src-trace.log.xz'))), false);
    const s = downtimeSummary((await loadMigration([dir], { inProcess: true })).model.downtime);
    for (const side of [s.source!, s.destination!]) {
      assert.equal(side.status, 'not-enabled');
      assert.equal(side.totalUs, null);
      assert.match(side.note!, /not enabled \(-trace enable=vmstate_downtime_\*\)/);
    }
    assert.equal(s.reported?.ms, 5, 'query-migrate\'s own figure is still there');
  });

  it('a catalogue without the events says the trace has them but they were not decoded', async () => {
    const dir = join(testdata, RECORDINGS[0]!);
    const { model } = await loadMigration([dir], { inProcess: true, catalogues: { forced: { version: '7.2' } } });
    const s = downtimeSummary(model.downtime);
    assert.equal(s.source?.status, 'unknown-to-catalogue');
    assert.equal(s.source?.totalUs, null);
    assert.match(s.source!.note!, /does not know the event/);
  });

  it('one side only: the other is null, not empty', async () => {
    const s = downtimeSummary((await loadMigration([join(testdata, RECORDINGS[1]!, 'dst-trace.log')], { inProcess: true })).model.downtime);
    assert.equal(s.source, null);
    assert.equal(s.destination?.status, 'traced');
    assert.equal(s.stopToStartUs, null);
  });
});

describe('downtime helpers', () => {
  it('query-migrate downtime comes from the transcript when there is no final file', () => {
    const dir = join(testdata, RECORDINGS[1]!);
    const expected = (JSON.parse(readFileSync(join(dir, 'final-query-migrate-src.json'), 'utf8')) as { downtime: number }).downtime;
    const reported = reportedDowntime(lastQueryMigrate(readFileSync(join(dir, 'qmp.jsonl'), 'utf8'), 'qmp.jsonl').src);
    assert.equal(reported?.ms, expected);
    assert.match(reported?.from ?? '', /^qmp\.jsonl \(query-migrate reply of /);
    assert.equal(reportedDowntime(figuresOf('src', 'x', { status: 'active', downtime: 5 })), null, 'no downtime before completion');
    assert.equal(lastQueryMigrate('{"kind":"reply","side":"src"', 'qmp.jsonl').src, null, 'a torn line is skipped');
  });

  it('a range keeps only the events inside it', async () => {
    const { model } = await loadMigration([join(testdata, RECORDINGS[0]!)], { inProcess: true });
    const all = downtimeSummary(model.downtime);
    const ram = all.source!.devices.find((x) => x.idstr === 'ram' && x.type === 'iterable')!;
    const part = downtimeSummary(model.downtime, ram.endNs + 1, Infinity);
    assert.equal(part.source!.totalUs, all.source!.totalUs! - ram.us - all.source!.devices.filter((x) => x.endNs <= ram.endNs && x !== ram).reduce((n, x) => n + x.us, 0));
    assert.equal(part.source!.window, null, 'the window\'s start is outside the range');
    const none = downtimeSummary(model.downtime, -2, -1);
    assert.equal(none.source!.totalUs, 0, 'traced, but nothing in this range');
  });
});
