import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BridgeNotFoundError, bridgeCandidates, findVhostUserBridge, pickFreeUdpPorts, udpPortProblem } from './bridge';

function fakeBridge(path: string, executable = true): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, executable ? 0o755 : 0o644);
}

test('the bridge is found in the build folder first, then in the cache\'s builds, newest version first', () => {
  const root = mkdtempSync(join(tmpdir(), 'qmw-bridge-'));
  try {
    const cache = join(root, 'cache');
    const build = join(root, 'qemu', 'build');
    assert.throws(() => findVhostUserBridge({ buildDirs: [build], cacheDir: cache }), (e: unknown) => {
      assert.ok(e instanceof BridgeNotFoundError);
      assert.match(e.message, /tests\/vhost-user-bridge was not found \(looked at .*qemu\/build\/tests\/vhost-user-bridge, .*qemu\/build\/build\/tests\/vhost-user-bridge\); set QEMUMigration\.QEMUBuildFolder .* or run scripts\/setup\.sh, which builds it into .*cache\/qemu-src\/<version>\/build\/tests\/vhost-user-bridge/);
      return true;
    });
    fakeBridge(join(cache, 'qemu-src', '9.2.0', 'build', 'tests', 'vhost-user-bridge'));
    fakeBridge(join(cache, 'qemu-src', '10.0.2', 'build', 'tests', 'vhost-user-bridge'));
    mkdirSync(join(cache, 'qemu-src', 'notes'), { recursive: true });
    assert.deepEqual(bridgeCandidates({ cacheDir: cache }).map((c) => c.version), ['10.0.2', '9.2.0']);
    assert.deepEqual(findVhostUserBridge({ buildDirs: [build], cacheDir: cache }), { path: join(cache, 'qemu-src', '10.0.2', 'build', 'tests', 'vhost-user-bridge'), origin: 'cache', version: '10.0.2' });
    fakeBridge(join(build, 'tests', 'vhost-user-bridge'), false);
    assert.equal(findVhostUserBridge({ buildDirs: [build], cacheDir: cache }).origin, 'cache', 'a file that is not executable is passed over');
    chmodSync(join(build, 'tests', 'vhost-user-bridge'), 0o755);
    assert.deepEqual(findVhostUserBridge({ buildDirs: [build], cacheDir: cache }), { path: join(build, 'tests', 'vhost-user-bridge'), origin: 'setting' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('UDP ports: distinct free ones are picked; one in use is named', async () => {
  const [a, b] = await pickFreeUdpPorts('127.0.0.1', 2);
  assert.ok(a !== undefined && b !== undefined && a !== b && a > 0);
  assert.equal(await udpPortProblem('127.0.0.1', a), undefined);
  const holder = createSocket('udp4');
  await new Promise<void>((r) => holder.bind(a, '127.0.0.1', () => r()));
  try {
    assert.equal(await udpPortProblem('127.0.0.1', a), `UDP 127.0.0.1:${a} is in use by another process`);
  } finally {
    await new Promise<void>((r) => holder.close(() => r()));
  }
});
