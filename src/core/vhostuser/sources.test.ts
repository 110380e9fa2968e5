import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyBackendLine, looksLikeBackendLog, panicCause, parseBackendLog } from './backendLog';
import { classifyQemuLine, parseQemuStderr } from './qemuStderr';
import { bridgeRecording } from './testSupport';

test('the bridge log of a real run: listening, ready, connected, the PANIC, the socket dropped', () => {
  const text = bridgeRecording('qemu1002-bridge-postcopy', 'dst-bridge.log');
  const log = parseBackendLog(text);
  assert.deepEqual(log.lines.map((l) => l.kind), ['listening', 'ready', 'connected', 'socket-removed', 'panic', 'socket-removed']);
  // The socket and the UDP port are the run's own (each recording has others): the ones its lines name.
  assert.equal(log.lines[0]?.address, /^Waiting for connections on UNIX socket (\S+) \.\.\.$/m.exec(text)?.[1]);
  assert.match(log.lines[0]?.address ?? '', /\/dst-[\w-]+\.sock$/);
  assert.equal(log.lines[1]?.address, /^Waiting for data from udp backend on (\S+)\.\.\.$/m.exec(text)?.[1]);
  assert.match(log.lines[1]?.address ?? '', /^127\.0\.0\.1:\d+$/);
  assert.equal(log.lines[2]?.fd, 5);
  assert.equal(log.panic?.reason, 'VHOST_USER_ADD_MEM_REG received 0 fds - only 1 fd should be sent for this message type');
  assert.equal(log.panic?.line, 11);
  assert.ok(looksLikeBackendLog(bridgeRecording('qemu1002-bridge-precopy', 'src-bridge.log')));
  assert.ok(!looksLikeBackendLog(bridgeRecording('qemu1002-bridge-precopy', 'src-trace.log')));
});

test('back-end lines: perror() failures, usage, control characters; ordinary output is not classified', () => {
  assert.deepEqual(classifyBackendLine('bind: Address already in use'), { kind: 'error', reason: 'bind: Address already in use' });
  assert.deepEqual(classifyBackendLine('connect: Connection refused\r'), { kind: 'error', reason: 'connect: Connection refused' });
  assert.equal(classifyBackendLine('Usage: /x/tests/vhost-user-bridge [-c] [-H] [-u ud_socket_path] [-l lhost:lport] [-r rhost:rport]')?.kind, 'error');
  assert.equal(classifyBackendLine('PANIC: \u001b[31mbad\u0007')?.reason, '[31mbad');
  assert.equal(classifyBackendLine('TX:: 0000: 00 00 00 00'), undefined);
  assert.equal(classifyBackendLine('Added sock 3 for watching. max_sock: 3'), undefined);
});

test('PANIC reasons name the message they are about', () => {
  assert.deepEqual(panicCause('VHOST_USER_ADD_MEM_REG received 0 fds - only 1 fd should be sent for this message type'), { message: 'VHOST_USER_ADD_MEM_REG', kind: 'fd-count', fds: 0 });
  assert.deepEqual(panicCause("virtio legacy devices aren't supported by libvhost-user"), { message: 'VHOST_USER_SET_FEATURES', kind: 'legacy-virtio' });
  assert.deepEqual(panicCause('Userfaultfd not available: Operation not permitted'), { message: 'VHOST_USER_POSTCOPY_ADVISE', kind: 'postcopy' });
  assert.deepEqual(panicCause('Error while recvmsg: Connection reset by peer'), { message: undefined, kind: 'connection' });
  assert.deepEqual(panicCause('VHOST_USER_REM_MEM_REG requires a message size of at least 40 bytes and only 8 bytes were received'), { message: 'VHOST_USER_REM_MEM_REG', kind: 'payload' });
  assert.deepEqual(panicCause('something else'), { message: undefined, kind: 'other' });
});

test('QEMU stderr: error reports with and without the -msg timestamp=on prefix, warnings, the fallback', () => {
  const lines = parseQemuStderr(bridgeRecording('qemu1002-bridge-legacy', 'src-qemu-stderr.log'));
  assert.deepEqual(lines.map((l) => [l.kind, l.severity]), [
    ['vhost-request-failed', 'error'], ['vhost-request-failed', 'error'], ['vhost-fallback', 'error'], ['vhost-request-failed', 'error'], ['other', 'info'],
  ]);
  // The errno is the run's: EIO when QEMU read the closed socket first, EINVAL when it wrote first.
  assert.match(lines[2]?.message ?? '', /^unable to start vhost net: (5|22): falling back on userspace virtio$/);
  assert.equal(lines[2]?.time, lines[2]?.text.slice(0, 27));
  assert.equal(lines[2]?.program, 'qemu-system-x86_64');
  assert.deepEqual(classifyQemuLine("qemu-system-x86_64: -chardev socket,id=c0,path=/t/vh.sock: Failed to connect to '/t/vh.sock': Connection refused"), {
    time: undefined, program: 'qemu-system-x86_64', severity: 'error', kind: 'chardev',
    message: "-chardev socket,id=c0,path=/t/vh.sock: Failed to connect to '/t/vh.sock': Connection refused",
    text: "qemu-system-x86_64: -chardev socket,id=c0,path=/t/vh.sock: Failed to connect to '/t/vh.sock': Connection refused",
  });
  assert.equal(classifyQemuLine('2026-12-02T00:45:22.317755Z qemu-system-x86_64: warning: host doesn\'t support requested feature')?.severity, 'warning');
  assert.equal(classifyQemuLine('Vhost user backend fails to broadcast fake RARP'), undefined);
});
