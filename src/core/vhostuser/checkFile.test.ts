import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkText } from './check';
import { checkFile, checkRecording, recordingSides } from './checkFile';
import { builtinSpec } from './specSource';
import { bridgePath, bridgeRecording, recording, testdata } from './testSupport';

const spec = builtinSpec();

test('QEMU traces read through the trace engine give the same flow as the text adapter, gzip included', async () => {
  const path = join(testdata, 'qemu72-testpmd-postcopy.dst-trace.log');
  const viaEngine = await checkFile(path, spec);
  const viaText = checkText(recording('dst-trace.log'), spec);
  assert.deepEqual(viaEngine.flow.messages, viaText.flow.messages);
  assert.deepEqual(viaEngine.unknown, viaText.unknown);
  assert.deepEqual(viaEngine.flow.events, viaText.flow.events);
  assert.deepEqual(viaText.flow.events, {
    vhost_user_postcopy_listen: { count: 1, firstLine: 22 },
    vhost_user_postcopy_end_entry: { count: 1, firstLine: 34 },
    vhost_user_postcopy_end_exit: { count: 1, firstLine: 37 },
  });
  const dir = mkdtempSync(join(tmpdir(), 'qmw-vu-'));
  try {
    const gz = join(dir, 'dst-trace.log.gz');
    writeFileSync(gz, gzipSync(recording('dst-trace.log')));
    const viaGzip = await checkFile(gz, spec);
    assert.deepEqual(viaGzip.flow.messages, viaText.flow.messages);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('other sources go through their text parsers', async () => {
  const r = await checkFile(join(testdata, 'qemu72-testpmd-postcopy.dst-strace.txt'), spec);
  assert.equal(r.flow.format, 'strace');
  assert.deepEqual(r.violations, []);
});

test('the socket\'s connection events come through the trace engine, from a file and from text alike', async () => {
  const path = bridgePath('qemu1002-bridge-postcopy', 'dst-trace.log');
  const viaEngine = await checkFile(path, spec);
  const viaText = checkText(bridgeRecording('qemu1002-bridge-postcopy', 'dst-trace.log'), spec);
  assert.deepEqual(viaEngine.flow.connectionEvents, viaText.flow.connectionEvents);
  assert.deepEqual(viaEngine.flow.connectionEvents?.map((e) => [e.chardev, e.event, e.kind]), [['c0', 1, 'opened'], ['c0', 4, 'closed']]);
  assert.equal(viaEngine.flow.connection, 'chardev c0');
  // without the other sources the trace alone shows the back-end leaving
  assert.deepEqual(viaEngine.violations.map((v) => v.rule), ['backend-closed']);
});

test('a recording folder: each side\'s trace with that side\'s bridge log and QEMU stderr', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmw-vu-rec-'));
  try {
    for (const side of ['src', 'dst'] as const) {
      for (const f of ['trace', 'bridge', 'qemu-stderr'] as const) copyFileSync(bridgePath('qemu1002-bridge-postcopy', `${side}-${f}.log`), join(dir, `${side}-${f}.log`));
    }
    writeFileSync(join(dir, 'scenario.json'), JSON.stringify({ scenario: 'postcopy-vhost-user-bridge', files: { dstBridgeLog: 'dst-bridge.log', srcTrace: '../escape.log' } }));
    const sides = recordingSides(dir);
    assert.deepEqual(sides.map((s) => [s.side, s.backendLog !== undefined, s.qemuStderr !== undefined]), [['src', true, true], ['dst', true, true]]);
    const results = await checkRecording(dir, spec);
    assert.deepEqual(results.map((r) => [r.side.side, r.result.violations.map((v) => v.rule)]), [['src', []], ['dst', ['backend-died/postcopy-add-mem-reg-ack']]]);
    assert.equal(results[1]?.result.violations[0]?.sources?.find((s) => s.source === 'backend-log')?.file, join(dir, 'dst-bridge.log'));
    assert.throws(() => recordingSides(tmpdir() + '/qmw-no-such-recording'), /not a recording folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
