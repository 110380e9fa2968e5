import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { builtinCatalogue } from './catalogues/index';
import { followTrace, type FollowReset } from './follow';

const tmp = mkdtempSync(join(tmpdir(), 'qmw-follow-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const line = (ch: number, n: number): string => `100@1700000000.${String(n).padStart(6, '0')}:multifd_send_fill channel ${ch} packet_num ${n} flags 0x0 next packet size 0\n`;

async function until(cond: () => boolean, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('follow mode', () => {
  it('delivers appended events, half-written lines once complete, and survives truncation and replacement', async () => {
    const path = join(tmp, 'trace.log');
    writeFileSync(path, line(0, 1) + line(1, 2));
    const got: [number, number][] = [];
    const resets: FollowReset[] = [];
    const times: number[] = [];
    const ac = new AbortController();
    const done = followTrace(path, builtinCatalogue('10.2.50'), {
      signal: ac.signal,
      intervalMs: 20,
      onReset: (r) => resets.push(r),
      onBatch: (store) => {
        const t = store.table('multifd_send_fill');
        for (let i = 0; i < (t?.count ?? 0); i++) { got.push([t!.line(i), t!.value(i, 1) as number]); times.push(t!.time(i)); }
      },
    });
    await until(() => got.length === 2, 'initial events');
    const third = line(2, 3);
    appendFileSync(path, third.slice(0, 20));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.length, 2);
    appendFileSync(path, third.slice(20) + line(3, 4));
    await until(() => got.length === 4, 'appended events');
    assert.deepEqual(got, [[1, 1], [2, 2], [3, 3], [4, 4]]);
    // Batches share one time base: microseconds 1..4 after the first event's second.
    assert.deepEqual(times, [0, 1000, 2000, 3000]);

    truncateSync(path, 0);
    await new Promise((r) => setTimeout(r, 100));
    appendFileSync(path, line(0, 10));
    await until(() => got.length === 5, 'event after truncation');
    assert.deepEqual(got[4], [1, 10]);
    assert.deepEqual(resets, ['truncated']);

    const next = join(tmp, 'trace.log.new');
    writeFileSync(next, line(1, 20) + line(1, 21));
    renameSync(next, path);
    await until(() => got.length === 7, 'events of the replacement file');
    assert.deepEqual(got.slice(5), [[1, 20], [2, 21]]);
    assert.deepEqual(resets, ['truncated', 'replaced']);

    // Rewritten in place (same inode) with more bytes than were read: the changed tail gives it away.
    writeFileSync(path, line(3, 30) + line(3, 31) + line(3, 32));
    await until(() => got.length === 10, 'events of the rewritten file');
    assert.deepEqual(got.slice(7), [[1, 30], [2, 31], [3, 32]]);
    assert.deepEqual(resets, ['truncated', 'replaced', 'truncated']);
    ac.abort();
    await done;
  });
});
