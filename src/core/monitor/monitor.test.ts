import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QmpClient } from '../qmp/client';
import { QmpConnectionError } from '../qmp/errors';
import { validateQmpInput } from './qmpInput';
import { ConnectionManager, backoffDelay, type ConnectionSpec } from './connectionManager';
import { MigrationMonitor } from './monitor';
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

test('a source left in finish-migrate after completion is read again until QEMU moves it to postmigrate', async (t) => {
  const peer = await FakeMonitorPeer.start();
  // The slow interval is longer than the test: only the settling reads can show postmigrate.
  const m = await monitorOn(peer, 20, 600_000);
  t.after(async () => {
    m.dispose();
    await m.client.close();
    await peer.close();
  });
  peer.state.runState = 'finish-migrate';
  peer.state.running = false;
  await m.execute('migrate', { uri: 'unix:/nonexistent' });
  await until('the migration completes', () => m.status === 'completed');
  await until('the finish-migrate run state is read', () => m.runState?.status === 'finish-migrate');
  // Past the reads that follow the end itself: from here only the settling reads can see a change.
  await new Promise((r) => setTimeout(r, 200));
  const reads = peer.commands.filter((c) => c === 'query-status').length;
  peer.state.runState = 'postmigrate';
  await until('postmigrate is shown', () => m.runState?.status === 'postmigrate', 3000);
  const after = peer.commands.filter((c) => c === 'query-status').length;
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(peer.commands.filter((c) => c === 'query-status').length, after, 'once settled, the run state is read at the slow interval again');
  assert.ok(after > reads);
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

test('a connection added for a session is never saved, even when another change saves the list', async (t) => {
  let saved: ConnectionSpec[] = [{ id: 'kept', label: 'kept', role: 'none', address: '/nonexistent/kept.sock' }];
  const mgr = new ConnectionManager({ baseBackoffMs: 20, maxBackoffMs: 40, store: { load: () => saved, save: (s) => void (saved = s) } });
  t.after(() => mgr.dispose());
  mgr.restore();
  mgr.add({ id: 'debug', label: 'debug session', role: 'source', address: '/nonexistent/debug.sock' }, false);
  mgr.add({ id: 'user', label: 'user', role: 'destination', address: '/nonexistent/user.sock' });
  mgr.update('kept', { label: 'renamed' });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(saved.map((s) => s.id).sort(), ['kept', 'user'], 'the session connection is shown but not stored');
  assert.deepEqual(mgr.list().map((c) => c.spec.id).sort(), ['debug', 'kept', 'user']);
  await mgr.remove('debug');
  assert.deepEqual(saved.map((s) => s.id).sort(), ['kept', 'user']);
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
  const peer = await FakeMonitorPeer.start();
  t.after(() => peer.close());
  const m = await monitorOn(peer, 20, 40);
  t.after(() => m.dispose());
  peer.state.progress = progressReplies(1000);
  await m.execute('migrate', { uri: 'unix:/nonexistent' });
  await until('fast polls of the active migration', () => m.pollStats.polls >= 3);
  const release = peer.holdReplies('query-status');
  t.after(release);
  const pending = m.execute('query-status');
  await until('query-status sent', () => peer.commands.filter((c) => c === 'query-status').length > 0 && peer.commands.at(-1) === 'query-status');
  peer.dropConnections();
  // The peer's end arrives as a close, a reset, or a broken pipe for a poll written meanwhile,
  // whichever the kernel reports first.
  await assert.rejects(pending, (e: unknown) => e instanceof QmpConnectionError && /query-status' got no reply/.test(e.message) && /closed the connection|ECONNRESET|EPIPE/.test(e.message));
  assert.ok(m.client.closed);
  const polls = m.pollStats.polls;
  const sent = peer.commands.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(m.pollStats.polls, polls, 'no poll after the connection closed');
  assert.equal(peer.commands.length, sent, 'nothing more sent');
  assert.equal(peer.peer.connections.length, 1, 'the monitor does not reconnect on its own');
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
