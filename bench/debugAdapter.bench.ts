// The migration debugger against a real QEMU 7.2 pair, through the stand-alone adapter
// (dist/debugAdapter.js, as the protocol tests drive it): attach → threads shown, pause/continue
// round trips, a variables request for both sides, each beside a bare QMP round trip (query-status
// on a second monitor of the same source QEMU) measured in the same run.
// Usage: node --import tsx bench/debugAdapter.bench.ts [--rounds 50]   (or: npm run bench debugAdapter)
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { ManagedProcess } from '../src/core/lab/process';
import { QmpClient } from '../src/core/qmp/client';
import { resolveQemu } from '../src/core/qemu/installs';
import { adapterBuilt, TestDebugClient } from '../test/support/debugClient';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

const f = (xs: number[]): string => `median ${pct(xs, 50).toFixed(1)} ms, p95 ${pct(xs, 95).toFixed(1)} ms`;

async function main(): Promise<void> {
  const rounds = arg('rounds', 50);
  if (!adapterBuilt()) throw new Error('dist/debugAdapter.js is missing: run node esbuild.mjs');
  const qemu = await resolveQemu('7.2');
  const dir = mkdtempSync(join(tmpdir(), 'qmig-dap-bench-'));
  const start = (side: 'src' | 'dst'): ManagedProcess => new ManagedProcess(qemu.binary, [
    '-name', `bench-${side},debug-threads=on`, '-M', 'pc', '-m', '128', '-display', 'none', '-nodefaults', '-no-user-config', '-accel', 'tcg',
    '-qmp', `unix:${join(dir, `${side}.sock`)},server=on,wait=off`, '-qmp', `unix:${join(dir, `${side}-2.sock`)},server=on,wait=off`,
    ...(side === 'dst' ? ['-incoming', 'defer'] : []),
  ], { label: `${side} QEMU` });
  const procs = [start('src'), start('dst')];
  const load0 = loadavg();
  try {
    for (const s of ['src', 'dst', 'src-2', 'dst-2']) while (!existsSync(join(dir, `${s}.sock`))) await new Promise((r) => setTimeout(r, 20));
    const bare = await QmpClient.connect(join(dir, 'src-2.sock'));
    const qmp: number[] = [];
    for (let i = 0; i < rounds * 4; i++) {
      const t0 = performance.now();
      await bare.execute('query-status');
      qmp.push(performance.now() - t0);
    }

    // What a first connection costs QEMU itself: connect, negotiate, read its schema (every attach needs it).
    await bare.close();
    const schema: number[] = [];
    const schemaPair: number[] = [];
    const firstConnection = async (sock: string): Promise<void> => {
      const q = await QmpClient.connect(join(dir, sock));
      await q.execute('query-qmp-schema');
      await q.close();
    };
    for (let i = 0; i < 10; i++) {
      let t0 = performance.now();
      await firstConnection('src-2.sock');
      schema.push(performance.now() - t0);
      // An attach to a pair reads both schemas at once, from two QEMUs sharing the same cores.
      t0 = performance.now();
      await Promise.all([firstConnection('src-2.sock'), firstConnection('dst-2.sock')]);
      schemaPair.push(performance.now() - t0);
    }


    // Attach → threads shown: a fresh adapter each time (started and initialized before timing).
    const attach: number[] = [];
    for (let i = 0; i < 10; i++) {
      const c = await TestDebugClient.start();
      const t0 = performance.now();
      await c.begin('attach', { source: join(dir, 'src.sock'), destination: join(dir, 'dst.sock') });
      const threads = await c.threads();
      attach.push(performance.now() - t0);
      if (threads.length < 2) throw new Error(`only ${threads.length} threads`);
      await c.stop();
    }

    const c = await TestDebugClient.start();
    await c.begin('attach', { source: join(dir, 'src.sock'), destination: join(dir, 'dst.sock') });
    await c.dc.configurationDoneRequest();
    const threads = await c.threads();
    const src = threads.find((t) => t.name.startsWith('source: CPU'));
    const dst = threads.find((t) => t.name.startsWith('destination: CPU'));
    if (!src || !dst) throw new Error('no vCPU threads');

    // Pause → stopped event, continue → continued event.
    const pause: number[] = [];
    const resume: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      const stopped = c.waitFor<DebugProtocol.StoppedEvent>('stopped', (e) => e.body.threadId === src.id, 10_000, c.events.length);
      await c.dc.pauseRequest({ threadId: src.id });
      await stopped;
      const t1 = performance.now();
      const continued = c.waitFor<DebugProtocol.ContinuedEvent>('continued', (e) => e.body.threadId === src.id, 10_000, c.events.length);
      await c.dc.continueRequest({ threadId: src.id });
      await continued;
      pause.push(t1 - t0);
      resume.push(performance.now() - t1);
    }
    const roundTrip = pause.map((p, i) => p + (resume[i] ?? 0));

    // Variables of both sides: the first scope (Migration) of each side's frame, both requested at once;
    // and every scope of both sides.
    const frames = await Promise.all([src, dst].map(async (t) => (await c.dc.stackTraceRequest({ threadId: t.id })).body.stackFrames[0]?.id ?? 0));
    const scopes = await Promise.all(frames.map(async (id) => (await c.dc.scopesRequest({ frameId: id })).body.scopes));
    const first: number[] = [];
    const all: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let t0 = performance.now();
      await Promise.all(scopes.map((s) => c.dc.variablesRequest({ variablesReference: s[0]?.variablesReference ?? 0 })));
      first.push(performance.now() - t0);
      t0 = performance.now();
      await Promise.all(scopes.flat().map((s) => c.dc.variablesRequest({ variablesReference: s.variablesReference })));
      all.push(performance.now() - t0);
    }
    await c.stop();


    const base = pct(qmp, 50);
    const ratio = (xs: number[], p: number): string => `${(pct(xs, p) / base).toFixed(1)}× the bare QMP median`;
    console.log(`QEMU ${qemu.versionText}, node ${process.version}, load average ${load0.map((l) => l.toFixed(2)).join(' ')} at start, ${loadavg().map((l) => l.toFixed(2)).join(' ')} at end`);
    console.log(`bare QMP round trip (query-status, second monitor of the source): ${f(qmp)} over ${qmp.length}`);
    console.log(`bare connect + query-qmp-schema:        ${f(schema)} over ${schema.length}; both QEMUs at once: ${f(schemaPair)}`);
    console.log(`attach to the pair → threads shown:    ${f(attach)} over ${attach.length} (goal < 300 ms; median ${ratio(attach, 50)}, ${(pct(attach, 50) / pct(schemaPair, 50)).toFixed(1)}× the bare connect + schema of both QEMUs at once)`);
    console.log(`pause → stopped:                       ${f(pause)}`);
    console.log(`continue → continued:                  ${f(resume)}`);
    console.log(`pause/continue round trip:             ${f(roundTrip)} over ${rounds} (goal p95 < 50 ms; p95 ${ratio(roundTrip, 95)})`);
    console.log(`variables, Migration scope of both sides: ${f(first)} (goal < 30 ms; p95 ${ratio(first, 95)})`);
    console.log(`variables, all ${scopes.flat().length} scopes of both sides:   ${f(all)} (p95 ${ratio(all, 95)})`);
  } finally {
    await Promise.all(procs.map((p) => p.stop(2000)));
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
