import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QmpClient } from '../qmp/client';
import { QmpError } from '../qmp/errors';
import type { QmpTranscriptEntry } from '../qmp/messages';
import { checkMigrationUri, pausePostcopyPair, recoverMigration, recoverPostcopyPair, startMigration } from './migrationActions';
import { MigrationMonitor } from './monitor';
import { FakeMonitorPeer } from './testing/fakeMonitorPeer';

interface Side {
  peer: FakeMonitorPeer;
  m: MigrationMonitor;
  sent: Record<string, unknown>[];
}

async function side(role: 'source' | 'destination'): Promise<Side> {
  const peer = await FakeMonitorPeer.start();
  const sent: Record<string, unknown>[] = [];
  const onTranscript = (e: QmpTranscriptEntry): void => {
    if (e.kind === 'command') sent.push(e.message as Record<string, unknown>);
  };
  const client = await QmpClient.connect(peer.path, { onTranscript });
  const m = await MigrationMonitor.attach(client, { role, slowPollMs: 10_000, changeDelayMs: 5 });
  return { peer, m, sent };
}

async function close(...sides: Side[]): Promise<void> {
  for (const s of sides) {
    s.m.dispose();
    await s.m.client.close();
    await s.peer.close();
  }
}

const named = (s: Side, command: string): Record<string, unknown>[] => s.sent.filter((c) => c['execute'] === command || c['exec-oob'] === command);

test('pause: out-of-band on the source; the destination pauses itself, or gets its own pause when it does not', async (t) => {
  const [src, dst] = await Promise.all([side('source'), side('destination')]);
  t.after(() => close(src, dst));
  const opts = { pollMs: 5, destinationGraceMs: 60 };
  const oobOnly = (s: Side): string[] => named(s, 'migrate-pause').map((c) => Object.keys(c)[0]!);

  // The source's pause broke the stream and the destination paused itself: it is sent nothing.
  src.peer.state.status = 'postcopy-active';
  dst.peer.state.status = 'postcopy-paused';
  const broke = await pausePostcopyPair(src.m, dst.m, opts);
  assert.deepEqual(broke, { source: { oob: true }, destination: { oob: true, paused: 'stream-broke' } });
  assert.deepEqual(oobOnly(src), ['exec-oob']);
  assert.deepEqual(oobOnly(dst), [], 'no migrate-pause for a destination that paused itself');

  // Still postcopy-active after the grace period: the destination gets its own pause, out-of-band.
  src.peer.state.status = 'postcopy-active';
  dst.peer.state.status = 'postcopy-active';
  const both = await pausePostcopyPair(src.m, dst.m, opts);
  assert.deepEqual(both, { source: { oob: true }, destination: { oob: true, paused: 'command' } });
  assert.deepEqual(oobOnly(dst), ['exec-oob']);

  // It paused itself just as its pause arrived: QEMU's refusal is kept, not thrown.
  src.peer.state.status = 'postcopy-active';
  dst.peer.state.status = 'postcopy-active';
  const release = dst.peer.holdReplies('migrate-pause');
  const raced = pausePostcopyPair(src.m, dst.m, opts);
  const refusal = 'migrate-pause is currently only supported during postcopy-active state';
  while (dst.peer.commands.filter((c) => c === 'migrate-pause').length < 2) await new Promise((r) => setTimeout(r, 5));
  dst.peer.state.status = 'postcopy-paused';
  release();
  assert.deepEqual((await raced).destination, { oob: true, paused: 'stream-broke', refusal: `GenericError: ${refusal}` });

  // Refused while it is not paused: reported.
  src.peer.state.status = 'postcopy-active';
  dst.peer.state.status = 'postcopy-active';
  dst.peer.state.fail['migrate-pause'] = 'no pause for you';
  await assert.rejects(pausePostcopyPair(src.m, dst.m, opts), (e: unknown) => e instanceof QmpError && e.message.includes('no pause for you'), 'a refusal while the destination is not paused is reported');
});

test('recover: migrate-recover out-of-band on the destination first, then migrate resume=true on the source', async (t) => {
  const [src, dst] = await Promise.all([side('source'), side('destination')]);
  t.after(() => close(src, dst));
  const r = await recoverPostcopyPair(src.m, dst.m, 'unix:/tmp/qmig-recover.sock');
  assert.deepEqual(r, { destinationOob: true });
  assert.deepEqual(named(dst, 'migrate-recover').map((c) => [Object.keys(c)[0], c['arguments']]), [['exec-oob', { uri: 'unix:/tmp/qmig-recover.sock' }]]);
  assert.deepEqual(named(src, 'migrate').map((c) => [Object.keys(c)[0], c['arguments']]), [['execute', { uri: 'unix:/tmp/qmig-recover.sock', resume: true, detach: true }]]);
  assert.deepEqual(named(dst, 'migrate'), [], 'the destination never gets migrate');
  assert.deepEqual(await recoverMigration(dst.m, 'none', 'tcp:0:4444'), { command: 'migrate-recover', oob: true });
  await startMigration(src.m, 'tcp:127.0.0.1:4444');
  assert.deepEqual(named(src, 'migrate').at(-1)?.['arguments'], { uri: 'tcp:127.0.0.1:4444', detach: true }, "7.2's schema still lists detach");
});

test('migration URIs are checked before they are sent', () => {
  assert.deepEqual(checkMigrationUri('  unix:/tmp/m.sock '), { ok: true, uri: 'unix:/tmp/m.sock' });
  assert.deepEqual(checkMigrationUri('exec:cat > /tmp/x'), { ok: true, uri: 'exec:cat > /tmp/x' });
  const bad = checkMigrationUri('/tmp/m.sock');
  assert.ok(!bad.ok && /expected tcp:, unix:/.test(bad.message));
});
