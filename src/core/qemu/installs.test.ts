import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  QemuInstallError,
  findQemuInstalls,
  firmwareDirFor,
  isVersionSpec,
  parseVersionOutput,
  probeQemu,
  resolveQemu,
  workbenchCacheDir,
} from './installs';

test('the version line of a Debian build and of a git build', () => {
  assert.deepEqual(parseVersionOutput('QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\nCopyright (c) 2003-2025\n'), {
    version: { major: 10, minor: 0, micro: 2 },
    package: 'Debian 1:10.0.2+ds-2+deb13u1~bpo12+1',
  });
  assert.deepEqual(parseVersionOutput('QEMU emulator version 10.1.50 (v10.1.0-1234-gabcdef)\n')?.version, { major: 10, minor: 1, micro: 50 });
  assert.deepEqual(parseVersionOutput('QEMU emulator version 7.2.22\n'), { version: { major: 7, minor: 2, micro: 22 } });
  assert.equal(parseVersionOutput('ls (GNU coreutils) 9.1\n'), undefined);
  assert.equal(parseVersionOutput(''), undefined);
});

test('version specs and the cache folder', () => {
  assert.ok(isVersionSpec('7.2') && isVersionSpec('10.0') && isVersionSpec('10.0.2'));
  assert.ok(!isVersionSpec('qemu-system-x86_64') && !isVersionSpec('./10.0') && !isVersionSpec('10'));
  assert.equal(workbenchCacheDir({ QMW_CACHE: '/c' }), '/c');
  assert.match(workbenchCacheDir({}), /\.cache\/qemu-migration-workbench$/);
});

test('a program that is not a QEMU, a missing one and a directory are refused with the reason', async () => {
  await assert.rejects(probeQemu('/bin/ls'), (e: unknown) => {
    assert.ok(e instanceof QemuInstallError);
    assert.equal(e.problem, 'not-qemu');
    assert.match(e.message, /'\/bin\/ls' is not a QEMU: its --version printed 'ls \(GNU coreutils\)/);
    return true;
  });
  await assert.rejects(probeQemu('/nonexistent/qemu-system-x86_64'), (e: unknown) => e instanceof QemuInstallError && e.problem === 'missing');
  await assert.rejects(probeQemu('/tmp'), (e: unknown) => e instanceof QemuInstallError && e.problem === 'missing' && /not found or is not executable/.test(e.message));
  await assert.rejects(probeQemu('no-such-qemu-here', { pathEnv: '/nonexistent' }), /'no-such-qemu-here' was not found on PATH/);
  // A program that fails: its status and stderr are part of the message.
  await assert.rejects(probeQemu('/bin/false'), /is not a QEMU: '\/bin\/false --version' failed/);
});

/**
 * Stand-ins for QEMU binaries (shell scripts printing a version line): the layouts and versions
 * below (6.2, several cached versions) do not exist on this machine. Named fake-* accordingly.
 */
function fakeQemu(path: string, versionLine: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\necho '${versionLine}'\n`);
  chmodSync(path, 0o755);
}

test('a QEMU older than 7.2 is refused, naming its version', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qmig-installs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const old = join(dir, 'fake-qemu-6.2');
  fakeQemu(old, 'QEMU emulator version 6.2.0 (Debian 1:6.2+dfsg-2ubuntu6)');
  await assert.rejects(probeQemu(old), (e: unknown) => {
    assert.ok(e instanceof QemuInstallError);
    assert.equal(e.problem, 'too-old');
    assert.match(e.message, /is QEMU 6\.2\.0; the workbench needs QEMU 7\.2\.0 or newer/);
    return true;
  });
});

test('the cache layout setup writes: each version with its firmware folder; versions come from the binaries', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'qmig-installs-cache-'));
  t.after(() => rmSync(cache, { recursive: true, force: true }));
  const bin = (v: string): string => join(cache, 'qemu', v, 'usr', 'bin', 'qemu-system-x86_64');
  fakeQemu(bin('10.0.2'), 'QEMU emulator version 10.0.2 (fake)');
  mkdirSync(join(cache, 'qemu', '10.0.2', 'usr', 'share', 'qemu'), { recursive: true });
  // The folder says 9.9.9, the binary says otherwise: the binary wins.
  fakeQemu(bin('9.9.9'), 'QEMU emulator version 8.2.1 (fake)');
  fakeQemu(bin('broken'), 'not a qemu');
  const settingBin = join(cache, 'build', 'qemu-system-x86_64');
  fakeQemu(settingBin, 'QEMU emulator version 10.1.50 (fake)');
  mkdirSync(join(cache, 'build', 'pc-bios'));
  const found = await findQemuInstalls({ cacheDir: cache, pathEnv: '/nonexistent', configured: [{ binary: settingBin }] });
  assert.deepEqual(found.installs.map((i) => [i.versionText, i.origin]), [['8.2.1', 'cache'], ['10.0.2', 'cache'], ['10.1.50', 'setting']]);
  const ten = found.installs.find((i) => i.versionText === '10.0.2');
  assert.equal(ten?.firmwareDir, join(cache, 'qemu', '10.0.2', 'usr', 'share', 'qemu'));
  assert.equal(found.installs.find((i) => i.origin === 'setting')?.firmwareDir, join(cache, 'build', 'pc-bios'), 'a build folder: its pc-bios');
  assert.deepEqual(found.problems.map((p) => p.problem), ['not-qemu']);

  const opts = { cacheDir: cache, pathEnv: '/nonexistent' };
  assert.equal((await resolveQemu('10.0', opts)).binary, bin('10.0.2'));
  assert.equal((await resolveQemu('8.2.1', opts)).versionText, '8.2.1');
  assert.equal((await resolveQemu(bin('10.0.2'), opts)).firmwareDir, join(cache, 'qemu', '10.0.2', 'usr', 'share', 'qemu'), 'a path gets its own firmware folder');
  await assert.rejects(resolveQemu('7.2', opts), (e: unknown) => {
    assert.ok(e instanceof QemuInstallError);
    assert.equal(e.problem, 'not-installed');
    assert.match(e.message, /no QEMU 7\.2 is installed \(installed: 8\.2\.1 .*10\.0\.2 .*; not usable: .*broken.* is not a QEMU/);
    assert.match(e.message, /scripts\/setup\.sh installs QEMU 10\.0\.2/);
    return true;
  });
});

test('the system prefix has no firmware folder of its own to pass', () => {
  assert.equal(firmwareDirFor('/usr/bin/qemu-system-x86_64'), undefined);
});
