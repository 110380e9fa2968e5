// QMP monitoring under load: two connections polled every 20 ms each plus 1,000 events a
// second, against the scripted QMP peer (a test double in a child process, so its own work is not
// measured). Reports event-loop delay and heap growth, next to an idle baseline in the same run.
// Usage: node --import tsx bench/qmp.bench.ts [--seconds 20]   (or: npm run bench qmp)
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { QmpClient } from '../src/core/qmp/client';
import { MigrationMonitor, migrationSummaryForBench } from './qmpBenchSupport';
import { FakeMonitorPeer, progressReplies } from '../src/core/monitor/testing/fakeMonitorPeer';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

async function peerMode(): Promise<void> {
  const peers = await Promise.all([FakeMonitorPeer.start(), FakeMonitorPeer.start()]);
  for (const p of peers) {
    p.state.status = 'active';
    p.state.progress = progressReplies(50);
  }
  // 10 events every 10 ms across both peers: 1,000 events per second.
  let pass = 0;
  const pump = setInterval(() => {
    for (const p of peers) for (const c of p.peer.connections) if (c.isOpen) for (let i = 0; i < 5; i++) c.event('MIGRATION_PASS', { pass: pass++ });
  }, 10);
  process.stdout.write(JSON.stringify(peers.map((p) => p.path)) + '\n');
  process.stdin.resume();
  process.stdin.once('end', () => {
    clearInterval(pump);
    void Promise.all(peers.map((p) => p.close())).then(() => process.exit(0));
  });
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

interface Delay {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

async function measureDelay(ms: number, during?: () => void): Promise<Delay> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const tick = during ? setInterval(during, 1000) : undefined;
  await new Promise((r) => setTimeout(r, ms));
  clearInterval(tick);
  h.disable();
  const ms1 = (n: number): number => n / 1e6;
  return { p50: ms1(h.percentile(50)), p99: ms1(h.percentile(99)), max: ms1(h.max), mean: ms1(h.mean) };
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 20);
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--peers'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  const paths = JSON.parse(first) as string[];
  try {
    gc();
    const baseline = await measureDelay(Math.min(10, seconds) * 1000);

    const monitors = await Promise.all(paths.map(async (p) => MigrationMonitor.attach(await QmpClient.connect(p), { fastPollMs: 20, slowPollMs: 2000 })));
    let changes = 0;
    for (const m of monitors) m.onChange(() => {
      changes++;
      migrationSummaryForBench(m);
    });
    await new Promise((r) => setTimeout(r, 3000));
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    const commands0 = monitors.reduce((n, m) => n + m.timings.total, 0);
    const events0 = monitors.reduce((n, m) => n + m.events.total, 0);
    const polls0 = monitors.map((m) => m.pollStats.polls);
    const skipped0 = monitors.map((m) => m.pollStats.skipped);
    const heaps: number[] = [];
    const t0 = performance.now();
    const load = await measureDelay(seconds * 1000, () => heaps.push(process.memoryUsage().heapUsed));
    const elapsed = (performance.now() - t0) / 1000;
    gc();
    const heap1 = process.memoryUsage().heapUsed;
    const polls = monitors.reduce((n, m) => n + m.timings.total, 0) - commands0;
    const pollRates = monitors.map((m, i) => (m.pollStats.polls - (polls0[i] ?? 0)) / elapsed);
    const skipped = monitors.map((m, i) => m.pollStats.skipped - (skipped0[i] ?? 0));
    const events = monitors.reduce((n, m) => n + m.events.total, 0) - events0;
    for (const m of monitors) {
      m.dispose();
      await m.client.close();
    }
    const f = (d: Delay): string => `p50 ${d.p50.toFixed(1)} ms, p99 ${d.p99.toFixed(1)} ms, max ${d.max.toFixed(1)} ms, mean ${d.mean.toFixed(2)} ms`;
    console.log(`node ${process.version}, ${seconds} s under load`);
    console.log(`query-migrate polls: ${pollRates.map((r) => `${r.toFixed(1)}/s`).join(' and ')} (goal 50/s each at a 20 ms cadence); ticks skipped behind a late reply: ${skipped.join(' and ')}`);
    console.log(`commands answered: ${(polls / elapsed).toFixed(1)}/s over 2 connections (the polls plus query-status and query-jobs every 2 s)`);
    console.log(`events received:   ${(events / elapsed).toFixed(0)}/s (goal 1,000/s); change notifications ${(changes / elapsed).toFixed(1)}/s`);
    console.log(`event-loop delay, idle baseline: ${f(baseline)}`);
    console.log(`event-loop delay, under load:    ${f(load)}  (p99 ${(load.p99 / baseline.p99).toFixed(2)}x baseline)`);
    console.log(`heap after GC: ${(heap0 / 1048576).toFixed(1)} MiB -> ${(heap1 / 1048576).toFixed(1)} MiB (${((heap1 - heap0) / 1024).toFixed(0)} KiB growth); peak sampled ${(Math.max(...heaps) / 1048576).toFixed(1)} MiB`);
  } finally {
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
  }
}

if (process.argv.includes('--peers')) void peerMode();
else void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
