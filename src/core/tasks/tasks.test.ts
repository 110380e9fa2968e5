import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTaskDefinition, providedTaskDefinitions, TaskDefinitionError, taskTitle, type BridgeTaskDefinition, type QemuTaskDefinition } from './definition';
import { BRIDGE_READY, bridgeProcess, qemuProcess, runPaths, socketPath } from './plan';
import { postcopyCapabilityProblem, sharedMemoryProblem, socketPathProblem, userfaultfdProblem } from './preflight';
import { BEGINS_PATTERN, ENDS_PATTERN, PROBLEM_PATTERN, problemInLine, problemLine, readyLine, startingLine } from './problems';

const paths = runPaths('pair1', { runtimeDir: '/run/user/0', recordingsDir: '/ws/recordings' });

function values(args: readonly string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? ''] : []));
}

test('definitions: defaults per kind, every bad property named at once, no binary paths', () => {
  const b = parseTaskDefinition({ type: 'qemu-migration', kind: 'vhost-user-bridge', role: 'destination' });
  assert.deepEqual(b, { type: 'qemu-migration', kind: 'vhost-user-bridge', run: 'default', role: 'destination', socket: undefined, localUdp: undefined, remoteUdp: undefined, client: false });
  const q = parseTaskDefinition({ type: 'qemu-migration', kind: 'qemu', role: 'source', vhostUser: 'src-vhost-user.sock', qemu: '10.0' }) as QemuTaskDefinition;
  assert.equal(q.sharedMemory, true, 'vhost-user implies shared guest memory');
  assert.equal(q.memoryMiB, 256);
  const m = parseTaskDefinition({ type: 'qemu-migration', kind: 'migrate', postcopy: { afterPasses: 2 } });
  assert.deepEqual(m.kind === 'migrate' ? [m.capabilities, m.postcopy] : [], [{ 'postcopy-ram': true, events: true }, { afterPasses: 2 }]);
  assert.throws(() => parseTaskDefinition({ type: 'qemu-migration', kind: 'qemu', role: 'left', qemu: '/usr/bin/qemu', memoryMiB: 8, bogus: 1 }), (e: unknown) => {
    assert.ok(e instanceof TaskDefinitionError);
    assert.deepEqual(e.problems, [
      'bogus is not a property of kind qemu (it has: run, role, qemu, memoryMiB, sharedMemory, vhostUser, qmp, traceEvents, guestRateMiBps)',
      'role must be "source" or "destination", not "left"',
      'qemu must be a QEMU version such as "10.0" or "7.2" (binaries come from settings), not "/usr/bin/qemu"',
      'memoryMiB must be an integer from 16 to 3072',
    ]);
    return true;
  });
  assert.throws(() => parseTaskDefinition({ type: 'qemu-migration', kind: 'shell' }), /kind must be one of vhost-user-bridge, qemu, testpmd, migrate, postcopy-bridge, not "shell"/);
  assert.throws(() => parseTaskDefinition({ type: 'qemu-migration', kind: 'migrate', postcopy: { afterSeconds: 1, afterPasses: 2 } }), /postcopy must be \{"afterSeconds": N\} or \{"afterPasses": N\}/);
  assert.throws(() => parseTaskDefinition({ type: 'qemu-migration', kind: 'vhost-user-bridge', role: 'source', localUdp: '4444' }), /localUdp must be HOST:PORT/);
  assert.equal(taskTitle(parseTaskDefinition({ type: 'qemu-migration', kind: 'postcopy-bridge' })), 'Postcopy migration with vhost-user-bridge');
  // Every provided task validates, under a title of its own; each QEMU finds its bridge's socket by the default name.
  const provided = providedTaskDefinitions().map((d) => parseTaskDefinition(d));
  assert.equal(new Set(provided.map(taskTitle)).size, provided.length);
  for (const q of provided) if (q.kind === 'qemu') assert.equal(q.vhostUser, `${q.role === 'source' ? 'src' : 'dst'}-vhost-user.sock`);
  assert.ok(provided.some((d) => d.kind === 'postcopy-bridge' && d.keepRunning));
});

test('plans: the bridge line-buffered on the run\'s socket, QEMU wired to it with shared memory, a modern NIC and a second monitor', () => {
  const def = parseTaskDefinition({ type: 'qemu-migration', kind: 'vhost-user-bridge', role: 'destination', run: 'pair1' }) as BridgeTaskDefinition;
  const p = bridgeProcess(def, paths, { bridge: '/b/vhost-user-bridge', stdbuf: '/usr/bin/stdbuf', local: '127.0.0.1:4446', remote: '127.0.0.1:5557' });
  assert.equal(p.binary, '/usr/bin/stdbuf');
  assert.deepEqual(p.args, ['-oL', '-eL', '/b/vhost-user-bridge', '-u', '/run/user/0/qemu-migration-pair1/dst-vhost-user.sock', '-l', '127.0.0.1:4446', '-r', '127.0.0.1:5557']);
  assert.equal(p.logFile, '/ws/recordings/tasks-pair1/dst-bridge.log');
  assert.deepEqual(p.readiness, { kind: 'line', pattern: BRIDGE_READY });
  assert.ok(BRIDGE_READY.test('Waiting for data from udp backend on 127.0.0.1:4446...'));
  assert.deepEqual(p.sockets, ['/run/user/0/qemu-migration-pair1/dst-vhost-user.sock']);
  // without stdbuf its own line may never come: the socket tells
  assert.equal(bridgeProcess(def, paths, { bridge: '/b/x', stdbuf: undefined, local: 'h:1', remote: 'h:2' }).readiness.kind, 'socket');

  const q = parseTaskDefinition({ type: 'qemu-migration', kind: 'qemu', role: 'destination', run: 'pair1', vhostUser: 'dst-vhost-user.sock' }) as QemuTaskDefinition;
  const qp = qemuProcess(q, paths, { binary: '/q/qemu-system-x86_64', firmwareDir: '/q/share/qemu', kernel: '/run/k.bin', accelerators: ['tcg'] });
  assert.deepEqual(values(qp.args, '-qmp'), ['unix:/run/user/0/qemu-migration-pair1/dst-qmp.sock,server=on,wait=off', 'unix:/run/user/0/qemu-migration-pair1/dst-monitor.sock,server=on,wait=off']);
  assert.deepEqual(values(qp.args, '-chardev'), ['socket,id=c0,path=/run/user/0/qemu-migration-pair1/dst-vhost-user.sock']);
  assert.deepEqual(values(qp.args, '-device'), ['virtio-net-pci,netdev=n0,romfile=,disable-legacy=on']);
  assert.match(values(qp.args, '-object')[0] ?? '', /^memory-backend-memfd,id=ram0,size=256M,share=on$/);
  assert.deepEqual(values(qp.args, '-incoming'), ['defer']);
  assert.deepEqual(values(qp.args, '-L'), ['/q/share/qemu']);
  assert.match(values(qp.args, '-append')[0] ?? '', / virtio=1$/);
  assert.deepEqual(values(qp.args, '-D'), ['/ws/recordings/tasks-pair1/dst-trace.log']);
  assert.ok(values(qp.args, '-trace').includes('enable=vhost_user_*'));
  assert.deepEqual(qp.readiness, { kind: 'qmp', socket: '/run/user/0/qemu-migration-pair1/dst-qmp.sock' });
  assert.equal(qp.monitorSocket, '/run/user/0/qemu-migration-pair1/dst-monitor.sock');
  assert.equal(qp.logFile, '/ws/recordings/tasks-pair1/dst-qemu-stderr.log');
  assert.equal(socketPath(paths, '/abs/x.sock'), '/abs/x.sock');
});

test('problems in output lines, located for the $qemu-migration matcher; package.json has the same patterns', () => {
  assert.deepEqual(problemInLine('bridge', 'PANIC: VHOST_USER_ADD_MEM_REG received 0 fds - only 1 fd should be sent for this message type'), { severity: 'error', message: 'the back-end gave up on the device: PANIC: VHOST_USER_ADD_MEM_REG received 0 fds - only 1 fd should be sent for this message type' });
  assert.match(problemInLine('bridge', 'bind: Address already in use')?.message ?? '', /^bind: Address already in use \(another process holds this address/);
  assert.equal(problemInLine('bridge', 'Waiting for data from udp backend on 127.0.0.1:4444...'), undefined);
  assert.deepEqual(problemInLine('qemu', '2026-12-02T00:45:22.317807Z qemu-system-x86_64: unable to start vhost net: 22: falling back on userspace virtio'), { severity: 'warning', message: 'QEMU stopped using its vhost-user back-end: unable to start vhost net: 22: falling back on userspace virtio' });
  assert.deepEqual(problemInLine('qemu', "qemu-system-x86_64: -chardev socket,id=c0,path=/t/vh.sock: Failed to connect to '/t/vh.sock': Connection refused"), { severity: 'error', message: "qemu-system-x86_64: -chardev socket,id=c0,path=/t/vh.sock: Failed to connect to '/t/vh.sock': Connection refused" });
  assert.equal(problemInLine('qemu', '2026-12-02T01:19:49.336285Z qemu-system-x86_64: terminating on signal 15 from pid 26222 (node)'), undefined);
  assert.equal(problemInLine('qemu', 'Vhost user backend fails to broadcast fake RARP'), undefined);

  const line = problemLine('/ws/recordings/tasks-pair1/dst-bridge.log', 11, { severity: 'error', message: 'PANIC: x' });
  const m = new RegExp(PROBLEM_PATTERN).exec(line);
  assert.deepEqual(m?.slice(1), ['/ws/recordings/tasks-pair1/dst-bridge.log', '11', 'error', 'PANIC: x']);
  assert.ok(new RegExp(BEGINS_PATTERN).test(startingLine('dst vhost-user-bridge: ...')));
  assert.ok(new RegExp(ENDS_PATTERN).test(readyLine('dst QEMU: QEMU 10.0.2 greets')));
  assert.ok(new RegExp(ENDS_PATTERN).test('Waiting for data from udp backend on 127.0.0.1:4444...'));

  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
    contributes: { problemPatterns: { name: string; regexp: string }[]; problemMatchers: { name: string; pattern: string; background: { beginsPattern: string; endsPattern: string } }[]; taskDefinitions: { type: string; properties: { kind: { enum: string[] } } }[] };
  };
  assert.equal(pkg.contributes.problemPatterns.find((p) => p.name === 'qemu-migration')?.regexp, PROBLEM_PATTERN);
  const matcher = pkg.contributes.problemMatchers.find((p) => p.name === 'qemu-migration');
  assert.deepEqual([matcher?.pattern, matcher?.background.beginsPattern, matcher?.background.endsPattern], ['$qemu-migration', BEGINS_PATTERN, ENDS_PATTERN]);
  assert.deepEqual(pkg.contributes.taskDefinitions[0]?.properties.kind.enum, ['vhost-user-bridge', 'qemu', 'testpmd', 'migrate', 'postcopy-bridge']);
});

test('pre-launch checks: userfaultfd for this user, shared memory, postcopy-ram, socket paths', async () => {
  assert.equal(userfaultfdProblem({ uid: 0, unprivileged: '0', devExists: false, devAccessible: false }), undefined);
  assert.equal(userfaultfdProblem({ uid: 1000, unprivileged: '1', devExists: false, devAccessible: false }), undefined);
  assert.equal(userfaultfdProblem({ uid: 1000, unprivileged: '0', devExists: true, devAccessible: true }), undefined);
  assert.equal(userfaultfdProblem({ uid: 1000, unprivileged: '0', devExists: true, devAccessible: false })?.message,
    'postcopy needs userfaultfd, which user 1000 cannot use here: run as root, or set vm.unprivileged_userfaultfd=1 (sysctl), or give this user read-write access to /dev/userfaultfd');
  assert.match(sharedMemoryProblem(true, false)?.message ?? '', /must be shared: set "sharedMemory": true/);
  assert.equal(sharedMemoryProblem(false, false), undefined);
  assert.match(postcopyCapabilityProblem(true, { events: true })?.message ?? '', /postcopy-ram capability on both sides/);
  assert.equal(postcopyCapabilityProblem(true, { 'postcopy-ram': true }), undefined);

  const dir = mkdtempSync(join(tmpdir(), 'qmw-pre-'));
  const server = createServer();
  try {
    assert.equal(await socketPathProblem(join(dir, 'free.sock'), 'bridge socket'), undefined);
    assert.match((await socketPathProblem(join(dir, `${'x'.repeat(120)}.sock`), 'bridge socket'))?.message ?? '', /bytes long, more than the 107 bytes/);
    assert.match((await socketPathProblem(join(dir, 'a,b.sock'), 'bridge socket'))?.message ?? '', /split at commas/);
    writeFileSync(join(dir, 'file.sock'), '');
    assert.match((await socketPathProblem(join(dir, 'file.sock'), 'bridge socket'))?.message ?? '', /is a file, not a socket/);
    const busy = join(dir, 'busy.sock');
    await new Promise<void>((r) => server.listen(busy, () => r()));
    assert.match((await socketPathProblem(busy, 'bridge socket'))?.message ?? '', /is in use: another process listens on it/);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});
