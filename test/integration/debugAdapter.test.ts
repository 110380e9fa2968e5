// The migration debugger at the protocol level: @vscode/debugadapter-testsupport's DebugClient
// drives the stand-alone adapter (dist/debugAdapter.js) against real QEMU 7.2 and 10.0.2 pairs.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGuest, guestCommandLine } from '../../src/core/lab/guest';
import { qemuFixtures } from '../../src/core/trace/testSupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { requireComponent, hasProgram } from '../support/components';
import { adapterBuilt, TestDebugClient } from '../support/debugClient';
import { DebugPair, qemuBuild, testedVersions } from '../support/debugPair';
import { waitFor } from '../support/processes';
import type { QemuInstall } from '../../src/core/qemu/installs';

type Stopped = DebugProtocol.StoppedEvent;

async function needQemu(t: TestContext, version: string): Promise<QemuInstall | undefined> {
  const b = await qemuBuild(version);
  if (!requireComponent(t, `QEMU ${version} (${b.problem})`, b.install !== undefined)) return undefined;
  if (!requireComponent(t, 'the built debug adapter dist/debugAdapter.js (node esbuild.mjs)', adapterBuilt())) return undefined;
  return b.install;
}

async function setUp(t: TestContext, v: string, name: string): Promise<{ pair: DebugPair; c: TestDebugClient } | undefined> {
  const install = await needQemu(t, v);
  if (!install) return undefined;
  const pair = await DebugPair.start(install, name);
  t.after(() => pair.stop());
  const c = await TestDebugClient.start();
  t.after(() => c.stop());
  return { pair, c };
}

function sideThreads(threads: DebugProtocol.Thread[], side: 'source' | 'destination'): DebugProtocol.Thread[] {
  return threads.filter((th) => th.name.startsWith(`${side}: `));
}

/** The top-level members of a console command's reply, each as the debugger shows its value (strings unquoted). */
async function query(c: TestDebugClient, expression: string): Promise<Record<string, string>> {
  const r = await c.dc.evaluateRequest({ expression, context: 'repl' });
  if (r.body.variablesReference === 0) throw new Error(`${expression} gave no structured reply: ${r.body.result}`);
  const vars = (await c.dc.variablesRequest({ variablesReference: r.body.variablesReference })).body.variables;
  return Object.fromEntries(vars.map((x) => [x.name, x.value.replace(/^"(.*)"$/, '$1')]));
}

for (const v of testedVersions) {

  test(`QEMU ${v}: attach, threads, pause and continue, variables of both sides, setVariable, console`, { timeout: 120_000 }, async (t) => {
    const s = await setUp(t, v, `basic${v}`);
    if (!s) return;
    const { pair, c } = s;
    await c.begin('attach', { source: pair.source.socket, destination: pair.destination.socket, label: 'pair' });
    await c.dc.setExceptionBreakpointsRequest({ filters: [] });
    await c.dc.configurationDoneRequest();
    const threads = await c.threads();
    const [srcCpu] = sideThreads(threads, 'source');
    const [dstCpu] = sideThreads(threads, 'destination');
    assert.ok(srcCpu && dstCpu, JSON.stringify(threads));
    assert.match(srcCpu.name, /^source: CPU 0\/TCG \(tid \d+\)$/, 'vCPU thread named as QEMU names it, with its thread id');
    // The destination waits for its incoming migration: its guest is paused.
    const dstStopped = await c.waitFor<Stopped>('stopped', (e) => e.body.threadId === dstCpu.id);
    assert.match(dstStopped.body.description ?? '', /inmigrate/);

    const stopped = c.waitFor<Stopped>('stopped', (e) => e.body.threadId === srcCpu.id && e.body.reason === 'pause');
    await c.dc.pauseRequest({ threadId: srcCpu.id });
    await stopped;
    assert.equal((await query(c, 'query-status'))['status'], 'paused', 'QEMU really paused the source guest');
    const frames = await c.dc.stackTraceRequest({ threadId: srcCpu.id });
    assert.equal(frames.body.stackFrames.length, 1);
    const ref = frames.body.stackFrames[0]?.source?.sourceReference;
    assert.ok(ref !== undefined && ref > 0);
    assert.match((await c.dc.sourceRequest({ sourceReference: ref })).body.content, /^# source QEMU/);

    const continued = c.waitFor<DebugProtocol.ContinuedEvent>('continued', (e) => e.body.threadId === srcCpu.id);
    await c.dc.continueRequest({ threadId: srcCpu.id });
    await continued;
    assert.equal((await query(c, 'query-status'))['status'], 'running');

    // Variables of both sides; a capability that differs is marked on each.
    await c.dc.evaluateRequest({ expression: '@dst migrate-set-capabilities {"capabilities": [{"capability": "xbzrle", "state": true}]}', context: 'repl' });
    const srcCaps = await c.scope(srcCpu.id, 'Capabilities');
    const dstCaps = await c.scope(dstCpu.id, 'Capabilities');
    assert.match(srcCaps.find((x) => x.name === 'xbzrle')?.value ?? '', /^off {2}≠ destination: on$/);
    assert.match(dstCaps.find((x) => x.name === 'xbzrle')?.value ?? '', /^on {2}≠ source: off$/);
    assert.equal(srcCaps.find((x) => x.name === 'multifd')?.value, 'off');
    const mig = await c.scope(srcCpu.id, 'Migration');
    assert.equal(mig.find((x) => x.name === 'status')?.value, '"none"');
    const params = await c.scope(dstCpu.id, 'Parameters');
    assert.ok(params.some((x) => x.name === 'multifd-channels'), 'parameters of the destination');
    const threadVars = await c.scope(srcCpu.id, 'Threads');
    assert.ok(threadVars.some((x) => x.name === 'pid' && Number(x.value) === pair.source.process.pid), 'the pid found through the unix socket is the QEMU we started');

    // setVariable of a capability: QEMU's own state changes; a bad value is refused with a reason.
    const capsScope = (await c.dc.scopesRequest({ frameId: await c.frame(srcCpu.id) })).body.scopes.find((x) => x.name.startsWith('Capabilities'));
    assert.ok(capsScope);
    const set = await c.dc.setVariableRequest({ variablesReference: capsScope.variablesReference, name: 'xbzrle', value: 'on' });
    assert.equal(set.body.value, 'on');
    const caps = (await c.dc.evaluateRequest({ expression: 'query-migrate-capabilities', context: 'repl' })).body;
    const list = (await c.dc.variablesRequest({ variablesReference: caps.variablesReference })).body.variables;
    const xbzrle = await Promise.all(list.map(async (x) => (await c.dc.variablesRequest({ variablesReference: x.variablesReference })).body.variables));
    assert.ok(xbzrle.some((vars) => vars.some((y) => y.value === '"xbzrle"') && vars.some((y) => y.name === 'state' && y.value === 'on')), 'QEMU reports xbzrle on');
    await assert.rejects(c.dc.setVariableRequest({ variablesReference: capsScope.variablesReference, name: 'xbzrle', value: 'maybe' }), /on or off/);
    const paramsScope = (await c.dc.scopesRequest({ frameId: await c.frame(srcCpu.id) })).body.scopes.find((x) => x.name.startsWith('Parameters'));
    assert.ok(paramsScope);
    await assert.rejects(c.dc.setVariableRequest({ variablesReference: paramsScope.variablesReference, name: 'multifd-channels', value: '999' }), /between 1 and 255/);
    const ch = await c.dc.setVariableRequest({ variablesReference: paramsScope.variablesReference, name: 'multifd-channels', value: '3' });
    assert.match(ch.body.value, /^3/);
    // Checked against this QEMU's schema, and the workbench's pitfall checks said.
    if (v === '7.2') {
      await assert.rejects(c.dc.setVariableRequest({ variablesReference: paramsScope.variablesReference, name: 'zero-page-detection', value: 'multifd' }), /no settable migration parameter 'zero-page-detection'/);
    } else {
      const warned = c.waitForOutput(/source: note: zero-page-detection is 'multifd' \(QEMU's default\) but the multifd capability is off/);
      await c.dc.setVariableRequest({ variablesReference: paramsScope.variablesReference, name: 'zero-page-detection', value: 'multifd' });
      await warned;
      await assert.rejects(c.dc.setVariableRequest({ variablesReference: paramsScope.variablesReference, name: 'zero-page-detection', value: 'sometimes' }), /zero-page-detection must be one of none, legacy, multifd/);
    }

    // The console: QMP by name, as JSON, HMP after "!", QEMU's error class on failure, schema completions.
    assert.equal((await query(c, '{"execute": "query-status"}'))['running'], 'on');
    const hmp = await c.dc.evaluateRequest({ expression: '!info status', context: 'repl' });
    assert.match(hmp.body.result, /VM status: running/);
    const dstHmp = await c.dc.evaluateRequest({ expression: '@dst !info status', context: 'repl' });
    assert.match(dstHmp.body.result, /VM status: paused \(inmigrate\)/);
    await assert.rejects(c.dc.evaluateRequest({ expression: 'no-such-command', context: 'repl' }), /CommandNotFound: The command no-such-command has not been found/);
    const comp = await c.dc.completionsRequest({ text: 'query-migr', column: 11 });
    const labels = comp.body.targets.map((x) => x.label);
    assert.ok(labels.includes('query-migrate') && labels.includes('query-migrate-parameters'), labels.join());
    assert.equal(labels.includes('query-migrationthreads'), v !== '7.2', 'completions follow this QEMU\'s schema');
  });

  test(`QEMU ${v}: "Before switchover" holds a real migration, both sides inspected, continue to completed; trace-event logpoints`, { timeout: 120_000 }, async (t) => {
    const s = await setUp(t, v, `switch${v}`);
    if (!s) return;
    const { pair, c } = s;
    await c.begin('attach', { source: pair.source.socket, destination: pair.destination.socket });
    const filters = await c.dc.setExceptionBreakpointsRequest({ filters: ['before-switchover', 'failed'] });
    assert.deepEqual(filters.body?.breakpoints?.map((b) => b.verified), [true, true]);
    await c.waitForOutput(/Turned on the 'events' migration capability on the source and destination/);
    const fb = await c.dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'migrate_set_state' }, { name: 'no_such_event_xyz' }] });
    assert.equal(fb.body.breakpoints[0]?.verified, true, fb.body.breakpoints[0]?.message);
    assert.equal(fb.body.breakpoints[1]?.verified, false);
    assert.match(fb.body.breakpoints[0]?.message ?? '', new RegExp(`hits read from ${pair.source.log.replace(/[.]/g, '\\.')}`), 'the -D log was found from the QEMU command line');
    await c.dc.configurationDoneRequest();
    const threads0 = await c.threads();
    const src = sideThreads(threads0, 'source')[0];
    assert.ok(src);

    const held = c.waitFor<Stopped>('stopped', (e) => e.body.reason === 'exception' && e.body.threadId === src.id, 60_000);
    await c.dc.evaluateRequest({ expression: 'migrate-set-capabilities {"capabilities": [{"capability": "multifd", "state": true}]}', context: 'repl' });
    await c.dc.evaluateRequest({ expression: '@dst migrate-set-capabilities {"capabilities": [{"capability": "multifd", "state": true}]}', context: 'repl' });
    await c.dc.evaluateRequest({ expression: `@dst migrate-incoming {"uri": "unix:${pair.dir}/mig.sock"}`, context: 'repl' });
    await c.dc.evaluateRequest({ expression: `migrate {"uri": "unix:${pair.dir}/mig.sock"}`, context: 'repl' });
    const hit = await held;
    assert.equal(hit.body.description, 'Paused before switchover');
    assert.match(hit.body.text ?? '', /the source holds the migration in pre-switchover/);
    // QEMU really holds it there, with the source's guest stopped.
    assert.equal((await query(c, 'query-migrate'))['status'], 'pre-switchover');
    assert.equal((await query(c, 'query-status'))['running'], 'off');
    const info = await c.dc.exceptionInfoRequest({ threadId: src.id });
    assert.equal(info.body.exceptionId, 'Before switchover');

    // Threads now include the migration threads, named as QEMU names them.
    const names = (await c.threads()).map((x) => x.name);
    assert.ok(names.some((n) => /^source: (live_migration|mig\/src\/main) \(tid \d+\)$/.test(n)), names.join('\n'));
    assert.ok(names.some((n) => /^source: (multifdsend_0|mig\/src\/send_0) /.test(n)), names.join('\n'));
    // Both sides inspected while held.
    const srcMig = await c.scope(src.id, 'Migration');
    assert.equal(srcMig.find((x) => x.name === 'status')?.value, '"pre-switchover"');
    const ram = srcMig.find((x) => x.name === 'ram');
    assert.ok(ram && ram.variablesReference > 0);
    const ramVars = (await c.dc.variablesRequest({ variablesReference: ram.variablesReference })).body.variables;
    assert.ok(Number(ramVars.find((x) => x.name === 'transferred')?.value.split(' ')[0]) > 0);
    const dst = sideThreads(await c.threads(), 'destination')[0];
    assert.ok(dst);
    const dstMig = await c.scope(dst.id, 'Migration');
    assert.equal(dstMig.find((x) => x.name === 'status')?.value, '"active"');

    // Trace-event logpoints: migrate_set_state hits, decoded by the trace engine.
    await c.waitForOutput(/\[source \d\d:\d\d:\d\d\.\d{3}\] migrate_set_state new_state="pre-switchover"/);

    const completed = c.waitForOutput(/source: migration completed/, 60_000);
    const since = c.events.length;
    await c.dc.continueRequest({ threadId: src.id });
    await completed;
    // The source's guest stays paused after its switchover: its threads are shown stopped again, saying why.
    const after = await c.waitFor<Stopped>('stopped', (e) => e.body.threadId === src.id, 30_000, since);
    assert.equal(after.body.description, 'Paused: postmigrate (the guest now runs on the destination)');
    await assert.rejects(c.dc.continueRequest({ threadId: src.id }), /resuming the source would run it twice/);
    assert.ok(c.output.some((o) => /migrate-continue \{"state": "pre-switchover"\}/.test(o)));
    assert.equal((await query(c, 'query-migrate'))['status'], 'completed');
    await c.waitForOutput(/destination: migration completed/, 30_000);
    assert.equal((await query(c, '@dst query-status'))['status'], 'running');
    await c.waitForOutput(/\[destination [\d:.]+\] migrate_set_state new_state="completed"/);
    assert.ok(!c.output.some((o) => /no_such_event_xyz \w/.test(o)));
  });

  test(`QEMU ${v}: "Migration failed" stops on a migration to a dead URI with QEMU's error-desc; a trace hit stops late and says so`, { timeout: 120_000 }, async (t) => {
    const s = await setUp(t, v, `fail${v}`);
    if (!s) return;
    const { pair, c } = s;
    await c.begin('attach', { source: pair.source.socket });
    await c.dc.setExceptionBreakpointsRequest({ filters: ['failed'] });
    await c.dc.configurationDoneRequest();
    const src = (await c.threads())[0];
    assert.ok(src);
    const failed = c.waitFor<Stopped>('stopped', (e) => e.body.reason === 'exception');
    await c.dc.evaluateRequest({ expression: `migrate {"uri": "unix:${pair.dir}/nobody-listens.sock"}`, context: 'repl' });
    const ev = await failed;
    assert.match(ev.body.text ?? '', /^Migration failed on the source: Failed to connect to '.*nobody-listens\.sock': No such file or directory$/);
    const info = await c.dc.exceptionInfoRequest({ threadId: src.id });
    assert.equal(info.body.exceptionId, 'Migration failed');
    assert.equal((await query(c, 'query-status'))['running'], 'on', 'a failed migration leaves the guest running');
    await c.dc.continueRequest({ threadId: src.id });

    // A breakpoint on a line of a trace-events file is a breakpoint on the event it declares.
    const file = join(qemuFixtures, 'v7.2.0', 'migration', 'trace-events');
    const lines = readFileSync(file, 'utf8').split('\n');
    const line = lines.findIndex((l) => l.startsWith('migrate_set_state(')) + 1;
    assert.ok(line > 0);
    const sb = await c.dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line }, { line: 1 }] });
    assert.equal(sb.body.breakpoints[0]?.verified, true, sb.body.breakpoints[0]?.message);
    assert.equal(sb.body.breakpoints[1]?.verified, false);
    const logged = c.waitForOutput(/\[source [\d:.]+\] migrate_set_state new_state="failed"/);
    await c.dc.evaluateRequest({ expression: `migrate {"uri": "unix:${pair.dir}/nobody-at-all.sock"}`, context: 'repl' });
    await logged;
    const cleared = await c.dc.setBreakpointsRequest({ source: { path: file }, breakpoints: [] });
    assert.equal(cleared.body.breakpoints.length, 0);
    await c.dc.continueRequest({ threadId: src.id });

    // "stop" as the condition of a trace-event breakpoint: the guest is stopped after the hit.
    const fb = await c.dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'migrate_set_state', condition: 'stop' }] });
    assert.match(fb.body.breakpoints[0]?.message ?? '', /late: QEMU cannot halt on a trace event/);
    const bad = await c.dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'migrate_set_state', condition: 'x > 1' }] });
    assert.equal(bad.body.breakpoints[0]?.verified, false);
    await c.dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'migrate_set_state', condition: 'stop' }] });
    const late = c.waitFor<Stopped>('stopped', (e) => e.body.reason === 'function breakpoint');
    await c.dc.evaluateRequest({ expression: `migrate {"uri": "unix:${pair.dir}/nobody-either.sock"}`, context: 'repl' });
    const lateStop = await late;
    assert.match(lateStop.body.text ?? '', /Trace event migrate_set_state hit; the guest was stopped \d+ ms after QEMU wrote it\. QEMU cannot halt on a trace event/);
    assert.deepEqual(lateStop.body.hitBreakpointIds, [fb.body.breakpoints[0]?.id]);
    assert.equal((await query(c, 'query-status'))['running'], 'off', 'the guest was really stopped');
  });

  test(`QEMU ${v}: "Migration cancelled" stops when a running migration is cancelled; the source's guest runs on`, { timeout: 120_000 }, async (t) => {
    const s = await setUp(t, v, `cancel${v}`);
    if (!s) return;
    const { pair, c } = s;
    await c.begin('attach', { source: pair.source.socket, destination: pair.destination.socket });
    await c.dc.setExceptionBreakpointsRequest({ filters: ['cancelled'] });
    await c.dc.configurationDoneRequest();
    const src = sideThreads(await c.threads(), 'source')[0];
    assert.ok(src);
    // 1 MiB/s keeps the migration running until it is cancelled.
    await c.dc.evaluateRequest({ expression: 'migrate-set-parameters {"max-bandwidth": 1048576}', context: 'repl' });
    await c.dc.evaluateRequest({ expression: `@dst migrate-incoming {"uri": "unix:${pair.dir}/mig.sock"}`, context: 'repl' });
    await c.dc.evaluateRequest({ expression: `migrate {"uri": "unix:${pair.dir}/mig.sock"}`, context: 'repl' });
    await waitFor('the migration to become active', 30_000, async () => ((await query(c, 'query-migrate'))['status'] === 'active' ? true : undefined));
    const cancelled = c.waitFor<Stopped>('stopped', (e) => e.body.reason === 'exception' && e.body.threadId === src.id, 30_000);
    await c.dc.evaluateRequest({ expression: 'migrate_cancel', context: 'repl' });
    const ev = await cancelled;
    assert.equal(ev.body.description, 'Migration cancelled');
    assert.match(ev.body.text ?? '', /^Migration cancelled on the source/);
    const info = await c.dc.exceptionInfoRequest({ threadId: src.id });
    assert.equal(info.body.exceptionId, 'Migration cancelled');
    assert.equal((await query(c, 'query-migrate'))['status'], 'cancelled');
    assert.equal((await query(c, 'query-status'))['running'], 'on', 'a cancelled migration leaves the source\'s guest running');
  });

  test(`QEMU ${v}: "Postcopy paused" stops both sides of a real postcopy migration; continue recovers it and it completes`, { timeout: 240_000 }, async (t) => {
    if (!requireComponent(t, 'nasm', hasProgram('nasm', ['-v']))) return;
    const install = await needQemu(t, v);
    if (!install) return;
    const dir = mkdtempSync(join(tmpdir(), 'qmig-dap-pc-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const kernel = join(dir, 'guest.bin');
    await buildGuest('nasm', kernel);
    // The lab's guest keeps rewriting its pages, so postcopy has pages left to fetch when it is paused.
    const pair = await DebugPair.start(install, `pc${v}`, ['-kernel', kernel, '-append', guestCommandLine({ rateMiBps: 32, zeroSixteenths: 4, regionMiB: 16 })]);
    t.after(() => pair.stop());
    const c = await TestDebugClient.start();
    t.after(() => c.stop());
    await c.begin('attach', { source: pair.source.socket, destination: pair.destination.socket });
    await c.dc.setExceptionBreakpointsRequest({ filters: ['postcopy-paused'] });
    await c.dc.configurationDoneRequest();
    const say = (expression: string): Promise<unknown> => c.dc.evaluateRequest({ expression, context: 'repl' });
    for (const side of ['@src', '@dst']) {
      await say(`${side} migrate-set-capabilities {"capabilities": [{"capability": "postcopy-ram", "state": true}]}`);
      await say(`${side} migrate-set-parameters {"max-bandwidth": 16777216, "max-postcopy-bandwidth": 2097152}`);
    }
    await say(`@dst migrate-incoming {"uri": "unix:${dir}/mig.sock"}`);
    const active = c.waitForOutput(/source: migration postcopy-active/, 60_000);
    await say(`@src migrate {"uri": "unix:${dir}/mig.sock"}`);
    await new Promise((r) => setTimeout(r, 1000));
    await say('@src migrate-start-postcopy');
    await active;
    const src = sideThreads(await c.threads(), 'source')[0];
    const dst = sideThreads(await c.threads(), 'destination')[0];
    assert.ok(src && dst);
    const srcPaused = c.waitFor<Stopped>('stopped', (e) => e.body.threadId === src.id && e.body.description === 'Postcopy paused', 60_000);
    const dstPaused = c.waitFor<Stopped>('stopped', (e) => e.body.threadId === dst.id && e.body.description === 'Postcopy paused', 60_000);
    await say('@src migrate-pause');
    await Promise.all([srcPaused, dstPaused]);
    assert.equal((await query(c, '@dst query-migrate'))['status'], 'postcopy-paused');

    // Either side may reach completed first: wait for both before reading the source's state.
    const completed = Promise.all([c.waitForOutput(/destination: migration completed/, 180_000), c.waitForOutput(/source: migration completed/, 180_000)]);
    await c.dc.continueRequest({ threadId: src.id });
    await c.waitForOutput(/postcopy recovery: migrate-recover unix:.*recover-\d+\.sock on the destination/);
    await completed;
    assert.equal((await query(c, 'query-migrate'))['status'], 'completed');
  });

  test(`QEMU ${v}: a QEMU killed mid-session ends its side with the reason; the last one ends the session`, { timeout: 120_000 }, async (t) => {
    const s = await setUp(t, v, `kill${v}`);
    if (!s) return;
    const { pair, c } = s;
    await c.begin('attach', { source: pair.source.socket, destination: pair.destination.socket });
    await c.dc.configurationDoneRequest();
    const before = await c.threads();
    const srcIds = sideThreads(before, 'source').map((x) => x.id);
    const gone = c.waitForOutput(/The source QEMU is gone: .*peer closed the connection/);
    const exited = c.waitFor<DebugProtocol.ThreadEvent>('thread', (e) => e.body.reason === 'exited' && srcIds.includes(e.body.threadId));
    process.kill(-(pair.source.process.pid ?? 0), 'SIGKILL');
    await Promise.all([gone, exited]);
    const after = await c.threads();
    assert.equal(sideThreads(after, 'source').length, 0);
    assert.ok(sideThreads(after, 'destination').length > 0, 'the destination side goes on');
    assert.equal((await query(c, 'query-status'))['status'], 'inmigrate', 'the console falls back to the side that is left');
    const terminated = c.waitFor('terminated', () => true);
    process.kill(-(pair.destination.process.pid ?? 0), 'SIGKILL');
    await terminated;
    assert.ok(c.output.some((o) => /Session ended: every QEMU of the session is gone/.test(o)));
  });

  test(`QEMU ${v}: launch starts a lab pair, migrates, stops before switchover; terminate ends both QEMUs`, { timeout: 180_000 }, async (t) => {
    if (!requireComponent(t, 'nasm', hasProgram('nasm', ['-v']))) return;
    if (!(await needQemu(t, v))) return;
    const c = await TestDebugClient.start();
    t.after(() => c.stop());
    await c.begin('launch', {
      lab: { qemu: v, memoryMiB: 128 },
      migrate: { capabilities: { multifd: true }, parameters: { 'multifd-channels': 2 } },
    });
    const pids = c.output.join('').match(/started \w+ QEMU \(pid (\d+)\)/g)?.map((m) => Number(/\d+/.exec(m)?.[0])) ?? [];
    assert.equal(pids.length, 2, c.output.join(''));
    await c.dc.setExceptionBreakpointsRequest({ filters: ['pass', 'before-switchover'] });
    const pass = c.waitFor<Stopped>('stopped', (e) => e.body.description === 'Dirty-bitmap pass', 90_000);
    const held = c.waitFor<Stopped>('stopped', (e) => e.body.description === 'Paused before switchover', 90_000);
    await c.dc.configurationDoneRequest();
    const passHit = await pass;
    assert.match(passHit.body.text ?? '', /^Dirty-bitmap pass \d+ \(MIGRATION_PASS\); QEMU goes on migrating/);
    const hit = await held;
    assert.equal(hit.body.description, 'Paused before switchover');
    assert.match(hit.body.text ?? '', /the source holds the migration in pre-switchover/);
    const completed = c.waitForOutput(/source: migration completed/, 60_000);
    await c.dc.continueRequest({ threadId: hit.body.threadId ?? 0 });
    await completed;
    await c.dc.terminateRequest();
    for (const pid of pids) assert.equal(existsSync(`/proc/${pid}`), false, `QEMU ${pid} was ended`);
  });
}
