import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QmpClient } from '../qmp/client';
import { QmpConnectionError } from '../qmp/errors';
import { ScriptedQmpPeer } from '../qmp/testing/scriptedPeer';
import { validateQmpInput } from './qmpInput';
import { ConnectionManager, backoffDelay, type ConnectionSpec } from './connectionManager';
import { MigrationMonitor } from './monitor';
import { PairError, runPairedMigration } from './pairedMigration';
import { FakeMonitorPeer, progressReplies } from './testing/fakeMonitorPeer';

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function monitorOn(peer: FakeMonitorPeer, fastPollMs = 20, slowPollMs = 400): Promise<MigrationMonitor> {
  const client = await QmpClient.connect(peer.path);
  return MigrationMonitor.attach(client, { fastPollMs, slowPollMs, changeDelayMs: 5, role: 'source' });
}

test('polls query-migrate fast while active and slowly when idle', async (t) => {
  const peer = await FakeMonitorPeer.start();
  const m = await monitorOn(peer);
  t.after(async () => {
    m.dispose();
    await m.client.close();
    await peer.close();
  });
  const count = (): number => peer.commands.filter((c) => c === 'query-migrate').length;
  const idle0 = count();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(count() - idle0 <= 2, `idle: at most one slow poll in 300 ms, saw ${count() - idle0}`);

  peer.state.progress = progressReplies(1000);
  await m.execute('migrate', { uri: 'unix:/nonexistent' });
  const active0 = count();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(count() - active0 >= 6, `active: fast polls in 300 ms, saw ${count() - active0}`);
  assert.equal(m.status, 'active');
  assert.ok(m.samples.length >= 6, 'samples recorded for the chart');
  assert.ok(m.events.toArray().some((e) => e.event.event === 'MIGRATION'), 'MIGRATION event kept in the ring');
  assert.ok(m.timings.length > 0 && m.timings.toArray().every((x) => x.repliedAt >= x.sentAt), 'round-trip times recorded');
});

test('events ring stays bounded', async (t) => {
  const peer = await FakeMonitorPeer.start();
  const client = await QmpClient.connect(peer.path);
  const m = await MigrationMonitor.attach(client, { eventCapacity: 10, slowPollMs: 10_000 });
  t.after(async () => {
    m.dispose();
    await client.close();
    await peer.close();
  });
  const conn = peer.peer.connections[0];
  assert.ok(conn);
  for (let i = 0; i < 50; i++) conn.event('MIGRATION_PASS', { pass: i });
  await until('50 events', () => m.events.total >= 50);
  assert.equal(m.events.length, 10);
  assert.deepEqual(m.events.newest(1)[0]?.event.data, { pass: 49 });
});

test('paired migration: same caps and params on both, incoming then migrate, reaches completed', async (t) => {
  const [ps, pd] = await Promise.all([FakeMonitorPeer.start(), FakeMonitorPeer.start()]);
  const [src, dst] = await Promise.all([monitorOn(ps), monitorOn(pd)]);
  t.after(async () => {
    for (const m of [src, dst]) {
      m.dispose();
      await m.client.close();
    }
    await Promise.all([ps.close(), pd.close()]);
  });
  const steps: string[] = [];
  let progress = 0;
  const r = await runPairedMigration(src, dst, { capabilities: { multifd: true }, parameters: { 'multifd-channels': 4 }, pollMs: 5 }, {
    onStep: (s) => steps.push(s),
    onProgress: () => progress++,
  });
  assert.equal(r.status, 'completed');
  assert.match(r.uri, /^unix:.*qmig-pair-.*\/migration\.sock$/);
  for (const p of [ps, pd]) {
    assert.equal(p.state.capabilities['multifd'], true);
    assert.equal(p.state.parameters['multifd-channels'], 4);
  }
  assert.ok(pd.commands.includes('migrate-incoming') && !pd.commands.includes('migrate'));
  assert.ok(ps.commands.includes('migrate') && !ps.commands.includes('migrate-incoming'));
  assert.ok(progress >= 2);
  assert.ok(steps.some((s) => s.startsWith('migrate-incoming')));
  await until('the chart keeps the sample that shows the end', () => src.samples.newest(1)[0]?.status === 'completed');
});

test('paired migration refuses one-sided postcopy and unknown capabilities, and cancels on abort', async (t) => {
  const [ps, pd] = await Promise.all([FakeMonitorPeer.start(), FakeMonitorPeer.start()]);
  const [src, dst] = await Promise.all([monitorOn(ps), monitorOn(pd)]);
  t.after(async () => {
    for (const m of [src, dst]) {
      m.dispose();
      await m.client.close();
    }
    await Promise.all([ps.close(), pd.close()]);
  });
  await assert.rejects(runPairedMigration(src, dst, { capabilities: { 'no-such-cap': true } }), /source QEMU has no migration capability 'no-such-cap'/);
  ps.state.capabilities['postcopy-ram'] = true;
  await assert.rejects(runPairedMigration(src, dst, {}), (e: unknown) => e instanceof PairError && /postcopy-ram is on on the source but off/.test(e.message));
  assert.ok(!ps.commands.includes('migrate'), 'nothing started');

  ps.state.capabilities['postcopy-ram'] = false;
  ps.state.progress = progressReplies(100_000);
  const ac = new AbortController();
  const run = runPairedMigration(src, dst, { pollMs: 5 }, { signal: ac.signal, onProgress: () => ac.abort() });
  const r = await run;
  assert.equal(r.status, 'cancelled');
  assert.ok(ps.commands.includes('migrate_cancel'));
});

test('connection manager reconnects with back-off after QEMU goes away, and persists specs', async (t) => {
  const peer = await FakeMonitorPeer.start();
  let saved: ConnectionSpec[] = [];
  const mgr = new ConnectionManager({ baseBackoffMs: 20, maxBackoffMs: 100, monitor: { slowPollMs: 10_000 }, store: { load: () => saved, save: (s) => void (saved = s) } });
  t.after(async () => {
    await mgr.dispose();
    await peer.close();
  });
  const c = mgr.add({ id: 'a', label: 'src', role: 'source', address: peer.path });
  assert.deepEqual(saved.map((s) => s.label), ['src']);
  await until('connected', () => c.state.kind === 'connected');
  assert.equal(c.monitor?.version, '7.2.0');
  const seen: string[] = [];
  c.onChange(() => seen.push(c.state.kind));
  peer.dropConnections();
  await until('reconnected', () => seen.includes('waiting') && c.state.kind === 'connected');
  assert.ok(c.monitor && !c.monitor.client.closed);
  await mgr.remove('a');
  assert.deepEqual(saved, []);
});

test('connection manager reports a bad path and keeps retrying', async (t) => {
  const mgr = new ConnectionManager({ baseBackoffMs: 20, maxBackoffMs: 40 });
  t.after(() => mgr.dispose());
  const c = mgr.add({ id: 'b', label: 'nowhere', role: 'none', address: '/nonexistent/qmp.sock' });
  await until('waiting', () => c.state.kind === 'waiting');
  assert.ok(c.state.kind === 'waiting' && /ENOENT|no such file/i.test(c.state.error), JSON.stringify(c.state));
  await until('second attempt', () => c.state.kind === 'waiting' && c.state.attempt >= 3);
  assert.equal(backoffDelay(1, 500, 30_000), 500);
  assert.equal(backoffDelay(4, 500, 30_000), 4000);
  assert.equal(backoffDelay(20, 500, 30_000), 30_000);
});

test('zero-page-detection=multifd without multifd is flagged on a newer QEMU schema', async (t) => {
  const peer = await FakeMonitorPeer.start();
  peer.state.schema = JSON.parse(readFileSync(join(__dirname, 'testdata', 'minimal-newer-migration-schema.json'), 'utf8')) as unknown;
  peer.state.parameters['zero-page-detection'] = 'multifd';
  const m = await monitorOn(peer);
  t.after(async () => {
    m.dispose();
    await m.client.close();
    await peer.close();
  });
  assert.deepEqual(m.features.zeroPageDetection, ['none', 'legacy', 'multifd']);
  assert.deepEqual(m.warnings().map((w) => w.id), ['zero-page-detection-multifd']);
  peer.state.capabilities['multifd'] = true;
  await m.refresh();
  assert.deepEqual(m.warnings(), []);
});

test('a peer that closes mid-command gives a clear error, and the monitor stops polling', async (t) => {
  const peer = await ScriptedQmpPeer.start();
  t.after(() => peer.close());
  const client = await QmpClient.connect(peer.path);
  const conn = await peer.nextConnection();
  const pending = client.execute('query-status');
  await conn.nextCommand();
  conn.destroy();
  await assert.rejects(pending, (e: unknown) => e instanceof QmpConnectionError && /query-status/.test(e.message) && /closed/i.test(e.message));
});

test('QMP command input is validated before sending', () => {
  assert.equal(validateQmpInput('query-status'), undefined);
  assert.equal(validateQmpInput('{"execute":"migrate","arguments":{"uri":"tcp:0:4444"}}'), undefined);
  assert.match(validateQmpInput('{"execute":') ?? '', /JSON|Unexpected|end/i);
  assert.match(validateQmpInput('{"arguments":{}}') ?? '', /execute/);
  assert.match(validateQmpInput('{"execute":"x","arguments":[]}') ?? '', /arguments/);
  assert.match(validateQmpInput('info migrate') ?? '', /command name/);
});

test('threads are read while a migration is active where query-migrationthreads exists', async (t) => {
  const peer = await FakeMonitorPeer.start();
  peer.state.schema = JSON.parse(readFileSync(join(__dirname, 'testdata', 'minimal-newer-migration-schema.json'), 'utf8')) as unknown;
  peer.state.progress = progressReplies(1000);
  const m = await monitorOn(peer);
  t.after(async () => {
    m.dispose();
    await m.client.close();
    await peer.close();
  });
  assert.equal(m.threads.length, 0);
  await m.execute('migrate', { uri: 'unix:/nonexistent' });
  await until('threads', () => m.threads.length === 2);
  assert.deepEqual(m.threads.map((x) => [x.kind, x.channel]), [['main', undefined], ['send', 0]]);
});
