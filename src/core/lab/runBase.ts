import { closeSync, openSync } from 'node:fs';
import { copyFile, rm, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QmpClient } from '../qmp/client';
import type { MigrationInfo } from '../qmp/replies';
import type { MonitorFeatures } from '../monitor/features';
import type { QemuInstall } from '../qemu/installs';
import { version as workbenchVersion } from '../version';
import { bridgeArgs, dpdkRuntimeDir, lineBuffered, parseDpdkVersion, qemuArgs, testpmdArgs, type RamBackend } from './commandLines';
import { pickFreeUdpPorts } from '../qemu/bridge';
import { classifyBackendLine } from '../vhostuser/backendLog';
import { LabAbortedError, LabError, LabMissingBinaryError, type LabSide } from './errors';
import { guestExceptionMarker, guestReadyMarker } from './guest';
import type { LabQemus } from './qemuSides';
import { resolveLabOptions, type ResolvedLab } from './options';
import { ManagedProcess, findExecutable } from './process';
import { QmpJournal } from './transcript';
import type { LabFiles, LabHooks, LabOptions, LabResult, LabStatus } from './types';
import { fileExists, lastLines, pollUntil, readTextOrEmpty } from './wait';
import { labFileNames, summarizeMigration, type ScenarioRecord } from './record';

export const sides: readonly LabSide[] = ['src', 'dst'];

/**
 * What every lab run has: its options, the private folders, the processes and QMP connections of
 * both sides, the journal and the record, teardown and the result. The flows are in runner.ts.
 */
export abstract class LabRunBase {
  protected readonly r: ResolvedLab;
  protected readonly outDir: string;
  protected readonly controller = new AbortController();
  protected readonly signal = this.controller.signal;
  protected readonly startedAt = Date.now();
  protected step = 'options';
  protected side: LabSide | undefined;
  protected userAborted = false;
  protected timedOut = false;
  protected timer: NodeJS.Timeout | undefined;
  protected tmp: string | undefined;
  protected journal: QmpJournal | undefined;
  protected readonly qemu = new Map<LabSide, ManagedProcess>();
  protected readonly testpmd = new Map<LabSide, ManagedProcess>();
  protected readonly bridges = new Map<LabSide, ManagedProcess>();
  protected readonly clients = new Map<LabSide, QmpClient>();
  protected readonly dpdkPrefixes: string[] = [];
  protected qemus: LabQemus | undefined;
  protected readonly traceEvents = new Map<LabSide, string[]>();
  protected readonly features = new Map<LabSide, MonitorFeatures>();
  /** The plan's parametersIfOffered that every checked side has. */
  protected readonly extraParameters: Record<string, unknown> = {};
  protected kernel: string | undefined;
  /** tmpfs folder of a guest RAM file that outlives its QEMU (cpr-reboot). */
  protected ramDir: string | undefined;
  protected readonly final: { src?: MigrationInfo; dst?: MigrationInfo } = {};
  protected readonly files: Partial<LabFiles> = {};
  protected readonly record: ScenarioRecord;

  constructor(opts: LabOptions, protected readonly hooks: LabHooks) {
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
      qemu: { accelerators: this.r.accelerators, machine: this.r.plan.machine, traceEvents: [] },
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

  /** The scenario's steps; every process and file they start is ended and kept by teardown and finish. */
  protected abstract steps(): Promise<void>;

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

  protected async startTestpmd(side: LabSide, bin: string): Promise<void> {
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

  /**
   * QEMU's tests/vhost-user-bridge for one side, listening on its vhost-user socket, its UDP side on
   * two free loopback ports. Ready once it says "Waiting for data from udp backend on ...".
   */
  protected async startBridge(side: LabSide, bin: string): Promise<void> {
    if (!this.tmp) throw new Error('no temporary directory');
    this.at('start vhost-user-bridge', side);
    const socket = join(this.tmp, `${side}-vhost-user.sock`);
    const [local, remote] = await pickFreeUdpPorts('127.0.0.1', 2);
    const key = side === 'src' ? 'srcBridgeLog' : 'dstBridgeLog';
    const logPath = join(this.outDir, labFileNames[key]);
    this.files[key] = logPath;
    const cmd = lineBuffered(bin, bridgeArgs({ socket, local: `127.0.0.1:${local}`, remote: `127.0.0.1:${remote}` }), findExecutable('stdbuf'));
    let ready = false;
    const proc = new ManagedProcess(cmd.binary, cmd.args, {
      label: `${side} vhost-user-bridge`,
      logFile: logPath,
      onLine: (line) => {
        if (classifyBackendLine(line)?.kind === 'ready') ready = true;
        this.hooks.output?.(`${side}-bridge`, line);
      },
    });
    this.bridges.set(side, proc);
    this.addProcess(`${side}-bridge`, proc);
    // Without stdbuf the bridge's own line may come late: its socket and a running process then do.
    const stdbuf = cmd.binary !== bin;
    await pollUntil(() => (stdbuf ? (ready ? true : undefined) : fileExists(socket)), {
      timeoutMs: 30_000,
      signal: this.signal,
      stillAlive: () => this.checkAlive(proc, side, logPath),
      onTimeout: () => new LabError('start vhost-user-bridge', `the bridge was not ready after 30 s${this.tailOf(proc, logPath)}`, side),
    });
  }

  protected ramBackend(): RamBackend | undefined {
    switch (this.r.plan.memory) {
      case 'private': return undefined;
      case 'memfd': return { kind: 'memfd' };
      case 'file':
        if (!this.ramDir) throw new Error('no folder for the guest RAM file');
        return { kind: 'file', path: join(this.ramDir, 'guest-ram') };
    }
  }

  protected startQemu(side: LabSide, cprChannelSocket?: string): void {
    if (!this.tmp || !this.kernel) throw new Error('no temporary directory');
    this.at('start QEMU', side);
    const q = this.install(side);
    const traceKey = side === 'src' ? 'srcTrace' : 'dstTrace';
    const traceFile = join(this.outDir, labFileNames[traceKey]);
    this.files[traceKey] = traceFile;
    const ramBackend = this.ramBackend();
    const args = qemuArgs({
      side,
      machine: this.r.plan.machine,
      machineProperties: this.r.plan.machineProperties,
      ...(q.firmwareDir !== undefined ? { firmwareDir: q.firmwareDir } : {}),
      memoryMiB: this.r.memoryMiB,
      ...(ramBackend ? { ramBackend } : {}),
      accelerators: this.r.accelerators,
      kernel: this.kernel,
      append: this.r.guestAppend,
      qmpSocket: this.qmpSocket(side),
      traceFile,
      traceEvents: this.traceEvents.get(side) ?? this.r.traceEvents,
      debugconFile: this.debugcon(side),
      ...(this.r.plan.vhostUser ? { vhostUserSocket: join(this.tmp, `${side}-vhost-user.sock`) } : {}),
      ...(this.r.plan.guestVirtio === 1 ? { virtioModernOnly: true } : {}),
      ...(this.r.monitorSockets ? { extraQmpSockets: [this.monitorSocket(side)] } : {}),
      incoming: side === 'dst',
      ...(cprChannelSocket !== undefined ? { cprChannelSocket } : {}),
    });
    // The bridge scenarios keep QEMU's stderr: it tells when QEMU gave up on its back-end.
    const stderrKey = side === 'src' ? 'srcQemuStderr' : 'dstQemuStderr';
    const stderrFile = this.r.plan.backend === 'bridge' ? join(this.outDir, labFileNames[stderrKey]) : undefined;
    if (stderrFile !== undefined) this.files[stderrKey] = stderrFile;
    const proc = new ManagedProcess(q.binary, args, {
      label: `${side} QEMU`,
      ...(stderrFile !== undefined ? { logFile: stderrFile } : {}),
      ...(this.hooks.output ? { onLine: (line: string) => this.hooks.output?.(`${side}-qemu`, line) } : {}),
    });
    this.qemu.set(side, proc);
    this.addProcess(`${side}-qemu`, proc);
  }

  /** Ends a QEMU the way a user would before restarting it: `quit`, then its process group if it lingers. */
  protected async quitQemu(side: LabSide): Promise<void> {
    const proc = this.qemu.get(side);
    const client = this.clients.get(side);
    if (client) {
      await client.execute('quit').catch(() => undefined);
      await client.close().catch(() => undefined);
      this.clients.delete(side);
    }
    if (proc) {
      const ended = await Promise.race([proc.waitForExit().then(() => true), sleep(5000, false, { signal: this.signal })]);
      if (!ended) await proc.stop();
    }
  }

  protected async connect(side: LabSide): Promise<void> {
    const proc = this.qemu.get(side);
    if (!proc || !this.journal) throw new Error(`${side} QEMU was not started`);
    this.at('connect QMP', side);
    const socket = this.qmpSocket(side);
    await pollUntil(() => fileExists(socket), {
      timeoutMs: 30_000,
      signal: this.signal,
      stillAlive: () => this.checkAlive(proc, side),
      onTimeout: () => new LabError('connect QMP', `QEMU did not create ${socket} within 30 s${this.tailOf(proc)}`, side),
    });
    // QEMU binds the socket (the file appears) a moment before it listens: a refusal while it
    // runs is retried for a few seconds.
    const refusedUntil = Date.now() + 5000;
    for (;;) {
      try {
        const client = await QmpClient.connect(socket, {
          connectTimeoutMs: 15_000,
          commandTimeoutMs: 30_000,
          onTranscript: this.journal.forSide(side),
          signal: this.signal,
        });
        this.clients.set(side, client);
        break;
      } catch (e) {
        const refused = (e instanceof Error && e.cause instanceof Error && (e.cause as NodeJS.ErrnoException).code === 'ECONNREFUSED');
        if (!refused || proc.hasExited || Date.now() > refusedUntil) throw this.sideError('connect QMP', side, e);
        await sleep(50, undefined, { signal: this.signal });
      }
    }
    if (this.r.monitorSockets) this.hooks.monitor?.(side, this.monitorSocket(side));
  }

  protected describeInstall(side: LabSide, q: QemuInstall): void {
    const rec = side === 'src' ? this.record.qemu : (this.record.destinationQemu ??= { machine: this.r.plan.machine, traceEvents: [] });
    rec.binary = q.binary;
    if (q.firmwareDir !== undefined) rec.firmwareDir = q.firmwareDir;
    rec.version = q.versionText;
    if (q.package !== undefined) rec.package = q.package;
    rec.traceEvents = this.traceEvents.get(side) ?? [];
  }

  /** The version a side's QMP greeting states (the binary's --version was read before it started). */
  protected async describeQemu(side: LabSide): Promise<void> {
    const c = this.client(side);
    const v = c.greeting.version;
    const rec = side === 'src' ? this.record.qemu : this.record.destinationQemu;
    if (rec) {
      rec.version = `${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro}`;
      rec.package = v.package;
    }
    this.at('query accelerator', side);
    const kvm = await c.execute<{ enabled: boolean; present: boolean }>('query-kvm');
    const accel = kvm.enabled ? 'kvm' : this.r.accelerators.find((a) => a !== 'kvm') ?? 'unknown';
    if (side === 'src') this.record.qemu.accelerator = accel;
    else if (this.record.destinationQemu) this.record.destinationQemu.accelerator = accel;
    this.log(`${side}: QEMU ${rec?.version ?? '?'} (${v.package}), accelerator ${accel}`);
  }

  protected async waitForGuest(): Promise<void> {
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
  protected async teardown(): Promise<void> {
    this.hooks.progress?.('teardown');
    await Promise.all([...this.clients.values()].map((c) => c.close().catch(() => undefined)));
    await Promise.all([...this.qemu.values()].map((p) => p.stop()));
    await Promise.all([...this.testpmd.values()].map((p) => p.stop()));
    await Promise.all([...this.bridges.values()].map((p) => p.stop()));
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
    if (this.ramDir) {
      await rm(this.ramDir, { recursive: true, force: true }).catch((e: unknown) => this.log(`could not remove ${this.ramDir}: ${String(e)}`));
    }
    for (const prefix of this.dpdkPrefixes) {
      await rm(dpdkRuntimeDir(prefix), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  protected async finish(status: LabStatus, failure: LabError | undefined): Promise<LabResult> {
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
      qemuVersions: {
        ...(this.record.qemu.version !== undefined ? { src: this.record.qemu.version } : {}),
        ...(this.record.destinationQemu?.version !== undefined ? { dst: this.record.destinationQemu.version } : {}),
      },
      ...(this.record.cpr ? { cpr: this.record.cpr } : {}),
      ...(failure ? { error: failure.message } : {}),
    };
  }

  // ------------------------------------------------------------------ helpers

  protected at(step: string, side?: LabSide): void {
    this.step = step;
    this.side = side;
    this.hooks.progress?.(side ? `${step} (${side})` : step);
  }

  protected log(line: string): void {
    this.hooks.log?.(line);
  }

  protected need(bin: string, what: string, setting: string): string {
    const found = findExecutable(bin);
    if (!found) throw new LabMissingBinaryError(bin, what, setting);
    return found;
  }

  protected install(side: LabSide): QemuInstall {
    if (!this.qemus) throw new Error('the QEMUs were not resolved');
    return this.qemus[side];
  }

  protected tmpPath(name: string): string {
    if (!this.tmp) throw new Error('no temporary directory');
    return join(this.tmp, name);
  }

  protected client(side: LabSide): QmpClient {
    const c = this.clients.get(side);
    if (!c) throw new Error(`no QMP connection to ${side}`);
    return c;
  }

  protected qmpSocket(side: LabSide): string {
    if (!this.tmp) throw new Error('no temporary directory');
    return join(this.tmp, `${side}-qmp.sock`);
  }

  /** The second QMP monitor of a side (monitorSockets). */
  protected monitorSocket(side: LabSide): string {
    return this.tmpPath(`${side}-monitor.sock`);
  }

  protected debugcon(side: LabSide): string {
    if (!this.tmp) throw new Error('no temporary directory');
    return join(this.tmp, `${side}-debugcon.log`);
  }

  protected addProcess(role: string, proc: ManagedProcess): void {
    this.log(`started ${proc.label}${proc.pid !== undefined ? ` (pid ${proc.pid})` : ''}: ${JSON.stringify(proc.argv)}`);
    this.record.processes.push({ role, argv: [...proc.argv], ...(proc.pid !== undefined ? { pid: proc.pid } : {}) });
  }

  protected processByRole(role: string): ManagedProcess | undefined {
    const [side, kind] = role.split('-') as [LabSide, string];
    return kind === 'qemu' ? this.qemu.get(side) : kind === 'testpmd' ? this.testpmd.get(side) : kind === 'bridge' ? this.bridges.get(side) : undefined;
  }

  protected checkAlive(proc: ManagedProcess, side: LabSide, logPath?: string): void {
    const how = proc.exitDescription;
    if (how !== undefined) throw new LabError(this.step, `${proc.label} ${how}${this.tailOf(proc, logPath)}`, side);
  }

  /** The last lines a process wrote, for error messages. */
  protected tailOf(proc: ManagedProcess, logPath?: string): string {
    const lines = logPath ? lastLines(readTextOrEmpty(logPath), 15) : proc.lastLines().slice(-15);
    return lines.length ? `\nlast lines of ${proc.label} output:\n  ${lines.join('\n  ')}` : '';
  }

  protected sideError(step: string, side: LabSide, e: unknown): LabError {
    if (e instanceof LabError) return e;
    const proc = this.qemu.get(side);
    const how = proc?.exitDescription;
    const text = e instanceof Error ? e.message : String(e);
    return new LabError(step, `${text}${how ? `; ${proc?.label} ${how}` : ''}${proc ? this.tailOf(proc) : ''}`, side, { cause: e });
  }

  protected timeoutError(): LabError {
    return new LabError(this.step, `the run took longer than ${this.r.timeoutMs} ms; raise --timeout (LabOptions.timeoutMs)`, this.side);
  }

  protected toLabError(e: unknown): LabError {
    if (this.userAborted) return new LabAbortedError(this.step);
    if (this.timedOut) return this.timeoutError();
    if (this.side && !(e instanceof LabError)) return this.sideError(this.step, this.side, e);
    if (e instanceof LabError) return e;
    return new LabError(this.step, e instanceof Error ? e.message : String(e), undefined, { cause: e });
  }

  protected async removeOldOutputs(): Promise<void> {
    // A recording must never mix files of two runs.
    await Promise.all(Object.values(labFileNames).map((n) => rm(join(this.outDir, n), { force: true })));
  }
}

