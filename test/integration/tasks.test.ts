/**
 * The qemu-migration task kinds without VS Code, against the real tests/vhost-user-bridge and real
 * QEMU: two bridge tasks, a destination and a source QEMU task wired to them, and a migrate task
 * with postcopy, as a user's tasks.json compound runs them; then the diagnosis of what they
 * recorded. One real postcopy pair is shared by the tests of this file. No process or socket may
 * outlive a task (checked by pid and path).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSocket, type Socket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgePath, requireComponent } from '../support/components';
import { findExecutable } from '../../src/core/lab/process';
import { pickFreeUdpPorts } from '../../src/core/qemu/bridge';
import { resolveQemu } from '../../src/core/qemu/installs';
import { parseTaskDefinition } from '../../src/core/tasks/definition';
import { bridgeProcess, runPaths } from '../../src/core/tasks/plan';
import { PreflightError } from '../../src/core/tasks/preflight';
import { ProcessTask } from '../../src/core/tasks/processTask';
import { PROBLEM_PATTERN } from '../../src/core/tasks/problems';
import { runTask, type TaskHooks, type TaskSettings } from '../../src/core/tasks/runTask';
import { checkRecording } from '../../src/core/vhostuser/checkFile';
import { builtinSpec } from '../../src/core/vhostuser/specSource';
import { processAlive as alive } from '../support/processes';

const bridge = bridgePath();
const haveAll = async (): Promise<string | undefined> => {
  if (!bridge) return 'tests/vhost-user-bridge (scripts/setup-qemu10.sh)';
  if (!findExecutable('nasm')) return 'nasm';
  if (!findExecutable('stdbuf')) return 'stdbuf';
  if (!(await resolveQemu('10.0').catch(() => undefined))) return 'QEMU 10.0';
  return undefined;
};


interface Running {
  readonly name: string;
  readonly lines: string[];
  readonly controller: AbortController;
  readonly done: Promise<number>;
  readonly procs: ProcessTask[];
  monitor?: string;
}

let root = '';
let settings: TaskSettings;
const running: Running[] = [];
let missing: string | undefined;

function start(def: Record<string, unknown>): Running {
  const controller = new AbortController();
  const r: Running = { name: String(def['kind']), lines: [], controller, procs: [], done: Promise.resolve(0) };
  const hooks: TaskHooks = {
    out: { line: (t) => r.lines.push(t) },
    signal: controller.signal,
    onProcess: (t) => r.procs.push(t),
    onMonitor: (_role, socket) => { r.monitor = socket; },
  };
  Object.assign(r, { done: runTask(parseTaskDefinition({ type: 'qemu-migration', run: 'it', ...def }), settings, hooks) });
  running.push(r);
  return r;
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

const ready = (r: Running): boolean => r.lines.some((l) => l.startsWith('qemu-migration: ready: '));

let pair: { bridges: Running[]; qemus: Running[]; migrate: Running; code: number } | undefined;

before(async () => {
  missing = await haveAll();
  if (missing) return;
  root = mkdtempSync(join(tmpdir(), 'qmw-tasks-'));
  settings = { qemuBinary: 'qemu-system-x86_64', buildDirs: [], testpmdBinary: 'dpdk-testpmd', recordingsDir: join(root, 'recordings'), runtimeDir: join(root, 'run') };
  const bridges = [start({ kind: 'vhost-user-bridge', role: 'source' }), start({ kind: 'vhost-user-bridge', role: 'destination' })];
  for (const b of bridges) await until('the bridge to be ready', () => ready(b));
  const qemus = [
    start({ kind: 'qemu', role: 'destination', qemu: '10.0', vhostUser: 'dst-vhost-user.sock' }),
    start({ kind: 'qemu', role: 'source', qemu: '10.0', vhostUser: 'src-vhost-user.sock' }),
  ];
  for (const q of qemus) await until('QEMU to greet', () => ready(q));
  await until('the source guest to drive its NIC', () => existsSync(join(root, 'recordings', 'tasks-it', 'src-guest.log')) && /qmig-guest: ready/.test(readFileSync(join(root, 'recordings', 'tasks-it', 'src-guest.log'), 'utf8')));
  const migrate = start({ kind: 'migrate', postcopy: { afterSeconds: 1 } });
  const code = await migrate.done;
  pair = { bridges, qemus, migrate, code };
});

after(async () => {
  for (const r of running) r.controller.abort();
  await Promise.all(running.map((r) => r.done.catch(() => 1)));
  if (root) rmSync(root, { recursive: true, force: true });
});

test('bridge tasks start, report ready with the bridge\'s own line, and serve the QEMU wired to them', { timeout: 180_000 }, (t) => {
  if (!requireComponent(t, missing ?? '', missing === undefined) || !pair) return;
  for (const b of pair.bridges) {
    assert.ok(b.lines.some((l) => /^Waiting for data from udp backend on 127\.0\.0\.1:\d+\.\.\.$/.test(l)), 'the bridge says it waits for UDP data');
    assert.ok(b.lines.some((l) => /^Got connection from remote peer on sock \d+$/.test(l)), 'a QEMU connected');
    assert.ok(b.lines.findIndex((l) => l.startsWith('qemu-migration: starting ')) < b.lines.findIndex((l) => l.startsWith('qemu-migration: ready: ')));
  }
  for (const q of pair.qemus) {
    assert.ok(q.lines.some((l) => /^qemu-migration: ready: (src|dst) QEMU: QEMU 10\.0\.\d+ greets on /.test(l)));
    assert.match(q.monitor ?? '', /-monitor\.sock$/, 'its second monitor is offered for the Connections view');
  }
  assert.match(readFileSync(join(root, 'recordings', 'tasks-it', 'src-guest.log'), 'utf8'), /virtio-net modern DRIVER_OK/);
});

test('the migrate task runs the postcopy pair to completion; the destination bridge dies, located in the Problems form', { timeout: 180_000 }, async (t) => {
  if (!requireComponent(t, missing ?? '', missing === undefined) || !pair) return;
  assert.equal(pair.code, 0, pair.migrate.lines.join('\n'));
  assert.ok(pair.migrate.lines.some((l) => l === 'migrate-start-postcopy'), 'postcopy was started');
  assert.ok(pair.migrate.lines.some((l) => /^qemu-migration: ready: migration completed/.test(l)));
  const dir = join(root, 'recordings', 'tasks-it');
  for (const f of ['qmp.jsonl', 'scenario.json', 'final-query-migrate-src.json', 'src-trace.log', 'dst-trace.log', 'dst-bridge.log', 'dst-qemu-stderr.log']) assert.ok(existsSync(join(dir, f)), f);
  const panic = pair.bridges[1]?.lines.find((l) => new RegExp(PROBLEM_PATTERN).test(l) && /PANIC: VHOST_USER_ADD_MEM_REG received 0 fds/.test(l));
  assert.ok(panic, 'the PANIC comes out as a located problem line');
  const [, file, line] = new RegExp(PROBLEM_PATTERN).exec(panic ?? '') ?? [];
  assert.equal(file, join(dir, 'dst-bridge.log'));
  assert.match(readFileSync(file ?? '', 'utf8').split('\n')[Number(line) - 1] ?? '', /^PANIC: VHOST_USER_ADD_MEM_REG received 0 fds/);
  const [, dst] = await checkRecording(dir, builtinSpec());
  assert.deepEqual(dst?.result.violations.map((v) => v.rule), ['backend-died/postcopy-add-mem-reg-ack']);
  // the destination bridge ended with the PANIC: its task ended with an error and removed its socket
  assert.equal(await pair.bridges[1]?.done, 1);
  assert.equal(existsSync(join(root, 'run', 'qemu-migration-it', 'dst-vhost-user.sock')), false);
});

test('ending the tasks ends their processes (by process group) and removes their sockets', { timeout: 60_000 }, async (t) => {
  if (!requireComponent(t, missing ?? '', missing === undefined) || !pair) return;
  const all = [...pair.bridges, ...pair.qemus];
  const pids = all.flatMap((r) => r.procs.map((p) => p.proc.pid));
  assert.ok(pids.length === 4);
  const sockets = all.flatMap((r) => r.procs.flatMap((p) => p.plan.sockets));
  for (const r of all) r.controller.abort();
  const codes = await Promise.all(all.map((r) => r.done));
  assert.equal(codes.length, 4);
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} still runs`);
  for (const s of sockets) assert.equal(existsSync(s), false, `${s} is still there`);
  for (const r of all) assert.ok(r.lines.some((l) => /^qemu-migration: ended: .* sockets removed$/.test(l)));
});

test('a UDP port in use is refused before start; a bridge that meets one anyway says bind: Address already in use', { timeout: 60_000 }, async (t) => {
  if (!requireComponent(t, missing ?? '', missing === undefined)) return;
  const [port] = await pickFreeUdpPorts('127.0.0.1', 1);
  const holder: Socket = createSocket('udp4');
  await new Promise<void>((r) => holder.bind(port, '127.0.0.1', () => r()));
  try {
    const clash = start({ kind: 'vhost-user-bridge', role: 'source', run: 'clash', localUdp: `127.0.0.1:${port}` });
    await assert.rejects(clash.done, (e: unknown) => e instanceof PreflightError && new RegExp(`UDP 127\\.0\\.0\\.1:${port} is in use by another process: choose another port`).test(e.message));
    // The same bridge started without the check (another process took the port in between).
    const paths = runPaths('clash2', settings);
    const def = parseTaskDefinition({ type: 'qemu-migration', kind: 'vhost-user-bridge', role: 'source', run: 'clash2' });
    if (def.kind !== 'vhost-user-bridge' || !bridge) throw new Error('unexpected');
    const lines: string[] = [];
    const task = await ProcessTask.start(bridgeProcess(def, paths, { bridge, stdbuf: findExecutable('stdbuf'), local: `127.0.0.1:${port}`, remote: '127.0.0.1:9' }), { line: (l) => lines.push(l) }, new AbortController().signal);
    await assert.rejects(task.ready, /vhost-user-bridge exited with status 1 before it was ready: bind: Address already in use/);
    assert.equal(await task.exit(), 1);
    assert.ok(lines.some((l) => /^qemu-migration: \/.*src-bridge\.log:\d+: error: bind: Address already in use/.test(l)));
    await task.stop();
    assert.equal(alive(task.proc.pid), false);
    assert.equal(existsSync(task.plan.sockets[0] ?? ''), false, 'the socket it had bound is removed');
  } finally {
    await new Promise<void>((r) => holder.close(() => r()));
  }
});

test('a missing bridge gives a clear error naming where it was looked for and how to get one', { timeout: 30_000 }, async () => {
  const empty = mkdtempSync(join(tmpdir(), 'qmw-nobridge-'));
  try {
    const s: TaskSettings = { qemuBinary: 'qemu-system-x86_64', buildDirs: [join(empty, 'build')], testpmdBinary: 'dpdk-testpmd', recordingsDir: join(empty, 'rec'), runtimeDir: join(empty, 'run'), cacheDir: join(empty, 'cache') };
    await assert.rejects(
      runTask(parseTaskDefinition({ type: 'qemu-migration', kind: 'vhost-user-bridge', role: 'source' }), s, { out: { line: () => undefined }, signal: new AbortController().signal }),
      new RegExp(`tests/vhost-user-bridge was not found \\(looked at ${join(empty, 'build', 'tests', 'vhost-user-bridge')}.*\\); set QEMUMigration\\.QEMUBuildFolder .* or run scripts/setup\\.sh`),
    );
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
