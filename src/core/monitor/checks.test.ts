import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCprMode, checkMonitorBlocked, checkPair, checkRunState, checkSide, checkZeroPageDetection, type SideConfig } from './checks';

const cfg = (capabilities: Record<string, boolean>, parameters: Record<string, unknown> = {}): SideConfig => ({ capabilities, parameters });
const ids = (w: { id: string }[]): string[] => w.map((x) => x.id);

test('zero-page-detection=multifd with multifd off warns; with multifd on it does not', () => {
  assert.deepEqual(ids(checkZeroPageDetection(cfg({ multifd: false }, { 'zero-page-detection': 'multifd' }))), ['zero-page-detection-multifd']);
  assert.deepEqual(checkZeroPageDetection(cfg({ multifd: true }, { 'zero-page-detection': 'multifd' })), []);
  assert.deepEqual(checkZeroPageDetection(cfg({ multifd: false }, { 'zero-page-detection': 'legacy' })), []);
  assert.deepEqual(checkZeroPageDetection(cfg({}, {})), [], 'QEMU without the parameter');
});

test('pair: postcopy-ram or multifd on one side only is an error', () => {
  const w = checkPair(cfg({ 'postcopy-ram': true, multifd: true }), cfg({ 'postcopy-ram': false, multifd: true }));
  assert.deepEqual(ids(w), ['pair-capability-postcopy-ram']);
  assert.match(w[0]?.message ?? '', /on on the source but off on the destination/);
  assert.deepEqual(ids(checkPair(cfg({ multifd: false }), cfg({ multifd: true }))), ['pair-capability-multifd']);
});

test('pair: channel count and compression compared only when multifd is on both sides', () => {
  const a = cfg({ multifd: true }, { 'multifd-channels': 4, 'multifd-compression': 'zstd' });
  const b = cfg({ multifd: true }, { 'multifd-channels': 2, 'multifd-compression': 'none' });
  assert.deepEqual(ids(checkPair(a, b)), ['pair-parameter-multifd-channels', 'pair-parameter-multifd-compression']);
  assert.deepEqual(checkPair(cfg({ multifd: false }, { 'multifd-channels': 4 }), cfg({ multifd: false }, { 'multifd-channels': 2 })), []);
  assert.deepEqual(checkPair(a, { ...a }), []);
});

test('CPR modes: RAM in place, x-ignore-shared, shareable RAM, postcopy, cpr-exec-command', () => {
  const file = { id: 'ram0', share: true, backend: 'memory-backend-file' };
  const memfd = { id: 'ram0', share: true, backend: 'memory-backend-memfd' };
  assert.deepEqual(checkCprMode('normal', cfg({}), []), []);
  // cpr-reboot: in place only from a shared file; a memfd or private RAM is copied into the state file.
  assert.deepEqual(ids(checkCprMode('cpr-reboot', cfg({ 'x-ignore-shared': true }), [])), ['cpr-reboot-copies-ram']);
  assert.deepEqual(ids(checkCprMode('cpr-reboot', cfg({ 'x-ignore-shared': true }), [memfd])), ['cpr-reboot-copies-ram']);
  assert.deepEqual(ids(checkCprMode('cpr-reboot', cfg({}), [file])), ['cpr-reboot-ignore-shared']);
  assert.deepEqual(checkCprMode('cpr-reboot', cfg({ 'x-ignore-shared': true }), [file]), []);
  assert.deepEqual(ids(checkCprMode('cpr-reboot', cfg({ 'x-ignore-shared': true, 'postcopy-ram': true }), [file])), ['cpr-postcopy']);
  // cpr-transfer: every backend shared, and aux-ram-share for the implicit RAM.
  assert.deepEqual(ids(checkCprMode('cpr-transfer', cfg({}), [{ id: 'm', share: false }], { auxRamShare: false })), ['cpr-shared-memory', 'cpr-transfer-aux-ram-share']);
  assert.match(checkCprMode('cpr-transfer', cfg({}), [{ id: 'm', share: false }])[0]?.message ?? '', /memory backend m needs share=on/);
  // Without a backend of its own QEMU lists the guest RAM as pc.ram, not shared: refused even with aux-ram-share.
  assert.deepEqual(ids(checkCprMode('cpr-transfer', cfg({}), [{ id: 'pc.ram', share: false, backend: 'memory-backend-ram' }], { auxRamShare: true })), ['cpr-shared-memory']);
  assert.deepEqual(checkCprMode('cpr-transfer', cfg({}), [memfd], { auxRamShare: true }), []);
  assert.deepEqual(checkCprMode('cpr-transfer', cfg({}), undefined), [], 'unknown memdevs and machine: no claim');
  assert.deepEqual(ids(checkCprMode('cpr-exec', cfg({}, {}), [{ share: true }])), ['cpr-exec-command']);
  assert.deepEqual(checkCprMode('cpr-exec', cfg({}, { 'cpr-exec-command': ['qemu-system-x86_64'] }), [{ share: true }]), []);
});

test('guest paused where it should run', () => {
  assert.deepEqual(ids(checkRunState('source', 'paused', 'active')), ['guest-paused']);
  assert.deepEqual(ids(checkRunState('source', 'paused', 'none')), ['guest-paused']);
  assert.deepEqual(checkRunState('source', 'postmigrate', 'completed'), []);
  assert.deepEqual(checkRunState('destination', 'inmigrate', 'active'), []);
  assert.deepEqual(ids(checkRunState('destination', 'paused', 'completed')), ['guest-paused']);
  assert.deepEqual(ids(checkRunState('none', 'internal-error', 'none')), ['run-state-broken']);
  assert.deepEqual(checkRunState('source', 'running', 'active'), []);
});

test('monitor blocked: reply after job conclusion', () => {
  assert.deepEqual(ids(checkMonitorBlocked({ command: 'snapshot-save', jobId: 'j', sentAt: 0, repliedAt: 900, concludedAt: 880 })), ['monitor-blocked']);
  assert.deepEqual(checkMonitorBlocked({ command: 'snapshot-save', jobId: 'j', sentAt: 0, repliedAt: 3, concludedAt: 880 }), []);
  assert.deepEqual(checkMonitorBlocked({ command: 'snapshot-save', jobId: 'j', sentAt: 0, repliedAt: 3 }), []);
});

test('checkSide combines the single-side checks', () => {
  const w = checkSide('source', cfg({ multifd: false }, { 'zero-page-detection': 'multifd', mode: 'cpr-exec' }), 'paused', 'active', [{ share: true }]);
  assert.deepEqual(ids(w), ['zero-page-detection-multifd', 'cpr-exec-command', 'guest-paused']);
});
