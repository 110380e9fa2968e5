import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from './main';
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
