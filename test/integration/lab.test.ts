/**
 * The migration lab against real QEMU 7.2 and real DPDK testpmd: each scenario migrates the lab
 * guest between two QEMUs on this host, and the recording must show what the scenario is about.
 * Runs take ~10-30 s each (firmware under emulated KVM dominates); the file stays under ~2 min.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireComponent } from '../support/components';
import { assertFiguresEqualQueryMigrate } from '../support/figures';
import { LabAbortedError, LabMissingBinaryError } from '../../src/core/lab/errors';
import { runLab } from '../../src/core/lab/runner';
import type { LabResult, LabScenario } from '../../src/core/lab/types';
import type { ScenarioRecord } from '../../src/core/lab/record';
import { findExecutable } from '../../src/core/lab/process';
import { processAlive as alive } from '../support/processes';

const hasQemu = findExecutable('qemu-system-x86_64') !== undefined;
const hasNasm = findExecutable('nasm') !== undefined;
const hasTestpmd = findExecutable('dpdk-testpmd') !== undefined;

function needs(t: TestContext, testpmd = false): boolean {
  return (
    requireComponent(t, 'qemu-system-x86_64', hasQemu) &&
    requireComponent(t, 'nasm', hasNasm) &&
    (!testpmd || requireComponent(t, 'dpdk-testpmd', hasTestpmd))
  );
}

function outDir(t: TestContext, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `qmig-lab-it-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function read(path: string): string {
  return readFileSync(path, 'utf8');
}

function scenarioJson(dir: string): ScenarioRecord {
  return JSON.parse(read(join(dir, 'scenario.json'))) as ScenarioRecord;
}


/**
 * What a postcopy run did, for a failure message: the switch, QEMU's own postcopy figures, the
 * destination's postcopy trace events by count and the end of its guest's console (the trace
 * itself is too long for a message).
 */
function postcopyDiagnosis(dir: string, rec: ScenarioRecord, r: LabResult): string {
  const counts = new Map<string, number>();
  for (const m of read(join(dir, 'dst-trace.log')).matchAll(/^\d+@[\d.]+:(postcopy_\w+)/gm)) {
    counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
  }
  const guest = read(join(dir, 'dst-guest.log')).trim().split('\n').slice(-3).join(' | ');
  return [
    `switch ${JSON.stringify(rec.postcopy)}`,
    `source ram ${JSON.stringify(r.finalQueryMigrate.src?.ram)}`,
    `destination postcopy-blocktime ${String(r.finalQueryMigrate.dst?.['postcopy-blocktime'])}`,
    `destination postcopy events ${JSON.stringify(Object.fromEntries(counts))}`,
    `destination guest console ends '${guest}'`,
  ].join('; ');
}

/** Nothing of the run may survive it: no process, no temporary directory, no DPDK runtime dir. */
function assertCleanedUp(rec: ScenarioRecord): void {
  const pids = rec.processes.flatMap((p) => (p.pid !== undefined ? [p.pid] : []));
  assert.ok(pids.length > 0, 'scenario.json lists the processes with their pids');
  for (const p of rec.processes) {
    if (p.pid !== undefined) assert.equal(alive(p.pid), false, `${p.role} (pid ${p.pid}) still runs`);
  }
  assert.ok(rec.tempDir, 'scenario.json names the temp dir');
  assert.equal(existsSync(rec.tempDir), false, `${rec.tempDir} was not removed`);
  for (const p of rec.processes.filter((x) => x.role.endsWith('testpmd'))) {
    const prefix = p.argv.find((a) => a.startsWith('--file-prefix='))?.slice('--file-prefix='.length);
    assert.ok(prefix);
    assert.equal(existsSync(`/var/run/dpdk/${prefix}`), false, `DPDK runtime dir of ${prefix} left behind`);
  }
}

/** Checks shared by every completed scenario. */
function assertCompletedRecording(r: LabResult, scenario: LabScenario): ScenarioRecord {
  assert.equal(r.status, 'completed');
  assert.equal(r.finalQueryMigrate.src?.status, 'completed');
  assert.equal(r.finalQueryMigrate.dst?.status, 'completed');
  for (const f of ['final-query-migrate-src.json', 'final-query-migrate-dst.json']) {
    const info = JSON.parse(read(join(r.outDir, f))) as { status: string };
    assert.equal(info.status, 'completed', f);
  }

  const rec = scenarioJson(r.outDir);
  assert.equal(rec.scenario, scenario);
  assert.equal(rec.status, 'completed');
  assert.match(rec.qemu.version ?? '', /^\d+\.\d+\.\d+$/);
  assert.ok(rec.qemu.accelerator === 'kvm' || rec.qemu.accelerator === 'tcg');
  assert.ok(Date.parse(rec.startTime) <= Date.parse(rec.endTime ?? ''));
  assert.deepEqual(rec.capabilities, { ...rec.capabilities, events: true });
  assert.ok(Object.keys(rec.parameters).length > 0);
  for (const role of ['nasm', 'src-qemu', 'dst-qemu']) {
    const p = rec.processes.find((x) => x.role === role);
    assert.ok(p && p.argv.length > 3, `argv of ${role}`);
  }
  const dstArgv = rec.processes.find((x) => x.role === 'dst-qemu')?.argv ?? [];
  assert.equal(dstArgv[dstArgv.indexOf('-incoming') + 1], 'defer');
  assert.equal(rec.destinationRunning, true);

  // The guest booted (its ready line, with the zero share asked for) and ran on the destination.
  assert.match(read(join(r.outDir, 'src-guest.log')), /qmig-guest: ready rate=\d+ zero=4\/16 pages=\d+/);

  // qmp.jsonl: commands, replies and events of both sides, timestamped.
  const lines = read(join(r.outDir, 'qmp.jsonl')).trim().split('\n').map((l) => JSON.parse(l) as {
    time: string; ms: number; side: string; kind: string; message: Record<string, unknown>;
  });
  for (const side of ['src', 'dst']) {
    for (const kind of ['greeting', 'command', 'reply', 'event']) {
      assert.ok(lines.some((l) => l.side === side && l.kind === kind), `qmp.jsonl has a ${side} ${kind}`);
    }
  }
  assert.ok(lines.every((l) => Date.parse(l.time) === l.ms));
  assert.ok(lines.some((l) => l.side === 'src' && l.message['execute'] === 'migrate'));
  assert.ok(lines.some((l) => l.side === 'dst' && l.message['execute'] === 'migrate-incoming'));
  assert.ok(lines.some((l) => l.side === 'src' && l.message['event'] === 'MIGRATION'));

  assertCleanedUp(rec);
  return rec;
}

/** Names of the channels (`channel N`) that an event was traced on. */
function channels(trace: string, event: string): Set<string> {
  const re = new RegExp(`:${event} channel (\\d+) `, 'g');
  return new Set([...trace.matchAll(re)].map((m) => m[1] ?? ''));
}

test('precopy-multifd: 4 channels carry pages both ways over several passes', { timeout: 90_000 }, async (t) => {
  if (!needs(t)) return;
  const dir = outDir(t, 'precopy');
  const r = await runLab({ scenario: 'precopy-multifd', outDir: dir });
  assertCompletedRecording(r, 'precopy-multifd');
  // dirty-sync-count: one sync at setup, one per pass after it; >= 3 means more than one pass.
  assert.ok((r.finalQueryMigrate.src?.ram?.['dirty-sync-count'] ?? 0) >= 3, 'several precopy passes');
  const src = read(join(dir, 'src-trace.log'));
  const dst = read(join(dir, 'dst-trace.log'));
  assert.deepEqual([...channels(src, 'multifd_send')].sort(), ['0', '1', '2', '3']);
  assert.deepEqual([...channels(dst, 'multifd_recv')].sort(), ['0', '1', '2', '3']);
  assert.ok((src.match(/:migration_bitmap_sync_end /g) ?? []).length >= 3);
  assert.match(src.split('\n')[0] ?? '', /^\d+@\d+\.\d{6}:\w+/, 'trace lines carry -msg timestamp=on prefixes');
  // The workbench's figures of this recording equal QEMU's own and the raw lines.
  await assertFiguresEqualQueryMigrate(dir);
});

test('postcopy: the destination faults pages in and places them', { timeout: 90_000 }, async (t) => {
  if (!needs(t)) return;
  const dir = outDir(t, 'postcopy');
  const r = await runLab({ scenario: 'postcopy', outDir: dir });
  const rec = assertCompletedRecording(r, 'postcopy');
  assert.equal(rec.postcopy?.switched, true);
  const dst = read(join(dir, 'dst-trace.log'));
  const faults = dst.match(/:postcopy_ram_fault_thread_request Request for HVA=0x[0-9a-f]+ rb=pc\.ram /g)?.length ?? 0;
  assert.ok(faults > 0, `the destination traced no fault on pc.ram; ${postcopyDiagnosis(dir, rec, r)}`);
  assert.match(dst, /:postcopy_place_page host=0x/);
  assert.ok((r.finalQueryMigrate.src?.ram?.['postcopy-requests'] ?? 0) > 0);
  assert.equal(typeof r.finalQueryMigrate.dst?.['postcopy-blocktime'], 'number');
  await assertFiguresEqualQueryMigrate(dir);
});

test('postcopy-vhost-user: DPDK back-ends on both sides get ADVISE, LISTEN, END in order', { timeout: 120_000 }, async (t) => {
  if (!needs(t, true)) return;
  const dir = outDir(t, 'vhost');
  const r = await runLab({ scenario: 'postcopy-vhost-user', outDir: dir });
  const rec = assertCompletedRecording(r, 'postcopy-vhost-user');
  assert.match(rec.dpdk?.version ?? '', /^DPDK \d+\.\d+/);
  assert.ok(rec.processes.some((p) => p.role === 'src-testpmd') && rec.processes.some((p) => p.role === 'dst-testpmd'));
  const dst = read(join(dir, 'dst-trace.log'));
  const at = (req: number): number => dst.search(new RegExp(`:vhost_user_write req:${req} `));
  const [advise, listen, end] = [at(28), at(29), at(30)];
  assert.ok(advise >= 0 && listen > advise && end > listen, `req:28 (${advise}) < req:29 (${listen}) < req:30 (${end})`);
  assert.match(dst, /:postcopy_ram_fault_thread_request /);
  assert.match(read(join(dir, 'dst-testpmd.log')), /read message VHOST_USER_POSTCOPY_ADVISE/);
  assert.ok(existsSync(join(dir, 'src-testpmd.log')));
});

test('a missing QEMU binary fails before anything starts, naming the binary and the setting', async (t) => {
  const dir = outDir(t, 'missing');
  await assert.rejects(
    runLab({ scenario: 'postcopy', outDir: dir, qemu: '/nonexistent/bin/qemu-system-x86_64' }),
    (e: unknown) => {
      assert.ok(e instanceof LabMissingBinaryError);
      assert.match(e.message, /QEMU binary '\/nonexistent\/bin\/qemu-system-x86_64' was not found/);
      assert.match(e.message, /--qemu 7\.2\|10\.0\|PATH \(LabOptions\.qemu\)/);
      assert.equal(e.result?.status, 'failed');
      return true;
    },
  );
  const rec = scenarioJson(dir);
  assert.equal(rec.status, 'failed');
  assert.equal(rec.processes.length, 0);
});

test('aborting mid-migration ends every process and removes the temp dir', { timeout: 90_000 }, async (t) => {
  if (!needs(t)) return;
  const dir = outDir(t, 'abort');
  const ac = new AbortController();
  const steps: string[] = [];
  const run = runLab(
    { scenario: 'postcopy', outDir: dir, postcopyAfterMs: 60_000 },
    {
      signal: ac.signal,
      progress: (s) => {
        steps.push(s);
        // Precopy is running and postcopy is a minute away: abort in the middle of it.
        if (s.startsWith('migrate-start-postcopy')) setTimeout(() => ac.abort(), 300);
      },
    },
  );
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof LabAbortedError, String(e));
    assert.equal(e.step, 'migrate-start-postcopy');
    return true;
  });
  assert.equal(steps.at(-1), 'teardown');
  const rec = scenarioJson(dir);
  assert.equal(rec.status, 'aborted');
  assertCleanedUp(rec);
  const qmp = read(join(dir, 'qmp.jsonl'));
  assert.match(qmp, /"execute":"migrate"/, 'the migration had started');
});
