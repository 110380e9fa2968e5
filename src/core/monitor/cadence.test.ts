import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QmpClient } from '../qmp/client';
import { nextPollAt, skippedTicks, type PollClock } from './cadence';
import { MigrationMonitor } from './monitor';
import { FakeMonitorPeer, progressReplies } from './testing/fakeMonitorPeer';

/** A clock that moves only when told to, firing the timers that fall due on the way. */
class FakeClock implements PollClock {
  t = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    if (typeof handle === 'number') this.timers.delete(handle);
  }

  /** Due times of the armed timers. */
  pending(): number[] {
    return [...this.timers.values()].map((x) => x.at).sort((a, b) => a - b);
  }

  /** Moves the clock on by `ms`; with `early`, timers fire that much before they are due (as libuv's can). */
  advance(ms: number, early = 0): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at - early <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at - early);
      due[1].fn();
    }
    this.t = end;
  }
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

test('next poll falls on the grid of the previous start, skipping ticks a slow reply overran', () => {
  assert.equal(nextPollAt(1000, 20, 1003), 1020, 'a quick reply: one interval after the previous start, not after the reply');
  assert.equal(nextPollAt(1000, 20, 1020), 1020, 'a reply exactly on the tick: poll at once');
  assert.equal(nextPollAt(1000, 20, 1021), 1040, 'one tick overrun: it is skipped');
  assert.equal(nextPollAt(1000, 20, 1095), 1100);
  assert.equal(nextPollAt(1000, 20, 1000), 1020, 'never twice on the same tick');
  assert.equal(skippedTicks(1000, 20, 1020), 0);
  assert.equal(skippedTicks(1000, 20, 1100), 4);
  assert.equal(nextPollAt(1000, 0, 1005), 1005);
  // 50 polls each answered in 7 ms at a 20 ms interval start exactly 20 ms apart: 50 per second.
  let start = 0;
  const starts: number[] = [];
  for (let i = 0; i < 50; i++) {
    starts.push(start);
    start = nextPollAt(start, 20, start + 7);
  }
  assert.equal(starts[49], 980);
  assert.equal(start, 1000);
});

test('the monitor polls at a fixed cadence on a fake clock and never stacks polls behind a slow reply', async (t) => {
  const peer = await FakeMonitorPeer.start();
  peer.state.status = 'active';
  peer.state.progress = progressReplies(100_000);
  const clock = new FakeClock();
  const client = await QmpClient.connect(peer.path);
  const m = await MigrationMonitor.attach(client, { fastPollMs: 20, slowPollMs: 1_000_000, changeDelayMs: 5, clock });
  t.after(async () => {
    m.dispose();
    await client.close();
    await peer.close();
  });
  const polls = (): number => peer.commands.filter((c) => c === 'query-migrate').length;
  // A poll has finished once it armed the timer of the next one.
  const settled = (): Promise<void> => until('the poll to finish', () => clock.pending().length > 0);

  assert.deepEqual(clock.pending(), [0], 'attach asks for a poll at once');
  const before = polls();
  clock.advance(0);
  await settled();
  for (let i = 1; i < 50; i++) {
    assert.deepEqual(clock.pending(), [i * 20], `poll ${i} due one interval after poll ${i - 1} started`);
    clock.advance(20);
    await settled();
  }
  assert.equal(polls() - before, 50, '50 polls in one second of clock time at 20 ms');
  assert.equal(m.status, 'active');
  assert.equal(m.pollStats.skipped, 0);
  assert.deepEqual(clock.pending(), [1000]);

  // A reply that takes 100 ms: the ticks at 1020..1080 pass without a second query-migrate.
  const release = peer.holdReplies('query-migrate');
  clock.advance(20);
  await until('the held poll reaches the peer', () => polls() - before === 51);
  for (let i = 0; i < 5; i++) {
    clock.advance(20);
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(clock.pending(), [], 'no timer armed while a poll is outstanding');
  }
  assert.equal(polls() - before, 51, 'ticks skipped, not queued');
  release();
  await settled();
  assert.deepEqual(clock.pending(), [1100], 'the reply came on the 1100 tick: poll at once');
  assert.equal(m.pollStats.skipped, 4);

  // A reply 10 ms late keeps the grid: the next poll is at 1120, not 1110 + 20.
  const release2 = peer.holdReplies('query-migrate');
  clock.advance(0);
  await until('the next held poll reaches the peer', () => polls() - before === 52);
  clock.advance(10);
  release2();
  await settled();
  assert.deepEqual(clock.pending(), [1120]);

  // A timer that fires 0.6 ms early still stands for its tick: no drift towards more polls.
  clock.advance(9.4, 0.6);
  await settled();
  assert.deepEqual(clock.pending(), [1140]);
  assert.equal(polls() - before, 53);
});

test('on a real clock at 20 ms a scripted peer sees no more than one query-migrate outstanding', async (t) => {
  const peer = await FakeMonitorPeer.start();
  peer.state.status = 'active';
  peer.state.progress = progressReplies(100_000);
  let inFlight = 0;
  let maxInFlight = 0;
  const ids = new Set<unknown>();
  const client = await QmpClient.connect(peer.path, {
    onTranscript: (e) => {
      const msg = e.message as Record<string, unknown>;
      if (e.kind === 'command' && msg['execute'] === 'query-migrate') {
        ids.add(msg['id']);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
      } else if ((e.kind === 'reply' || e.kind === 'error') && ids.delete(msg['id'])) inFlight--;
    },
  });
  const m = await MigrationMonitor.attach(client, { fastPollMs: 20, slowPollMs: 1_000_000, changeDelayMs: 5 });
  t.after(async () => {
    m.dispose();
    await client.close();
    await peer.close();
  });
  const p0 = m.pollStats.polls;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 1000));
  const rate = ((m.pollStats.polls - p0) * 1000) / (performance.now() - t0);
  t.diagnostic(`${rate.toFixed(1)} polls/s at 20 ms on a real clock; ${m.pollStats.skipped} ticks skipped`);
  assert.equal(maxInFlight, 1);
  assert.ok(m.pollStats.polls - p0 > 0);
});
