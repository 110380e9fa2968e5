import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linePrefixTimeNs } from './linePrefix';

test('the time in a log line prefix, as epoch nanoseconds', () => {
  assert.equal(linePrefixTimeNs('27236@1795296049.029256:multifd_send_sync_main packet num 4'), 1795296049029256000n);
  assert.equal(linePrefixTimeNs('2026-11-30T08:14:09.029256Z multifd_send_sync_main packet num 4'), BigInt(Date.UTC(2026, 10, 30, 8, 14, 9)) * 1_000_000n + 29256000n);
  assert.equal(linePrefixTimeNs('multifd_send_sync_main packet num 4'), undefined);
  assert.equal(linePrefixTimeNs('qemu-system-x86_64: warning: something'), undefined);
});
