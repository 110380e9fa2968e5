import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CliIo } from '../command';
import { recordings } from '../../core/trace/testSupport';
import { analyzeCommand } from './analyze';

function capture(): { io: CliIo; out: () => string } {
  let out = '';
  return { io: { out: (t) => { out += t; }, err: () => undefined, signal: new AbortController().signal, isTty: false }, out: () => out };
}

test('qmig analyze --json has the documented shape, null where the trace cannot tell', async () => {
  const dir = join(recordings, 'qemu-10.2.50-multifd-legacy');
  const c = capture();
  assert.equal(await analyzeCommand.run([join(dir, 'dst-trace.log'), join(dir, 'src-trace.log.xz'), '--json'], c.io), 0);
  const j = JSON.parse(c.out()) as { multifd: { send: Record<string, unknown>[]; recv: Record<string, unknown>[] }; postcopy: Record<string, unknown> };
  assert.deepEqual(Object.keys(j.multifd.send[0]!), ['channel', 'packets', 'normalPages', 'zeroPages', 'bytes']);
  assert.equal(j.multifd.send.length, 4);
  assert.equal(j.multifd.recv[0]!.normalPages, null);
  assert.equal(j.multifd.recv[0]!.zeroPages, null);
  for (const k of ['faultRequests', 'pagesPlaced', 'zeroPagesPlaced']) assert.equal(j.postcopy[k], null);
  assert.deepEqual(j.postcopy.latencyUs, { p50: null, p95: null, max: null });
});

test('qmig analyze prints a text summary with a range', async () => {
  const c = capture();
  assert.equal(await analyzeCommand.run([join(recordings, 'qemu-10.2.50-multifd-legacy'), '--from-ms', '0', '--to-ms', '100'], c.io), 0);
  assert.match(c.out(), /multifd send \(fill\+ram_fill\): 4 channels/);
});
