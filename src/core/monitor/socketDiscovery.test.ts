import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hasProgram, requireComponent } from '../../../test/support/components';
import { findRunningQemuSockets, qmpAddressesOf } from './socketDiscovery';

test('QMP monitors a QEMU command line opens as a server', () => {
  const q = 'qemu-system-x86_64';
  assert.deepEqual(qmpAddressesOf([q, '-qmp', 'unix:/tmp/a.sock,server=on,wait=off'], '/'), { addresses: ['/tmp/a.sock'], incoming: false });
  assert.deepEqual(qmpAddressesOf([q, '-qmp', 'unix:rel/b.sock,server,nowait', '-incoming', 'defer', '-name', 'dst,debug-threads=on'], '/work'),
    { addresses: ['/work/rel/b.sock'], name: 'dst', incoming: true });
  assert.deepEqual(qmpAddressesOf([q, '-chardev', 'socket,id=mon0,path=/run/q.sock,server=on,wait=off', '-mon', 'chardev=mon0,mode=control'], '/').addresses, ['/run/q.sock']);
  // A chardev that is a human monitor, or a client socket, is no QMP server.
  assert.deepEqual(qmpAddressesOf([q, '-chardev', 'socket,id=h,path=/run/h.sock,server=on', '-mon', 'chardev=h,mode=readline'], '/').addresses, []);
  assert.deepEqual(qmpAddressesOf([q, '-chardev', 'socket,id=c,path=/run/c.sock', '-mon', 'chardev=c,mode=control'], '/').addresses, []);
  assert.deepEqual(qmpAddressesOf([q, '-qmp', 'tcp:127.0.0.1:4444,server=on,wait=off', '-qmp', 'tcp:127.0.0.1:5555'], '/').addresses, ['tcp:127.0.0.1:4444']);
  assert.deepEqual(qmpAddressesOf([q, '-name', 'guest=vm1,debug-threads=on', '-qmp'], '/'), { addresses: [], name: 'vm1', incoming: false });
});

test('a running QEMU is found with its QMP socket and its -incoming', { timeout: 60_000 }, async (t) => {
  const qemu = process.env.QMW_QEMU ?? 'qemu-system-x86_64';
  if (!requireComponent(t, 'qemu', hasProgram(qemu))) return;
  const dir = await mkdtemp(join(tmpdir(), 'qmw-discover-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const sock = join(dir, 'found.sock');
  const child = spawn(qemu, ['-nodefaults', '-display', 'none', '-machine', 'none', '-name', 'found-by-test', '-qmp', `unix:${sock},server=on,wait=off`, '-incoming', 'defer'], { detached: true, stdio: 'ignore' });
  t.after(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } });
  let hit;
  for (let i = 0; i < 100 && !hit; i++) {
    hit = (await findRunningQemuSockets()).find((s) => s.path === sock);
    if (!hit) await sleep(100);
  }
  assert.ok(hit, `${sock} is among the running QEMUs' sockets`);
  assert.equal(hit.origin, 'running QEMU');
  assert.deepEqual(hit.qemu, { pid: child.pid, name: 'found-by-test', incoming: true });
});
