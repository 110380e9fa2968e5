import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkText } from './check';
import { checkFile } from './checkFile';
import { builtinSpec } from './specSource';
import { recording, testdata } from './testSupport';

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
