import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { unixSocketPathProblem } from '../qmp/socketPath';
import {
  endpointOf,
  queryMigrate,
  queryStatus,
  setCapabilities,
  setParameters,
  startIncoming,
  startMigration,
  startPostcopy,
  waitForPrecopyPasses,
  waitForStatus,
  type MigrationEndpoint,
} from '../migration/actions';
import type { MigrationInfo } from '../qmp/replies';
import { missingFeatures, offersParameterValue } from '../monitor/features';
import { LabError, type LabSide } from './errors';
import { buildGuest, guestSourcePath, guestSweepMarker, guestVirtioModernMarker } from './guest';
import { checkMachine, resolveLabQemus, traceEventsFor } from './qemuSides';
import { findVhostUserBridge } from '../qemu/bridge';
import { labFileNames } from './record';
import { LabRunBase, sides } from './runBase';
import type { LabHooks, LabOptions, LabResult } from './types';
import { fileExists, pollUntil, readTextOrEmpty } from './wait';
import { QmpJournal } from './transcript';

const MiB = 1024 * 1024;
/** How to point the lab at another QEMU. */
const labQemuHint = '--qemu 10.0 or --qemu PATH; LabOptions.qemu';


class LabRun extends LabRunBase {
  /** Each side's connection as the migration actions use it, once its features were checked. */
  private readonly endpoints = new Map<LabSide, MigrationEndpoint>();

  private endpoint(side: LabSide): MigrationEndpoint {
    const e = this.endpoints.get(side);
    if (!e) throw new LabError(this.step, `no QMP connection to the ${side === 'src' ? 'source' : 'destination'} QEMU whose features were checked`, side);
    return e;
  }

  // ------------------------------------------------------------------ the run

  protected async steps(): Promise<void> {
    const { r } = this;
    await mkdir(this.outDir, { recursive: true });
    await this.removeOldOutputs();

    this.tmp = await mkdtemp(join(tmpdir(), 'qmig-lab-'));
    this.record.tempDir = this.tmp;
    // QEMU and testpmd create these sockets; a path too long for a socket address fails here, named.
    const sockets = [...sides.flatMap((side) => [`${side}-qmp.sock`, `${side}-monitor.sock`, `${side}-vhost-user.sock`]), 'migration.sock', 'cpr.sock'];
    for (const p of sockets.map((n) => this.tmpPath(n))) {
      const why = unixSocketPathProblem(p);
      if (why !== undefined) throw new LabError('prepare', `socket ${p} in the temporary folder (TMPDIR): ${why}`);
    }

    this.at('check programs');
    this.qemus = await resolveLabQemus(r);
    for (const side of sides) {
      const q = this.install(side);
      this.traceEvents.set(side, await traceEventsFor(q, r.traceEvents));
      this.describeInstall(side, q);
      if (side === 'src' || q !== this.install('src')) await checkMachine(side, q, r.plan.machine, r.plan.machineProperties);
    }
    const nasmBin = this.need(r.nasmBinary, 'nasm (assembles the lab guest)', '--nasm PATH (LabOptions.nasmBinary)');
    const bridge = r.plan.vhostUser && r.plan.backend === 'bridge';
    const testpmdBin = r.plan.vhostUser && !bridge
      ? this.need(r.testpmdBinary, 'DPDK testpmd', '--testpmd PATH (LabOptions.testpmdBinary)')
      : undefined;
    if (testpmdBin) this.record.dpdk = { binary: testpmdBin };
    const bridgeBin = bridge ? this.findBridge() : undefined;
    if (bridgeBin) this.record.bridge = { binary: bridgeBin };

    if (r.plan.memory === 'file') {
      // Guest RAM in a file that outlives the QEMU: tmpfs keeps it in memory, as a DAX device would.
      this.ramDir = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'qmig-lab-ram-'));
      this.record.ramDir = this.ramDir;
    }

    this.at('build guest');
    this.kernel = join(this.tmp, 'dirty.bin');
    const source = guestSourcePath();
    this.record.guest.sourceSha256 = createHash('sha256').update(readFileSync(source)).digest('hex');
    const nasmArgv = await buildGuest(nasmBin, this.kernel, this.signal);
    this.record.processes.push({ role: 'nasm', argv: nasmArgv, exit: 'exited with status 0' });

    this.files.qmpTranscript = join(this.outDir, labFileNames.qmpTranscript);
    this.journal = new QmpJournal(this.files.qmpTranscript);

    if (testpmdBin) {
      for (const side of sides) await this.startTestpmd(side, testpmdBin);
    }
    if (bridgeBin) {
      for (const side of sides) await this.startBridge(side, bridgeBin);
    }
    switch (r.plan.flow) {
      case 'live': return this.liveMigration();
      case 'cpr-reboot': return this.cprReboot();
      case 'cpr-transfer': return this.cprTransfer();
    }
  }

  /** Both QEMUs run at once; the guest moves over a unix socket, precopy or switched to postcopy. */
  private async liveMigration(): Promise<void> {
    const { r } = this;
    for (const side of sides) this.startQemu(side);
    await Promise.all(sides.map((side) => this.connect(side)));
    await this.describeQemu('src');
    await this.describeQemu('dst');
    await this.checkFeatures(sides);

    this.at('boot guest', 'src');
    await this.waitForGuest();
    if (r.plan.guestVirtio === 1 && !readTextOrEmpty(this.debugcon('src')).includes(guestVirtioModernMarker)) {
      const said = readTextOrEmpty(this.debugcon('src')).split('\n').find((l) => l.startsWith('qmig-guest: virtio-net')) ?? 'nothing about its NIC';
      throw new LabError('boot guest', `the guest did not bring the virtio-net device up through the virtio 1.0 interface (it said: ${said}), so the back-end would serve nothing`, 'src');
    }

    this.at('configure migration');
    for (const side of sides) await this.configure(side);

    const uri = `unix:${this.tmpPath('migration.sock')}`;
    this.record.migrationUri = uri;
    this.at('migrate-incoming', 'dst');
    await startIncoming(this.endpoint('dst'), uri);
    this.at('migrate', 'src');
    const migrateAt = Date.now();
    await startMigration(this.endpoint('src'), uri);

    if (r.plan.postcopy) await this.switchToPostcopy(migrateAt);
    for (const side of sides) await this.waitForCompletion(side);
    await this.checkDestination();
    for (const side of sides) await this.finalQueryMigrate(side);
    if (this.hooks.beforeTeardown) {
      this.at('hold');
      await this.hooks.beforeTeardown({ ...this.files });
    }
  }

  /** tests/vhost-user-bridge: the one given, else in the build folders, else the one setup built. */
  private findBridge(): string {
    const { r } = this;
    if (r.bridgeBinary !== undefined) return this.need(r.bridgeBinary, 'tests/vhost-user-bridge', '--bridge PATH (LabOptions.bridgeBinary)');
    try {
      return findVhostUserBridge({ buildDirs: r.qemuBuildDirs, ...(r.cacheDir !== undefined ? { cacheDir: r.cacheDir } : {}) }).path;
    } catch (e) {
      throw new LabError('check programs', e instanceof Error ? e.message : String(e));
    }
  }

  /** A CPR scenario's first steps: the source QEMU alone, its guest booted, its migration configured. */
  private async sourceAlone(): Promise<void> {
    this.startQemu('src');
    await this.connect('src');
    await this.describeQemu('src');
    await this.checkFeatures(['src']);
    this.at('boot guest', 'src');
    await this.waitForGuest();
    this.at('configure migration', 'src');
    await this.configure('src');
  }

  /**
   * Live update by restart: the source saves device state to a file with guest RAM left in place
   * (x-ignore-shared over a shared file), quits, and a new QEMU on the same RAM file resumes from
   * the saved state (docs/devel/migration/CPR.rst, cpr-reboot).
   */
  private async cprReboot(): Promise<void> {
    await this.sourceAlone();

    const stateFile = this.tmpPath('vm.state');
    const uri = `file:${stateFile}`;
    this.record.migrationUri = uri;
    this.at('migrate', 'src');
    const migrateAt = Date.now();
    await startMigration(this.endpoint('src'), uri);
    await this.waitForCompletion('src');
    const st = await queryStatus(this.endpoint('src'));
    this.log(`source run state after saving: ${st.status}`);
    await this.finalQueryMigrate('src');
    const lastSweep = this.lastSweep('src');

    this.at('quit', 'src');
    await this.quitQemu('src');
    const stateBytes = statSync(stateFile).size;

    this.startQemu('dst');
    await this.connect('dst');
    await this.describeQemu('dst');
    await this.checkFeatures(['dst']);
    this.at('configure migration', 'dst');
    await this.configure('dst');
    this.at('migrate-incoming', 'dst');
    await startIncoming(this.endpoint('dst'), uri);
    await this.waitForCompletion('dst');
    await this.checkDestination();
    const resumedAtMs = Date.now() - migrateAt;
    const resumedSweep = await this.waitForNextSweep(lastSweep);
    await this.finalQueryMigrate('dst');
    this.record.cpr = {
      mode: 'cpr-reboot',
      stateFileBytes: stateBytes,
      guestRamBytes: this.r.memoryMiB * MiB,
      sourceRunState: st.status,
      pauseMs: resumedAtMs,
      lastSourceSweep: lastSweep,
      firstDestinationSweep: resumedSweep,
    };
  }

  /**
   * Live update by handing over: the new QEMU starts with a second, cpr-type incoming channel and
   * receives the guest-RAM memfd over it (SCM_RIGHTS) before its monitor opens; the main channel
   * then carries only device state (docs/devel/migration/CPR.rst, cpr-transfer).
   */
  private async cprTransfer(): Promise<void> {
    await this.sourceAlone();

    const cprSocket = this.tmpPath('cpr.sock');
    const mainSocket = this.tmpPath('migration.sock');
    this.startQemu('dst', cprSocket);
    // The new QEMU listens on the cpr channel and blocks there: its monitor opens only once it has
    // read the cpr state, which the source writes when it gets `migrate`.
    this.at('wait for the cpr channel', 'dst');
    const dstProc = this.qemu.get('dst');
    await pollUntil(() => fileExists(cprSocket), {
      timeoutMs: 30_000,
      signal: this.signal,
      ...(dstProc ? { stillAlive: () => this.checkAlive(dstProc, 'dst') } : {}),
      onTimeout: () => new LabError(this.step, `the new QEMU did not listen on ${cprSocket} within 30 s`, 'dst'),
    });
    const unix = (path: string): Record<string, string> => ({ transport: 'socket', type: 'unix', path });
    const channels = [
      { 'channel-type': 'main', addr: unix(mainSocket) },
      { 'channel-type': 'cpr', addr: unix(cprSocket) },
    ];
    this.record.migrationUri = `unix:${mainSocket}`;
    this.record.cprChannel = `unix:${cprSocket}`;
    this.at('migrate', 'src');
    const migrateAt = Date.now();
    await startMigration(this.endpoint('src'), { channels });
    const lastSweep = this.lastSweep('src');

    await this.connect('dst');
    await this.describeQemu('dst');
    await this.checkFeatures(['dst']);
    this.at('configure migration', 'dst');
    // The mode came over the cpr channel; the destination is told only what it may set itself.
    await this.configure('dst', { mode: false });
    this.at('migrate-incoming', 'dst');
    await startIncoming(this.endpoint('dst'), `unix:${mainSocket}`);
    for (const side of sides) await this.waitForCompletion(side);
    await this.checkDestination();
    const resumedAtMs = Date.now() - migrateAt;
    const resumedSweep = await this.waitForNextSweep(lastSweep);
    for (const side of sides) await this.finalQueryMigrate(side);
    this.record.cpr = {
      mode: 'cpr-transfer',
      guestRamBytes: this.r.memoryMiB * MiB,
      pauseMs: resumedAtMs,
      lastSourceSweep: lastSweep,
      firstDestinationSweep: resumedSweep,
    };
  }

  // ------------------------------------------------------------------ steps shared by the flows

  /** Refuses what a side's QEMU lacks, naming the side, its version and what it offers. */
  private async checkFeatures(which: readonly LabSide[]): Promise<void> {
    const { r } = this;
    for (const side of which) {
      this.at('check QEMU features', side);
      const e = await endpointOf(this.client(side));
      this.endpoints.set(side, e);
      const f = e.features;
      this.features.set(side, f);
      const missing = missingFeatures(f, r.capabilities, side === 'dst' && r.plan.flow === 'cpr-transfer' ? {} : r.parameters);
      if (missing.length > 0) {
        const q = this.install(side);
        throw new LabError(
          this.step,
          `${r.plan.name} needs what QEMU ${q.versionText} (${q.binary}) does not offer: ${missing.join('; ')}; ` +
            `run it on a newer QEMU (${labQemuHint})`,
          side,
        );
      }
    }
    // Parameters only some QEMUs have: set where every side that is checked offers them.
    const checked = [...this.features.values()];
    for (const [name, value] of Object.entries(r.parametersIfOffered)) {
      const lacking = [...this.features.entries()].filter(([, f]) => !offersParameterValue(f, name, value)).map(([s]) => s);
      if (lacking.length === 0 && checked.length > 0) {
        this.extraParameters[name] = value;
        delete this.record.parametersNotOffered?.[name];
      } else {
        delete this.extraParameters[name];
        const versions = lacking.map((s) => `QEMU ${this.install(s).versionText} (${s})`).join(', ');
        (this.record.parametersNotOffered ??= {})[name] = `${versions} has no ${name} ${JSON.stringify(value)}`;
      }
    }
    this.record.parameters = { ...r.parameters, ...this.extraParameters };
  }

  private async configure(side: LabSide, opts: { mode?: false } = {}): Promise<void> {
    this.side = side;
    await setCapabilities(this.endpoint(side), this.r.capabilities);
    const params: Record<string, unknown> = { ...this.r.parameters, ...this.extraParameters };
    if (opts.mode === false) delete params['mode'];
    if (Object.keys(params).length > 0) await setParameters(this.endpoint(side), params);
  }

  private async switchToPostcopy(migrateAt: number): Promise<void> {
    const { r } = this;
    this.at('migrate-start-postcopy', 'src');
    await sleep(Math.max(0, migrateAt + r.postcopyAfterMs - Date.now()), undefined, { signal: this.signal });
    const now = await this.waitForFirstPass();
    const statusAtSwitch = now.status ?? 'none';
    // Switching is only possible while precopy is still running; a migration that already
    // converged is recorded as such (its destination then shows no postcopy faults).
    const switched = statusAtSwitch === 'active';
    if (switched) await startPostcopy(this.endpoint('src'));
    this.record.postcopy = {
      afterMs: r.postcopyAfterMs,
      switched,
      statusAtSwitch,
      switchedAtMs: Date.now() - migrateAt,
      dirtySyncCountAtSwitch: now.ram?.['dirty-sync-count'] ?? 0,
    };
    if (!switched) this.log(`migration was '${statusAtSwitch}' after ${r.postcopyAfterMs} ms; postcopy not started`);
  }

  private async waitForCompletion(side: LabSide): Promise<void> {
    this.at('wait for completion', side);
    const left = Math.max(1, this.startedAt + this.r.timeoutMs - Date.now());
    await waitForStatus(this.endpoint(side), ['completed'], { timeoutMs: left, pollMs: 100, signal: this.signal });
  }

  private async checkDestination(): Promise<void> {
    this.at('check destination', 'dst');
    const st = await queryStatus(this.endpoint('dst'));
    this.record.destinationRunning = st.running;
    if (!st.running) throw new LabError('check destination', `destination VM is '${st.status}', not running, after migration`, 'dst');
  }

  private async finalQueryMigrate(side: LabSide): Promise<void> {
    this.at('final query-migrate', side);
    const info = await queryMigrate(this.endpoint(side));
    this.final[side] = info;
    const key = side === 'src' ? 'finalQueryMigrateSrc' : 'finalQueryMigrateDst';
    const path = join(this.outDir, labFileNames[key]);
    await writeFile(path, JSON.stringify(info, null, 2) + '\n');
    this.files[key] = path;
  }

  /**
   * Waits until the first precopy pass is over (a second dirty-bitmap sync has happened) or the
   * migration left `active`. Switching earlier would send the untouched rest of RAM during
   * postcopy, tens of thousands of zero pages each traced on the destination, and the recording
   * would show bulk transfer instead of the guest's working set faulting in.
   */
  private waitForFirstPass(): Promise<MigrationInfo> {
    return waitForPrecopyPasses(this.endpoint('src'), 1, { timeoutMs: 0, pollMs: 50, signal: this.signal });
  }

  /** The number of the guest's last `sweep N` line on a side's debug console (0 before the first). */
  private lastSweep(side: LabSide): number {
    const all = [...readTextOrEmpty(this.debugcon(side)).matchAll(new RegExp(`${guestSweepMarker} (\\d+)`, 'g'))];
    return Number(all.at(-1)?.[1] ?? 0);
  }

  /**
   * After a CPR restart the guest must go on from where it was: the counter of its next sweep
   * lives in guest RAM that was kept in place, so it continues the source's numbers.
   */
  private async waitForNextSweep(after: number): Promise<number> {
    this.at('guest resumes', 'dst');
    const g = this.r.guest;
    const sweepMs = g.rateMiBps > 0 ? (g.regionMiB / g.rateMiBps) * 1000 : 0;
    const proc = this.qemu.get('dst');
    return pollUntil(() => {
      const n = this.lastSweep('dst');
      return n > 0 ? n : undefined;
    }, {
      timeoutMs: Math.min(Math.max(1, this.startedAt + this.r.timeoutMs - Date.now()), 2 * sweepMs + 10_000),
      pollMs: 100,
      signal: this.signal,
      ...(proc ? { stillAlive: () => this.checkAlive(proc, 'dst') } : {}),
      onTimeout: () => new LabError(this.step, `the guest printed no '${guestSweepMarker}' line on the new QEMU (its last on the old one was ${after})`, 'dst'),
    });
  }
}

/**
 * Runs one migration scenario between two real QEMUs on this host and records it in
 * `opts.outDir`. Resolves when the migration completed on both sides; rejects with a LabError
 * (carrying the partial result) otherwise. Every process is ended and the private temporary
 * directory removed in all cases, including abort.
 */
export async function runLab(opts: LabOptions, hooks: LabHooks = {}): Promise<LabResult> {
  return new LabRun(opts, hooks).execute();
}
