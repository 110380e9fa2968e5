// Cleanup scopes (no VS Code): what a scope holds ends with it, children first, newest first;
// tracked work is awaited with a bound; a failing disposal does not stop the others.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Scope } from './scope';

test('disposing a scope aborts its signal and ends what it holds, newest first, children too', () => {
  const order: string[] = [];
  const root = new Scope('extension');
  root.add({ dispose: () => order.push('first') });
  const panel = root.child('panel');
  panel.onDispose(() => order.push('panel listener'));
  const signals = [root.signal, panel.signal];
  root.onDispose(() => order.push('last'));
  root.dispose();
  assert.deepEqual(order, ['last', 'panel listener', 'first']);
  assert.ok(signals.every((s) => s.aborted), 'both signals aborted');
  root.dispose();
  assert.equal(order.length, 3, 'a second dispose does nothing');
  const late: string[] = [];
  root.add({ dispose: () => late.push('added after') });
  assert.deepEqual(late, ['added after'], 'what is added to an ended scope ends at once');
});

test('a child disposed on its own leaves its parent\'s list', () => {
  const root = new Scope('extension');
  let ended = 0;
  for (let i = 0; i < 100; i++) { const c = root.child(`panel ${i}`); c.onDispose(() => ended++); c.dispose(); }
  assert.equal(ended, 100);
  root.dispose();
  assert.equal(ended, 100, 'nothing disposed twice: the closed panels were no longer held');
});

test('settled waits for tracked work, up to its bound', async () => {
  const root = new Scope('extension');
  let finish!: () => void;
  root.track(new Promise<void>((r) => { finish = r; }));
  root.track(Promise.reject(new Error('a failed run counts as ended')));
  assert.equal(await root.settled(20), false, 'still running after the bound');
  finish();
  assert.equal(await root.settled(1000), true);
});

test('a disposal that throws does not keep the others from running', () => {
  const root = new Scope('extension');
  let ran = 0;
  root.onDispose(() => ran++);
  root.onDispose(() => { throw new Error('broken'); });
  root.onDispose(() => ran++);
  assert.throws(() => root.dispose(), /disposing extension: 1 failed/);
  assert.equal(ran, 2);
});
