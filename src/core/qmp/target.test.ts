import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatQmpTarget, parseQmpTarget } from './target';

test('parseQmpTarget accepts unix paths in every spelling', () => {
  assert.deepEqual(parseQmpTarget('/p/sock'), { kind: 'unix', path: '/p/sock' });
  assert.deepEqual(parseQmpTarget('./sock'), { kind: 'unix', path: './sock' });
  assert.deepEqual(parseQmpTarget('q.sock'), { kind: 'unix', path: 'q.sock' });
  assert.deepEqual(parseQmpTarget('unix:/p'), { kind: 'unix', path: '/p' });
  assert.deepEqual(parseQmpTarget('unix:/tmp/q.sock,server=on,wait=off'), { kind: 'unix', path: '/tmp/q.sock' });
  assert.deepEqual(parseQmpTarget('./odd:4444'), { kind: 'unix', path: './odd:4444' });
});

test('parseQmpTarget accepts tcp addresses', () => {
  assert.deepEqual(parseQmpTarget('tcp:localhost:4444'), { kind: 'tcp', host: 'localhost', port: 4444 });
  assert.deepEqual(parseQmpTarget('127.0.0.1:4444'), { kind: 'tcp', host: '127.0.0.1', port: 4444 });
  assert.deepEqual(parseQmpTarget('tcp:[::1]:5555'), { kind: 'tcp', host: '::1', port: 5555 });
  assert.deepEqual(parseQmpTarget('[::1]:5555'), { kind: 'tcp', host: '::1', port: 5555 });
  assert.deepEqual(parseQmpTarget('tcp:h:1,server=on,wait=off'), { kind: 'tcp', host: 'h', port: 1 });
});

test('parseQmpTarget rejects bad addresses with a message naming them', () => {
  assert.throws(() => parseQmpTarget(''), /empty QMP address/);
  assert.throws(() => parseQmpTarget('tcp:host'), /'tcp:host'.*HOST:PORT/);
  assert.throws(() => parseQmpTarget('tcp:host:http'), /port 'http' is not a number/);
  assert.throws(() => parseQmpTarget('tcp:host:70000'), /out of range/);
  assert.throws(() => parseQmpTarget('tcp:::1:4444'), /brackets/);
  assert.throws(() => parseQmpTarget('unix:'), /needs a path/);
});

test('formatQmpTarget round-trips', () => {
  for (const s of ['unix:/a/b', 'tcp:h:1', 'tcp:[::1]:2']) assert.equal(formatQmpTarget(parseQmpTarget(s)), s);
});
