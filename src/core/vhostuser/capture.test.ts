import { test } from 'node:test';
import assert from 'node:assert/strict';
import { straceArgs } from './capture';

test('the capture runs strace with an argument array: full hex payloads, threads followed, socket calls only', () => {
  assert.deepEqual(straceArgs({ pid: 4242, out: '/tmp/a b.txt' }), [
    '-f', '-xx', '-s', '65536', '-e', 'trace=sendmsg,recvmsg,read,write', '-o', '/tmp/a b.txt', '-p', '4242',
  ]);
  assert.throws(() => straceArgs({ pid: 0, out: 'x' }), /not a process id/);
  assert.throws(() => straceArgs({ pid: 1.5, out: 'x' }), /not a process id/);
});
