import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgeArgs, dpdkRuntimeDir, lineBuffered, parseDpdkVersion, qemuArgs, testpmdArgs } from './commandLines';
import { guestCommandLine, zeroShareToSixteenths } from './guest';
import { resolveLabOptions } from './options';
import { findExecutable } from './process';
import { labScenarios, scenarioPlan } from './scenarios';
import { LabError } from './errors';
import { qemuChoices } from './qemuSides';
import type { QemuInstall } from '../qemu/installs';

const base = {
  side: 'dst' as const,
  memoryMiB: 256,
  accelerators: ['kvm', 'tcg'],
  kernel: '/t/dirty.bin',
  append: 'rate=16 zero=4 size=64',
  qmpSocket: '/t/dst-qmp.sock',
  traceFile: '/out/dst-trace.log',
  traceEvents: ['multifd_*', 'postcopy_*', '-migrate_pending'],
  debugconFile: '/t/dst-debugcon.log',
  incoming: true,
};

function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? ''] : []));
}

test('qemuArgs gives one -trace option per pattern and one -accel per accelerator', () => {
  const a = qemuArgs(base);
  assert.deepEqual(values(a, '-trace'), ['enable=multifd_*', 'enable=postcopy_*', 'enable=-migrate_pending']);
  assert.deepEqual(values(a, '-accel'), ['kvm', 'tcg']);
  assert.deepEqual(values(a, '-qmp'), ['unix:/t/dst-qmp.sock,server=on,wait=off']);
  assert.deepEqual(values(a, '-D'), ['/out/dst-trace.log']);
  assert.deepEqual(values(a, '-msg'), ['timestamp=on']);
  assert.deepEqual(values(a, '-incoming'), ['defer']);
  assert.equal(values(a, '-object').length, 0, 'no memfd backend without vhost-user');
});

test('qemuArgs for vhost-user shares guest RAM through a memfd machine backend of the same size', () => {
  const a = qemuArgs({ ...base, side: 'src', incoming: false, ramBackend: { kind: 'memfd' }, vhostUserSocket: '/t/src-vhost-user.sock' });
  assert.deepEqual(values(a, '-object'), ['memory-backend-memfd,id=ram0,size=256M,share=on']);
  assert.deepEqual(values(a, '-M'), ['pc,memory-backend=ram0']);
  assert.deepEqual(values(a, '-chardev'), ['socket,id=c0,path=/t/src-vhost-user.sock']);
  assert.equal(values(a, '-incoming').length, 0);
  assert.throws(() => qemuArgs({ ...base, vhostUserSocket: '/t/v.sock' }), /shared guest RAM/);
});

test('qemuArgs: firmware folder, machine type and properties, a RAM file, a second incoming channel of type cpr', () => {
  const a = qemuArgs({
    ...base,
    firmwareDir: '/c/qemu/10.0.2/usr/share/qemu',
    machine: 'pc-i440fx-7.2',
    machineProperties: ['aux-ram-share=on'],
    ramBackend: { kind: 'file', path: '/dev/shm/x/guest-ram' },
    cprChannelSocket: '/t/cpr.sock',
  });
  assert.deepEqual(values(a, '-L'), ['/c/qemu/10.0.2/usr/share/qemu']);
  assert.deepEqual(values(a, '-M'), ['pc-i440fx-7.2,memory-backend=ram0,aux-ram-share=on']);
  assert.deepEqual(values(a, '-object'), ['memory-backend-file,id=ram0,size=256M,mem-path=/dev/shm/x/guest-ram,share=on']);
  const incoming = values(a, '-incoming');
  assert.equal(incoming[0], 'defer');
  assert.deepEqual(JSON.parse(incoming[1] ?? ''), { 'channel-type': 'cpr', addr: { transport: 'socket', type: 'unix', path: '/t/cpr.sock' } });
  assert.equal(values(qemuArgs(base), '-L').length, 0, 'the system QEMU needs no -L');
});

test('paths with a comma are refused where QEMU would split them', () => {
  assert.throws(() => qemuArgs({ ...base, qmpSocket: '/t/a,b.sock' }), /comma/);
  assert.throws(() => testpmdArgs('/t/a,b.sock', 'p'), /comma/);
});

test('testpmdArgs keeps the verified back-end flags', () => {
  const a = testpmdArgs('/t/vh.sock', 'qmig-x-src');
  assert.ok(a.includes('--no-huge') && a.includes('--no-pci') && a.includes('--file-prefix=qmig-x-src'));
  assert.ok(a.includes('net_vhost0,iface=/t/vh.sock,queues=1,postcopy-support=1'));
  assert.deepEqual(a.slice(a.indexOf('--')), ['--', '--no-mlockall', '--total-num-mbufs=2048', '--stats-period', '30']);
  assert.match(dpdkRuntimeDir('qmig-x-src'), /\/dpdk\/qmig-x-src$/);
  assert.equal(parseDpdkVersion("EAL: RTE Version: 'DPDK 22.11.11'\n"), 'DPDK 22.11.11');
});

test('guest command line and zero share in sixteenths', () => {
  assert.equal(guestCommandLine({ rateMiBps: 16, zeroSixteenths: 4, regionMiB: 64 }), 'rate=16 zero=4 size=64');
  assert.equal(zeroShareToSixteenths(0.25), 4);
  assert.equal(zeroShareToSixteenths(0), 0);
  assert.throws(() => zeroShareToSixteenths(1), RangeError);
});

test('options: scenario defaults, overrides merged over them, bad values named', () => {
  const r = resolveLabOptions({
    scenario: 'precopy-multifd',
    outDir: '/tmp/x',
    capabilities: { 'zero-copy-send': false },
    parameters: { 'multifd-channels': 2 },
  });
  assert.equal(r.capabilities['multifd'], true);
  assert.equal(r.capabilities['zero-copy-send'], false);
  assert.equal(r.parameters['multifd-channels'], 2);
  assert.equal(r.parameters['max-bandwidth'], 32 * 1024 * 1024);
  assert.equal(r.guestAppend, 'rate=16 zero=4 size=64');
  assert.deepEqual(r.parametersIfOffered, { 'zero-page-detection': 'multifd' });
  const own = resolveLabOptions({ scenario: 'precopy-multifd', outDir: '/x', parameters: { 'zero-page-detection': 'legacy' } });
  assert.deepEqual(own.parametersIfOffered, {}, 'a value the options set is not replaced');
  assert.equal(own.parameters['zero-page-detection'], 'legacy');
  assert.throws(() => resolveLabOptions({ scenario: 'postcopy', outDir: '/x', memoryMiB: 8 }), LabError);
  assert.throws(() => resolveLabOptions({ scenario: 'postcopy', outDir: '/x', traceEvents: ['a b'] }), /invalid trace pattern/);
});

test('every scenario is listed and its plan matches its name', () => {
  assert.deepEqual(labScenarios.map((s) => s.name), ['precopy-multifd', 'postcopy', 'postcopy-vhost-user', 'postcopy-vhost-user-bridge', 'precopy-vhost-user-bridge', 'cpr-reboot', 'cpr-transfer', 'cross-version']);
  assert.equal(scenarioPlan('postcopy-vhost-user').vhostUser, true);
  assert.equal(scenarioPlan('postcopy-vhost-user').memory, 'memfd');
  // QEMU 8.1+ refuses postcopy-ram with multifd: no postcopy scenario asks for both.
  for (const s of labScenarios) {
    const p = scenarioPlan(s.name);
    assert.ok(!(p.capabilities['postcopy-ram'] === true && p.capabilities['multifd'] === true), s.name);
  }
  assert.deepEqual(scenarioPlan('precopy-multifd').parametersIfOffered, { 'zero-page-detection': 'multifd' });
  const reboot = scenarioPlan('cpr-reboot');
  assert.deepEqual([reboot.flow, reboot.memory, reboot.parameters['mode'], reboot.capabilities['x-ignore-shared']], ['cpr-reboot', 'file', 'cpr-reboot', true]);
  const transfer = scenarioPlan('cpr-transfer');
  assert.deepEqual([transfer.flow, transfer.memory, transfer.parameters['mode'], transfer.machineProperties], ['cpr-transfer', 'memfd', 'cpr-transfer', ['aux-ram-share=on']]);
  const cross = scenarioPlan('cross-version');
  assert.deepEqual([cross.crossVersion, cross.machine], [true, 'pc-i440fx-7.2']);
  assert.ok(scenarioPlan('postcopy').traceEvents.includes('postcopy_*'));
  assert.ok(scenarioPlan('postcopy-vhost-user').traceEvents.includes('vhost_user_*'));
});

test('findExecutable searches PATH and accepts only executable files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmig-lab-unit-'));
  try {
    const exe = join(dir, 'tool');
    writeFileSync(exe, '#!/bin/sh\n');
    assert.equal(findExecutable('tool', dir), undefined, 'not executable yet');
    chmodSync(exe, 0o755);
    assert.equal(findExecutable('tool', `/nonexistent:${dir}`), exe);
    assert.equal(findExecutable(exe, ''), exe);
    assert.equal(findExecutable('missing-tool', dir), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bridge scenarios: the bridge\'s arguments, line-buffered through stdbuf, a modern-only NIC, a second monitor', () => {
  assert.deepEqual(bridgeArgs({ socket: '/t/vh.sock', local: '127.0.0.1:4444', remote: '127.0.0.1:5555' }), ['-u', '/t/vh.sock', '-l', '127.0.0.1:4444', '-r', '127.0.0.1:5555']);
  assert.deepEqual(bridgeArgs({ socket: '/t/vh.sock', local: 'h:1', remote: 'h:2', client: true, hostNotifier: true }).slice(0, 2), ['-c', '-H']);
  assert.throws(() => bridgeArgs({ socket: '/t/vh.sock', local: '127.0.0.1', remote: 'h:2' }), /local address must be HOST:PORT, got '127\.0\.0\.1'/);
  assert.throws(() => bridgeArgs({ socket: '/t/vh.sock', local: 'h:1', remote: 'h:70000' }), /remote address/);
  assert.deepEqual(lineBuffered('/b/vhost-user-bridge', ['-u', 's'], '/usr/bin/stdbuf'), { binary: '/usr/bin/stdbuf', args: ['-oL', '-eL', '/b/vhost-user-bridge', '-u', 's'] });
  assert.deepEqual(lineBuffered('/b/vhost-user-bridge', ['-u', 's'], undefined), { binary: '/b/vhost-user-bridge', args: ['-u', 's'] });
  const a = qemuArgs({ ...base, ramBackend: { kind: 'memfd' }, vhostUserSocket: '/t/dst-vh.sock', virtioModernOnly: true, extraQmpSockets: ['/t/dst-monitor.sock'] });
  assert.deepEqual(values(a, '-device'), ['virtio-net-pci,netdev=n0,romfile=,disable-legacy=on']);
  assert.deepEqual(values(a, '-qmp'), ['unix:/t/dst-qmp.sock,server=on,wait=off', 'unix:/t/dst-monitor.sock,server=on,wait=off']);
  assert.equal(guestCommandLine({ rateMiBps: 32, zeroSixteenths: 4, regionMiB: 16, virtio: 1 }), 'rate=32 zero=4 size=16 virtio=1');
  const r = resolveLabOptions({ scenario: 'postcopy-vhost-user-bridge', outDir: '/o' });
  assert.equal(r.guestAppend, 'rate=32 zero=4 size=16 virtio=1');
  assert.equal(r.plan.backend, 'bridge');
  assert.equal(r.plan.preferredQemu, '10.0');
  assert.ok(r.capabilities['postcopy-ram']);
  assert.equal(resolveLabOptions({ scenario: 'precopy-vhost-user-bridge', outDir: '/o' }).capabilities['postcopy-ram'], undefined);
  assert.equal(resolveLabOptions({ scenario: 'postcopy-vhost-user', outDir: '/o' }).guestAppend, 'rate=32 zero=4 size=16', 'the testpmd scenario is unchanged');
});

test('the picker offers each install newest first, and for cross-version each pair of versions, upgrades first', () => {
  const q = (v: string): QemuInstall => {
    const [major = 0, minor = 0, micro = 0] = v.split('.').map(Number);
    return { origin: 'cache', binary: `/q/${v}/qemu-system-x86_64`, version: { major, minor, micro }, versionText: v };
  };
  const installs = [q('10.0.2'), q('7.2.22')];
  assert.deepEqual(qemuChoices(scenarioPlan('postcopy'), installs).map((c) => c.label), ['QEMU 10.0.2', 'QEMU 7.2.22']);
  assert.deepEqual(qemuChoices(scenarioPlan('cross-version'), installs).map((c) => c.label), ['QEMU 7.2.22 → 10.0.2', 'QEMU 10.0.2 → 7.2.22']);
  assert.deepEqual(qemuChoices(scenarioPlan('cross-version'), [q('7.2.22')]), [], 'one version: no pair');
});
