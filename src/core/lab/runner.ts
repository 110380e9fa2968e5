import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { QmpClient } from '../qmp/client';
import {
  migrate,
  migrateIncoming,
  queryMigrate,
  queryStatus,
  setCapabilities,
  setParameters,
  startPostcopy,
  waitForMigrationStatus,
  type MigrationInfo,
} from '../qmp/migration';
import { version as workbenchVersion } from '../version';
import { dpdkRuntimeDir, parseDpdkVersion, qemuArgs, testpmdArgs } from './commandLines';
import { LabAbortedError, LabError, LabMissingBinaryError, type LabSide } from './errors';
import { buildGuest, guestExceptionMarker, guestReadyMarker, guestSourcePath } from './guest';
import { resolveLabOptions, type ResolvedLab } from './options';
import { ManagedProcess, findExecutable } from './process';
import { QmpJournal } from './transcript';
import type { LabFiles, LabHooks, LabOptions, LabResult, LabStatus } from './types';
import { fileExists, lastLines, pollUntil, readTextOrEmpty, sleep } from './wait';
import { labFileNames, summarizeMigration, type ScenarioRecord } from './record';

const sides: readonly LabSide[] = ['src', 'dst'];

class LabRun {
  private readonly r: ResolvedLab;
  private readonly outDir: string;
  private readonly controller = new AbortController();
  private readonly signal = this.controller.signal;
  private readonly startedAt = Date.now();
  private step = 'options';
  private side: LabSide | undefined;
  private userAborted = false;
  private timedOut = false;
  private timer: NodeJS.Timeout | undefined;
  private tmp: string | undefined;
  private journal: QmpJournal | undefined;
  private readonly qemu = new Map<LabSide, ManagedProcess>();
  private readonly testpmd = new Map<LabSide, ManagedProcess>();
  private readonly clients = new Map<LabSide, QmpClient>();
  private readonly dpdkPrefixes: string[] = [];
  private readonly final: { src?: MigrationInfo; dst?: MigrationInfo } = {};
  private readonly files: Partial<LabFiles> = {};
  private readonly record: ScenarioRecord;

  constructor(opts: LabOptions, private readonly hooks: LabHooks) {
    this.r = resolveLabOptions(opts);
    this.outDir = resolve(opts.outDir);
    this.record = {
      tool: 'qmig lab',
      workbenchVersion,
      scenario: this.r.plan.name,
      description: this.r.plan.description,
      status: 'failed',
      startTime: new Date(this.startedAt).toISOString(),
      host: { platform: process.platform, kernel: release(), cpus: cpus().length },
      qemu: { accelerators: this.r.accelerators },
      guest: {
        source: 'src/core/lab/guest/dirty.asm',
        commandLine: this.r.guestAppend,
        memoryMiB: this.r.memoryMiB,
        dirtyRateMiBps: this.r.guest.rateMiBps,
        zeroShare: this.r.guest.zeroSixteenths / 16,
        dirtyRegionMiB: this.r.guest.regionMiB,
      },
      capabilities: this.r.capabilities,
      parameters: this.r.parameters,
      traceEvents: this.r.traceEvents,
      processes: [],
      files: {},
    };
  }

  async execute(): Promise<LabResult> {
    const onUserAbort = (): void => {
      this.userAborted = true;
      this.controller.abort(new LabAbortedError(this.step));
    };
    if (this.hooks.signal?.aborted) onUserAbort();
    this.hooks.signal?.addEventListener('abort', onUserAbort, { once: true });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(this.timeoutError());
    }, this.r.timeoutMs);
    let failure: LabError | undefined;
    try {
      await this.steps();
    } catch (e) {
      failure = this.toLabError(e);
    } finally {
      clearTimeout(this.timer);
      this.hooks.signal?.removeEventListener('abort', onUserAbort);
    }
    await this.teardown();
    const status: LabStatus = failure === undefined ? 'completed' : this.userAborted ? 'aborted' : 'failed';
    const result = await this.finish(status, failure);
    if (failure) {
      failure.result = result;
      throw failure;
    }
    return result;
  }

  // ------------------------------------------------------------------ the run

  private async steps(): Promise<void> {
    const { r } = this;
    await mkdir(this.outDir, { recursive: true });
    await this.removeOldOutputs();

    this.at('check programs');
    const qemuBin = this.need(r.qemuBinary, 'QEMU', '--qemu PATH (LabOptions.qemuBinary)');
    const nasmBin = this.need(r.nasmBinary, 'nasm (assembles the lab guest)', '--nasm PATH (LabOptions.nasmBinary)');
    const testpmdBin = r.plan.vhostUser
      ? this.need(r.testpmdBinary, 'DPDK testpmd', '--testpmd PATH (LabOptions.testpmdBinary)')
      : undefined;
    this.record.qemu.binary = qemuBin;
    if (testpmdBin) this.record.dpdk = { binary: testpmdBin };

    this.tmp = await mkdtemp(join(tmpdir(), 'qmig-lab-'));
    this.record.tempDir = this.tmp;

    this.at('build guest');
    const kernel = join(this.tmp, 'dirty.bin');
    const source = guestSourcePath();
    this.record.guest.sourceSha256 = createHash('sha256').update(readFileSync(source)).digest('hex');
    const nasmArgv = await buildGuest(nasmBin, kernel, this.signal);
    this.record.processes.push({ role: 'nasm', argv: nasmArgv, exit: 'exited with status 0' });

    this.files.qmpTranscript = join(this.outDir, labFileNames.qmpTranscript);
    this.journal = new QmpJournal(this.files.qmpTranscript);

    if (testpmdBin) {
      for (const side of sides) await this.startTestpmd(side, testpmdBin);
    }
    for (const side of sides) this.startQemu(side, qemuBin, kernel);
    await Promise.all(sides.map((side) => this.connect(side)));
    await this.describeQemu();

    this.at('boot guest', 'src');
    await this.waitForGuest();

    this.at('configure migration');
    for (const side of sides) {
      this.side = side;
      await setCapabilities(this.client(side), r.capabilities);
      await setParameters(this.client(side), r.parameters);
    }

    const uri = `unix:${join(this.tmp, 'migration.sock')}`;
    this.record.migrationUri = uri;
    this.at('migrate-incoming', 'dst');
    await migrateIncoming(this.client('dst'), uri);
    this.at('migrate', 'src');
    const migrateAt = Date.now();
    await migrate(this.client('src'), uri);

    if (r.plan.postcopy) {
      this.at('migrate-start-postcopy', 'src');
      await sleep(Math.max(0, migrateAt + r.postcopyAfterMs - Date.now()), this.signal);
      const now = await this.waitForFirstPass();
      const statusAtSwitch = now.status ?? 'none';
      // Switching is only possible while precopy is still running; a migration that already
      // converged is recorded as such (its destination then shows no postcopy faults).
      const switched = statusAtSwitch === 'active';
      if (switched) await startPostcopy(this.client('src'));
      this.record.postcopy = {
        afterMs: r.postcopyAfterMs,
        switched,
        statusAtSwitch,
        switchedAtMs: Date.now() - migrateAt,
        dirtySyncCountAtSwitch: now.ram?.['dirty-sync-count'] ?? 0,
      };
      if (!switched) this.log(`migration was '${statusAtSwitch}' after ${r.postcopyAfterMs} ms; postcopy not started`);
    }

    for (const side of sides) {
      this.at('wait for completion', side);
      const left = Math.max(1, this.startedAt + r.timeoutMs - Date.now());
      await waitForMigrationStatus(this.client(side), ['completed'], { timeoutMs: left, pollMs: 100, signal: this.signal });
    }

    this.at('check destination', 'dst');
    const st = await queryStatus(this.client('dst'));
    this.record.destinationRunning = st.running;
    if (!st.running) throw new LabError('check destination', `destination VM is '${st.status}', not running, after migration`, 'dst');

    this.at('final query-migrate');
    for (const side of sides) {
      this.side = side;
      const info = await queryMigrate(this.client(side));
      this.final[side] = info;
      const key = side === 'src' ? 'finalQueryMigrateSrc' : 'finalQueryMigrateDst';
      const path = join(this.outDir, labFileNames[key]);
      await writeFile(path, JSON.stringify(info, null, 2) + '\n');
      this.files[key] = path;
    }
  }

  /**
   * Waits until the first precopy pass is over (a second dirty-bitmap sync has happened) or the
   * migration left `active`. Switching earlier would send the untouched rest of RAM during
   * postcopy, tens of thousands of zero pages each traced on the destination, and the recording
   * would show bulk transfer instead of the guest's working set faulting in.
   */
  private async waitForFirstPass(): Promise<MigrationInfo> {
    const src = this.client('src');
    for (;;) {
      const info = await queryMigrate(src);
      if (info.status !== 'active' || (info.ram?.['dirty-sync-count'] ?? 0) >= 2) return info;
      await sleep(50, this.signal);
    }
  }

  private async startTestpmd(side: LabSide, bin: string): Promise<void> {
    if (!this.tmp) throw new Error('no temporary directory');
    this.at('start testpmd', side);
    const socket = join(this.tmp, `${side}-vhost-user.sock`);
    // The file prefix names EAL's runtime directory: unique per run and side, removed at teardown.
    const prefix = `qmig-lab-${process.pid}-${this.tmp.slice(-6)}-${side}`;
    this.dpdkPrefixes.push(prefix);
    const key = side === 'src' ? 'srcTestpmdLog' : 'dstTestpmdLog';
    const logPath = join(this.outDir, labFileNames[key]);
    this.files[key] = logPath;
    const fd = openSync(logPath, 'w');
    let proc: ManagedProcess;
    try {
      proc = new ManagedProcess(bin, testpmdArgs(socket, prefix), { label: `${side} testpmd`, outputFd: fd });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    this.testpmd.set(side, proc);
    this.addProcess(`${side}-testpmd`, proc);
    await pollUntil(() => fileExists(socket), {
      timeoutMs: 30_000,
      signal: this.signal,
      stillAlive: () => this.checkAlive(proc, side, logPath),
      onTimeout: () => new LabError('start testpmd', `no vhost-user socket ${socket} after 30 s${this.tailOf(proc, logPath)}`, side),
    });
    const dpdkVersion = parseDpdkVersion(readTextOrEmpty(logPath));
    if (this.record.dpdk && dpdkVersion) this.record.dpdk.version = dpdkVersion;
  }

  private startQemu(side: LabSide, bin: string, kernel: string): void {
    if (!this.tmp) throw new Error('no temporary directory');
    this.at('start QEMU', side);
    const traceKey = side === 'src' ? 'srcTrace' : 'dstTrace';
    const traceFile = join(this.outDir, labFileNames[traceKey]);
    this.files[traceKey] = traceFile;
    const args = qemuArgs({
      side,
      memoryMiB: this.r.memoryMiB,
      accelerators: this.r.accelerators,
      kernel,
      append: this.r.guestAppend,
      qmpSocket: this.qmpSocket(side),
      traceFile,
      traceEvents: this.r.traceEvents,
      debugconFile: this.debugcon(side),
      ...(this.r.plan.vhostUser ? { vhostUserSocket: join(this.tmp, `${side}-vhost-user.sock`) } : {}),
      incoming: side === 'dst',
    });
    const proc = new ManagedProcess(bin, args, { label: `${side} QEMU` });
    this.qemu.set(side, proc);
    this.addProcess(`${side}-qemu`, proc);
  }

  private async connect(side: LabSide): Promise<void> {
    const proc = this.qemu.get(side);
    if (!proc || !this.journal) throw new Error(`${side} QEMU was not started`);
    const socket = this.qmpSocket(side);
    await pollUntil(() => fileExists(socket), {
      timeoutMs: 30_000,
      signal: this.signal,
      stillAlive: () => this.checkAlive(proc, side),
      onTimeout: () => new LabError('connect QMP', `QEMU did not create ${socket} within 30 s${this.tailOf(proc)}`, side),
    });
    try {
      const client = await QmpClient.connect(socket, {
        connectTimeoutMs: 15_000,
        commandTimeoutMs: 30_000,
        onTranscript: this.journal.forSide(side),
        signal: this.signal,
      });
      this.clients.set(side, client);
    } catch (e) {
      throw this.sideError('connect QMP', side, e);
    }
  }

  private async describeQemu(): Promise<void> {
    const src = this.client('src');
    const v = src.greeting.version;
    this.record.qemu.version = `${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro}`;
    this.record.qemu.package = v.package;
    this.at('query accelerator', 'src');
    const kvm = await src.execute<{ enabled: boolean; present: boolean }>('query-kvm');
    this.record.qemu.accelerator = kvm.enabled ? 'kvm' : this.r.accelerators.find((a) => a !== 'kvm') ?? 'unknown';
    this.log(`QEMU ${this.record.qemu.version} (${v.package}), accelerator ${this.record.qemu.accelerator}`);
  }

  private async waitForGuest(): Promise<void> {
    const proc = this.qemu.get('src');
    if (!proc) throw new Error('src QEMU was not started');
    const path = this.debugcon('src');
    // Under emulated KVM the firmware alone can take several seconds before the guest starts.
    await pollUntil(
      () => {
        const text = readTextOrEmpty(path);
        if (text.includes(guestExceptionMarker)) {
          throw new LabError('boot guest', `the lab guest crashed: ${lastLines(text, 3).join(' | ')}`, 'src');
        }
        return text.includes(guestReadyMarker) ? true : undefined;
      },
      {
        timeoutMs: Math.min(60_000, Math.max(1, this.startedAt + this.r.timeoutMs - Date.now())),
        pollMs: 100,
        signal: this.signal,
        stillAlive: () => this.checkAlive(proc, 'src'),
        onTimeout: () => new LabError('boot guest', `the guest printed no '${guestReadyMarker}' line on the debug console${this.tailOf(proc)}`, 'src'),
      },
    );
  }

  // ------------------------------------------------------------------ teardown and result

  /** Ends every process (QEMUs first: they hold the vhost-user connections), removes the temp dir. Never throws. */
  private async teardown(): Promise<void> {
    this.hooks.progress?.('teardown');
    await Promise.all([...this.clients.values()].map((c) => c.close().catch(() => undefined)));
    await Promise.all([...this.qemu.values()].map((p) => p.stop()));
    await Promise.all([...this.testpmd.values()].map((p) => p.stop()));
    for (const rec of this.record.processes) {
      const p = this.processByRole(rec.role);
      if (p) rec.exit = p.exitDescription ?? 'still running';
    }
    this.journal?.close();
    if (this.tmp) {
      for (const side of sides) {
        const key = side === 'src' ? 'srcGuestLog' : 'dstGuestLog';
        const dest = join(this.outDir, labFileNames[key]);
        try {
          await copyFile(this.debugcon(side), dest);
          this.files[key] = dest;
        } catch {
          // that QEMU never started
        }
      }
      await rm(this.tmp, { recursive: true, force: true }).catch((e: unknown) => this.log(`could not remove ${this.tmp}: ${String(e)}`));
    }
    for (const prefix of this.dpdkPrefixes) {
      await rm(dpdkRuntimeDir(prefix), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private async finish(status: LabStatus, failure: LabError | undefined): Promise<LabResult> {
    const end = Date.now();
    const durationMs = end - this.startedAt;
    const scenarioPath = join(this.outDir, labFileNames.scenario);
    Object.assign(this.record, {
      status,
      endTime: new Date(end).toISOString(),
      durationMs,
      summary: summarizeMigration(this.final.src, this.final.dst),
    });
    if (failure) {
      this.record.error = failure.message;
      this.record.failedStep = failure.step;
      if (failure.side) this.record.failedSide = failure.side;
    }
    const files: LabFiles = {
      scenario: scenarioPath,
      qmpTranscript: this.files.qmpTranscript ?? join(this.outDir, labFileNames.qmpTranscript),
      srcTrace: this.files.srcTrace ?? join(this.outDir, labFileNames.srcTrace),
      dstTrace: this.files.dstTrace ?? join(this.outDir, labFileNames.dstTrace),
      ...this.files,
    };
    this.record.files = Object.fromEntries(
      Object.entries(this.files).map(([k, v]) => [k, v.slice(this.outDir.length + 1)]),
    );
    this.record.files.scenario = labFileNames.scenario;
    try {
      await writeFile(scenarioPath, JSON.stringify(this.record, null, 2) + '\n');
    } catch (e) {
      this.log(`could not write ${scenarioPath}: ${String(e)}`);
    }
    return {
      outDir: this.outDir,
      scenario: this.r.plan.name,
      status,
      durationMs,
      files,
      finalQueryMigrate: { ...this.final },
      ...(failure ? { error: failure.message } : {}),
    };
  }

  // ------------------------------------------------------------------ helpers

  private at(step: string, side?: LabSide): void {
    this.step = step;
    this.side = side;
    this.hooks.progress?.(side ? `${step} (${side})` : step);
  }

  private log(line: string): void {
    this.hooks.log?.(line);
  }

  private need(bin: string, what: string, setting: string): string {
    const found = findExecutable(bin);
    if (!found) throw new LabMissingBinaryError(bin, what, setting);
    return found;
  }

  private client(side: LabSide): QmpClient {
    const c = this.clients.get(side);
    if (!c) throw new Error(`no QMP connection to ${side}`);
    return c;
  }

  private qmpSocket(side: LabSide): string {
    if (!this.tmp) throw new Error('no temporary directory');
    return join(this.tmp, `${side}-qmp.sock`);
  }

  private debugcon(side: LabSide): string {
    if (!this.tmp) throw new Error('no temporary directory');
    return join(this.tmp, `${side}-debugcon.log`);
  }

  private addProcess(role: string, proc: ManagedProcess): void {
    this.log(`started ${proc.label}${proc.pid !== undefined ? ` (pid ${proc.pid})` : ''}: ${JSON.stringify(proc.argv)}`);
    this.record.processes.push({ role, argv: [...proc.argv], ...(proc.pid !== undefined ? { pid: proc.pid } : {}) });
  }

  private processByRole(role: string): ManagedProcess | undefined {
    const [side, kind] = role.split('-') as [LabSide, string];
    return kind === 'qemu' ? this.qemu.get(side) : kind === 'testpmd' ? this.testpmd.get(side) : undefined;
  }

  private checkAlive(proc: ManagedProcess, side: LabSide, logPath?: string): void {
    const how = proc.exitDescription;
    if (how !== undefined) throw new LabError(this.step, `${proc.label} ${how}${this.tailOf(proc, logPath)}`, side);
  }

  /** The last lines a process wrote, for error messages. */
  private tailOf(proc: ManagedProcess, logPath?: string): string {
    const lines = logPath ? lastLines(readTextOrEmpty(logPath), 15) : proc.lastLines().slice(-15);
    return lines.length ? `\nlast lines of ${proc.label} output:\n  ${lines.join('\n  ')}` : '';
  }

  private sideError(step: string, side: LabSide, e: unknown): LabError {
    if (e instanceof LabError) return e;
    const proc = this.qemu.get(side);
    const how = proc?.exitDescription;
    const text = e instanceof Error ? e.message : String(e);
    return new LabError(step, `${text}${how ? `; ${proc?.label} ${how}` : ''}${proc ? this.tailOf(proc) : ''}`, side, { cause: e });
  }

  private timeoutError(): LabError {
    return new LabError(this.step, `the run took longer than ${this.r.timeoutMs} ms; raise --timeout (LabOptions.timeoutMs)`, this.side);
  }

  private toLabError(e: unknown): LabError {
    if (this.userAborted) return new LabAbortedError(this.step);
    if (this.timedOut) return this.timeoutError();
    if (this.side && !(e instanceof LabError)) return this.sideError(this.step, this.side, e);
    if (e instanceof LabError) return e;
    return new LabError(this.step, e instanceof Error ? e.message : String(e), undefined, { cause: e });
  }

  private async removeOldOutputs(): Promise<void> {
    // A recording must never mix files of two runs.
    await Promise.all(Object.values(labFileNames).map((n) => rm(join(this.outDir, n), { force: true })));
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
