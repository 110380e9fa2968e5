import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dpdkRuntimeDir, parseDpdkVersion, qemuArgs, testpmdArgs } from './commandLines';
import { guestCommandLine, zeroShareToSixteenths } from './guest';
import { resolveLabOptions } from './options';
import { findExecutable } from './process';
import { labScenarios, scenarioPlan } from './scenarios';
import { LabError } from './errors';

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

test('qemuArgs for vhost-user shares guest RAM through a memfd NUMA node of the same size', () => {
  const a = qemuArgs({ ...base, side: 'src', incoming: false, vhostUserSocket: '/t/src-vhost-user.sock' });
  assert.deepEqual(values(a, '-object'), ['memory-backend-memfd,id=mem,size=256M,share=on']);
  assert.deepEqual(values(a, '-numa'), ['node,memdev=mem']);
  assert.deepEqual(values(a, '-chardev'), ['socket,id=c0,path=/t/src-vhost-user.sock']);
  assert.equal(values(a, '-incoming').length, 0);
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
  assert.throws(() => resolveLabOptions({ scenario: 'postcopy', outDir: '/x', memoryMiB: 8 }), LabError);
  assert.throws(() => resolveLabOptions({ scenario: 'postcopy', outDir: '/x', traceEvents: ['a b'] }), /invalid trace pattern/);
});

test('every scenario is listed and its plan matches its name', () => {
  assert.deepEqual(labScenarios.map((s) => s.name), ['precopy-multifd', 'postcopy', 'postcopy-vhost-user']);
  assert.equal(scenarioPlan('postcopy-vhost-user').vhostUser, true);
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
