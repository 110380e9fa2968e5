/**
 * The migration lab on QEMU 10.0.2 (and 7.2 → 10.0): each scenario runs once per file and its
 * recording is shared by the tests that read it. `qmig analyze` is checked against counts made
 * here, independently, from the raw trace lines, and against QEMU's own query-migrate figures.
 */
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireComponent } from '../support/components';
import { runQmig } from '../support/qmigProcess';
import { installedQemu, needQemu } from '../support/qemuPair';
import { LabError } from '../../src/core/lab/errors';
import { downtimeTraceEvents } from '../../src/core/lab/qemuSides';
import { runLab } from '../../src/core/lab/runner';
import type { LabOptions, LabResult, LabScenario } from '../../src/core/lab/types';
import type { ScenarioRecord } from '../../src/core/lab/record';
import { findExecutable } from '../../src/core/lab/process';
import type { MigrationInfo } from '../../src/core/qmp/replies';

const root = mkdtempSync(join(tmpdir(), 'qmig-lab10-it-'));
after(() => rmSync(root, { recursive: true, force: true }));

const runs = new Map<string, Promise<LabResult>>();

/** Runs a scenario once for the whole file; later callers get the same recording. */
function recording(key: string, opts: Omit<LabOptions, 'outDir'>): Promise<LabResult> {
  let r = runs.get(key);
  if (!r) {
    r = runLab({ timeoutMs: 110_000, ...opts, outDir: join(root, key) });
    runs.set(key, r);
  }
  return r;
}

async function needs(t: TestContext, versions: readonly ('7.2' | '10.0')[] = ['10.0']): Promise<boolean> {
  for (const v of versions) if (!(await needQemu(t, v))) return false;
  return requireComponent(t, 'nasm', findExecutable('nasm') !== undefined);
}

const read = (r: LabResult, f: string): string => readFileSync(join(r.outDir, f), 'utf8');
const scenarioJson = (r: LabResult): ScenarioRecord => JSON.parse(read(r, 'scenario.json')) as ScenarioRecord;
const finalInfo = (r: LabResult, side: 'src' | 'dst'): MigrationInfo => JSON.parse(read(r, `final-query-migrate-${side}.json`)) as MigrationInfo;

/** One trace line, parsed here on its own (not with the workbench's reader). */
interface RawEvent { us: number; name: string; args: string }
function rawEvents(text: string): RawEvent[] {
  const out: RawEvent[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+@(\d+)\.(\d{6}):(\w+)(?: (.*))?$/.exec(line);
    if (m) out.push({ us: Number(m[1]) * 1e6 + Number(m[2]), name: m[3] ?? '', args: m[4] ?? '' });
  }
  return out;
}
function numberArg(e: RawEvent, re: RegExp): number {
  const m = re.exec(e.args);
  assert.ok(m, `${e.name} ${e.args} matches ${re}`);
  return Number(m[1]);
}

function assertCompleted(r: LabResult, scenario: LabScenario): ScenarioRecord {
  assert.equal(r.status, 'completed', r.error);
  assert.equal(r.finalQueryMigrate.src?.status, 'completed');
  assert.equal(r.finalQueryMigrate.dst?.status, 'completed');
  const rec = scenarioJson(r);
  assert.equal(rec.scenario, scenario);
  assert.equal(rec.status, 'completed');
  assert.equal(rec.destinationRunning, true);
  return rec;
}

/** The side's QEMU record: the version its QMP greeting stated, and the downtime events where it has them. */
function assertQemu(rec: ScenarioRecord['destinationQemu'], version: '7.2' | '10.0'): void {
  assert.ok(rec);
  assert.ok(rec.version?.startsWith(`${version}.`), `QEMU ${rec.version}`);
  const traced = downtimeTraceEvents.filter((e) => rec.traceEvents.includes(e));
  assert.deepEqual(traced, version === '10.0' ? [...downtimeTraceEvents] : [], `vmstate_downtime_* traced on ${version}`);
  if (version === '10.0') assert.match(rec.firmwareDir ?? '', /qemu\/10\.0\.\d+\/usr\/share\/qemu$/);
}

interface ChannelFigures { channel: number; packets: number; normalPages: number | null; zeroPages: number | null; bytes: number | null; payloadBytes: number | null }

/**
 * What QEMU 9.2+ counts as multifd bytes on a channel (migration/multifd.c): each packet's header
 * (320 bytes and 8 per page slot of a 512 KiB packet: 1,344 with 4 KiB pages) and its payload
 * (next_packet_size), and the 64-byte handshake once.
 */
const multifdHeaderBytes = 320 + 8 * (512 * 1024 / 4096);
const multifdHandshakeBytes = 64;
interface AnalyzeJson {
  multifd: {
    send: ChannelFigures[]; recv: ChannelFigures[]; sendFormat: string; recvFormat: string;
    crossCheck: { send: { ok: boolean }; recv: { ok: boolean } };
    transit: Array<{ channel: number; matched: number; maxNs: number | null }>;
  } | null;
  postcopy: { faultRequests: number | null; pagesPlaced: number | null; zeroPagesPlaced: number | null; faultsPerRamBlock: Array<{ key: string; count: number }>; blocktimeTotal: number | null };
}

async function analyze(r: LabResult): Promise<AnalyzeJson> {
  const a = await runQmig(['analyze', r.outDir, '--json']);
  assert.equal(a.code, 0, a.stderr);
  return JSON.parse(a.stdout) as AnalyzeJson;
}

const precopy10 = (): Promise<LabResult> => recording('precopy-multifd-10', { scenario: 'precopy-multifd', qemu: '10.0' });

test('precopy-multifd on 10.0: zero-page-detection=multifd, the multifd threads find the guest\'s zero pages, QEMU counts the same', { timeout: 150_000 }, async (t) => {
  if (!(await needs(t))) return;
  const r = await precopy10();
  const rec = assertCompleted(r, 'precopy-multifd');
  assertQemu(rec.qemu, '10.0');
  assert.equal(rec.parameters['zero-page-detection'], 'multifd');
  assert.equal(rec.parametersNotOffered, undefined);
  const src = rawEvents(read(r, 'src-trace.log'));
  const fills = src.filter((e) => e.name === 'multifd_send_ram_fill');
  const normal = fills.reduce((s, e) => s + numberArg(e, /normal pages (\d+)/), 0);
  const zero = fills.reduce((s, e) => s + numberArg(e, /zero pages (\d+)/), 0);
  const info = finalInfo(r, 'src');
  t.diagnostic(`multifd_send_ram_fill: ${normal} normal + ${zero} zero pages; query-migrate: ${info.ram?.normal} normal, ${info.ram?.duplicate} duplicate`);
  // With zero-page-detection=multifd every page goes through a channel: QEMU's own counts are the trace's.
  assert.equal(zero, info.ram?.duplicate);
  assert.equal(normal, info.ram?.normal);
  // The guest never writes a quarter of its region, nor the RAM outside it: at least that many zero pages.
  const g = rec.guest;
  const knownZero = ((g.dirtyRegionMiB * g.zeroShare) + (g.memoryMiB - g.dirtyRegionMiB - 4)) * 256;
  assert.ok(zero >= knownZero, `${zero} zero pages ≥ the guest's ${knownZero} never-written pages`);
  assert.ok(src.some((e) => e.name === 'vmstate_downtime_checkpoint' && e.args === 'src-downtime-end'));
  assert.ok(rawEvents(read(r, 'dst-trace.log')).some((e) => e.name === 'vmstate_downtime_load'));
});

test('qmig analyze on the 10.0 multifd recording: per channel packets, pages, bytes and transit equal counts from the raw lines', { timeout: 150_000 }, async (t) => {
  if (!(await needs(t))) return;
  const r = await precopy10();
  assertCompleted(r, 'precopy-multifd');
  const mf = (await analyze(r)).multifd;
  assert.ok(mf);
  assert.equal(mf.sendFormat, 'fill+ram_fill');
  assert.equal(mf.recvFormat, 'fill');
  const src = rawEvents(read(r, 'src-trace.log'));
  const dst = rawEvents(read(r, 'dst-trace.log'));
  const byChannel = (evs: RawEvent[], name: string): Map<number, RawEvent[]> => {
    const m = new Map<number, RawEvent[]>();
    for (const e of evs.filter((x) => x.name === name)) {
      const ch = numberArg(e, /^channel (\d+)/);
      m.set(ch, [...(m.get(ch) ?? []), e]);
    }
    return m;
  };
  const sent = byChannel(src, 'multifd_send_fill');
  const ramFill = byChannel(src, 'multifd_send_ram_fill');
  const received = byChannel(dst, 'multifd_recv_unfill');
  assert.deepEqual([...sent.keys()].sort(), [0, 1, 2, 3]);
  const size = (e: RawEvent): number => numberArg(e, /next packet size (\d+)/);
  for (const [ch, packets] of sent) {
    const s: ChannelFigures | undefined = mf.send.find((x) => x.channel === ch);
    const rams = ramFill.get(ch) ?? [];
    assert.deepEqual(s, {
      channel: ch,
      packets: packets.length,
      normalPages: rams.reduce((n, e) => n + numberArg(e, /normal pages (\d+)/), 0),
      zeroPages: rams.reduce((n, e) => n + numberArg(e, /zero pages (\d+)/), 0),
      bytes: packets.reduce((n, e) => n + size(e), 0) + packets.length * multifdHeaderBytes + multifdHandshakeBytes,
      payloadBytes: packets.reduce((n, e) => n + size(e), 0),
    }, `send channel ${ch}`);
    const got = received.get(ch) ?? [];
    // 10.0's multifd_recv_unfill carries no page counts: n/a (null), never 0.
    const payload = got.reduce((n, e) => n + size(e), 0);
    assert.deepEqual(
      mf.recv.find((x) => x.channel === ch),
      { channel: ch, packets: got.length, normalPages: null, zeroPages: null, bytes: payload + got.length * multifdHeaderBytes + multifdHandshakeBytes, payloadBytes: payload },
      `recv channel ${ch}`,
    );
    // Transit: the same packet number on the same channel, received minus sent.
    const sentAt = new Map(packets.map((e) => [numberArg(e, /packet_num (\d+)/), e.us]));
    const transits = got.flatMap((e) => {
      const at = sentAt.get(numberArg(e, /packet_num (\d+)/));
      return at === undefined ? [] : [e.us - at];
    });
    const tr: { matched: number; maxNs: number | null } | undefined = mf.transit.find((x) => x.channel === ch);
    assert.equal(tr?.matched, transits.length, `matched packets on channel ${ch}`);
    assert.equal(tr?.maxNs, Math.max(...transits) * 1000, `longest transit on channel ${ch}`);
  }
  assert.ok(mf.crossCheck.send.ok && mf.crossCheck.recv.ok);
  // QEMU's own figure for what the channels carried.
  assert.equal(mf.send.reduce((n, c) => n + (c.bytes ?? 0), 0), finalInfo(r, 'src').ram?.['multifd-bytes']);
});

test('precopy-multifd on 7.2 for contrast: zero pages stay in the migration thread, the multifd trace has none (n/a)', { timeout: 150_000 }, async (t) => {
  if (!(await needs(t, ['7.2']))) return;
  const r = await recording('precopy-multifd-72', { scenario: 'precopy-multifd', qemu: '7.2' });
  const rec = assertCompleted(r, 'precopy-multifd');
  assertQemu(rec.qemu, '7.2');
  assert.equal(rec.parameters['zero-page-detection'], undefined);
  assert.match(rec.parametersNotOffered?.['zero-page-detection'] ?? '', /QEMU 7\.2\.\d+ \(src\), QEMU 7\.2\.\d+ \(dst\) has no zero-page-detection "multifd"/);
  assert.ok((finalInfo(r, 'src').ram?.duplicate ?? 0) > 0, 'QEMU still counts zero pages');
  const a = await analyze(r);
  assert.ok(a.multifd && a.multifd.send.length === 4 && a.multifd.send.every((c) => c.zeroPages === null && (c.normalPages ?? 0) > 0));
});

test('postcopy on 10.0: no multifd asked for, the destination faults pages in; analyze equals the raw counts and QEMU\'s blocktime', { timeout: 150_000 }, async (t) => {
  if (!(await needs(t))) return;
  const r = await recording('postcopy-10', { scenario: 'postcopy', qemu: '10.0' });
  const rec = assertCompleted(r, 'postcopy');
  assertQemu(rec.qemu, '10.0');
  assert.equal(rec.capabilities['multifd'], undefined, 'QEMU 8.1+ refuses postcopy with multifd: the scenario does not ask');
  assert.equal(rec.postcopy?.switched, true);
  const dst = rawEvents(read(r, 'dst-trace.log'));
  const faults = dst.filter((e) => e.name === 'postcopy_ram_fault_thread_request');
  assert.ok(faults.length > 0);
  const a = await analyze(r);
  assert.equal(a.postcopy.faultRequests, faults.length);
  assert.equal(a.postcopy.pagesPlaced, dst.filter((e) => e.name === 'postcopy_place_page' || e.name === 'postcopy_place_page_zero').length);
  assert.equal(a.postcopy.zeroPagesPlaced, dst.filter((e) => e.name === 'postcopy_place_page_zero').length);
  const perBlock = new Map<string, number>();
  for (const e of faults) {
    const rb = /rb=(\S+)/.exec(e.args)?.[1] ?? '?';
    perBlock.set(rb, (perBlock.get(rb) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(a.postcopy.faultsPerRamBlock.map((b) => [b.key, b.count])), Object.fromEntries(perBlock));
  assert.equal(a.postcopy.blocktimeTotal, finalInfo(r, 'dst')['postcopy-blocktime']);
});

test('postcopy with multifd on 10.0 stops at configure with QEMU\'s own reason', { timeout: 150_000 }, async (t) => {
  if (!(await needs(t))) return;
  await assert.rejects(recording('postcopy-multifd-10', { scenario: 'postcopy', qemu: '10.0', capabilities: { multifd: true } }), (e: unknown) => {
    assert.ok(e instanceof LabError);
    assert.equal(e.step, 'configure migration');
    assert.match(e.message, /Postcopy is not yet compatible with multifd/);
    return true;
  });
});

test('cpr-reboot on 10.0: state to a file, the QEMU quits, a new one resumes the same guest from its RAM file', { timeout: 150_000 }, async (t) => {
  if (!(await needs(t))) return;
  const r = await recording('cpr-reboot-10', { scenario: 'cpr-reboot', qemu: '10.0' });
  const rec = assertCompleted(r, 'cpr-reboot');
  assertQemu(rec.qemu, '10.0');
  assertQemu(rec.destinationQemu, '10.0');
  assert.match(rec.migrationUri ?? '', /^file:\/.*vm\.state$/);
  assert.deepEqual([rec.parameters['mode'], rec.capabilities['x-ignore-shared']], ['cpr-reboot', true]);
  const cpr = rec.cpr;
  assert.ok(cpr && r.cpr);
  t.diagnostic(`state file ${cpr.stateFileBytes} bytes for ${cpr.guestRamBytes} bytes of RAM; paused ${cpr.pauseMs} ms; sweep ${cpr.lastSourceSweep} → ${cpr.firstDestinationSweep}`);
  assert.equal(cpr.sourceRunState, 'postmigrate');
  // Guest RAM stayed in its file: the state file holds device state and the few RAM blocks outside it.
  assert.ok((cpr.stateFileBytes ?? Infinity) < cpr.guestRamBytes / 20, `state file ${cpr.stateFileBytes} bytes`);
  assert.ok((finalInfo(r, 'src').ram?.normal ?? Infinity) < 1000, 'guest RAM was not sent');
  // The same guest goes on: its sweep counter lives in that RAM, and it never booted again.
  assert.ok(cpr.firstDestinationSweep > cpr.lastSourceSweep, `sweep ${cpr.lastSourceSweep} → ${cpr.firstDestinationSweep}`);
  assert.doesNotMatch(read(r, 'dst-guest.log'), /qmig-guest: ready/);
  const srcProc = rec.processes.find((p) => p.role === 'src-qemu');
  assert.equal(srcProc?.exit, 'exited with status 0', 'the old QEMU quit before the new one started');
  const dstArgv = rec.processes.find((p) => p.role === 'dst-qemu')?.argv ?? [];
  const backend = dstArgv[dstArgv.indexOf('-object') + 1] ?? '';
  assert.match(backend, /^memory-backend-file,id=ram0,size=256M,mem-path=\/dev\/shm\/qmig-lab-ram-\w+\/guest-ram,share=on$/);
  assert.deepEqual(rec.processes.find((p) => p.role === 'src-qemu')?.argv.filter((a) => a.startsWith('memory-backend-file')), [backend], 'both QEMUs on the same RAM file');
  assert.ok(rec.ramDir && !existsSync(rec.ramDir), 'the RAM file is removed');
  const checkpoints = (f: string): string[] => rawEvents(read(r, f)).filter((e) => e.name === 'vmstate_downtime_checkpoint').map((e) => e.args);
  assert.ok(checkpoints('src-trace.log').includes('src-downtime-end'));
  assert.ok(checkpoints('dst-trace.log').includes('dst-precopy-loadvm-completed'));
});

test('cpr-transfer on 10.0: the new QEMU receives guest RAM over a second, cpr-type channel; no page crosses the main one', { timeout: 150_000 }, async (t) => {
  if (!(await needs(t))) return;
  const r = await recording('cpr-transfer-10', { scenario: 'cpr-transfer', qemu: '10.0' });
  const rec = assertCompleted(r, 'cpr-transfer');
  assertQemu(rec.qemu, '10.0');
  assert.match(rec.cprChannel ?? '', /^unix:\/.*cpr\.sock$/);
  const dstArgv = rec.processes.find((p) => p.role === 'dst-qemu')?.argv ?? [];
  const incoming = dstArgv.flatMap((a, i) => (a === '-incoming' ? [dstArgv[i + 1] ?? ''] : []));
  assert.equal(incoming[0], 'defer');
  assert.equal((JSON.parse(incoming[1] ?? '{}') as { 'channel-type'?: string })['channel-type'], 'cpr');
  assert.ok(dstArgv.includes('pc,memory-backend=ram0,aux-ram-share=on'));
  const ram = finalInfo(r, 'src').ram;
  assert.deepEqual([ram?.normal, ram?.duplicate], [0, 0], 'RAM went over as file descriptors');
  assert.ok(rec.cpr && rec.cpr.firstDestinationSweep > rec.cpr.lastSourceSweep);
  assert.ok(rawEvents(read(r, 'src-trace.log')).some((e) => e.name === 'cpr_transfer_output'));
  assert.ok(rawEvents(read(r, 'dst-trace.log')).some((e) => e.name === 'cpr_transfer_input'));
});

test('cross-version: multifd from 7.2 to 10.0 on pc-i440fx-7.2; each side traced with what it has', { timeout: 150_000 }, async (t) => {
  if (!(await needs(t, ['7.2', '10.0']))) return;
  const r = await recording('cross-version', { scenario: 'cross-version' });
  const rec = assertCompleted(r, 'cross-version');
  assertQemu(rec.qemu, '7.2');
  assertQemu(rec.destinationQemu, '10.0');
  assert.deepEqual(r.qemuVersions.src?.split('.').slice(0, 2), ['7', '2']);
  for (const role of ['src-qemu', 'dst-qemu']) {
    const argv = rec.processes.find((p) => p.role === role)?.argv ?? [];
    assert.equal(argv[argv.indexOf('-M') + 1], 'pc-i440fx-7.2', role);
  }
  assert.equal(rawEvents(read(r, 'src-trace.log')).filter((e) => e.name.startsWith('vmstate_downtime')).length, 0);
  assert.ok(rawEvents(read(r, 'dst-trace.log')).some((e) => e.name === 'vmstate_downtime_load'));
  const a = await analyze(r);
  assert.ok(a.multifd);
  assert.deepEqual([a.multifd.sendFormat, a.multifd.recvFormat], ['normal', 'fill'], '7.2 sends, 10.0 receives');
  assert.equal(a.multifd.send.length, 4);
  for (const s of a.multifd.send) assert.equal(a.multifd.recv.find((x) => x.channel === s.channel)?.packets, s.packets, `channel ${s.channel}`);
});

test('postcopy-vhost-user on 10.0 with DPDK testpmd back-ends', { timeout: 150_000 }, async (t) => {
  if (!(await needs(t)) || !requireComponent(t, 'dpdk-testpmd', findExecutable('dpdk-testpmd') !== undefined)) return;
  const r = await recording('vhost-10', { scenario: 'postcopy-vhost-user', qemu: '10.0' });
  const rec = assertCompleted(r, 'postcopy-vhost-user');
  assertQemu(rec.qemu, '10.0');
  const dst = read(r, 'dst-trace.log');
  const at = (req: number): number => dst.search(new RegExp(`:vhost_user_write req:${req} `));
  assert.ok(at(28) >= 0 && at(29) > at(28) && at(30) > at(29), 'POSTCOPY_ADVISE, LISTEN, END in order');
});

test('what a QEMU lacks is refused before the guest runs: CPR on 7.2, cross-version with one version', { timeout: 60_000 }, async (t) => {
  if (!(await needs(t, ['7.2', '10.0']))) return;
  const q10 = await installedQemu('10.0');
  await assert.rejects(runLab({ scenario: 'cpr-reboot', qemu: '7.2', outDir: join(root, 'no-cpr-reboot') }), (e: unknown) => {
    assert.ok(e instanceof LabError);
    assert.equal(e.step, 'check QEMU features');
    assert.match(e.message, /cpr-reboot needs what QEMU 7\.2\.\d+ .* does not offer: no migration parameter 'mode'/);
    return true;
  });
  await assert.rejects(runLab({ scenario: 'cpr-transfer', qemu: '7.2', outDir: join(root, 'no-cpr-transfer') }), /check programs: machine pc of QEMU 7\.2\.\d+ .* has no property aux-ram-share/);
  await assert.rejects(runLab({ scenario: 'cross-version', qemu: q10, dstQemu: '10.0', outDir: join(root, 'no-cross') }), /runs two different QEMU versions, but both sides are QEMU 10\.0\.\d+/);
});
