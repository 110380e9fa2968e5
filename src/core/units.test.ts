import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byteUnit, formatByteRate, formatBytes, formatCount, formatDuration, formatDurationDiff, formatMbps, formatMicros, formatMillis, formatSeconds, formatTimeAt, timeScale } from './units';

test('durations take the unit their size calls for', () => {
  assert.deepEqual([850, 7_000, 12_361_000, 16_575_000, 88_606_000, 2_644_600_000, 125e9, 3780e9].map(formatDuration),
    ['850 ns', '7 µs', '12.4 ms', '16.6 ms', '88.6 ms', '2.64 s', '2 min 5 s', '1 h 3 min']);
  assert.deepEqual([9e6, 2e9, 0.6e6, -1.2e6, 12_145.2e6, 0].map(formatDurationDiff), ['+9 ms', '+2 s', '+600 µs', '−1.20 ms', '+12.1 s', '±0 ms']);
  assert.deepEqual([0, 7, 445, 999, 1000, 26403, 290_000, 1_250_000, null].map(formatMicros), ['0 µs', '7 µs', '445 µs', '999 µs', '1 ms', '26.4 ms', '290 ms', '1.25 s', 'n/a']);
  assert.equal(formatMillis(603), '603 ms');
  assert.equal(formatMillis(1844), '1.84 s');
  assert.equal(formatSeconds(undefined), 'n/a');
  assert.equal(formatDuration(-4_260_000), '−4.26 ms');
});

test('positions on an axis share the unit of the visible span, with the decimals the step needs', () => {
  const axis = timeScale(2.7e9, 0.2e9);
  assert.deepEqual([0, 0.2e9, 2.4e9].map((t) => formatTimeAt(t, axis)), ['0.0 s', '0.2 s', '2.4 s']);
  // A selection of 152 ms on that axis is still in seconds, to the resolution of a pixel (3 ms).
  const px = timeScale(2.7e9, 3e6);
  assert.equal(`${formatTimeAt(1.2043e9, px)} – ${formatTimeAt(1.3563e9, px)}`, '1.204 s – 1.356 s');
  assert.equal(formatTimeAt(45e6, timeScale(80e6, 10e6)), '45 ms');
  assert.equal(formatTimeAt(-1e6, timeScale(80e6, 10e6)), '−1 ms');
});

test('bytes, byte rates and bit rates in binary and SI units', () => {
  assert.deepEqual([512, 1344, 105_436_096, 2 * 2 ** 30, null].map(formatBytes), ['512 B', '1.31 KiB', '100.6 MiB', '2 GiB', 'n/a']);
  assert.equal(formatByteRate(33_554_432), '32 MiB/s');
  assert.equal(formatByteRate(36.8e6), '35.1 MiB/s');
  assert.deepEqual(byteUnit(300 * 2 ** 20), { unit: 'MiB', per: 2 ** 20 });
  assert.equal(formatMbps(322.27), '322 Mbit/s');
  assert.equal(formatMbps(1200), '1.20 Gbit/s');
  assert.equal(formatCount(286_904.4), '286,904');
});
