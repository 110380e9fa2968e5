import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { QmpClient, type QmpConnectOptions } from '../qmp/client';
import { QmpError, QmpTimeoutError } from '../qmp/errors';
import type { QmpTranscriptEntry } from '../qmp/messages';
import { MigrationMonitor } from '../monitor/monitor';
import { FakeMonitorPeer, progressReplies } from '../monitor/testing/fakeMonitorPeer';
import {
  MigrationFailedError,
  MigrationTimeoutError,
  PairError,
  checkMigrationUri,
  endpointOf,
  pausePostcopyPair,
  pauseMigration,
  readSideConfig,
  recoverMigration,
  recoverPostcopyPair,
  runPairedMigration,
  setCapabilities,
  setParameters,
  startMigration,
  waitForPrecopyPasses,
  waitForStatus,
  type MigrationEndpoint,
} from './actions';

interface Side<E extends MigrationEndpoint = MigrationEndpoint> {
  peer: FakeMonitorPeer;
  e: E;
  /** Every command sent, as it went on the wire. */
  sent: Record<string, unknown>[];
}

/** A fake QEMU and a bare endpoint on it (no background polls: every query-migrate is the test's). */
async function bare(t: TestContext, opts: QmpConnectOptions = {}): Promise<Side> {
  const peer = await FakeMonitorPeer.start();
  const sent: Record<string, unknown>[] = [];
  const onTranscript = (x: QmpTranscriptEntry): void => {
    if (x.kind === 'command') sent.push(x.message as Record<string, unknown>);
  };
  const client = await QmpClient.connect(peer.path, { ...opts, onTranscript });
  t.after(async () => {
    await client.close();
    await peer.close();
  });
  return { peer, e: await endpointOf(client), sent };
}

/** A fake QEMU and a MigrationMonitor on it, as the extension and the CLI act through. */
async function monitored(t: TestContext, role: 'source' | 'destination', fastPollMs = 20): Promise<Side<MigrationMonitor>> {
  const peer = await FakeMonitorPeer.start();
  const sent: Record<string, unknown>[] = [];
  const onTranscript = (x: QmpTranscriptEntry): void => {
    if (x.kind === 'command') sent.push(x.message as Record<string, unknown>);
  };
  const client = await QmpClient.connect(peer.path, { onTranscript });
  const m = await MigrationMonitor.attach(client, { role, fastPollMs, slowPollMs: 10_000, changeDelayMs: 5 });
  t.after(async () => {
    m.dispose();
    await client.close();
    await peer.close();
  });
  return { peer, e: m, sent };
}

const named = (s: Side, command: string): Record<string, unknown>[] => s.sent.filter((c) => c['execute'] === command || c['exec-oob'] === command);
const polls = (s: Side): number => named(s, 'query-migrate').length;

test('capabilities and parameters go in QEMU\'s shape, only what is given, and read back as maps', async (t) => {
  const s = await bare(t);
  await setCapabilities(s.e, { multifd: true, 'postcopy-ram': false });
  await setParameters(s.e, { 'multifd-channels': 4, 'max-bandwidth': 2 << 20 });
  await setCapabilities(s.e, {});
  await setParameters(s.e, {});
  assert.deepEqual(named(s, 'migrate-set-capabilities').map((c) => c['arguments']), [{
    capabilities: [{ capability: 'multifd', state: true }, { capability: 'postcopy-ram', state: false }],
  }], 'nothing is sent for no changes');
  assert.deepEqual(named(s, 'migrate-set-parameters').map((c) => c['arguments']), [{ 'multifd-channels': 4, 'max-bandwidth': 2 << 20 }]);
  const cfg = await readSideConfig(s.e);
  assert.equal(cfg.capabilities['multifd'], true);
  assert.equal(cfg.capabilities['postcopy-ram'], false);
  assert.equal(cfg.parameters['multifd-channels'], 4);
});

test('migrate: a URI or channels, with detach where the schema lists it', async (t) => {
  const s = await bare(t);
  await startMigration(s.e, 'unix:/tmp/m.sock');
  const channels = [{ 'channel-type': 'main', addr: { transport: 'socket', type: 'unix', path: '/tmp/m.sock' } }];
  await startMigration(s.e, { channels });
  assert.deepEqual(named(s, 'migrate').map((c) => c['arguments']), [
    { uri: 'unix:/tmp/m.sock', detach: true },
    { channels, detach: true },
  ], "7.2's schema still lists detach");
});

test('pause and recover go out-of-band when the connection has oob, in-band without it', async (t) => {
  const withOob = await bare(t);
  withOob.peer.state.status = 'postcopy-active';
  assert.deepEqual(await pauseMigration(withOob.e), { oob: true });
  assert.deepEqual(await recoverMigration(withOob.e, 'destination', 'unix:/tmp/r.sock'), { command: 'migrate-recover', oob: true });
  assert.deepEqual(named(withOob, 'migrate-pause').map((c) => Object.keys(c)[0]), ['exec-oob']);
  assert.deepEqual(named(withOob, 'migrate-recover').map((c) => [Object.keys(c)[0], c['arguments']]), [['exec-oob', { uri: 'unix:/tmp/r.sock' }]]);

  const without = await bare(t, { enableOob: false });
  without.peer.state.status = 'postcopy-active';
  assert.deepEqual(await pauseMigration(without.e), { oob: false });
  assert.deepEqual(named(without, 'migrate-pause').map((c) => Object.keys(c)[0]), ['execute']);
});

test('waitForStatus polls until a wanted status', async (t) => {
  const s = await bare(t);
  s.peer.state.status = 'active';
  s.peer.state.progress = ['setup', 'active', 'active', 'completed'].map((status, i) => ({ status, ram: { transferred: i } }));
  const seen: string[] = [];
  const info = await waitForStatus(s.e, ['completed'], { pollMs: 1, timeoutMs: 5000, onPoll: (x) => void seen.push(x.status ?? 'none') });
  assert.deepEqual(seen, ['setup', 'active', 'active', 'completed']);
  assert.equal(polls(s), 4);
  assert.equal(info.status, 'completed');
  assert.equal(info.ram?.transferred, 3);
});

test('waiting ends at failed and at cancelled with the status and error-desc, unless that is what is waited for', async (t) => {
  const s = await bare(t);
  s.peer.state.status = 'active';
  s.peer.state.progress = [{ status: 'active' }, { status: 'failed', 'error-desc': 'Unable to write to socket: Broken pipe' }];
  await assert.rejects(waitForStatus(s.e, ['completed'], { pollMs: 1 }), (e: unknown) => {
    assert.ok(e instanceof MigrationFailedError);
    assert.equal(e.status, 'failed');
    assert.equal(e.errorDesc, 'Unable to write to socket: Broken pipe');
    assert.match(e.message, /migration failed: Unable to write to socket: Broken pipe/);
    return true;
  });
  s.peer.state.status = 'cancelled';
  await assert.rejects(waitForStatus(s.e, ['completed'], { pollMs: 1 }), (e: unknown) => e instanceof MigrationFailedError && e.status === 'cancelled' && /migration cancelled/.test(e.message));
  assert.equal((await waitForStatus(s.e, ['completed', 'cancelled'], { pollMs: 1 })).status, 'cancelled', 'a final status that is waited for is an answer');
  s.peer.state.status = 'postcopy-paused';
  await assert.rejects(waitForStatus(s.e, ['completed'], { pollMs: 5, timeoutMs: 60 }), (e: unknown) => e instanceof MigrationTimeoutError && e.status === 'postcopy-paused', 'postcopy-paused is waited through');
});

test('the time limit names the last status; aborting ends the wait with the reason', async (t) => {
  const s = await bare(t);
  s.peer.state.status = 'active';
  s.peer.state.progress = [{ status: 'active' }];
  await assert.rejects(waitForStatus(s.e, ['completed'], { pollMs: 5, timeoutMs: 40 }), (e: unknown) => {
    assert.ok(e instanceof QmpTimeoutError && e instanceof MigrationTimeoutError);
    assert.match(e.message, /still 'active' after 40 ms; waited for completed/);
    assert.equal(e.info.status, 'active');
    return true;
  });
  const ac = new AbortController();
  const waiting = waitForStatus(s.e, ['completed'], { pollMs: 20, timeoutMs: 0, signal: ac.signal });
  ac.abort(new Error('the user stopped it'));
  await assert.rejects(waiting, /the user stopped it/);
});

test('waitForPrecopyPasses: until the passes are done or precopy is over', async (t) => {
  const s = await bare(t);
  s.peer.state.status = 'active';
  s.peer.state.progress = progressReplies(10);
  const info = await waitForPrecopyPasses(s.e, 2, { pollMs: 1 });
  assert.equal(info.ram?.['dirty-sync-count'], 3, 'two passes are done at the third dirty-bitmap sync');
  s.peer.state.progress = [{ status: 'completed' }];
  assert.equal((await waitForPrecopyPasses(s.e, 5, { pollMs: 1 })).status, 'completed');
});

test('pause: out-of-band on the source; the destination pauses itself, or gets its own pause when it does not', async (t) => {
  const [src, dst] = await Promise.all([monitored(t, 'source'), monitored(t, 'destination')]);
  const opts = { pollMs: 5, destinationGraceMs: 60 };
  const oobOnly = (s: Side): string[] => named(s, 'migrate-pause').map((c) => Object.keys(c)[0]!);

  // The source's pause broke the stream and the destination paused itself: it is sent nothing.
  src.peer.state.status = 'postcopy-active';
  dst.peer.state.status = 'postcopy-paused';
  const broke = await pausePostcopyPair(src.e, dst.e, opts);
  assert.deepEqual(broke, { source: { oob: true }, destination: { oob: true, paused: 'stream-broke' } });
  assert.deepEqual(oobOnly(src), ['exec-oob']);
  assert.deepEqual(oobOnly(dst), [], 'no migrate-pause for a destination that paused itself');

  // Still postcopy-active after the grace period: the destination gets its own pause, out-of-band.
  src.peer.state.status = 'postcopy-active';
  dst.peer.state.status = 'postcopy-active';
  const both = await pausePostcopyPair(src.e, dst.e, opts);
  assert.deepEqual(both, { source: { oob: true }, destination: { oob: true, paused: 'command' } });
  assert.deepEqual(oobOnly(dst), ['exec-oob']);

  // It paused itself just as its pause arrived: QEMU's refusal is kept, not thrown.
  src.peer.state.status = 'postcopy-active';
  dst.peer.state.status = 'postcopy-active';
  const release = dst.peer.holdReplies('migrate-pause');
  const raced = pausePostcopyPair(src.e, dst.e, opts);
  const refusal = 'migrate-pause is currently only supported during postcopy-active state';
  while (dst.peer.commands.filter((c) => c === 'migrate-pause').length < 2) await new Promise((r) => setTimeout(r, 5));
  dst.peer.state.status = 'postcopy-paused';
  release();
  assert.deepEqual((await raced).destination, { oob: true, paused: 'stream-broke', refusal: `GenericError: ${refusal}` });

  // Refused while it is not paused: reported.
  src.peer.state.status = 'postcopy-active';
  dst.peer.state.status = 'postcopy-active';
  dst.peer.state.fail['migrate-pause'] = 'no pause for you';
  await assert.rejects(pausePostcopyPair(src.e, dst.e, opts), (e: unknown) => e instanceof QmpError && e.message.includes('no pause for you'), 'a refusal while the destination is not paused is reported');
});

test('recover: migrate-recover out-of-band on the destination first, then migrate resume=true on the source', async (t) => {
  const [src, dst] = await Promise.all([monitored(t, 'source'), monitored(t, 'destination')]);
  const r = await recoverPostcopyPair(src.e, dst.e, 'unix:/tmp/qmig-recover.sock');
  assert.deepEqual(r, { destinationOob: true });
  assert.deepEqual(named(dst, 'migrate-recover').map((c) => [Object.keys(c)[0], c['arguments']]), [['exec-oob', { uri: 'unix:/tmp/qmig-recover.sock' }]]);
  assert.deepEqual(named(src, 'migrate').map((c) => [Object.keys(c)[0], c['arguments']]), [['execute', { uri: 'unix:/tmp/qmig-recover.sock', resume: true, detach: true }]]);
  assert.deepEqual(named(dst, 'migrate'), [], 'the destination never gets migrate');
  assert.deepEqual(await recoverMigration(dst.e, 'none', 'tcp:0:4444'), { command: 'migrate-recover', oob: true });
  await startMigration(src.e, 'tcp:127.0.0.1:4444');
  assert.deepEqual(named(src, 'migrate').at(-1)?.['arguments'], { uri: 'tcp:127.0.0.1:4444', detach: true }, "7.2's schema still lists detach");
});

test('migration URIs are checked before they are sent', () => {
  assert.deepEqual(checkMigrationUri('  unix:/tmp/m.sock '), { ok: true, uri: 'unix:/tmp/m.sock' });
  assert.deepEqual(checkMigrationUri('exec:cat > /tmp/x'), { ok: true, uri: 'exec:cat > /tmp/x' });
  const bad = checkMigrationUri('/tmp/m.sock');
  assert.ok(!bad.ok && /expected tcp:, unix:/.test(bad.message));
});

test('paired migration: same caps and params on both, incoming then migrate, reaches completed', async (t) => {
  const [src, dst] = await Promise.all([monitored(t, 'source'), monitored(t, 'destination')]);
  const steps: string[] = [];
  let progress = 0;
  const r = await runPairedMigration(src.e, dst.e, { capabilities: { multifd: true }, parameters: { 'multifd-channels': 4 }, pollMs: 5 }, {
    onStep: (s) => steps.push(s),
    onProgress: () => progress++,
  });
  assert.equal(r.status, 'completed');
  assert.match(r.uri, /^unix:.*qmig-pair-.*\/migration\.sock$/);
  for (const p of [src.peer, dst.peer]) {
    assert.equal(p.state.capabilities['multifd'], true);
    assert.equal(p.state.parameters['multifd-channels'], 4);
  }
  assert.ok(dst.peer.commands.includes('migrate-incoming') && !dst.peer.commands.includes('migrate'));
  assert.ok(src.peer.commands.includes('migrate') && !src.peer.commands.includes('migrate-incoming'));
  assert.ok(progress >= 2);
  assert.ok(steps.some((s) => s.startsWith('migrate-incoming')));
  const end = Date.now() + 5000;
  while (src.e.samples.newest(1)[0]?.status !== 'completed') {
    assert.ok(Date.now() < end, 'the chart keeps the sample that shows the end');
    await new Promise((r) => setTimeout(r, 10));
  }
});

test('paired migration: postcopy after the passes asked for, and the failed end as its result', async (t) => {
  const [src, dst] = await Promise.all([bare(t), bare(t)]);
  src.peer.state.progress = [...progressReplies(4), { status: 'postcopy-active' }, { status: 'failed', 'error-desc': 'Detected IO failure for postcopy' }];
  const r = await runPairedMigration(src.e, dst.e, { postcopyAfterPasses: 2, pollMs: 1 });
  assert.equal(named(src, 'migrate-start-postcopy').length, 1, 'switched once');
  assert.equal(r.status, 'failed');
  assert.equal(r.source['error-desc'], 'Detected IO failure for postcopy');
});

test('paired migration refuses one-sided postcopy and unknown capabilities, cancels on abort and at its time limit', async (t) => {
  const [src, dst] = await Promise.all([monitored(t, 'source'), monitored(t, 'destination')]);
  await assert.rejects(runPairedMigration(src.e, dst.e, { capabilities: { 'no-such-cap': true } }), /source QEMU has no migration capability 'no-such-cap'/);
  src.peer.state.capabilities['postcopy-ram'] = true;
  await assert.rejects(runPairedMigration(src.e, dst.e, {}), (e: unknown) => e instanceof PairError && /postcopy-ram is on on the source but off/.test(e.message));
  assert.ok(!src.peer.commands.includes('migrate'), 'nothing started');

  src.peer.state.capabilities['postcopy-ram'] = false;
  src.peer.state.progress = progressReplies(100_000);
  const ac = new AbortController();
  const r = await runPairedMigration(src.e, dst.e, { pollMs: 5 }, { signal: ac.signal, onProgress: () => ac.abort() });
  assert.equal(r.status, 'cancelled');
  assert.ok(src.peer.commands.includes('migrate_cancel'));

  const cancels = src.peer.commands.filter((c) => c === 'migrate_cancel').length;
  await assert.rejects(runPairedMigration(src.e, dst.e, { pollMs: 5, timeoutMs: 50 }), (e: unknown) => e instanceof PairError && /still 'active' after 50 ms; cancelled it/.test(e.message));
  assert.equal(src.peer.commands.filter((c) => c === 'migrate_cancel').length, cancels + 1);
});
