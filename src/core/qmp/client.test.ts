import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';
import { spawnSync } from 'node:child_process';
import { QmpClient, type QmpConnectOptions } from './client';
import { MAX_UNIX_SOCKET_PATH_BYTES } from './socketPath';
import { QmpReplyError } from './replies';
import {
  QmpConnectionError,
  QmpError,
  QmpOobUnavailableError,
  QmpProtocolError,
  QmpTimeoutError,
} from './errors';
import type { QmpEvent, QmpTranscriptEntry } from './messages';
import { ScriptedQmpPeer, defaultGreeting, type PeerConnection, type ScriptedPeerOptions } from './testing/scriptedPeer';

async function startPeer(t: TestContext, opts: ScriptedPeerOptions = {}): Promise<ScriptedQmpPeer> {
  const peer = await ScriptedQmpPeer.start(opts);
  t.after(() => peer.close());
  return peer;
}

async function connected(
  t: TestContext,
  peerOpts: ScriptedPeerOptions = {},
  clientOpts: QmpConnectOptions = {},
): Promise<{ peer: ScriptedQmpPeer; conn: PeerConnection; client: QmpClient }> {
  const peer = await startPeer(t, peerOpts);
  const client = await QmpClient.connect(peer.path, { connectTimeoutMs: 2000, ...clientOpts });
  t.after(() => client.close());
  const conn = await peer.nextConnection();
  return { peer, conn, client };
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('reads the greeting and enables oob when offered', async (t) => {
  const { conn, client } = await connected(t, { capabilities: ['oob'] });
  assert.deepEqual(client.greeting.version.qemu, { major: 7, minor: 2, micro: 0 });
  assert.equal(client.greeting.version.package, 'scripted-peer');
  assert.deepEqual(client.greeting.capabilities, ['oob']);
  assert.equal(client.oobEnabled, true);
  const caps = conn.received[0];
  assert.equal(caps?.['execute'], 'qmp_capabilities');
  assert.deepEqual(caps?.['arguments'], { enable: ['oob'] });
  assert.equal(client.closed, false);
});

test('without oob in the greeting: plain qmp_capabilities, and oob commands fail clearly', async (t) => {
  const { conn, client } = await connected(t, { capabilities: [] });
  assert.equal(client.oobEnabled, false);
  assert.equal(conn.received[0]?.['arguments'], undefined);
  await assert.rejects(client.execute('migrate-pause', undefined, { oob: true }), (e: unknown) => {
    assert.ok(e instanceof QmpOobUnavailableError);
    assert.match(e.message, /'migrate-pause'.*'oob' capability/);
    return true;
  });
});

test('enableOob: false leaves oob off even when offered', async (t) => {
  const { conn, client } = await connected(t, {}, { enableOob: false });
  assert.equal(client.oobEnabled, false);
  assert.equal(conn.received[0]?.['arguments'], undefined);
});

test('out-of-band commands go out as exec-oob with an id', async (t) => {
  const { conn, client } = await connected(t);
  const p = client.execute('migrate-pause', undefined, { oob: true });
  const cmd = await conn.nextCommand();
  assert.equal(cmd['exec-oob'], 'migrate-pause');
  assert.equal(cmd['execute'], undefined);
  assert.notEqual(cmd['id'], undefined);
  conn.reply(cmd, {});
  assert.deepEqual(await p, {});
});

test('pipelined commands are matched to out-of-order replies by id', async (t) => {
  const { conn, client } = await connected(t);
  const names = ['query-version', 'query-name', 'query-uuid', 'query-target'];
  const promises = names.map((n, i) => client.execute(n, { n: i }));
  assert.equal(client.pendingCount, 4);
  const cmds = await conn.nextCommands(names.length);
  assert.deepEqual(cmds.map((c) => c['execute']), names);
  assert.equal(new Set(cmds.map((c) => c['id'])).size, names.length, 'ids are distinct');
  for (const c of [...cmds].reverse()) conn.reply(c, { answer: c['execute'] });
  const results = await Promise.all(promises);
  assert.deepEqual(results, names.map((n) => ({ answer: n })));
  assert.equal(client.pendingCount, 0);
});

test('an error reply rejects with QmpError carrying class, description and command', async (t) => {
  const { conn, client } = await connected(t);
  const p = client.execute('nosuch');
  conn.error(await conn.nextCommand(), 'CommandNotFound', 'The command nosuch has not been found');
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof QmpError);
    assert.equal(e.errorClass, 'CommandNotFound');
    assert.equal(e.description, 'The command nosuch has not been found');
    assert.equal(e.command, 'nosuch');
    return true;
  });
  assert.equal(client.closed, false);
});

test('an id-less error reply goes to the oldest in-band command', async (t) => {
  const { conn, client } = await connected(t);
  const first = client.execute('first');
  const second = client.execute('second');
  const [, c2] = await conn.nextCommands(2);
  conn.send({ error: { class: 'GenericError', desc: 'JSON parse error' } });
  await assert.rejects(first, (e: unknown) => e instanceof QmpError && e.command === 'first');
  conn.reply(c2 ?? {}, 2);
  assert.equal(await second, 2);
});

test('hmp() returns the human monitor output', async (t) => {
  const { conn, client } = await connected(t);
  const p = client.hmp('info status');
  const cmd = await conn.nextCommand();
  assert.equal(cmd['execute'], 'human-monitor-command');
  assert.deepEqual(cmd['arguments'], { 'command-line': 'info status' });
  conn.reply(cmd, 'VM status: paused (prelaunch)\r\n');
  assert.equal(await p, 'VM status: paused (prelaunch)\r\n');
});

test('a reply sent one byte per write, with multi-byte UTF-8, arrives whole', async (t) => {
  const { conn, client } = await connected(t);
  const p = client.execute('query-name');
  const cmd = await conn.nextCommand();
  const name = 'vm-Ünïcødé-日本語-🚀';
  const bytes = new TextEncoder().encode(JSON.stringify({ return: { name }, id: cmd['id'] }) + '\r\n');
  for (const b of bytes) {
    await conn.sendRaw(Uint8Array.of(b));
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await p, { name });
});

test('several messages in one read: replies and events all delivered', async (t) => {
  const { conn, client } = await connected(t);
  const seen: string[] = [];
  client.onEvent((e) => seen.push(e.event));
  const a = client.execute('a');
  const b = client.execute('b');
  const [ca, cb] = await conn.nextCommands(2);
  const ts = { seconds: 1, microseconds: 2 };
  const batch = [
    { event: 'STOP', timestamp: ts },
    { return: 'B', id: cb?.['id'] },
    { event: 'RESUME', timestamp: ts },
    { return: 'A', id: ca?.['id'] },
  ];
  await conn.sendRaw(batch.map((m) => JSON.stringify(m)).join('\n') + '\n');
  assert.equal(await a, 'A');
  assert.equal(await b, 'B');
  assert.deepEqual(seen, ['STOP', 'RESUME']);
});

test('CRLF line endings everywhere, greeting included', async (t) => {
  const { conn, client } = await connected(t, { eol: '\r\n' });
  assert.equal(client.greeting.version.qemu.major, 7);
  const p = client.execute('query-status');
  conn.reply(await conn.nextCommand(), { running: false, status: 'prelaunch' });
  assert.deepEqual(await p, { running: false, status: 'prelaunch' });
});

test('events arriving in the same read as the qmp_capabilities reply reach a listener added after connect', async (t) => {
  const peer = await startPeer(t, { autoNegotiate: false });
  const connecting = QmpClient.connect(peer.path, { connectTimeoutMs: 2000 });
  const conn = await peer.nextConnection();
  const caps = await conn.nextCommand();
  const ts = { seconds: 5, microseconds: 6 };
  conn.socket.write(
    JSON.stringify({ return: {}, id: caps['id'] }) + '\n' + JSON.stringify({ event: 'RESUME', timestamp: ts }) + '\n',
  );
  const client = await connecting;
  t.after(() => client.close());
  const e = await client.waitForEvent('RESUME', { timeoutMs: 1000 });
  assert.deepEqual(e.timestamp, ts);
});

test('events carry their QMP timestamps; onEvent unsubscribes; waitForEvent filters', async (t) => {
  const { conn, client } = await connected(t);
  const got: QmpEvent[] = [];
  const off = client.onEvent((e) => got.push(e));
  const waiting = client.waitForEvent('MIGRATION', {
    timeoutMs: 2000,
    filter: (e) => e.data['status'] === 'completed',
  });
  conn.event('MIGRATION', { status: 'active' }, { seconds: 100, microseconds: 1 });
  conn.event('MIGRATION', { status: 'completed' }, { seconds: 101, microseconds: 999999 });
  const done = await waiting;
  assert.deepEqual(done, {
    event: 'MIGRATION',
    data: { status: 'completed' },
    timestamp: { seconds: 101, microseconds: 999999 },
  });
  assert.equal(got.length, 2);
  assert.deepEqual(got[0]?.timestamp, { seconds: 100, microseconds: 1 });
  off();
  conn.event('STOP');
  await client.waitForEvent('STOP', { timeoutMs: 2000 });
  assert.equal(got.length, 2, 'no events after unsubscribing');
});

test('waitForEvent times out with QmpTimeoutError naming the event', async (t) => {
  const { client } = await connected(t);
  await assert.rejects(client.waitForEvent('MIGRATION', { timeoutMs: 30 }), (e: unknown) => {
    assert.ok(e instanceof QmpTimeoutError);
    assert.match(e.message, /MIGRATION within 30 ms/);
    return true;
  });
});

test('a command without a reply times out; the connection stays usable and the late reply is ignored', async (t) => {
  const { conn, client } = await connected(t, {}, { commandTimeoutMs: 5000 });
  const slow = client.execute('query-migrate', undefined, { timeoutMs: 50 });
  const slowCmd = await conn.nextCommand();
  await assert.rejects(slow, (e: unknown) => {
    assert.ok(e instanceof QmpTimeoutError);
    assert.match(e.message, /'query-migrate' got no reply within 50 ms/);
    return true;
  });
  conn.reply(slowCmd, 'late');
  const next = client.execute('query-name');
  conn.reply(await conn.nextCommand(), 'fine');
  assert.equal(await next, 'fine');
  assert.equal(client.closed, false);
});

test('the connection-wide commandTimeoutMs applies by default', async (t) => {
  const { client } = await connected(t, {}, { commandTimeoutMs: 40 });
  await assert.rejects(client.execute('query-migrate'), QmpTimeoutError);
});

test('peer closing mid-command rejects every pending command, naming it and the cause', async (t) => {
  const { conn, client } = await connected(t);
  const closes: Array<Error | undefined> = [];
  client.onClose((e) => closes.push(e));
  const migrate = client.execute('migrate', { uri: 'unix:/x' });
  const status = client.execute('query-status');
  const waiting = client.waitForEvent('MIGRATION');
  const checks = [
    assert.rejects(migrate, (e: unknown) => {
      assert.ok(e instanceof QmpConnectionError);
      assert.match(e.message, /'migrate' got no reply/);
      assert.match(e.message, /closed the connection/);
      return true;
    }),
    assert.rejects(status, /'query-status' got no reply/),
    assert.rejects(waiting, /MIGRATION.*closed the connection/),
  ];
  await conn.nextCommands(2);
  await conn.end();
  await Promise.all(checks);
  assert.equal(client.closed, true);
  assert.equal(closes.length, 1);
  assert.ok(closes[0] instanceof QmpConnectionError);
  await assert.rejects(client.execute('query-status'), /cannot query-status: the connection .* is closed/);
});

test('a peer closing in the middle of a message says so', async (t) => {
  const { conn, client } = await connected(t);
  const p = client.execute('query-migrate');
  await conn.nextCommand();
  await conn.sendRaw('{"return": {"stat');
  await delay(10);
  conn.destroy();
  await assert.rejects(p, /'query-migrate' got no reply: .*closed the connection \(in the middle of a message, 17 bytes received\)/);
});

test('an endless line: QmpProtocolError naming the byte count, connection closed, bounded memory', async (t) => {
  const limit = 64 * 1024;
  const { conn, client } = await connected(t, {}, { maxMessageBytes: limit });
  const rejected = assert.rejects(client.execute('query-migrate'), (e: unknown) => {
    assert.ok(e instanceof QmpProtocolError);
    assert.match(e.message, /'query-migrate' got no reply/);
    assert.match(e.message, /too large: \d+ bytes received without a newline, more than the limit of 65536 bytes/);
    return true;
  });
  await conn.nextCommand();
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  let sent = 0;
  // The peer keeps writing until the client hangs up; the client must do so soon after `limit`.
  while (conn.isOpen && sent < 64 * 1024 * 1024) {
    try {
      await conn.sendRaw(chunk);
    } catch {
      break;
    }
    sent += chunk.length;
    await new Promise((r) => setImmediate(r));
  }
  await rejected;
  assert.equal(client.closed, true);
  assert.ok(sent < 64 * 1024 * 1024, `peer kept writing ${sent} bytes`);
  assert.ok(client.closeError instanceof QmpProtocolError);
});

test('a line that is not JSON closes the connection with an error naming the line', async (t) => {
  const { conn, client } = await connected(t);
  const p = client.execute('query-status');
  await conn.nextCommand();
  await conn.sendRaw('this is not json\n');
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof QmpProtocolError);
    assert.match(e.message, /'query-status' got no reply: .*not JSON.*"this is not json"/);
    return true;
  });
  assert.equal(client.closed, true);
});

test('JSON that is not an object is rejected as garbage', async (t) => {
  const { conn, client } = await connected(t);
  const p = client.execute('query-status');
  await conn.nextCommand();
  await conn.sendRaw('[1,2,3]\n');
  await assert.rejects(p, /not an object \(an array\): "\[1,2,3\]"/);
  assert.equal(client.closed, true);
});

test('a reply to an unknown id is a protocol error', async (t) => {
  const { conn, client } = await connected(t);
  const p = client.execute('query-status');
  await conn.nextCommand();
  conn.send({ return: {}, id: 'not-ours' });
  await assert.rejects(p, /id "not-ours" that matches no command/);
});

test('a bad greeting fails connect with QmpProtocolError', async (t) => {
  const peer = await startPeer(t, { greeting: { QMP: { version: 'seven' } } });
  await assert.rejects(QmpClient.connect(peer.path), (e: unknown) => {
    assert.ok(e instanceof QmpProtocolError);
    assert.match(e.message, /bad QMP greeting/);
    return true;
  });
});

test('no greeting: connect times out saying so', async (t) => {
  const peer = await startPeer(t, { greeting: null });
  await assert.rejects(QmpClient.connect(peer.path, { connectTimeoutMs: 50 }), (e: unknown) => {
    assert.ok(e instanceof QmpTimeoutError);
    assert.match(e.message, /sent no QMP greeting within 50 ms/);
    assert.ok(e.message.includes(peer.path));
    return true;
  });
});

test('qmp_capabilities refused: connect fails with the QMP error', async (t) => {
  const peer = await startPeer(t, { autoNegotiate: false });
  const connecting = QmpClient.connect(peer.path);
  const conn = await peer.nextConnection();
  conn.error(await conn.nextCommand(), 'GenericError', 'Capability negotiation is already complete');
  await assert.rejects(connecting, (e: unknown) => e instanceof QmpError && e.command === 'qmp_capabilities');
});

test('a wrong socket path gives an error naming the path', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qmig-qmp-nosock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'missing.sock');
  await assert.rejects(QmpClient.connect(missing), (e: unknown) => {
    assert.ok(e instanceof QmpConnectionError);
    assert.ok(e.message.includes(missing), e.message);
    assert.match(e.message, /ENOENT/);
    return true;
  });
  const notSocket = join(dir, 'plain-file');
  writeFileSync(notSocket, '');
  await assert.rejects(QmpClient.connect(`unix:${notSocket}`), (e: unknown) => {
    assert.ok(e instanceof QmpConnectionError);
    assert.ok(e.message.includes(notSocket), e.message);
    return true;
  });
});

test('a regular file, a directory and a stale socket are each named for what they are, not "connection refused"', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qmig-qmp-kind-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'plain-file');
  writeFileSync(file, '');
  await assert.rejects(QmpClient.connect(file), /plain-file is a regular file, not a socket/);
  await assert.rejects(QmpClient.connect(dir), new RegExp(`${dir} is a directory, not a socket`));
  // What a QEMU killed with SIGKILL leaves behind: the socket file, nobody listening.
  const stale = join(dir, 'stale.sock');
  const r = spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`], { timeout: 20_000 });
  assert.equal(r.signal, 'SIGKILL');
  await assert.rejects(QmpClient.connect(stale), /the socket exists but nothing listens on it/);
});

test('a unix socket path of 108 bytes or more is refused, naming the path and its length, before connecting', async (t) => {
  // A listener at the 107-byte prefix: a path cut short by the runtime would reach it.
  const dir = mkdtempSync(join(tmpdir(), 'qmig-qmp-long-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const short = join(dir, 'x'.repeat(MAX_UNIX_SOCKET_PATH_BYTES - dir.length - 1));
  assert.equal(Buffer.byteLength(short), MAX_UNIX_SOCKET_PATH_BYTES);
  let reached = 0;
  const peer = net.createServer((s) => {
    reached++;
    s.destroy();
  });
  await new Promise<void>((resolve) => peer.listen(short, resolve));
  t.after(() => new Promise<void>((resolve) => peer.close(() => resolve())));
  const long = short + 'yz.sock';
  await assert.rejects(QmpClient.connect(long, { connectTimeoutMs: 2000 }), (e: unknown) => {
    assert.ok(e instanceof QmpConnectionError);
    assert.ok(e.message.includes(long), e.message);
    assert.match(e.message, new RegExp(`is ${Buffer.byteLength(long)} bytes long, more than the 107 bytes`));
    return true;
  });
  assert.equal(reached, 0, 'nothing connected to the socket the cut path names');
  // 107 bytes still reach their socket.
  await assert.rejects(QmpClient.connect(short, { connectTimeoutMs: 2000 }), /closed the connection before sending a QMP greeting/);
  assert.equal(reached, 1);
});

test('a refused TCP connection names host and port', async () => {
  await assert.rejects(QmpClient.connect('tcp:127.0.0.1:1'), (e: unknown) => {
    assert.ok(e instanceof QmpConnectionError);
    assert.match(e.message, /tcp:127\.0\.0\.1:1: connection refused/);
    return true;
  });
});

test('an aborted signal stops connecting', async (t) => {
  const peer = await startPeer(t, { greeting: null });
  const ac = new AbortController();
  const connecting = QmpClient.connect(peer.path, { signal: ac.signal });
  await peer.nextConnection();
  ac.abort(new Error('user pressed Ctrl-C'));
  await assert.rejects(connecting, /user pressed Ctrl-C/);
});

test('aborting the connect signal later closes the connection and rejects pending commands', async (t) => {
  const ac = new AbortController();
  const { conn, client } = await connected(t, {}, { signal: ac.signal });
  const rejected = assert.rejects(client.execute('query-status'), /'query-status' got no reply: .*aborted/);
  await conn.nextCommand();
  ac.abort();
  await rejected;
  assert.equal(client.closed, true);
});

test('close() is idempotent, rejects pending commands and notifies onClose with undefined', async (t) => {
  const { conn, client } = await connected(t);
  const reasons: Array<Error | undefined> = [];
  client.onClose((e) => reasons.push(e));
  const rejected = assert.rejects(client.execute('query-status'), /'query-status' got no reply: the client closed the connection/);
  await conn.nextCommand();
  await Promise.all([client.close(), client.close()]);
  await client.close();
  await rejected;
  assert.deepEqual(reasons, [undefined]);
  assert.equal(client.closed, true);
  await conn.closed;
  const late: Array<Error | undefined> = [];
  client.onClose((e) => late.push(e));
  await delay(1);
  assert.deepEqual(late, [undefined], 'a listener added after close is still told');
});

test('the transcript records greeting, commands, replies, errors and events in order', async (t) => {
  const entries: QmpTranscriptEntry[] = [];
  const { conn, client } = await connected(t, {}, { onTranscript: (e) => entries.push(e) });
  const p = client.execute('query-status');
  conn.reply(await conn.nextCommand(), { running: true, status: 'running' });
  await p;
  const q = client.execute('bad');
  conn.error(await conn.nextCommand(), 'GenericError', 'no');
  await q.catch(() => undefined);
  conn.event('STOP');
  await client.waitForEvent('STOP', { timeoutMs: 1000 });
  assert.deepEqual(
    entries.map((e) => `${e.direction}:${e.kind}`),
    ['in:greeting', 'out:command', 'in:reply', 'out:command', 'in:reply', 'out:command', 'in:error', 'in:event'],
  );
  assert.deepEqual(entries[0]?.message, defaultGreeting());
  assert.ok(entries.every((e) => typeof e.time === 'number' && e.time > 0));
});

test('replies of the wrong shape reject their command with an error naming it and what was wrong; the connection stays usable', async (t) => {
  const { conn, client } = await connected(t);
  const cases: Array<[string, unknown, RegExp]> = [
    ['query-migrate', 42, /'query-migrate' returned a reply of the wrong shape: the reply is a number \(42\), expected an object \(MigrationInfo\)/],
    ['query-migrate', { status: 'active', ram: { mbps: 'fast' } }, /ram\.mbps is a string \("fast"\), expected a number/],
    ['query-migrate', { status: 7 }, /status is a number \(7\), expected a string/],
    ['query-migrate-capabilities', { multifd: true }, /'query-migrate-capabilities'.*the reply is an object, expected a list of MigrationCapabilityStatus/],
    ['query-migrate-capabilities', [{ capability: 'multifd', state: 'on' }], /entry 0\.state is a string \("on"\), expected a boolean/],
    ['query-migrate-parameters', [], /the reply is a list, expected an object \(MigrationParameters\)/],
    ['query-migrate-parameters', { 'multifd-channels': '4' }, /multifd-channels is a string/],
    ['query-status', { status: 'running' }, /'query-status'.*running is missing/],
    ['query-jobs', [{ id: 'j', type: 'snapshot-save', status: 'running', 'current-progress': null, 'total-progress': 1 }], /entry 0\.current-progress is null, expected a number/],
    ['query-qmp-schema', [{ name: 'x' }], /entry 0\.meta-type is missing/],
    ['query-kvm', null, /the reply is null, expected an object \(KvmInfo\)/],
    ['query-cpus-fast', [{ 'cpu-index': 0, 'qom-path': '/machine/unattached/device[0]' }], /entry 0\.thread-id is missing/],
    ['query-migrationthreads', [{ name: 'live_migration', 'thread-id': '7' }], /thread-id is a string/],
    ['human-monitor-command', { text: 'x' }, /the reply is an object, expected a string/],
    ['qom-list', [{ name: 'mem0' }], /'qom-list'.*entry 0\.type is missing/],
    ['trace-event-get-state', { name: 'multifd_send' }, /the reply is an object, expected a list of TraceEventInfo/],
    ['trace-event-get-state', [{ name: 'multifd_send', state: true }], /entry 0\.state is a boolean \(true\), expected a string/],
    ['x-query-virtio', [{ path: '/machine/peripheral/net0/virtio-backend' }], /entry 0\.name is missing/],
    ['x-query-virtio-status', 'virtio-net', /the reply is a string \("virtio-net"\), expected an object \(VirtioStatus\)/],
  ];
  for (const [command, reply, expected] of cases) {
    const p = client.execute(command);
    conn.reply(await conn.nextCommand(), reply);
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof QmpReplyError, String(e));
      assert.equal(e.command, command);
      assert.match(e.message, expected);
      return true;
    });
  }
  assert.equal(client.closed, false);
  const ok = client.execute('query-migrate');
  conn.reply(await conn.nextCommand(), { status: 'active', ram: { mbps: 1.5, 'future-member': 3 }, 'new-thing': { x: 'y' } });
  assert.equal((await ok).status, 'active');
});
