import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  assert.deepEqual(Object.keys(j.multifd.send[0]!), ['channel', 'packets', 'normalPages', 'zeroPages', 'bytes', 'payloadBytes']);
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

test('qmig analyze says a file is no trace, or cut short, and exits 1 while still printing what it read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmig-analyze-bad-'));
  try {
    const noise = join(dir, 'noise.log');
    writeFileSync(noise, Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 2654435761) >>> 24)));
    let err = '';
    const io: CliIo = { out: () => undefined, err: (t) => { err += t; }, signal: new AbortController().signal, isTty: false };
    assert.equal(await analyzeCommand.run([noise], io), 1);
    assert.match(err, new RegExp(`qmig analyze: ${noise.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*(not a (QEMU )?trace|no QEMU trace)`));

    // A real recording whose compressed source trace is cut in the middle: the whole lines
    // before the cut are analysed, and the cut is named with its offset.
    const real = join(recordings, 'qemu-10.2.50-multifd-legacy');
    const xz = readFileSync(join(real, 'src-trace.log.xz'));
    const cut = join(dir, 'src-trace.log.xz');
    writeFileSync(cut, xz.subarray(0, Math.floor(xz.length / 2)));
    err = '';
    let out = '';
    const io2: CliIo = { out: (t) => { out += t; }, err: (t) => { err += t; }, signal: new AbortController().signal, isTty: false };
    assert.equal(await analyzeCommand.run([cut, '--json'], io2), 1);
    assert.match(err, /qmig analyze: .*src-trace\.log\.xz: .*offset/);
    const j = JSON.parse(out) as { multifd: { send: { packets: number }[] } };
    assert.ok(j.multifd.send.reduce((n, c) => n + c.packets, 0) > 0, 'the packets before the cut are analysed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
