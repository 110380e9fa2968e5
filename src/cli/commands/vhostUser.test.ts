import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../main';
import type { CliIo } from '../command';
import { bridgePath, rstPath, testdata, txtPath } from '../../core/vhostuser/testSupport';

function capture(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => { out += t; }, err: (t) => { err += t; }, signal: new AbortController().signal, isTty: false };
  return { io, out: () => out, err: () => err };
}

const rec = (k: string): string => join(testdata, `qemu72-testpmd-postcopy.${k}`);

test('qmig vhost-user check: a real flow passes (exit 0), JSON has violations and unknown', async () => {
  const c = capture();
  assert.equal(await main(['vhost-user', 'check', rec('dst-trace.log'), '--json'], c.io), 0, c.err());
  const j = JSON.parse(c.out()) as { violations: unknown[]; unknown: { rule: string }[]; format: string };
  assert.deepEqual(j.violations, []);
  assert.equal(j.format, 'qemu-trace');
  assert.ok(j.unknown.some((u) => u.rule === 'postcopy-advise-needs-pagefault'));
});

test('qmig vhost-user check: a violated rule exits 1 and names rule, line and spec sentence', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmw-vu-cli-'));
  try {
    const f = join(dir, 'testpmd.log');
    writeFileSync(f, readFileSync(rec('dst-testpmd.log'), 'utf8').replace('protocol features: 0x10dbf', 'protocol features: 0x10cbf'));
    const c = capture();
    assert.equal(await main(['vhost-user', 'check', f, '--spec', txtPath, '--json'], c.io), 1);
    const j = JSON.parse(c.out()) as { violations: { rule: string; line: number; message: string }[] };
    assert.deepEqual(Object.keys(j.violations[0] ?? {}).slice(0, 3), ['rule', 'line', 'message']);
    assert.equal(j.violations[0]?.rule, 'postcopy-advise-needs-pagefault');
    const t = capture();
    assert.equal(await main(['vhost-user', 'check', f], t.io), 1);
    assert.match(t.out(), /testpmd\.log:\d+: postcopy-advise-needs-pagefault: VHOST_USER_POSTCOPY_ADVISE sent without VHOST_USER_PROTOCOL_F_PAGEFAULT/);
    assert.match(t.out(), /spec line \d+: "When VHOST_USER_PROTOCOL_F_PAGEFAULT is supported/);
    // a workspace rule file is validated with clear errors (exit 1, message names the path)
    const bad = join(dir, 'rules.json');
    writeFileSync(bad, JSON.stringify({ rules: [{ id: 'x', kind: 'after', messages: ['VHOST_USER_NOPE'] }] }));
    const e = capture();
    assert.equal(await main(['vhost-user', 'check', f, '--rules', bad], e.io), 1);
    assert.match(e.err(), /rules\.json: 2 problems:\n\s+rules\[0\]\.messages\[0\]: "VHOST_USER_NOPE" is not a message/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qmig vhost-user rules --json: messages, protocol features and rules', async () => {
  const c = capture();
  assert.equal(await main(['vhost-user', 'rules', '--spec', rstPath, '--json'], c.io), 0);
  const j = JSON.parse(c.out()) as { messages: { name: string; id: number; direction: string }[]; protocolFeatures: { name: string; bit: number }[]; rules: { id: string }[] };
  assert.deepEqual(j.messages[0], { name: 'VHOST_USER_GET_FEATURES', id: 1, direction: 'front-end', line: 1070, ioctl: 'VHOST_GET_FEATURES', requestPayload: 'N/A', replyPayload: 'u64' });
  assert.deepEqual(j.protocolFeatures[0], { name: 'VHOST_USER_PROTOCOL_F_MQ', bit: 0, line: 1045 });
  assert.ok(j.messages.some((m) => m.direction === 'back-end' && m.name === 'VHOST_USER_BACKEND_IOTLB_MSG'));
  assert.ok(j.rules.some((r) => r.id === 'postcopy-end-after-listen'));
  const b = capture();
  assert.equal(await main(['vhost-user', 'rules'], b.io), 0);
  assert.match(b.out(), /spec: built-in/);
});

test('qmig vhost-user lint: the real document has errors (exit 1); usage errors exit 2', async () => {
  const c = capture();
  assert.equal(await main(['vhost-user', 'lint', rstPath], c.io), 1);
  assert.match(c.out(), /error: undefined-feature: VHOST_USER_PROTOCOL_F_NET_MTU/);
  const u = capture();
  assert.equal(await main(['vhost-user', 'check'], u.io), 2);
  assert.equal(await main(['vhost-user', 'frob'], u.io), 2);
  assert.equal(await main(['vhost-user', 'capture', '--pid', 'x', '--out', 'y'], u.io), 2);
  assert.match(u.err(), /unknown subcommand 'frob'/);
});

test('qmig vhost-user check --backend-log --qemu-stderr: a back-end that died exits 1, quotes the PANIC, cites the spec', async () => {
  const run = 'qemu1002-bridge-postcopy';
  const trace = bridgePath(run, 'dst-trace.log');
  const c = capture();
  assert.equal(await main(['vhost-user', 'check', trace, '--backend-log', bridgePath(run, 'dst-bridge.log'), '--qemu-stderr', bridgePath(run, 'dst-qemu-stderr.log')], c.io), 1, c.err());
  const out = c.out();
  assert.match(out, new RegExp(`${trace.replace(/[.]/g, '\\.')}:\\d+: backend-died/postcopy-add-mem-reg-ack: the back-end died on VHOST_USER_ADD_MEM_REG`));
  assert.match(out, /dst-bridge\.log:11: PANIC: VHOST_USER_ADD_MEM_REG received 0 fds - only 1 fd should be sent for this message type {2}\(the back-end gave up on the device\)/);
  assert.match(out, /dst-trace\.log:\d+: vhost_user_event chr: c0 got event: 4 {2}\(CLOSED: the back-end closed the socket\)/);
  assert.match(out, /spec line 1616: "Exactly one file descriptor from which the memory is mapped is passed in the ancillary data\."/);
  assert.match(out, /spec line 1619: "In postcopy mode .* They apply to VHOST_USER_ADD_MEM_REG accordingly\."/);
  assert.match(out, /The spec contradicts itself here/);
  const j = capture();
  assert.equal(await main(['vhost-user', 'check', trace, '--backend-log', bridgePath(run, 'dst-bridge.log'), '--json'], j.io), 1);
  const parsed = JSON.parse(j.out()) as { violations: { rule: string; sources: { source: string }[]; citations: unknown[] }[]; backendPanic: { line: number } };
  assert.equal(parsed.violations[0]?.rule, 'backend-died/postcopy-add-mem-reg-ack');
  assert.deepEqual(parsed.violations[0]?.sources.map((s) => s.source), ['qemu-trace', 'qemu-trace', 'backend-log']);
  assert.equal(parsed.violations[0]?.citations.length, 3);
  assert.equal(parsed.backendPanic.line, 11);
});

test('qmig vhost-user check RECORDING: both sides with their sources; a passing precopy recording exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmw-vu-cli-rec-'));
  try {
    for (const run of ['qemu1002-bridge-postcopy', 'qemu1002-bridge-precopy'] as const) {
      const rec = join(dir, run);
      mkdirSync(rec);
      for (const side of ['src', 'dst'] as const) for (const f of ['trace', 'bridge', 'qemu-stderr'] as const) copyFileSync(bridgePath(run, `${side}-${f}.log`), join(rec, `${side}-${f}.log`));
    }
    const bad = capture();
    assert.equal(await main(['vhost-user', 'check', join(dir, 'qemu1002-bridge-postcopy')], bad.io), 1, bad.err());
    assert.match(bad.out(), /src-trace\.log: \d+ messages[^]*0 violations[^]*dst-trace\.log: \d+ messages[^]*backend-died\/postcopy-add-mem-reg-ack[^]*1 violation,/);
    const good = capture();
    assert.equal(await main(['vhost-user', 'check', join(dir, 'qemu1002-bridge-precopy')], good.io), 0, good.out());
    const usage = capture();
    assert.equal(await main(['vhost-user', 'check', join(dir, 'qemu1002-bridge-precopy'), '--backend-log', 'x'], usage.io), 2);
    assert.match(usage.err(), /a RECORDING folder names its own sources/);
    const missing = capture();
    assert.equal(await main(['vhost-user', 'check', bridgePath('qemu1002-bridge-postcopy', 'dst-trace.log'), '--backend-log', join(dir, 'nope.log')], missing.io), 1);
    assert.match(missing.err(), /cannot read the back-end log .*nope\.log/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
