import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { requireComponent } from '../../../test/support/components';
import { parseBackendLog } from './backendLog';
import { checkText, type CheckResult, type LoadedSpec } from './check';
import { parseQemuStderr } from './qemuStderr';
import { builtinSpec, loadSpecFile, SPEC_IN_TREE } from './specSource';
import { bridgeRecording, lineOf, qemu1002Tree, recording, rstPath, type BridgeRun } from './testSupport';

const builtin = builtinSpec();

/** Checks one side of a real bridge run from its three sources, each changed by `edit` first. */
function check(run: BridgeRun, side: 'src' | 'dst', spec: LoadedSpec = builtin, edit: { trace?: (t: string) => string; bridge?: (t: string) => string; stderr?: (t: string) => string } = {}): CheckResult {
  const trace = (edit.trace ?? ((t) => t))(bridgeRecording(run, `${side}-trace.log`));
  const bridge = (edit.bridge ?? ((t) => t))(bridgeRecording(run, `${side}-bridge.log`));
  const stderr = (edit.stderr ?? ((t) => t))(bridgeRecording(run, `${side}-qemu-stderr.log`));
  return checkText(trace, spec, {
    traceFile: `${side}-trace.log`,
    backend: { file: `${side}-bridge.log`, log: parseBackendLog(bridge) },
    stderr: { file: `${side}-qemu-stderr.log`, lines: parseQemuStderr(stderr) },
  });
}

const rules = (r: CheckResult): string[] => r.violations.map((v) => `${v.rule}@${v.line}`);

/** Line of the n-th (1-based) line matching re. */
function nth(text: string, re: RegExp, n: number): number {
  let from = 0;
  let at = 0;
  for (let i = 0; i < n; i++) { at = lineOf(text, re, from); from = at; }
  return at;
}

test('QEMU 10.0.2 postcopy with the bridge: the destination bridge died on the postcopy ADD_MEM_REG acknowledgement', () => {
  const trace = bridgeRecording('qemu1002-bridge-postcopy', 'dst-trace.log');
  const ack = nth(trace, /vhost_user_write req:37 /, 2);
  const r = check('qemu1002-bridge-postcopy', 'dst');
  assert.deepEqual(rules(r), [`backend-died/postcopy-add-mem-reg-ack@${ack}`]);
  const v = r.violations[0];
  assert.ok(v);
  assert.match(v.message, /died on VHOST_USER_ADD_MEM_REG, the acknowledgement QEMU sends once it has the postcopy region bases/);
  assert.match(v.message, /"PANIC: VHOST_USER_ADD_MEM_REG received 0 fds - only 1 fd should be sent for this message type"/);
  // every source's own line
  const bridge = bridgeRecording('qemu1002-bridge-postcopy', 'dst-bridge.log');
  const stderr = bridgeRecording('qemu1002-bridge-postcopy', 'dst-qemu-stderr.log');
  assert.deepEqual(v.sources?.map((s) => [s.file, s.line]), [
    ['dst-trace.log', ack],
    ['dst-trace.log', lineOf(trace, /got event: 4/)],
    ['dst-bridge.log', lineOf(bridge, /^PANIC: /)],
    ['dst-qemu-stderr.log', lineOf(stderr, /Unexpected end-of-file/)],
  ]);
  // the spec's own sentences (built-in model: QEMU 10.2.50's document) and the contradiction
  assert.deepEqual(v.citations?.map((c) => c.specLine), [1616, 1619, 1166]);
  assert.match(v.citations?.[0]?.sentence ?? '', /^Exactly one file descriptor from which the memory is mapped is passed/);
  assert.match(v.citations?.[1]?.sentence ?? '', /In postcopy mode .* They apply to VHOST_USER_ADD_MEM_REG accordingly\.$/);
  assert.match(v.citations?.[2]?.sentence ?? '', /empty VHOST_USER_SET_MEM_TABLE as an acknowledgement/);
  assert.match(v.note ?? '', /^The spec contradicts itself here/);
  assert.equal(v.sentence, v.citations?.[0]?.sentence);
});

test('QEMU 7.2 fails the same way; its stderr shows the fallback to userspace virtio', () => {
  const trace = bridgeRecording('qemu72-bridge-postcopy', 'dst-trace.log');
  const r = check('qemu72-bridge-postcopy', 'dst');
  assert.deepEqual(rules(r), [`backend-died/postcopy-add-mem-reg-ack@${nth(trace, /vhost_user_write req:37 /, 2)}`]);
  const stderr = bridgeRecording('qemu72-bridge-postcopy', 'dst-qemu-stderr.log');
  if (/falling back on userspace virtio/.test(stderr)) {
    assert.match(r.violations[0]?.message ?? '', /QEMU fell back to userspace virtio/);
    assert.ok(r.violations[0]?.sources?.some((s) => s.source === 'qemu-stderr' && /falling back on userspace virtio/.test(s.text)));
  }
});

test('cited against QEMU 10.0.2\'s own vhost-user.rst, the lines are that document\'s', (t) => {
  const doc = join(qemu1002Tree, SPEC_IN_TREE);
  if (!requireComponent(t, `QEMU 10.0.2's source tree (${doc}, scripts/setup-qemu10.sh)`, existsSync(doc))) return;
  const v = check('qemu1002-bridge-postcopy', 'dst', loadSpecFile(doc)).violations[0];
  assert.deepEqual(v?.citations?.map((c) => c.specLine), [1593, 1596, 1156]);
  // and the 10.2.50 fixture document gives the built-in model's lines
  assert.deepEqual(check('qemu1002-bridge-postcopy', 'dst', loadSpecFile(rstPath)).violations[0]?.citations?.map((c) => c.specLine), [1616, 1619, 1166]);
});

test('the legacy virtio guest driver refused by libvhost-user is diagnosed as such, at SET_FEATURES', () => {
  const trace = bridgeRecording('qemu1002-bridge-legacy', 'src-trace.log');
  const r = check('qemu1002-bridge-legacy', 'src');
  assert.deepEqual(rules(r), [`backend-died/legacy-virtio@${lineOf(trace, /vhost_user_write req:2 /)}`]);
  const v = r.violations[0];
  assert.match(v?.message ?? '', /refused the guest's legacy virtio driver at VHOST_USER_SET_FEATURES: the back-end said "PANIC: virtio legacy devices aren't supported by libvhost-user"; QEMU fell back to userspace virtio\. .*disable-legacy=on/);
  assert.match(v?.sentence ?? '', /incompatible features, it may also close the connection/);
});

test('real passing flows keep passing: precopy with the bridge (both sides), the postcopy source, testpmd', () => {
  for (const side of ['src', 'dst'] as const) assert.deepEqual(check('qemu1002-bridge-precopy', side).violations, [], `precopy ${side}`);
  assert.deepEqual(check('qemu1002-bridge-postcopy', 'src').violations, []);
  assert.deepEqual(check('qemu72-bridge-postcopy', 'src').violations, []);
  assert.deepEqual(checkText(recording('dst-trace.log'), builtin).violations, []);
});

// Mutations of the real failing run, one change each.
test('without the bridge log, the trace\'s CLOSED event still shows the back-end going away (backend-closed)', () => {
  const trace = bridgeRecording('qemu1002-bridge-postcopy', 'dst-trace.log');
  const r = checkText(trace, builtin, { traceFile: 'dst-trace.log' });
  const ack = nth(trace, /vhost_user_write req:37 /, 2);
  assert.deepEqual(rules(r), [`backend-closed@${ack}`]);
  assert.match(r.violations[0]?.message ?? '', new RegExp(`closed the connection after its last reply, while QEMU sent VHOST_USER_ADD_MEM_REG \\(line ${ack}\\) through VHOST_USER_SET_VRING_CALL \\(line ${lineOf(trace, /got event: 4/) - 1}\\)`));
});

test('a PANIC the trace cannot place (no CLOSED event, no trace) is reported at the back-end log line', () => {
  const bridge = bridgeRecording('qemu1002-bridge-postcopy', 'dst-bridge.log');
  const r = checkText('', builtin, { format: 'libvhost-user-log', backend: { file: 'dst-bridge.log', log: parseBackendLog(bridge) } });
  assert.deepEqual(r.violations.map((v) => [v.rule, v.file, v.line]), [['backend-died/add-mem-reg-fds', 'dst-bridge.log', lineOf(bridge, /^PANIC: /)]]);
});

test('the same ADD_MEM_REG death outside postcopy (LISTEN removed) cites only the one-fd rule', () => {
  const r = check('qemu1002-bridge-postcopy', 'dst', builtin, { trace: (t) => t.split('\n').filter((l) => !/vhost_user_(write|read) req:29 /.test(l)).join('\n') });
  assert.deepEqual(r.violations.map((v) => v.rule), ['backend-died/add-mem-reg-fds']);
  assert.deepEqual(r.violations[0]?.citations?.map((c) => c.specLine), [1616]);
  assert.equal(r.violations[0]?.note, undefined);
});

test('a PANIC of another reason is a plain backend-died at the message it names', () => {
  const trace = bridgeRecording('qemu1002-bridge-postcopy', 'dst-trace.log');
  const r = check('qemu1002-bridge-postcopy', 'dst', builtin, { bridge: (t) => t.replace(/^PANIC: .*$/m, 'PANIC: Invalid vring_addr message') });
  assert.deepEqual(rules(r), [`backend-died@${nth(trace, /vhost_user_write req:9 /, 1)}`]);
  assert.match(r.violations[0]?.message ?? '', /died on VHOST_USER_SET_VRING_ADDR: the back-end said "PANIC: Invalid vring_addr message"/);
});

test('the legacy PANIC put into the postcopy run moves the violation to SET_FEATURES', () => {
  const trace = bridgeRecording('qemu1002-bridge-postcopy', 'dst-trace.log');
  const r = check('qemu1002-bridge-postcopy', 'dst', builtin, { bridge: (t) => t.replace(/^PANIC: .*$/m, "PANIC: virtio legacy devices aren't supported by libvhost-user") });
  const setFeatures = trace.split('\n').map((l, i) => (/vhost_user_write req:2 /.test(l) ? i + 1 : 0)).filter((n) => n > 0).pop();
  assert.deepEqual(rules(r), [`backend-died/legacy-virtio@${setFeatures}`]);
});

test('no PANIC and no CLOSED event: nothing died (the run is just cut short)', () => {
  const r = check('qemu1002-bridge-postcopy', 'dst', builtin, { trace: (t) => t.replace(/^.*got event: 4.*$/m, ''), bridge: (t) => t.replace(/^PANIC: .*$/m, '') });
  assert.deepEqual(r.violations, []);
});
