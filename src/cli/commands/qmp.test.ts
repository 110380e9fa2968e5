import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../main';
import type { CliIo } from '../command';
import { parseArgsJson } from './qmp';
import { ScriptedQmpPeer, type PeerConnection } from '../../core/qmp/testing/scriptedPeer';

function capture(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    signal: new AbortController().signal,
    isTty: false,
  };
  return { io, out: () => out, err: () => err };
}

async function peerFor(t: TestContext): Promise<ScriptedQmpPeer> {
  const peer = await ScriptedQmpPeer.start();
  t.after(() => peer.close());
  return peer;
}

/** Serves one connection: replies to each command with `respond`. */
async function serve(peer: ScriptedQmpPeer, respond: (conn: PeerConnection, cmd: Record<string, unknown>) => void): Promise<void> {
  const conn = await peer.nextConnection();
  for (;;) {
    const next = await Promise.race([conn.nextCommand(), conn.closed.then(() => undefined)]);
    if (!next) return;
    respond(conn, next);
  }
}

test('parseArgsJson names the position, line and column', () => {
  assert.throws(() => parseArgsJson('{"uri":\n  unix}'), /position 10 \(line 2, column 3\) near "unix}"/);
  assert.throws(() => parseArgsJson('{"uri":"x"'), /position 10 .*at the end of the input/);
  assert.throws(() => parseArgsJson('[1]'), /must be a JSON object.*got an array/);
  assert.deepEqual(parseArgsJson('{"uri":"x"}'), { uri: 'x' });
});

test('qmig qmp prints the return value as pretty JSON', async (t) => {
  const peer = await peerFor(t);
  const served = serve(peer, (conn, cmd) => {
    assert.equal(cmd['execute'], 'migrate-set-parameters');
    assert.deepEqual(cmd['arguments'], { 'multifd-channels': 4 });
    conn.reply(cmd, { ok: [1, 2] });
  });
  const c = capture();
  const code = await main(['qmp', peer.path, 'migrate-set-parameters', '{"multifd-channels":4}'], c.io);
  assert.equal(c.err(), '');
  assert.equal(code, 0);
  assert.equal(c.out(), JSON.stringify({ ok: [1, 2] }, null, 2) + '\n');
  await served;
});

test('qmig qmp exits 1 with "ErrorClass: description" on a QMP error', async (t) => {
  const peer = await peerFor(t);
  const served = serve(peer, (conn, cmd) => conn.error(cmd, 'CommandNotFound', 'The command nosuch has not been found'));
  const c = capture();
  assert.equal(await main(['qmp', peer.path, 'nosuch'], c.io), 1);
  assert.equal(c.err(), 'CommandNotFound: The command nosuch has not been found\n');
  assert.equal(c.out(), '');
  await served;
});

test('qmig qmp exits 2 on invalid ARGS_JSON, naming the position, before connecting', async () => {
  const c = capture();
  assert.equal(await main(['qmp', '/nonexistent/q.sock', 'migrate', '{"uri": unix}'], c.io), 2);
  assert.match(c.err(), /ARGS_JSON is not valid JSON: error at position 8 \(line 1, column 9\)/);
});

test('qmig qmp usage errors exit 2', async () => {
  for (const args of [[], ['/s'], ['/s', '--events', 'x'], ['/s', 'cmd', '--hmp', 'info'], ['/s', 'c', '{}', 'extra'], ['/s', '--bogus']]) {
    const c = capture();
    assert.equal(await main(['qmp', ...args], c.io), 2, args.join(' '));
    assert.match(c.err(), /qmig qmp: /);
  }
});

test('qmig qmp --hmp prints the text output', async (t) => {
  const peer = await peerFor(t);
  const served = serve(peer, (conn, cmd) => {
    assert.deepEqual(cmd['arguments'], { 'command-line': 'info status' });
    conn.reply(cmd, 'VM status: paused (prelaunch)\r\n');
  });
  const c = capture();
  assert.equal(await main(['qmp', peer.path, '--hmp', 'info status'], c.io), 0);
  assert.equal(c.out(), 'VM status: paused (prelaunch)\n');
  await served;
});

test('qmig qmp COMMAND --events N prints the reply then N events as JSON lines', async (t) => {
  const peer = await peerFor(t);
  const served = serve(peer, (conn, cmd) => {
    conn.event('MIGRATION', { status: 'setup' }, { seconds: 10, microseconds: 1 });
    conn.reply(cmd, {});
    conn.event('MIGRATION', { status: 'active' }, { seconds: 10, microseconds: 2 });
    conn.event('MIGRATION', { status: 'completed' }, { seconds: 10, microseconds: 3 });
  });
  const c = capture();
  assert.equal(await main(['qmp', peer.path, 'migrate', '{"uri":"unix:/x"}', '--events', '2', '--timeout', '5000'], c.io), 0);
  const lines = c.out().trimEnd().split('\n');
  assert.equal(lines[0], '{}');
  assert.deepEqual(lines.slice(1).map((l) => JSON.parse(l) as unknown), [
    { event: 'MIGRATION', data: { status: 'setup' }, timestamp: { seconds: 10, microseconds: 1 } },
    { event: 'MIGRATION', data: { status: 'active' }, timestamp: { seconds: 10, microseconds: 2 } },
  ]);
  await served;
});

test('qmig qmp --events with too few events times out with exit 1', async (t) => {
  const peer = await peerFor(t);
  const served = serve(peer, () => undefined);
  const c = capture();
  assert.equal(await main(['qmp', peer.path, '--events', '1', '--timeout', '50'], c.io), 1);
  assert.match(c.err(), /received 0 of 1 events within 50 ms/);
  await served;
});

test('qmig qmp on a missing socket exits 1 naming the path', async () => {
  const c = capture();
  assert.equal(await main(['qmp', '/nonexistent-dir/q.sock', 'query-status'], c.io), 1);
  assert.match(c.err(), /\/nonexistent-dir\/q\.sock/);
});
