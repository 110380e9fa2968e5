import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { QmpClient } from './client';
import { QmpTimeoutError } from './errors';
import {
  MigrationFailedError,
  migrate,
  migratePause,
  migrateRecover,
  queryCapabilities,
  setCapabilities,
  setParameters,
  waitForMigrationStatus,
} from './migration';
import { ScriptedQmpPeer, type JsonObject, type PeerConnection, type ScriptedPeerOptions } from './testing/scriptedPeer';

async function connected(t: TestContext, opts: ScriptedPeerOptions = {}): Promise<{ conn: PeerConnection; client: QmpClient }> {
  const peer = await ScriptedQmpPeer.start(opts);
  t.after(() => peer.close());
  const client = await QmpClient.connect(peer.path, { connectTimeoutMs: 2000 });
  t.after(() => client.close());
  return { conn: await peer.nextConnection(), client };
}

/** Answers each command with the next value from `answers` (a function of the command). */
async function answer(conn: PeerConnection, n: number, reply: (cmd: JsonObject, i: number) => unknown): Promise<JsonObject[]> {
  const seen: JsonObject[] = [];
  for (let i = 0; i < n; i++) {
    const cmd = await conn.nextCommand();
    seen.push(cmd);
    conn.reply(cmd, reply(cmd, i));
  }
  return seen;
}

test('setCapabilities and setParameters send QEMU-shaped arguments', async (t) => {
  const { conn, client } = await connected(t);
  const [seen] = await Promise.all([
    answer(conn, 3, (cmd) =>
      cmd['execute'] === 'query-migrate-capabilities'
        ? [
            { capability: 'multifd', state: true },
            { capability: 'xbzrle', state: false },
          ]
        : {},
    ),
    (async () => {
      await setCapabilities(client, { multifd: true, 'postcopy-ram': false });
      await setParameters(client, { 'multifd-channels': 4, 'max-bandwidth': 2 << 20 });
      assert.deepEqual(await queryCapabilities(client), { multifd: true, xbzrle: false });
    })(),
  ]);
  assert.deepEqual(seen[0]?.['arguments'], {
    capabilities: [
      { capability: 'multifd', state: true },
      { capability: 'postcopy-ram', state: false },
    ],
  });
  assert.deepEqual(seen[1]?.['arguments'], { 'multifd-channels': 4, 'max-bandwidth': 2 << 20 });
});

test('migrate passes uri, resume and extra arguments', async (t) => {
  const { conn, client } = await connected(t);
  const [seen] = await Promise.all([answer(conn, 1, () => ({})), migrate(client, 'unix:/tmp/m.sock', { resume: true })]);
  assert.deepEqual(seen[0]?.['arguments'], { uri: 'unix:/tmp/m.sock', resume: true });
});

test('migratePause and migrateRecover go out-of-band when oob is enabled', async (t) => {
  const { conn, client } = await connected(t, { capabilities: ['oob'] });
  const [seen] = await Promise.all([
    answer(conn, 2, () => ({})),
    migratePause(client).then(() => migrateRecover(client, 'unix:/tmp/r.sock')),
  ]);
  assert.equal(seen[0]?.['exec-oob'], 'migrate-pause');
  assert.equal(seen[1]?.['exec-oob'], 'migrate-recover');
  assert.deepEqual(seen[1]?.['arguments'], { uri: 'unix:/tmp/r.sock' });
});

test('migratePause falls back to in-band without oob', async (t) => {
  const { conn, client } = await connected(t, { capabilities: [] });
  const [seen] = await Promise.all([answer(conn, 1, () => ({})), migratePause(client)]);
  assert.equal(seen[0]?.['execute'], 'migrate-pause');
});

test('waitForMigrationStatus polls until a wanted status', async (t) => {
  const { conn, client } = await connected(t);
  const states = ['setup', 'active', 'active', 'completed'];
  const [seen, info] = await Promise.all([
    answer(conn, states.length, (_c, i) => ({ status: states[i], ram: { transferred: i } })),
    waitForMigrationStatus(client, ['completed'], { pollMs: 1, timeoutMs: 2000 }),
  ]);
  assert.equal(seen.length, 4);
  assert.ok(seen.every((c) => c['execute'] === 'query-migrate'));
  assert.equal(info.status, 'completed');
  assert.equal(info.ram?.transferred, 3);
});

test('waitForMigrationStatus rejects with error-desc when the migration fails', async (t) => {
  const { conn, client } = await connected(t);
  const waiting = assert.rejects(waitForMigrationStatus(client, ['completed'], { pollMs: 1 }), (e: unknown) => {
    assert.ok(e instanceof MigrationFailedError);
    assert.equal(e.status, 'failed');
    assert.equal(e.errorDesc, 'Unable to write to socket: Broken pipe');
    assert.match(e.message, /migration failed: Unable to write to socket: Broken pipe/);
    return true;
  });
  await answer(conn, 2, (_c, i) => (i === 0 ? { status: 'active' } : { status: 'failed', 'error-desc': 'Unable to write to socket: Broken pipe' }));
  await waiting;
});

test('waitForMigrationStatus honours failOn and its timeout', async (t) => {
  const { conn, client } = await connected(t);
  const paused = assert.rejects(
    waitForMigrationStatus(client, ['completed'], { pollMs: 1, failOn: ['postcopy-paused'] }),
    /migration postcopy-paused/,
  );
  await answer(conn, 1, () => ({ status: 'postcopy-paused' }));
  await paused;
  const slow = assert.rejects(waitForMigrationStatus(client, ['completed'], { pollMs: 5, timeoutMs: 40 }), (e: unknown) => {
    assert.ok(e instanceof QmpTimeoutError);
    assert.match(e.message, /still 'active' after 40 ms; waited for completed/);
    return true;
  });
  const answering = (async () => {
    for (;;) {
      const cmd = await conn.nextCommand();
      if (!conn.isOpen) return;
      conn.reply(cmd, { status: 'active' });
    }
  })();
  await slow;
  void answering;
});
