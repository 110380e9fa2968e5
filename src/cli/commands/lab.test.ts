import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../main';
import type { CliIo } from '../command';
import { parseLabArgs } from './lab';
import { parseParamValue } from '../migrationOptions';

function capture(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => { out += t; }, err: (t) => { err += t; }, signal: new AbortController().signal, isTty: false };
  return { io, out: () => out, err: () => err };
}

test('qmig lab parses repeatable --cap/--param/--trace and typed values', () => {
  const p = parseLabArgs([
    'postcopy', '--out', 'rec', '--cap', 'postcopy-blocktime=off', '--cap=events=on',
    '--param', 'max-bandwidth=64M', '--param', 'multifd-channels=8', '--param', 'tls-hostname=host',
    '--trace', 'postcopy_*', '--trace', '-postcopy_place_page', '--memory', '128', '--accel', 'tcg',
    '--postcopy-after', '800', '--timeout', '60000', '--zero-share', '0.5',
  ]);
  assert.equal(p.scenario, 'postcopy');
  assert.equal(p.opts.outDir, 'rec');
  assert.deepEqual(p.opts.capabilities, { 'postcopy-blocktime': false, events: true });
  assert.deepEqual(p.opts.parameters, { 'max-bandwidth': 64 * 1024 * 1024, 'multifd-channels': 8, 'tls-hostname': 'host' });
  assert.deepEqual(p.opts.traceEvents, ['postcopy_*', '-postcopy_place_page']);
  assert.equal(p.opts.memoryMiB, 128);
  assert.deepEqual(p.opts.accelerators, ['tcg']);
  assert.equal(p.opts.postcopyAfterMs, 800);
  assert.equal(p.opts.zeroShare, 0.5);
  assert.equal(parseParamValue('true'), true);
  assert.equal(parseParamValue('"x"'), 'x');
  assert.equal(parseParamValue('2G'), 2 * 2 ** 30);
});

test('qmig lab --list and --help name every scenario', async () => {
  const c = capture();
  assert.equal(await main(['lab', '--list'], c.io), 0);
  assert.match(c.out(), /^precopy-multifd\t/m);
  assert.match(c.out(), /^postcopy-vhost-user\t/m);
  const h = capture();
  assert.equal(await main(['lab', '--help'], h.io), 0);
  for (const s of ['precopy-multifd', 'postcopy', 'postcopy-vhost-user', '--cap', '--param', '--out']) assert.ok(h.out().includes(s), s);
});

test('qmig lab usage errors exit 2', async () => {
  for (const args of [['lab'], ['lab', 'nope', '--out', 'x'], ['lab', 'postcopy'], ['lab', 'postcopy', '--out', 'x', '--cap', 'a=maybe'], ['lab', 'postcopy', '--out', 'x', '--memory', 'lots']]) {
    const c = capture();
    assert.equal(await main(args, c.io), 2, args.join(' '));
  }
});

test('qmig lab with a missing QEMU exits 1 and names the binary and the flag', async () => {
  const out = mkdtempSync(join(tmpdir(), 'qmig-lab-cli-'));
  try {
    const c = capture();
    assert.equal(await main(['lab', 'precopy-multifd', '--out', out, '--qemu', '/nonexistent/qemu-system-x86_64'], c.io), 1);
    assert.match(c.err(), /QEMU binary '\/nonexistent\/qemu-system-x86_64' was not found/);
    assert.match(c.err(), /--qemu 7\.2\|10\.0\|PATH/);
    const rec = JSON.parse(readFileSync(join(out, 'scenario.json'), 'utf8')) as { status: string; failedStep: string };
    assert.equal(rec.status, 'failed');
    assert.equal(rec.failedStep, 'check programs');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('qmig lab refuses a temporary folder whose socket paths would be cut, naming the socket and its length', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'qmig-lab-long-'));
  const deep = join(base, 'd'.repeat(100));
  mkdirSync(deep);
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = deep;
  t.after(() => {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
    rmSync(base, { recursive: true, force: true });
  });
  const c = capture();
  const code = await main(['lab', 'precopy-multifd', '--out', join(base, 'rec'), '--qemu', process.execPath, '--nasm', process.execPath], c.io);
  assert.equal(code, 1, c.err());
  assert.match(c.err(), /socket \/.*src-qmp\.sock in the temporary folder \(TMPDIR\): the path is \d+ bytes long, more than the 107 bytes/);
});
