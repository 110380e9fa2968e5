import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main';
import type { CliIo } from './command';
import { terminalSafe } from './terminalText';

function capture(): { io: CliIo; all: () => string; out: () => string } {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => { out += t; }, err: (t) => { err += t; }, signal: new AbortController().signal, isTty: true };
  return { io, all: () => out + err, out: () => out };
}

/** ESC, BEL, OSC/CSI as C1 (U+009D, U+009B), DEL and a lone CR: none may reach a terminal raw. */
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
const EVIL = '\x1b]0;pwned\x07\x9b2J\x9d8;;x\x7f\r';

test('terminalSafe escapes C0, DEL and C1 controls in JSON\'s form, keeps tab, newline and other text', () => {
  assert.equal(terminalSafe('a\tb\nc é ü 日本'), 'a\tb\nc é ü 日本');
  assert.equal(terminalSafe(EVIL), '\\u001b]0;pwned\\u0007\\u009b2J\\u009d8;;x\\u007f\\u000d');
  // In JSON output the escapes are JSON escapes: the document stays valid and exact.
  const doc = JSON.stringify({ name: '\x9b31m' });
  assert.deepEqual(JSON.parse(terminalSafe(doc)), { name: '\x9b31m' });
});

test('control bytes from a trace, its file name and a vhost-user flow never reach the terminal raw', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), `qmig-evil-${EVIL.replace(/[\r/]/g, '')}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const trace = join(dir, `trace-${EVIL.replace(/[\r/]/g, '')}.log`);
  writeFileSync(trace, [
    `27237@1795296049.029148:ram_save_queue_pages ${EVIL}: start: 0x0 len: 0x1000`,
    `27237@1795296049.029149:unknown_event_${'x'} ${EVIL}`,
    `27511@1795296065.755999:vhost_user_write req:1 flags:0x1`,
    `some QEMU output ${EVIL}`,
    '',
  ].join('\n'));
  for (const args of [
    ['trace', 'export', trace, '--format', 'csv', '--qemu-version', '7.2'],
    ['trace', 'export', trace, '--format', 'jsonl', '--qemu-version', '7.2'],
    ['trace', 'stats', trace, '--qemu-version', '7.2'],
    ['trace', 'stats', trace, '--qemu-version', '7.2', '--json'],
    ['vhost-user', 'check', trace],
    ['vhost-user', 'check', trace, '--json'],
    ['qmp', join(dir, `q${EVIL.replace(/[\r/]/g, '')}.sock`), 'query-status'],
  ]) {
    const c = capture();
    await main(args, c.io);
    assert.doesNotMatch(c.all(), RAW, `${args.slice(0, 2).join(' ')}: ${JSON.stringify(c.all().slice(0, 300))}`);
    assert.match(c.all(), /\\u001b\]0;pwned\\u0007/, args.join(' '));
  }
  const csv = capture();
  await main(['trace', 'export', trace, '--format', 'csv', '--qemu-version', '7.2'], csv.io);
  assert.match(csv.out(), /ram_save_queue_pages/, 'the event itself is kept');
});
