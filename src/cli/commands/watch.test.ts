import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CliIo } from '../command';
import { CliInterrupt, UsageError } from '../command';
import { main } from '../main';
import { FakeMonitorPeer } from '../../core/monitor/testing/fakeMonitorPeer';
import { watchCommand } from './watch';
import { migrateCommand } from './migrate';
import { parseLabArgs } from './lab';

function io(isTty: boolean): CliIo & { text: () => string } {
  let out = '';
  const ac = new AbortController();
  return { out: (s) => void (out += s), err: (s) => void (out += s), signal: ac.signal, isTty, text: () => out };
}

test('qmig watch exits 0 when the migration completes; TTY output is redrawn in place', async (t) => {
  const peer = await FakeMonitorPeer.start();
  t.after(() => peer.close());
  peer.completeAfterPolls = 4;
  const term = io(true);
  const run = watchCommand.run([peer.path, '--interval', '20'], term);
  await new Promise((r) => setTimeout(r, 300));
  peer.state.status = 'active';
  const c = peer.peer.connections[0];
  assert.ok(c);
  c.event('MIGRATION', { status: 'active' });
  assert.equal(await run, 0);
  assert.match(term.text(), /\x1b\[2K/, 'status lines are cleared and redrawn');
  assert.match(term.text(), /MIGRATION \{"status":"active"\}/);
  assert.match(term.text(), /\[#+\] 100%.*completed/);
});

test('qmig watch exits 1 when the migration fails, with plain lines off a TTY', async (t) => {
  const peer = await FakeMonitorPeer.start();
  t.after(() => peer.close());
  peer.state.status = 'failed';
  const plain = io(false);
  assert.equal(await watchCommand.run([peer.path], plain), 1);
  assert.doesNotMatch(plain.text(), /\x1b\[/);
  assert.match(plain.text(), /qemu: .*failed/);
});

test('qmig watch and migrate reject bad usage', async () => {
  await assert.rejects(watchCommand.run([], io(false)), UsageError);
  await assert.rejects(watchCommand.run(['a', 'b', 'c'], io(false)), UsageError);
  await assert.rejects(migrateCommand.run(['only-one'], io(false)), UsageError);
  await assert.rejects(migrateCommand.run(['a', 'b', '--cap', 'multifd=maybe'], io(false)), /on or off/);
});

test('qmig migrate runs the paired migration and reports refusals with exit 1', async (t) => {
  const [ps, pd] = await Promise.all([FakeMonitorPeer.start(), FakeMonitorPeer.start()]);
  t.after(() => Promise.all([ps.close(), pd.close()]));
  const ok = io(false);
  assert.equal(await migrateCommand.run([ps.path, pd.path, '--cap', 'multifd=on', '--param', 'multifd-channels=3'], ok), 0, ok.text());
  assert.equal(pd.state.parameters['multifd-channels'], 3);
  assert.match(ok.text(), /source: completed/);
  pd.state.capabilities['postcopy-ram'] = true;
  const refused = io(false);
  assert.equal(await main(['migrate', ps.path, pd.path], refused), 1);
  assert.match(refused.text(), /postcopy-ram is off on the source but on on the destination/);
});

function mainIo(): CliIo & { text: () => string; abort: (why: 'SIGINT' | 'SIGTERM') => void } {
  let out = '';
  const ac = new AbortController();
  return { out: (s) => void (out += s), err: (s) => void (out += s), signal: ac.signal, isTty: false, text: () => out, abort: (why) => ac.abort(new CliInterrupt(why)) };
}

/** Resolves when every connection the peer accepted is closed; fails after 5 s. */
async function allClosed(peer: FakeMonitorPeer): Promise<void> {
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('a QMP connection was left open')), 5000).unref());
  await Promise.race([Promise.all(peer.peer.connections.map((c) => c.closed)), timer]);
}

test('qmig watch and migrate close the connection when attaching fails, instead of hanging', async (t) => {
  const peer = await FakeMonitorPeer.start();
  t.after(() => peer.close());
  peer.state.fail['query-qmp-schema'] = 'schema unavailable';
  const w = mainIo();
  assert.equal(await main(['watch', peer.path], w), 1);
  assert.match(w.text(), /qmig watch: .*schema unavailable/);
  await allClosed(peer);
  const [other] = await Promise.all([FakeMonitorPeer.start()]);
  t.after(() => other.close());
  const m = mainIo();
  assert.equal(await main(['migrate', other.path, peer.path], m), 1);
  assert.match(m.text(), /qmig migrate: .*schema unavailable/);
  await Promise.all([allClosed(peer), allClosed(other)]);
});

test('qmig watch --timeout covers connecting and attaching: a peer that never answers gives exit 3', async (t) => {
  const peer = await FakeMonitorPeer.start();
  t.after(() => peer.close());
  const release = peer.holdReplies('query-qmp-schema');
  t.after(release);
  const w = mainIo();
  assert.equal(await main(['watch', peer.path, '--timeout', '300'], w), 3);
  assert.match(w.text(), /timed out after 300 ms/);
  await allClosed(peer);
});

test('qmig watch prints an event whose timestamp is out of range and goes on', async (t) => {
  const peer = await FakeMonitorPeer.start();
  t.after(() => peer.close());
  peer.completeAfterPolls = 3;
  const w = mainIo();
  const run = main(['watch', peer.path, '--interval', '20'], w);
  while (!peer.commands.includes('query-migrate')) await new Promise((r) => setTimeout(r, 10));
  const c = peer.peer.connections[0];
  assert.ok(c);
  c.event('RESUME', {}, { seconds: 1e20, microseconds: 0 });
  c.event('\x1b]0;owned\x07EVIL\x9b2J', { x: '\x1b[31m' });
  peer.state.status = 'active';
  c.event('MIGRATION', { status: 'active' });
  assert.equal(await run, 0, w.text());
  assert.match(w.text(), /\(timestamp 100000000000000000000\.0 out of range\) qemu RESUME/);
  assert.doesNotMatch(w.text(), /[\x1b\x07\x9b]/, 'no raw control character reaches the terminal');
  assert.match(w.text(), /\\u001b\]0;owned\\u0007EVIL\\u009b2J/);
});

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  test(`${sig} ends qmig watch and qmig qmp --events with exit ${sig === 'SIGINT' ? 130 : 143}, the connection closed`, async (t) => {
    const peer = await FakeMonitorPeer.start();
    t.after(() => peer.close());
    const w = mainIo();
    const run = main(['watch', peer.path], w);
    while (!peer.commands.includes('query-migrate')) await new Promise((r) => setTimeout(r, 10));
    w.abort(sig);
    assert.equal(await run, sig === 'SIGINT' ? 130 : 143, w.text());
    assert.match(w.text(), /interrupted/);
    assert.doesNotMatch(w.text(), /connection lost/);
    const q = mainIo();
    const events = main(['qmp', peer.path, '--events', '5'], q);
    while (peer.peer.connections.length < 2) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    q.abort(sig);
    assert.equal(await events, sig === 'SIGINT' ? 130 : 143, q.text());
    await allClosed(peer);
  });
}

test('--cap and --param mean the same in qmig migrate as in qmig lab: on/yes, sizes with K/M/G', async (t) => {
  const [ps, pd] = await Promise.all([FakeMonitorPeer.start(), FakeMonitorPeer.start()]);
  t.after(() => Promise.all([ps.close(), pd.close()]));
  const args = ['--cap', 'multifd=yes', '--param', 'max-bandwidth=64M', '--param', 'multifd-channels=3'];
  const ok = mainIo();
  assert.equal(await main(['migrate', ps.path, pd.path, ...args], ok), 0, ok.text());
  assert.equal(pd.state.parameters['max-bandwidth'], 64 * 1024 * 1024);
  assert.equal(ps.state.capabilities['multifd'], true);
  const lab = parseLabArgs(['precopy-multifd', ...args]);
  assert.deepEqual(lab.opts.capabilities, { multifd: true });
  assert.deepEqual(lab.opts.parameters, { 'max-bandwidth': 64 * 1024 * 1024, 'multifd-channels': 3 });
});

test('replies of the wrong shape end qmig watch and migrate with exit 1 and a message naming the command, not a TypeError or an endless wait', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['query-migrate', 5, /'query-migrate' returned a reply of the wrong shape: the reply is a number \(5\), expected an object/],
    ['query-migrate-capabilities', { multifd: true }, /'query-migrate-capabilities' returned a reply of the wrong shape/],
    ['query-status', { running: 'yes', status: 'running' }, /'query-status' .*running is a string/],
  ];
  for (const [command, reply, expected] of cases) {
    const peer = await FakeMonitorPeer.start();
    t.after(() => peer.close());
    peer.state.replies[command] = reply;
    const w = mainIo();
    assert.equal(await main(['watch', peer.path, '--timeout', '20000'], w), 1, w.text());
    assert.match(w.text(), expected);
    assert.doesNotMatch(w.text(), /TypeError|is not a function|reading '/);
    const other = await FakeMonitorPeer.start();
    t.after(() => other.close());
    const m = mainIo();
    assert.equal(await main(['migrate', other.path, peer.path], m), 1, m.text());
    assert.match(m.text(), expected);
    await Promise.all([allClosed(peer), allClosed(other)]);
  }
});

test('a peer whose query-migrate goes bad during the migration: qmig migrate stops with the command named', async (t) => {
  const [ps, pd] = await Promise.all([FakeMonitorPeer.start(), FakeMonitorPeer.start()]);
  t.after(() => Promise.all([ps.close(), pd.close()]));
  ps.completeAfterPolls = 1000;
  const m = mainIo();
  const run = main(['migrate', ps.path, pd.path], m);
  while (ps.state.status !== 'active') await new Promise((r) => setTimeout(r, 10));
  ps.state.replies['query-migrate'] = { status: 'active', ram: { transferred: '12 MiB' } };
  assert.equal(await run, 1, m.text());
  assert.match(m.text(), /'query-migrate' returned a reply of the wrong shape: ram\.transferred is a string/);
});

test('qmig migrate --timeout covers connecting and attaching: a destination that never answers gives exit 1, both closed', async (t) => {
  const [ps, pd] = await Promise.all([FakeMonitorPeer.start(), FakeMonitorPeer.start()]);
  t.after(() => Promise.all([ps.close(), pd.close()]));
  const release = pd.holdReplies('query-qmp-schema');
  t.after(release);
  const m = mainIo();
  assert.equal(await main(['migrate', ps.path, pd.path, '--timeout', '400'], m), 1, m.text());
  assert.match(m.text(), /timed out after 400 ms while connecting to and attaching the QMP sockets/);
  await Promise.all([allClosed(ps), allClosed(pd)]);
});
