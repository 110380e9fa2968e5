// The debugger's "vhost-user devices" scope against a real back-end: QEMU 7.2 and 10.0.2, each
// side's virtio-net served by its own tests/vhost-user-bridge. The scope must list each device as
// QEMU's own x-query-virtio-status describes it, asked independently on a second QMP socket of
// the same QEMU: the source's started by its guest's driver, the destination's not started while
// it waits for the migration, then started on the destination (and stopped on the source) once a
// real migration completed. Protocol level, with @vscode/debugadapter-testsupport's DebugClient.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { QemuInstall } from '../../src/core/qemu/installs';
import { QmpClient } from '../../src/core/qmp/client';
import { bridgeInstalled, hasProgram, requireComponent } from '../support/components';
import { adapterBuilt, TestDebugClient } from '../support/debugClient';
import { qemuBuild, testedVersions } from '../support/debugPair';
import { waitFor } from '../support/processes';
import { VhostUserPair } from '../support/vhostUserPair';

type Side = 'source' | 'destination';

interface VirtioDevice {
  name: string;
  path: string;
  status: Record<string, unknown>;
}

async function needComponents(t: TestContext, version: string): Promise<QemuInstall | undefined> {
  const b = await qemuBuild(version);
  if (!requireComponent(t, `QEMU ${version} (${b.problem})`, b.install !== undefined)) return undefined;
  if (!requireComponent(t, 'tests/vhost-user-bridge (scripts/setup.sh builds it)', bridgeInstalled())) return undefined;
  if (!requireComponent(t, 'nasm', hasProgram('nasm', ['-v']))) return undefined;
  if (!requireComponent(t, 'the built debug adapter dist/debugAdapter.js (node esbuild.mjs)', adapterBuilt())) return undefined;
  return b.install;
}

/** QEMU's own answer: every virtio device and its x-query-virtio-status. */
async function virtioDevices(qmp: QmpClient): Promise<VirtioDevice[]> {
  const list = await qmp.execute<{ name: string; path: string }[]>('x-query-virtio');
  return Promise.all(list.map(async (d) => ({ ...d, status: await qmp.execute<Record<string, unknown>>('x-query-virtio-status', { path: d.path }) })));
}

/** A scalar of QEMU's reply as the debugger shows it: on/off, quoted strings, plain numbers. */
function shown(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

/** The variables under `ref` are QEMU's `value`, member by member, all the way down. */
async function assertSameTree(c: TestDebugClient, ref: number, value: unknown, path: string): Promise<number> {
  const vars = (await c.dc.variablesRequest({ variablesReference: ref })).body.variables;
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value as Record<string, unknown>);
  assert.deepEqual(vars.map((v) => v.name), entries.map(([k]) => k), `${path}: the members QEMU reports`);
  let leaves = 0;
  for (const [i, [k, v]] of entries.entries()) {
    const shownVar = vars[i];
    assert.ok(shownVar);
    if (typeof v === 'object' && v !== null) {
      assert.ok(shownVar.variablesReference > 0, `${path}.${k} expands`);
      leaves += await assertSameTree(c, shownVar.variablesReference, v, `${path}.${k}`);
    } else {
      assert.equal(shownVar.value, shown(v), `${path}.${k}`);
      leaves++;
    }
  }
  return leaves;
}

/** The scope's row of QEMU's one virtio-net device, checked against QEMU's own status; returns the row's text. */
async function checkDevice(c: TestDebugClient, threadId: number, side: Side, qmp: QmpClient): Promise<string> {
  const rows: DebugProtocol.Variable[] = await c.scope(threadId, 'vhost-user devices');
  const devices = await virtioDevices(qmp);
  assert.equal(devices.length, 1, `${side}: QEMU has one virtio device`);
  const [device] = devices as [VirtioDevice];
  assert.deepEqual(rows.map((r) => r.name), [`virtio-net ${device.path}`], `${side}: the scope lists QEMU's device by its QOM path (it shows ${rows.map((r) => `${r.name} = ${r.value}`).join("; ")})`);
  const [row] = rows as [DebugProtocol.Variable];
  const started = device.status['vhost-started'] === true;
  assert.equal(row.value.startsWith(started ? 'vhost-user, started' : 'vhost-user, not started'), true, `${side}: "${row.value}" while QEMU says vhost-started=${String(started)}`);
  const leaves = await assertSameTree(c, row.variablesReference, device.status, `${side} ${device.path}`);
  assert.ok(leaves > 20, `${side}: the whole status is shown (${leaves} values)`);
  return row.value;
}

for (const v of testedVersions) {
  test(`QEMU ${v}: the vhost-user devices scope shows both sides' bridge-served devices as QEMU reports them, before and after a real migration`, { timeout: 180_000 }, async (t) => {
    const install = await needComponents(t, v);
    if (!install) return;
    const pair = await VhostUserPair.start(install, `scope${v}`);
    t.after(() => pair.stop());
    const qmp = { source: await QmpClient.connect(pair.source.checkSocket), destination: await QmpClient.connect(pair.destination.checkSocket) };
    t.after(() => Promise.all([qmp.source.close(), qmp.destination.close()]));
    // The source's guest brings the NIC up; QEMU then starts the vhost-user back-end.
    await waitFor('the source guest\'s virtio-net driver', 60_000, () => (pair.guestDriverReady() ? true : undefined));
    await waitFor('QEMU to start the source\'s vhost-user device', 30_000, async () => ((await virtioDevices(qmp.source))[0]?.status['vhost-started'] === true ? true : undefined), 250);

    const c = await TestDebugClient.start();
    t.after(() => c.stop());
    await c.begin('attach', { source: pair.source.socket, destination: pair.destination.socket });
    await c.dc.configurationDoneRequest();
    const thread = async (side: Side): Promise<number> => {
      const th = (await c.threads()).find((x) => x.name.startsWith(`${side}: `));
      assert.ok(th, `a thread of the ${side}`);
      return th.id;
    };
    assert.match(await checkDevice(c, await thread('source'), 'source', qmp.source), /^vhost-user, started$/);
    // The destination waits in inmigrate: its device has a vhost-user back-end that QEMU has not started.
    assert.match(await checkDevice(c, await thread('destination'), 'destination', qmp.destination), /^vhost-user, not started/);

    // A real migration: the destination's QEMU starts its back-end once it runs the guest, the
    // source's stops with its guest.
    const completed = c.waitForOutput(/destination: migration completed/, 120_000);
    const uri = `unix:${pair.dir}/mig.sock`;
    for (const line of [`@dst migrate-incoming {"uri": "${uri}"}`, `@src migrate {"uri": "${uri}"}`]) {
      await c.dc.evaluateRequest({ expression: line, context: 'repl' });
    }
    await completed;
    await waitFor('QEMU to start the destination\'s vhost-user device', 30_000, async () => ((await virtioDevices(qmp.destination))[0]?.status['vhost-started'] === true ? true : undefined), 250);
    assert.match(await checkDevice(c, await thread('destination'), 'destination', qmp.destination), /^vhost-user, started$/);
    assert.match(await checkDevice(c, await thread('source'), 'source', qmp.source), /^vhost-user, not started/);
  });
}
