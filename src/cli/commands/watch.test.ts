import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CliIo } from '../command';
import { UsageError } from '../command';
import { FakeMonitorPeer } from '../../core/monitor/testing/fakeMonitorPeer';
import { watchCommand } from './watch';
import { migrateCommand } from './migrate';

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
  assert.equal(await migrateCommand.run([ps.path, pd.path], refused), 1);
  assert.match(refused.text(), /postcopy-ram is off on the source but on on the destination/);
});
