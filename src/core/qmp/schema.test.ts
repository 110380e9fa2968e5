import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QmpSchema, type SchemaInfo } from './schema';
import { QmpProtocolError } from './errors';

/** Recorded from Debian's QEMU 7.2.22 (see testdata/README.md). */
const qemu72 = QmpSchema.fromReply(
  JSON.parse(readFileSync(join(__dirname, 'testdata', 'qemu-7.2.22-query-qmp-schema.json'), 'utf8')),
);

test('7.2: commands and events', () => {
  assert.equal(qemu72.hasCommand('migrate'), true);
  assert.equal(qemu72.hasCommand('migrate-start-postcopy'), true);
  assert.equal(qemu72.hasCommand('snapshot-save'), true);
  assert.equal(qemu72.hasCommand('no-such-command'), false);
  assert.equal(qemu72.hasCommand('MIGRATION'), false, 'an event is not a command');
  assert.equal(qemu72.hasEvent('MIGRATION'), true);
  assert.equal(qemu72.hasEvent('MIGRATION_PASS'), true);
  assert.equal(qemu72.hasEvent('migrate'), false);
  assert.ok(qemu72.commands.includes('query-migrate'));
  assert.ok(qemu72.events.includes('STOP'));
  assert.equal(qemu72.allowsOob('migrate-pause'), true);
  assert.equal(qemu72.allowsOob('migrate-recover'), true);
  assert.equal(qemu72.allowsOob('migrate'), false);
});

test('7.2: command arguments resolved through numbered types', () => {
  const args = qemu72.commandArgs('migrate');
  assert.ok(args);
  const uri = args.find((a) => a.name === 'uri');
  assert.deepEqual(uri && { type: uri.type, optional: uri.optional }, { type: 'str', optional: false });
  const resume = args.find((a) => a.name === 'resume');
  assert.deepEqual(resume && { type: resume.type, optional: resume.optional }, { type: 'bool', optional: true });
  assert.deepEqual(qemu72.commandArgs('query-migrate'), []);
  assert.equal(qemu72.commandArgs('nope'), undefined);
  const caps = qemu72.commandArgs('migrate-set-capabilities');
  assert.equal(caps?.[0]?.name, 'capabilities');
  assert.equal(caps?.[0]?.type, 'object[]');
  assert.deepEqual(qemu72.eventArgs('MIGRATION')?.map((m) => `${m.name}:${m.type}`), ['status:enum']);
});

test('7.2: migration parameters: multifd-channels yes, zero-page-detection and mode no', () => {
  assert.equal(qemu72.hasParameter('multifd-channels'), true);
  assert.equal(qemu72.hasParameter('max-bandwidth'), true);
  assert.equal(qemu72.hasParameter('multifd-compression'), true);
  assert.equal(qemu72.hasParameter('zero-page-detection'), false);
  assert.equal(qemu72.hasParameter('mode'), false);
  assert.ok(qemu72.migrationParameters().includes('downtime-limit'));
});

test('7.2: enum values by QAPI name, numbered name and path', () => {
  const caps = qemu72.enumValues('MigrationCapability');
  assert.ok(caps);
  for (const c of ['multifd', 'postcopy-ram', 'xbzrle', 'zero-copy-send', 'postcopy-preempt']) assert.ok(caps.includes(c), c);
  assert.equal(caps.includes('mapped-ram'), false, 'mapped-ram came in 9.0');
  assert.equal(qemu72.hasCapability('multifd'), true);
  assert.equal(qemu72.hasCapability('switchover-ack'), false);
  assert.equal(qemu72.enumValues('MigMode'), undefined, 'no migration modes before 8.2');
  assert.equal(qemu72.enumValues('ZeroPageDetection'), undefined);
  assert.deepEqual(qemu72.enumValues('MultiFDCompression'), ['none', 'zlib', 'zstd']);
  const status = qemu72.enumValues('MigrationStatus');
  assert.ok(status?.includes('postcopy-active'));
  assert.ok(status?.includes('postcopy-paused'));
  assert.deepEqual(qemu72.enumValues('query-migrate().status'), status);
  assert.deepEqual(qemu72.enumValues('MIGRATION.status'), status);
  const numbered = qemu72.resolve('MigrationStatus')?.name;
  assert.ok(numbered && /^\d+$/.test(numbered));
  assert.deepEqual(qemu72.enumValues(numbered), status);
  assert.ok(qemu72.enumValues('RunState')?.includes('inmigrate'));
  assert.equal(qemu72.enumValues('migrate.uri'), undefined, 'a str member is not an enum');
});

test('7.2: members by path, through arrays and return types', () => {
  const ram = qemu72.members('query-migrate().ram')?.map((m) => m.name);
  assert.ok(ram?.includes('multifd-bytes'));
  assert.ok(ram?.includes('dirty-sync-count'));
  assert.equal(qemu72.resolve('query-migrate().ram.mbps')?.name, 'number');
  assert.equal(qemu72.resolve('migrate-set-capabilities.capabilities.state')?.name, 'bool');
  assert.equal(qemu72.resolve('query-migrate().nope'), undefined);
  assert.equal(qemu72.members('NoSuchType'), undefined);
});

/** Hand-written entries shaped like a newer QEMU's reply (mode and zero-page-detection exist). */
const newer = new QmpSchema([
  { name: 'migrate-set-parameters', 'meta-type': 'command', 'arg-type': '10', 'ret-type': '0' },
  { name: 'query-migrate-parameters', 'meta-type': 'command', 'arg-type': '0', 'ret-type': '11' },
  { name: '0', 'meta-type': 'object', members: [] },
  {
    name: '10',
    'meta-type': 'object',
    members: [
      { name: 'mode', default: null, type: '12' },
      { name: 'zero-page-detection', default: null, type: '13' },
    ],
  },
  { name: '11', 'meta-type': 'object', members: [{ name: 'mode', default: null, type: '12' }] },
  { name: '12', 'meta-type': 'enum', values: ['normal', 'cpr-reboot', 'cpr-transfer', 'cpr-exec'] },
  { name: '13', 'meta-type': 'enum', values: ['none', 'legacy', 'multifd'] },
] satisfies SchemaInfo[]);

test('newer shape: mode and zero-page-detection resolve', () => {
  assert.equal(newer.hasParameter('zero-page-detection'), true);
  assert.deepEqual(newer.enumValues('MigMode'), ['normal', 'cpr-reboot', 'cpr-transfer', 'cpr-exec']);
  assert.deepEqual(newer.enumValues('ZeroPageDetection'), ['none', 'legacy', 'multifd']);
  assert.deepEqual(newer.enumValues('query-migrate-parameters().mode'), newer.enumValues('MigMode'));
  assert.equal(newer.hasCapability('multifd'), false, 'no migrate-set-capabilities in this schema');
});

test('fromReply rejects what is not a schema', () => {
  assert.throws(() => QmpSchema.fromReply({}), QmpProtocolError);
  assert.throws(() => QmpSchema.fromReply([{ name: 'x' }]), /'query-qmp-schema' returned a reply of the wrong shape: entry 0\.meta-type is missing/);
});
