import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { main } from './main';
import { recordings } from '../core/trace/testSupport';
import { commands } from './commands/index';
import type { CliIo } from './command';

function capture(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => { out += t; }, err: (t) => { err += t; }, signal: new AbortController().signal, isTty: false };
  return { io, out: () => out, err: () => err };
}

test('qmig --version prints the manifest version', async () => {
  const c = capture();
  assert.equal(await main(['--version'], c.io), 0);
  assert.match(c.out(), /^\d+\.\d+\.\d+\n$/);
});

test('qmig --help lists every command and each command has its own --help', async () => {
  const c = capture();
  assert.equal(await main(['--help'], c.io), 0);
  for (const cmd of commands) {
    assert.ok(c.out().includes(cmd.name), `${cmd.name} missing from --help`);
    const h = capture();
    assert.equal(await main([cmd.name, '--help'], h.io), 0);
    assert.ok(h.out().length > 20, `${cmd.name} --help is empty`);
  }
});

test('qmig with an unknown command exits 2 and says so on stderr', async () => {
  const c = capture();
  assert.equal(await main(['frobnicate'], c.io), 2);
  assert.match(c.err(), /unknown command 'frobnicate'/);
});

test('-h is help only where it is not the value of an option', async () => {
  const help = capture();
  assert.equal(await main(['trace', 'stats', '-h'], help.io), 0);
  assert.match(help.out(), /qmig trace stats FILE/);
  // The value of --hmp: an HMP command line "-h" sent to the (missing) socket, not help.
  const hmp = capture();
  assert.equal(await main(['qmp', '/nonexistent/qmig-q.sock', '--hmp', '-h'], hmp.io), 1);
  assert.match(hmp.err(), /cannot connect to QMP socket \/nonexistent\/qmig-q\.sock/);
  assert.equal(hmp.out(), '');
  // A --trace pattern that starts with '-' (disable) is a value too.
  const lab = capture();
  assert.equal(await main(['lab', '--trace', '-h', '--out', '/nonexistent'], lab.io), 2);
  assert.match(lab.err(), /name a scenario/);
  // The short form of an option takes its value the same way: `-o -h` writes to a file named -h.
  const out = capture();
  assert.equal(await main(['trace', 'export', '/nonexistent/qmig-t.log', '--format', 'csv', '-o', '-h'], out.io), 1);
  assert.match(out.err(), /\/nonexistent\/qmig-t\.log/);
  assert.equal(out.out(), '');
});

test('every command parses its options strictly: an unknown option is a usage error', async () => {
  for (const args of [['qmp', '/s', 'x', '--bogus'], ['watch', '/s', '--bogus'], ['migrate', '/a', '/b', '--bogus'], ['vhost-user', 'check', 'f', '--bogus'],
    ['trace', 'stats', 'f', '--bogus'], ['analyze', 'f', '--bogus'], ['lab', 'postcopy', '--bogus']]) {
    const c = capture();
    assert.equal(await main(args, c.io), 2, args.join(' '));
    assert.match(c.err(), /Unknown option '--bogus'/, args.join(' '));
  }
});

test('qmig whose standard output is closed early (| head) ends quietly, without a stack trace', { timeout: 60_000 }, async () => {
  const trace = join(recordings, 'qemu-10.2.50-multifd-legacy', 'src-trace.log.xz');
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'main.ts'), 'trace', 'export', trace, '--format', 'jsonl'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(err, '');
  assert.equal(code, 0);
});
