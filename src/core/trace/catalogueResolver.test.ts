/**
 * The catalogue resolver on real traces: a QEMU 7.2 recording opened where the user's tree is
 * QEMU 10.2.50 is decoded with the catalogue that fits, and the choice says so; the user's tree
 * is kept when the trace fits it. Event lines are counted here with a plain regex, not the decoder.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadMigration } from '../analysis/load';
import { SummaryIndex } from '../analysis/summary';
import { catalogueForQemuVersion, choiceAfterRead, isQemuTree, nearestBuiltinVersion, qemuTreesAmong, resolveCatalogue, resolveCatalogues } from './catalogueResolver';
import { qemuFixtures, recordings } from './testSupport';

const demo = resolve(__dirname, '..', '..', '..', 'demo', 'recordings', 'precopy-multifd');
const tree10 = join(qemuFixtures, '10.2.50');
const workspace10 = [{ path: tree10, origin: 'workspace' as const }];
const tmp = mkdtempSync(join(tmpdir(), 'qmig-resolver-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Event lines of a log-backend trace (tid@sec.usec:name ...), counted without the decoder. */
const eventLines = (path: string): number => readFileSync(path, 'utf8').split('\n').filter((l) => /^\d+@\d+\.\d+:[a-z_0-9]+( |$)/.test(l)).length;
const rawCount = (path: string, re: RegExp): number => readFileSync(path, 'utf8').split('\n').filter((l) => re.test(l)).length;

describe('catalogue resolver', () => {
  it('a QEMU 7.2 trace in a folder holding a 10.2.50 tree is decoded with the 7.2 catalogue, and says so', async () => {
    const [src, dst] = await resolveCatalogues([join(demo, 'src-trace.log'), join(demo, 'dst-trace.log')], { trees: workspace10 });
    for (const [r, file] of [[src!, 'src-trace.log'], [dst!, 'dst-trace.log']] as const) {
      assert.equal(r.choice.label, 'built-in QEMU 7.2', file);
      assert.equal(r.catalogue.source, 'builtin:qemu-7.2');
      assert.equal(r.choice.sampleEventLines, eventLines(join(demo, file)), 'every event line of the (small) trace is in the sample');
      assert.equal(r.choice.share, 1);
      assert.match(r.choice.warning ?? '', /does not fit trace-events of 10\.2\.50 \(workspace\).*decoded with built-in QEMU 7\.2 instead/);
      const treeFit = r.choice.fits.find((f) => f.origin === 'workspace')!;
      assert.ok(treeFit.share! < 0.6, `the tree decodes ${treeFit.share}`);
    }
  });

  it('the migration view\'s loader then shows the packets QEMU traced, with the catalogue and its warning', async () => {
    const { model } = await loadMigration([demo], { inProcess: true, catalogues: { trees: workspace10 } });
    const s = new SummaryIndex(model).summary();
    assert.equal(s.multifd.send!.reduce((n, c) => n + c.packets, 0), rawCount(join(demo, 'src-trace.log'), /:multifd_send channel /));
    assert.equal(s.multifd.recv!.reduce((n, c) => n + c.packets, 0), rawCount(join(demo, 'dst-trace.log'), /:multifd_recv channel /));
    for (const t of s.traces) {
      assert.equal(t.malformed, 0);
      assert.equal(t.catalogue.label, 'built-in QEMU 7.2');
      assert.ok(t.catalogue.warning);
    }
    assert.equal(s.multifd.sendDetail!.crossCheck.checked > 0 && s.multifd.sendDetail!.crossCheck.ok, true);
  });

  it('a catalogue asked for is used even when it does not fit, and the mismatch is said; the cross-check is not "ok" then', async () => {
    const { model } = await loadMigration([demo], { inProcess: true, catalogues: { forced: { path: tree10 } } });
    const s = new SummaryIndex(model).summary();
    const src = s.traces.find((t) => t.side === 'src')!;
    assert.equal(src.catalogue.origin, 'option');
    assert.ok(src.malformed > 0, 'the 7.2 thread-end lines do not parse with the 10.2.50 formats');
    assert.match(src.catalogue.warning ?? '', /built-in QEMU 7\.2 fits/);
    assert.equal(s.multifd.send!.reduce((n, c) => n + c.packets, 0), 0);
    assert.equal(s.multifd.sendDetail!.crossCheck.checked, 0, 'nothing was checked, so nothing is called ok');
  });

  it('keeps the user\'s tree when the trace fits it', async () => {
    const r = await resolveCatalogue(join(recordings, 'qemu-10.2.50-multifd-legacy', 'src-trace.log.xz'), { trees: workspace10 });
    assert.equal(r.choice.origin, 'workspace');
    assert.equal(r.catalogue.source, tree10);
    assert.equal(r.choice.warning, null);
    assert.equal(r.choice.version, '10.2.50');
    const simple = await resolveCatalogue(join(recordings, 'qemu-10.2.50-simpletrace-small', 'dst-trace.simple'), { trees: workspace10 });
    assert.equal(simple.choice.origin, 'workspace');
    assert.equal(simple.choice.share, 1);
  });

  it('prefers a tree whose own events a built-in lacks, and switches away from one that is clearly outdone', async () => {
    const mine = join(tmp, 'mytree');
    mkdirSync(join(mine, 'migration'), { recursive: true });
    writeFileSync(join(mine, 'migration', 'trace-events'), [
      'multifd_send_fill(uint8_t id, uint64_t packet_num, uint32_t flags, uint32_t next_packet_size) "channel %u packet_num %" PRIu64 " flags 0x%x next packet size %u"',
      'my_new_event(int n) "n %d"',
      '',
    ].join('\n'));
    assert.equal(isQemuTree(mine), true);
    assert.deepEqual(qemuTreesAmong([{ path: tmp, origin: 'workspace' }, { path: mine, origin: 'setting' }]).map((t) => t.path), [mine]);
    const f = join(tmp, 'mine.log');
    const fill = '1@1.000001:multifd_send_fill channel 0 packet_num 1 flags 0x0 next packet size 4096';
    writeFileSync(f, `${fill}\n1@1.000002:my_new_event n 3\n`.repeat(20));
    const kept = await resolveCatalogue(f, { trees: [{ path: mine, origin: 'setting' }] });
    assert.equal(kept.choice.origin, 'setting');
    assert.equal(kept.choice.share, 1);
    assert.equal(kept.choice.warning, null);
    // A 7.2 trace: the tree knows none of its events, the built-in knows them all.
    const old = join(tmp, 'old.log');
    writeFileSync(old, '1@1.000001:multifd_send channel 0 packet_num 1 normal pages 1 flags 0x0 next packet size 4096\n'.repeat(20) + `${fill}\n`.repeat(15));
    const switched = await resolveCatalogue(old, { trees: [{ path: mine, origin: 'setting' }] });
    assert.equal(switched.choice.label, 'built-in QEMU 7.2');
    assert.match(switched.choice.warning ?? '', /does not fit trace-events of mytree \(setting\) \(it decodes 15 of 35 event lines\)/);
  });

  it('counts event lines of a trace without line prefixes by the catalogue that knows most of them', async () => {
    const f = join(tmp, 'plain.log');
    writeFileSync(f, 'multifd_send channel 0 packet_num 1 normal pages 128 flags 0x0 next packet size 524288\nsome other output\n'.repeat(10));
    const r = await resolveCatalogue(f, { trees: workspace10 });
    assert.equal(r.choice.sampleEventLines, 10);
    assert.equal(r.choice.label, 'built-in QEMU 7.2');
    assert.ok(r.choice.warning);
  });

  it('a whole read that mostly does not fit is said even when the sample fit', () => {
    const c = { label: 'built-in QEMU 7.2', source: 'builtin:qemu-7.2', origin: 'built-in' as const, version: '7.2', reason: 'fits best', share: 1, sampleEventLines: 10, warning: null, fits: [] };
    assert.equal(choiceAfterRead(c, { events: 100, unknown: 10, malformed: 0 }).warning, null);
    assert.match(choiceAfterRead(c, { events: 100, unknown: 70, malformed: 5 }).warning ?? '', /75 of 105 event lines of the whole trace do not fit built-in QEMU 7\.2/);
  });
});

describe('the catalogue of a live QEMU by its version', () => {
  it('uses its own built-in catalogue when there is one, else the nearest, and says so', async () => {
    assert.deepEqual(nearestBuiltinVersion('10.0.2'), { key: '10.0', exact: true });
    assert.deepEqual(nearestBuiltinVersion('7.2.22'), { key: '7.2', exact: true });
    assert.deepEqual(nearestBuiltinVersion('10.1.0'), { key: '10.0', exact: false });
    assert.deepEqual(nearestBuiltinVersion('8.2.0'), { key: '9.0', exact: false });
    assert.equal((await catalogueForQemuVersion('10.0.2', undefined)).description, 'the built-in QEMU 10.0 catalogue');
    assert.match((await catalogueForQemuVersion('8.2.0', undefined)).description, /QEMU 9\.0 catalogue \(nearest to 8\.2\.0; set "traceEventsDir"/);
    const tree = await catalogueForQemuVersion('10.2.50', join(qemuFixtures, '10.2.50', 'migration'));
    assert.ok(tree.catalogue.get('multifd_send_fill'), 'the tree given decodes');
  });
});
