/**
 * The lab's scenarios with QEMU's own vhost-user back-end, tests/vhost-user-bridge (built by
 * scripts/setup-qemu10.sh), on real QEMU 10.0.2 and 7.2: postcopy fails on the destination for
 * real (the bridge dies on the postcopy memory-table acknowledgement), precopy passes the rules.
 * One run per scenario and QEMU version, each a few seconds. QMW_KEEP_RECORDING=DIR copies the
 * recordings into DIR (this is how demo/recordings/*-vhost-user-bridge were made).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgePath, requireComponent } from '../support/components';
import { runLab } from '../../src/core/lab/runner';
import type { LabResult } from '../../src/core/lab/types';
import type { ScenarioRecord } from '../../src/core/lab/record';
import { findExecutable } from '../../src/core/lab/process';
import { resolveQemu } from '../../src/core/qemu/installs';
import { checkRecording } from '../../src/core/vhostuser/checkFile';
import { builtinSpec } from '../../src/core/vhostuser/specSource';
import { processAlive as alive } from '../support/processes';

const bridge = bridgePath();

async function needs(t: TestContext, version: string): Promise<boolean> {
  const qemu = await resolveQemu(version).catch(() => undefined);
  return requireComponent(t, `QEMU ${version}`, qemu !== undefined)
    && requireComponent(t, 'tests/vhost-user-bridge (scripts/setup-qemu10.sh)', bridge !== undefined)
    && requireComponent(t, 'nasm', findExecutable('nasm') !== undefined)
    && requireComponent(t, 'stdbuf', findExecutable('stdbuf') !== undefined);
}


async function run(t: TestContext, scenario: 'postcopy-vhost-user-bridge' | 'precopy-vhost-user-bridge', version: string): Promise<{ r: LabResult; rec: ScenarioRecord }> {
  const outDir = mkdtempSync(join(tmpdir(), `qmig-lab-bridge-${version}-`));
  t.after(() => rmSync(outDir, { recursive: true, force: true }));
  const r = await runLab({ scenario, outDir, qemu: version });
  const keep = process.env.QMW_KEEP_RECORDING;
  if (keep) cpSync(outDir, join(keep, version === '10.0' ? scenario : `${scenario}-qemu-${version}`), { recursive: true });
  const rec = JSON.parse(readFileSync(join(outDir, 'scenario.json'), 'utf8')) as ScenarioRecord;
  // Nothing of the run survives it: no process (bridges included), no socket, no temp folder.
  for (const p of rec.processes) if (p.pid !== undefined) assert.equal(alive(p.pid), false, `${p.role} (pid ${p.pid}) still runs`);
  assert.ok(rec.processes.some((p) => p.role === 'dst-bridge' && p.argv.includes('-u')));
  assert.ok(rec.tempDir !== undefined && !existsSync(rec.tempDir), 'the temp folder (vhost-user and QMP sockets) is gone');
  return { r, rec };
}

for (const version of ['10.0', '7.2']) {
  test(`postcopy-vhost-user-bridge on QEMU ${version}: the migration completes, the destination bridge died, and the check says where and why`, { timeout: 120_000 }, async (t) => {
    if (!(await needs(t, version))) return;
    const { r, rec } = await run(t, 'postcopy-vhost-user-bridge', version);
    assert.equal(r.status, 'completed');
    assert.ok(r.qemuVersions.src?.startsWith(`${version}.`), `QEMU ${r.qemuVersions.src}`);
    assert.equal(rec.postcopy?.switched, true, 'postcopy was started while precopy ran');
    assert.ok((r.finalQueryMigrate.src?.ram?.['postcopy-requests'] ?? 0) > 0, 'the destination faulted pages in');
    // The guest's virtio 1.0 driver brought the NIC up; the device offers only the modern interface.
    assert.match(readFileSync(join(r.outDir, 'src-guest.log'), 'utf8'), /qmig-guest: virtio-net modern DRIVER_OK/);
    assert.ok(rec.processes.find((p) => p.role === 'dst-qemu')?.argv.includes('virtio-net-pci,netdev=n0,romfile=,disable-legacy=on'));
    const dstBridge = readFileSync(join(r.outDir, 'dst-bridge.log'), 'utf8');
    assert.match(dstBridge, /^Waiting for data from udp backend on 127\.0\.0\.1:\d+\.\.\.$/m);
    assert.match(dstBridge, /^PANIC: VHOST_USER_ADD_MEM_REG received 0 fds - only 1 fd should be sent for this message type$/m);
    assert.doesNotMatch(readFileSync(join(r.outDir, 'src-bridge.log'), 'utf8'), /PANIC/);
    assert.match(readFileSync(join(r.outDir, 'dst-qemu-stderr.log'), 'utf8'), /qemu-system-x86_64: /);

    const [src, dst] = await checkRecording(r.outDir, builtinSpec());
    assert.deepEqual(src?.result.violations, []);
    const v = dst?.result.violations[0];
    assert.equal(dst?.result.violations.length, 1);
    assert.equal(v?.rule, 'backend-died/postcopy-add-mem-reg-ack');
    const trace = readFileSync(join(r.outDir, 'dst-trace.log'), 'utf8').split('\n');
    assert.match(trace[(v?.line ?? 0) - 1] ?? '', /vhost_user_write req:37 flags:0x1$/, 'the violation sits on the ADD_MEM_REG the bridge died on');
    assert.ok(v?.sources?.some((s) => s.source === 'backend-log' && /PANIC: VHOST_USER_ADD_MEM_REG received 0 fds/.test(s.text)));
    assert.ok(v?.sources?.some((s) => s.role.startsWith('CLOSED')), 'the trace shows the socket closing');
    assert.ok(v?.sources?.some((s) => s.source === 'qemu-stderr'), 'QEMU\'s stderr shows it giving up');
    assert.equal(v?.citations?.length, 3);
    assert.match(v?.note ?? '', /contradicts itself/);
  });
}

test('precopy-vhost-user-bridge on QEMU 10.0: the bridges take the device over and the flows pass the rules', { timeout: 120_000 }, async (t) => {
  if (!(await needs(t, '10.0'))) return;
  const { r } = await run(t, 'precopy-vhost-user-bridge', '10.0');
  assert.equal(r.status, 'completed');
  for (const { side, result } of await checkRecording(r.outDir, builtinSpec())) {
    assert.deepEqual(result.violations, [], `${side.side}`);
    assert.ok(result.flow.messages.some((m) => m.name === 'VHOST_USER_ADD_MEM_REG'), `${side.side}: the memory table went to the bridge`);
  }
  assert.doesNotMatch(readFileSync(join(r.outDir, 'dst-bridge.log'), 'utf8'), /PANIC/);
});
