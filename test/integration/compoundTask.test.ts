/**
 * "Postcopy migration with vhost-user-bridge" as a task, without VS Code: one real run on QEMU
 * 10.0.2 with the bridge on both sides, kept running after the migration (keepRunning) so the
 * QEMUs' second monitors can be looked at, then ended. What the terminal, the monitors and the
 * recording show; nothing left afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgePath, requireComponent } from '../support/components';
import type { ScenarioRecord } from '../../src/core/lab/record';
import { findExecutable } from '../../src/core/lab/process';
import { resolveQemu } from '../../src/core/qemu/installs';
import { QmpClient } from '../../src/core/qmp/client';
import { parseTaskDefinition, type TaskRole } from '../../src/core/tasks/definition';
import { PROBLEM_PATTERN } from '../../src/core/tasks/problems';
import { runTask } from '../../src/core/tasks/runTask';
import { checkRecording } from '../../src/core/vhostuser/checkFile';
import { builtinSpec } from '../../src/core/vhostuser/specSource';
import { processAlive as alive } from '../support/processes';


test('the compound task: bridges, QEMUs with monitors for the Connections view, postcopy, the PANIC located, the check, then a clean end', { timeout: 180_000 }, async (t) => {
  const bridge = bridgePath();
  const qemu = await resolveQemu('10.0').catch(() => undefined);
  if (!requireComponent(t, 'tests/vhost-user-bridge', bridge !== undefined) || !requireComponent(t, 'QEMU 10.0', qemu !== undefined) || !requireComponent(t, 'nasm', findExecutable('nasm') !== undefined)) return;
  const root = mkdtempSync(join(tmpdir(), 'qmw-compound-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const lines: string[] = [];
  const monitors = new Map<TaskRole, string>();
  const statuses = new Map<TaskRole, string>();
  const controller = new AbortController();
  let checked: string | undefined;
  const code = await runTask(parseTaskDefinition({ type: 'qemu-migration', kind: 'postcopy-bridge', keepRunning: true }), {
    qemuBinary: 'qemu-system-x86_64', buildDirs: [], testpmdBinary: 'dpdk-testpmd', recordingsDir: join(root, 'recordings'), runtimeDir: join(root, 'run'),
  }, {
    out: { line: (l) => lines.push(l) },
    signal: controller.signal,
    onMonitor: (role, socket) => monitors.set(role, socket),
    onRecording: async (dir) => {
      checked = dir;
      // While the run holds, each QEMU's second monitor answers (the Connections view's).
      for (const [role, socket] of monitors) {
        const c = await QmpClient.connect(socket, { connectTimeoutMs: 10_000 });
        statuses.set(role, (await c.execute<{ status: string }>('query-status')).status);
        await c.close();
      }
      setTimeout(() => controller.abort(), 200);
    },
  });
  assert.equal(code, 1, 'the task fails: a back-end died, though the migration completed');
  assert.deepEqual([...monitors.keys()].sort(), ['destination', 'source']);
  assert.deepEqual(Object.fromEntries(statuses), { source: 'postmigrate', destination: 'running' });
  assert.ok(lines.some((l) => /^qemu-migration: the QEMUs keep running/.test(l)));
  const dir = checked ?? '';
  assert.match(dir, /recordings\/postcopy-vhost-user-bridge-\d{8}-\d{6}$/);
  const panic = lines.find((l) => new RegExp(PROBLEM_PATTERN).test(l) && /PANIC: VHOST_USER_ADD_MEM_REG/.test(l));
  const [, file, line] = new RegExp(PROBLEM_PATTERN).exec(panic ?? '') ?? [];
  assert.equal(file, join(dir, 'dst-bridge.log'));
  assert.match(readFileSync(file ?? '', 'utf8').split('\n')[Number(line) - 1] ?? '', /^PANIC: /);
  assert.ok(lines.some((l) => l.startsWith('[dst-qemu] ') && /qemu-system-x86_64: /.test(l)), 'QEMU\'s stderr is in the terminal');
  // Each of QEMU's error lines becomes a problem line at its line of dst-qemu-stderr.log.
  const stderrLines = readFileSync(join(dir, 'dst-qemu-stderr.log'), 'utf8').split('\n');
  const qemuProblems = lines.map((l) => new RegExp(PROBLEM_PATTERN).exec(l)).filter((m) => m?.[1] === join(dir, 'dst-qemu-stderr.log'));
  assert.ok(qemuProblems.length > 0, 'QEMU\'s errors are problems');
  for (const m of qemuProblems) assert.ok(m?.[4] !== undefined && stderrLines[Number(m[2]) - 1]?.includes(m[4].replace(/^QEMU stopped using its vhost-user back-end: /, '').replace(/^qemu-system-x86_64: /, '')), `${m?.[0]} names its stderr line`);
  assert.ok(lines.some((l) => /^qemu-migration: ended: postcopy-vhost-user-bridge completed in .*error\(s\)/.test(l)));

  const rec = JSON.parse(readFileSync(join(dir, 'scenario.json'), 'utf8')) as ScenarioRecord;
  assert.equal(rec.status, 'completed', 'ending the task while it holds finishes the run');
  for (const f of ['qmp.jsonl', 'src-trace.log', 'dst-trace.log', 'src-bridge.log', 'dst-bridge.log', 'src-qemu-stderr.log', 'dst-qemu-stderr.log']) assert.ok(existsSync(join(dir, f)), f);
  const [, dst] = await checkRecording(dir, builtinSpec());
  assert.deepEqual(dst?.result.violations.map((v) => v.rule), ['backend-died/postcopy-add-mem-reg-ack']);
  for (const p of rec.processes) if (p.pid !== undefined) assert.equal(alive(p.pid), false, `${p.role} (pid ${p.pid}) still runs`);
  assert.ok(rec.tempDir !== undefined && !existsSync(rec.tempDir), 'the sockets\' folder is gone');
});
