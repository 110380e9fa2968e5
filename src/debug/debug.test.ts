// The migration debugger's pure parts: configuration checks, the console language, variable
// rows, migration-state hits, trace globs and /proc parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseSessionConfig } from './config';
import { completeConsole, hmpCommandsFromHelp, parseConsoleInput } from './runtime/console';
import { editedText } from './runtime/inspect';
import { commandLineFacts, listeningInodes } from './runtime/localQemu';
import { hitForPass, hitForStatus } from './runtime/stateBreakpoints';
import { isMigrationThreadName } from './runtime/threads';
import { checkPattern, globToRegExp } from './runtime/traceBreakpoints';
import { capabilityRows, parameterRows, scalarText } from './runtime/variables';
import { traceEventOnLine } from './session';

test('configurations: attach needs a side, launch a lab or sockets; bad fields are named', () => {
  assert.deepEqual(parseSessionConfig('attach', { source: '/tmp/s.sock' }).addresses, { source: '/tmp/s.sock' });
  assert.throws(() => parseSessionConfig('attach', {}), /attach needs "source" and\/or "destination"/);
  assert.throws(() => parseSessionConfig('attach', { source: 'tcp:host:99999' }), /"source": .*out of range/);
  assert.throws(() => parseSessionConfig('launch', {}), ConfigError);
  assert.throws(() => parseSessionConfig('launch', { lab: true, source: '/a' }), /leave out "source"/);
  const lab = parseSessionConfig('launch', { lab: { qemu: '10.0', memoryMiB: 128 }, migrate: true });
  assert.equal(lab.lab?.qemu, '10.0');
  assert.deepEqual(lab.migrate, { capabilities: {}, parameters: {} });
  assert.throws(() => parseSessionConfig('launch', { lab: { memoryMiB: 8 } }), /"memoryMiB" must be an integer between 16 and 3072/);
  assert.throws(() => parseSessionConfig('attach', { source: '/a', migrate: { capabilities: { multifd: 'yes' } } }), /map capability names to true or false/);
});

test('console: QMP by name, with arguments, as JSON, HMP after !, a side prefix', () => {
  assert.deepEqual(parseConsoleInput('query-migrate'), { kind: 'qmp', side: undefined, command: 'query-migrate', args: undefined });
  assert.deepEqual(parseConsoleInput('@dst migrate-incoming {"uri": "unix:/x"}'), { kind: 'qmp', side: 'destination', command: 'migrate-incoming', args: { uri: 'unix:/x' } });
  assert.deepEqual(parseConsoleInput('{"execute": "stop"}'), { kind: 'qmp', side: undefined, command: 'stop', args: undefined });
  assert.deepEqual(parseConsoleInput('@src !info migrate'), { kind: 'hmp', side: 'source', line: 'info migrate' });
  assert.throws(() => parseConsoleInput('!'), /HMP command line after !/);
  assert.throws(() => parseConsoleInput('migrate {uri}'), /arguments of migrate are not JSON/);
  assert.throws(() => parseConsoleInput('what is this'), /QMP: query-migrate/);
});

test('console completions: command names, arguments of the command, HMP commands', () => {
  const src = { commands: ['migrate', 'migrate-incoming', 'query-migrate', 'stop'], argsOf: (c: string) => (c === 'migrate' ? ['uri', 'resume'] : []), hmpCommands: ['info', 'migrate'] };
  assert.deepEqual(completeConsole('migr', 4, src).map((c) => c.label), ['migrate', 'migrate-incoming']);
  const args = completeConsole('migrate {"r', 11, src);
  assert.deepEqual(args.map((c) => [c.label, c.start, c.length]), [['resume', 10, 1]]);
  assert.deepEqual(completeConsole('@dst st', 7, src).map((c) => [c.label, c.start]), [['stop', 5]]);
  assert.deepEqual(completeConsole('!in', 3, src).map((c) => [c.label, c.start, c.length]), [['info', 1, 2]]);
  assert.deepEqual(completeConsole('{"execute": "q', 14, src).map((c) => c.label), ['query-migrate']);
  assert.deepEqual(hmpCommandsFromHelp('info [subcommand] -- show\nmigrate [-d] uri -- migrate\nq|quit  -- quit\n'), ['info', 'migrate', 'q']);
});

test('variables: units, differences between the sides marked, the edited value read back', () => {
  assert.equal(scalarText('transferred', 104857600), '104857600 (100 MiB)');
  assert.equal(scalarText('max-bandwidth', 33554432), '33554432 (32 MiB/s)');
  assert.equal(scalarText('downtime', 12), '12 ms');
  const caps = capabilityRows({ multifd: true, events: false }, { multifd: false, events: false }, 'destination');
  assert.deepEqual(caps.map((r) => [r.name, r.value, r.differs]), [['events', 'off', false], ['multifd', 'on  ≠ destination: off', true]]);
  const params = parameterRows({ 'multifd-channels': 4 }, { 'multifd-channels': 2 }, 'source');
  assert.equal(params[0]?.value, '4  ≠ source: 2');
  assert.equal(editedText('off  ≠ destination: off'), 'off');
});

test('migration states: which status of which side stops, and whether QEMU holds it', () => {
  const all = new Set(['before-switchover', 'failed', 'cancelled', 'postcopy-paused', 'pass'] as const);
  assert.equal(hitForStatus(all, 'source', 'pre-switchover', undefined)?.held, true);
  assert.equal(hitForStatus(all, 'destination', 'pre-switchover', undefined), undefined);
  assert.match(hitForStatus(all, 'source', 'failed', 'Connection refused')?.text ?? '', /Migration failed on the source: Connection refused/);
  assert.equal(hitForStatus(new Set(), 'source', 'failed', 'x'), undefined);
  assert.equal(hitForStatus(all, 'destination', 'postcopy-paused', undefined)?.filter, 'postcopy-paused');
  assert.equal(hitForPass(all, 'source', 3)?.held, false);
  assert.equal(hitForPass(all, 'destination', 3), undefined);
});

test('trace breakpoints: globs, names, trace-events lines', () => {
  assert.ok(globToRegExp('multifd_send_*').test('multifd_send_sync_main'));
  assert.ok(!globToRegExp('multifd_send_*').test('multifd_recv'));
  assert.ok(globToRegExp('migrate_set_stat?').test('migrate_set_state'));
  assert.match(checkPattern('foo bar') ?? '', /not a trace event name or glob/);
  assert.equal(traceEventOnLine('multifd_send(uint8_t id, uint64_t packet_num) "channel %u packet_num %" PRIu64'), 'multifd_send');
  assert.equal(traceEventOnLine('disable qemu_foo(int x) "x %d"'), 'qemu_foo');
  assert.equal(traceEventOnLine('# multifd.c'), undefined);
});

test('/proc: listening unix sockets by path, QEMU options from its command line, migration thread names', () => {
  const table = [
    'Num       RefCount Protocol Flags    Type St Inode Path',
    '0000000000000000: 00000002 00000000 00010000 0001 01 37032 /tmp/d/src.sock',
    '0000000000000000: 00000003 00000000 00000000 0001 03 37040 /tmp/d/src.sock',
    '0000000000000000: 00000002 00000000 00010000 0001 01 35828 /tmp/d/dst.sock',
  ].join('\n');
  assert.deepEqual(listeningInodes(table, '/tmp/d/src.sock'), [37032]);
  const f = commandLineFacts(['qemu-system-x86_64', '-name', 'a,debug-threads=on', '-D', 'logs/a.log', '-msg', 'timestamp=on'], '/work');
  assert.deepEqual(f, { logFile: '/work/logs/a.log', timestamps: true, debugThreads: true });
  for (const n of ['live_migration', 'multifdsend_0', 'mig/src/send_3', 'return path', 'postcopy/fault', 'mig/dst/listen']) assert.ok(isMigrationThreadName(n), n);
  for (const n of ['CPU 0/TCG', 'qemu-system-x86', 'IO mon_iothread', 'call_rcu']) assert.ok(!isMigrationThreadName(n), n);
});
