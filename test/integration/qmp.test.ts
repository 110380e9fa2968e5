import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { hasProgram, requireComponent } from '../support/components';
import { runQmig } from '../support/qmigProcess';
import { qemuBin, TestQemu } from '../support/qemuPair';
import { QmpClient } from '../../src/core/qmp/client';
import { QmpError } from '../../src/core/qmp/errors';
import { QmpSchema } from '../../src/core/qmp/schema';
import { endpointOf, queryStatus } from '../../src/core/migration/actions';

const qemuPresent = hasProgram(qemuBin);

async function connectWhenReady(q: TestQemu, deadlineMs = 20_000): Promise<QmpClient> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await QmpClient.connect(q.socket, { connectTimeoutMs: 5000 });
    } catch (e) {
      if (q.child.exitCode !== null) throw new Error(`QEMU exited (${q.child.exitCode}): ${q.stderr}`);
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A small QEMU, paused (-S), with a QMP socket in a private directory, in its own process group. */
function startQemu(): TestQemu {
  return TestQemu.start({ name: 'q', memoryMiB: 64, extraArgs: ['-S'] });
}

let shared: Promise<{ q: TestQemu; client: QmpClient }> | undefined;

/** One paused QEMU for the read-only tests, started on first use, stopped after all tests. */
function sharedQemu(): Promise<{ q: TestQemu; client: QmpClient }> {
  shared ??= (async () => {
    const q = startQemu();
    try {
      return { q, client: await connectWhenReady(q) };
    } catch (e) {
      await q.stop();
      throw e;
    }
  })();
  return shared;
}

after(async () => {
  if (!shared) return;
  const s = await shared.catch(() => undefined);
  if (!s) return;
  await s.client.close();
  await s.q.stop();
});

function needQemu(t: TestContext): boolean {
  return requireComponent(t, `QEMU (${qemuBin})`, qemuPresent);
}

test('real QEMU 7.2: greeting and oob negotiation', async (t) => {
  if (!needQemu(t)) return;
  const { client } = await sharedQemu();
  assert.equal(client.greeting.version.qemu.major, 7);
  assert.equal(client.greeting.version.qemu.minor, 2);
  assert.ok(client.greeting.capabilities.includes('oob'));
  assert.equal(client.oobEnabled, true);
  assert.deepEqual(await queryStatus(await endpointOf(client)), { running: false, singlestep: false, status: 'prelaunch' });
});

test('real QEMU 7.2: the schema knows migrate and multifd, not zero-page-detection', async (t) => {
  if (!needQemu(t)) return;
  const { client } = await sharedQemu();
  const schema = await QmpSchema.query(client);
  assert.equal(schema.hasCommand('migrate'), true);
  assert.equal(schema.hasEvent('MIGRATION'), true);
  assert.equal(schema.hasParameter('multifd-channels'), true);
  assert.equal(schema.hasParameter('zero-page-detection'), false);
  assert.equal(schema.hasCapability('multifd'), true);
  assert.equal(schema.enumValues('MigMode'), undefined);
  assert.ok(schema.enumValues('MigrationStatus')?.includes('postcopy-active'));
  assert.equal(schema.allowsOob('migrate-pause'), true);
});

test('real QEMU 7.2: hmp, QMP errors and an out-of-band command', async (t) => {
  if (!needQemu(t)) return;
  const { client } = await sharedQemu();
  assert.match(await client.hmp('info status'), /^VM status: paused \(prelaunch\)/);
  await assert.rejects(client.execute('no-such-command'), (e: unknown) => {
    assert.ok(e instanceof QmpError);
    assert.equal(e.errorClass, 'CommandNotFound');
    return true;
  });
  await assert.rejects(client.execute('migrate-pause', undefined, { oob: true }), (e: unknown) => {
    assert.ok(e instanceof QmpError);
    assert.match(e.description, /postcopy/);
    return true;
  });
  const [status, version] = await Promise.all([client.execute('query-status'), client.execute('query-version')]);
  assert.ok(status && version, 'pipelined commands both answered');
});

test('real QEMU 7.2: events arrive with QMP timestamps', async (t) => {
  if (!needQemu(t)) return;
  const q = startQemu();
  t.after(() => q.stop());
  const client = await connectWhenReady(q);
  t.after(() => client.close());
  const resumed = client.waitForEvent('RESUME', { timeoutMs: 10_000 });
  await client.execute('cont');
  const e = await resumed;
  const now = Date.now() / 1000;
  assert.ok(Math.abs(e.timestamp.seconds - now) < 60, `timestamp ${e.timestamp.seconds} vs now ${now}`);
  assert.ok(e.timestamp.microseconds >= 0 && e.timestamp.microseconds < 1_000_000);
  const stopped = client.waitForEvent('STOP', { timeoutMs: 10_000 });
  await client.execute('stop');
  assert.equal((await stopped).event, 'STOP');
});

test('real QEMU 7.2: qmig qmp end to end', async (t) => {
  if (!needQemu(t)) return;
  // QEMU serves one client per QMP socket: this test's QEMU is its own, with no client attached.
  const q = startQemu();
  t.after(() => q.stop());
  await (await connectWhenReady(q)).close();
  const ok = await runQmig(['qmp', q.socket, 'query-status']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { running: false, singlestep: false, status: 'prelaunch' });

  const withArgs = await runQmig(['qmp', `unix:${q.socket}`, 'query-command-line-options', '{"option":"machine"}']);
  assert.equal(withArgs.code, 0, withArgs.stderr);
  assert.equal((JSON.parse(withArgs.stdout) as Array<{ option: string }>)[0]?.option, 'machine');

  const hmp = await runQmig(['qmp', q.socket, '--hmp', 'info status']);
  assert.equal(hmp.code, 0, hmp.stderr);
  assert.equal(hmp.stdout, 'VM status: paused (prelaunch)\n');

  const err = await runQmig(['qmp', q.socket, 'migrate-set-parameters', '{"zero-page-detection":"multifd"}']);
  assert.equal(err.code, 1);
  assert.match(err.stderr, /^GenericError: Parameter 'zero-page-detection' is unexpected\n$/);

  const missing = await runQmig(['qmp', q.socket, 'no-such-command']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'CommandNotFound: The command no-such-command has not been found\n');

  const usage = await runQmig(['qmp', q.socket, 'migrate', '{"uri":']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /position 7/);
});
