import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parameterRaw, parameterText } from './parameterText';

test('migration parameters read with their units', () => {
  assert.equal(parameterText('xbzrle-cache-size', 67108864), '64 MiB');
  assert.equal(parameterText('max-bandwidth', 32 * 1024 * 1024), '32 MiB/s');
  assert.equal(parameterText('max-bandwidth', 134217728 / 3), '42.7 MiB/s');
  assert.equal(parameterText('downtime-limit', 300), '300 ms');
  assert.equal(parameterText('x-checkpoint-delay', 20000), '20 s', 'a duration in the unit its size calls for');
  assert.equal(parameterText('cpu-throttle-initial', 20), '20 %');
  assert.equal(parameterText('multifd-channels', 2), '2');
  assert.equal(parameterText('block-incremental', false), 'off');
  assert.equal(parameterText('tls-creds', ''), '(empty)');
  assert.equal(parameterText('multifd-compression', 'none'), 'none');
  assert.equal(parameterRaw(67108864), '67108864');
  assert.equal(parameterRaw('zlib'), 'zlib');
});
