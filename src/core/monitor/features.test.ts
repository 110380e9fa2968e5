import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QmpSchema } from '../qmp/schema';
import { detectFeatures, parseParameterValue, type ParameterSpec } from './features';
import { mapThreads } from './threads';

const load = (p: string): QmpSchema => QmpSchema.fromReply(JSON.parse(readFileSync(p, 'utf8')));
const qemu72 = load(join(__dirname, '..', 'qmp', 'testdata', 'qemu-7.2.22-query-qmp-schema.json'));
const newer = load(join(__dirname, 'testdata', 'minimal-newer-migration-schema.json'));

test('QEMU 7.2: no zero-page-detection, no modes, no migration threads; multifd and postcopy present', () => {
  const f = detectFeatures(qemu72);
  assert.deepEqual(f.zeroPageDetection, []);
  assert.deepEqual(f.modes, []);
  assert.equal(f.migrationThreads, false);
  assert.ok(f.capabilities.includes('multifd') && f.capabilities.includes('postcopy-ram'));
  assert.equal(f.jobs, true);
  assert.equal(f.snapshots, true);
  assert.ok(f.oobCommands.has('migrate-pause') && f.oobCommands.has('migrate-recover'));
  const channels = f.parameters.find((p) => p.name === 'multifd-channels');
  assert.deepEqual(channels, { name: 'multifd-channels', kind: 'int', min: 1, max: 255 });
  const compression = f.parameters.find((p) => p.name === 'multifd-compression');
  assert.equal(compression?.kind, 'enum');
  assert.ok(!f.parameters.some((p) => p.name === 'zero-page-detection'));
});

test('newer schema: zero-page-detection, CPR modes, migration threads', () => {
  const f = detectFeatures(newer);
  assert.deepEqual(f.zeroPageDetection, ['none', 'legacy', 'multifd']);
  assert.deepEqual(f.modes, ['normal', 'cpr-reboot', 'cpr-transfer', 'cpr-exec']);
  assert.equal(f.migrationThreads, true);
  assert.deepEqual(f.parameters.find((p) => p.name === 'zero-page-detection'), { name: 'zero-page-detection', kind: 'enum', values: ['none', 'legacy', 'multifd'] });
});

test('parameter values are validated against their spec', () => {
  const int: ParameterSpec = { name: 'multifd-channels', kind: 'int', min: 1, max: 255 };
  assert.deepEqual(parseParameterValue(int, ' 8 '), { ok: true, value: 8 });
  assert.equal(parseParameterValue(int, '0').ok, false);
  assert.equal(parseParameterValue(int, 'x').ok, false);
  const en: ParameterSpec = { name: 'mode', kind: 'enum', values: ['normal', 'cpr-reboot'] };
  assert.deepEqual(parseParameterValue(en, 'cpr-reboot'), { ok: true, value: 'cpr-reboot' });
  const bad = parseParameterValue(en, 'cpr-exec');
  assert.ok(!bad.ok && /normal, cpr-reboot/.test(bad.message));
  assert.deepEqual(parseParameterValue({ name: 'b', kind: 'bool' }, 'on'), { ok: true, value: true });
  assert.deepEqual(parseParameterValue({ name: 'x', kind: 'other', type: 'str[]' }, '["a"]'), { ok: true, value: ['a'] });
});

test('migration threads map to multifd channels by name, old and new names', () => {
  const m = mapThreads([
    { name: 'multifdsend_1', 'thread-id': 12 },
    { name: 'mig/src/send_0', 'thread-id': 11 },
    { name: 'live_migration', 'thread-id': 10 },
    { name: 'multifdrecv_3', 'thread-id': 13 },
  ]);
  assert.deepEqual(m.map((t) => [t.kind, t.channel]), [['main', undefined], ['send', 0], ['send', 1], ['recv', 3]]);
});
