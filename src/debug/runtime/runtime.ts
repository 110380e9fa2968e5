/**
 * The migration debugger's runtime: the source and destination QEMUs of one migration, driven
 * over QMP. It pauses and continues them, stops on migration states and trace events, lists
 * their threads and state, and runs console commands. It knows nothing of the Debug Adapter
 * Protocol: the session translates its calls and events.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReceivedEvent } from '../../core/monitor/monitor';
import { QmpError } from '../../core/qmp/errors';
import { parseQmpTarget } from '../../core/qmp/target';
import { continueMigration, recoverPostcopyPair, setCapabilities, startPairedMigration, unixMigrationUri } from '../../core/migration/actions';
import { sideNames, type SessionConfig, type SideName } from '../config';
import { catalogueForQemuVersion } from '../../core/trace/catalogueResolver';
import { LabPair } from './labPair';
import type { MonitorSource } from './monitors';
import { Side, type ShownStop } from './side';
import { hitForPass, hitForStatus, stateFilters, type StateFilterId, type StateHit } from './stateBreakpoints';
import type { SideThread } from './threads';
import { LogFollower, checkPattern, type TraceBreakpointSpec, type TraceHit } from './traceBreakpoints';

export type StopReason = 'pause' | 'exception' | 'function breakpoint';

export type RuntimeEvent =
  | { kind: 'stopped'; side: SideName; reason: StopReason; description: string; text: string; breakpointIds?: number[] }
  | { kind: 'continued'; side: SideName }
  | { kind: 'output'; category: 'console' | 'important' | 'stderr'; text: string }
  | { kind: 'threadsChanged'; side: SideName }
  | { kind: 'sideEnded'; side: SideName; reason: string }
  | { kind: 'ended'; reason: string };

export interface BreakpointResult {
  verified: boolean;
  message: string;
}

/** What a QMP error looks like to the user: QEMU's class and text. */
export function describeError(e: unknown): string {
  if (e instanceof QmpError) return `${e.errorClass}: ${e.description}`;
  return e instanceof Error ? e.message : String(e);
}

async function waitForSocket(address: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const t = parseQmpTarget(address);
  if (t.kind !== 'unix') return;
  const end = Date.now() + timeoutMs;
  while (!existsSync(t.path)) {
    if (signal.aborted) throw new Error('stopped waiting for the QMP socket');
    if (Date.now() > end) throw new Error(`no QMP socket ${t.path} after ${timeoutMs} ms (did the preLaunchTask start QEMU with -qmp unix:${t.path},server=on,wait=off?)`);
    await sleep(50);
  }
}

export class MigrationRuntime {
  private readonly sides = new Map<SideName, Side>();
  private readonly listeners = new Set<(e: RuntimeEvent) => void>();
  private readonly filters = new Set<StateFilterId>();
  private traceSpecs: TraceBreakpointSpec[] = [];
  private lab: LabPair | undefined;
  private readonly controller = new AbortController();
  private finished = false;
  /** Private folder of the migration and recovery sockets the session makes up. */
  private tempDir: string | undefined;

  private constructor(readonly config: SessionConfig) {}

  onEvent(l: (e: RuntimeEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit(e: RuntimeEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  private say(text: string, category: 'console' | 'important' | 'stderr' = 'console'): void {
    this.emit({ kind: 'output', category, text: text.endsWith('\n') ? text : `${text}\n` });
  }

  /** Connects to the QEMUs of the configuration (starting the lab pair of a launch first). */
  static async start(config: SessionConfig, source: MonitorSource, listener: (e: RuntimeEvent) => void): Promise<MigrationRuntime> {
    const rt = new MigrationRuntime(config);
    rt.onEvent(listener);
    try {
      await rt.connect(source);
    } catch (e) {
      await rt.shutdown({ terminate: true });
      throw e;
    }
    return rt;
  }

  private async connect(source: MonitorSource): Promise<void> {
    const c = this.config;
    const addresses = { ...c.addresses };
    const pids: Partial<Record<SideName, number>> = {};
    const logs = { ...c.traceLogs };
    if (c.lab) {
      this.lab = await LabPair.start(c.lab, c.timeoutMs, this.controller.signal, (l) => this.say(l));
      for (const s of sideNames) {
        const p = this.lab.sides[s];
        addresses[s] = p.socket;
        logs[s] ??= p.log;
        if (p.process.pid !== undefined) pids[s] = p.process.pid;
      }
    } else if (c.request === 'launch') {
      await Promise.all(sideNames.map((s) => (addresses[s] ? waitForSocket(addresses[s], c.timeoutMs, this.controller.signal) : undefined)));
    }
    const wanted = sideNames.filter((s) => addresses[s] !== undefined);
    const results = await Promise.allSettled(wanted.map(async (s) => {
      const address = addresses[s] as string;
      // /proc is read while QEMU answers the schema and state queries of the attach.
      const [lease, local] = await Promise.all([source.acquire(address, s, `${c.label} ${s}`, c.timeoutMs), Side.probeLocal(address, pids[s]).catch(() => ({ pid: pids[s], facts: { timestamps: false, debugThreads: false } }))]);
      return Side.create(s, address, lease, local, logs[s]);
    }));
    const failures: string[] = [];
    results.forEach((r, i) => {
      const name = wanted[i] as SideName;
      if (r.status === 'fulfilled') this.sides.set(name, r.value);
      else failures.push(`${name} ${addresses[name]}: ${describeError(r.reason)}`);
    });
    if (failures.length > 0) throw new Error(`cannot attach to the ${failures.join('; ')}`);
    for (const side of this.sides.values()) {
      side.listen({
        onEvent: (s, e) => this.onQmpEvent(s, e),
        onStatus: (s, st) => void this.onStatus(s, st),
        onClosed: (s, why) => void this.endSide(s, why),
      });
      const where = side.pid !== undefined ? `pid ${side.pid}` : 'pid not known here';
      this.say(`${side.label} at ${side.address} (${where}${side.lease.borrowed ? ', shared with the Connections view' : ''}): guest ${side.monitor.runState?.status ?? '?'}, migration ${side.monitor.status}`);
    }
  }

  // ------------------------------------------------------------------ queries

  side(name: SideName): Side | undefined {
    const s = this.sides.get(name);
    return s && s.ended === undefined ? s : undefined;
  }

  liveSides(): Side[] {
    return sideNames.map((n) => this.side(n)).filter((s): s is Side => s !== undefined);
  }

  /** Both sides' threads, listed now. */
  async threads(): Promise<Array<{ side: SideName; thread: SideThread }>> {
    const lists = await Promise.all(this.liveSides().map(async (s) => {
      const before = s.threadsNote;
      const ts = await s.refreshThreads().catch(() => s.threads);
      if (s.threadsNote !== undefined && s.threadsNote !== before) this.say(`${s.name}: ${s.threadsNote}`);
      return ts.map((thread) => ({ side: s.name, thread }));
    }));
    return lists.flat();
  }

  shown(side: SideName): ShownStop | undefined {
    return this.sides.get(side)?.shown;
  }

  // ------------------------------------------------------------------ configuration

  /** Starts what the configuration asks for once breakpoints are set: the shown state of paused guests, a migration. */
  async configurationDone(): Promise<void> {
    for (const s of this.liveSides()) {
      if (!s.running && s.shown === undefined) this.showStop(s, { by: 'pause', description: this.pausedText(s) }, 'pause');
    }
    const m = this.config.migrate;
    if (!m) return;
    const src = this.side('source');
    const dst = this.side('destination');
    if (!src || !dst) {
      this.say('"migrate" needs both a source and a destination; not migrating', 'important');
      return;
    }
    try {
      let uri = m.uri;
      if (uri === undefined) {
        this.tempDir ??= await mkdtemp(join(tmpdir(), 'qmig-debug-'));
        uri = unixMigrationUri(this.tempDir);
      }
      // The session says what the checks find and starts anyway: the user stops where it goes wrong.
      await startPairedMigration(src.monitor, dst.monitor, { capabilities: m.capabilities, parameters: m.parameters, uri, force: true }, {
        onStep: (step) => this.say(step),
        onWarnings: (ws) => ws.forEach((w) => this.say(`${w.severity}: ${w.message}`)),
      });
    } catch (e) {
      this.say(`could not start the migration: ${describeError(e)}`, 'important');
    }
  }

  private pausedText(s: Side): string {
    const st = s.monitor.runState?.status ?? 'paused';
    if (st === 'inmigrate') return 'Paused: inmigrate (waiting for the incoming migration)';
    if (st === 'postmigrate') return 'Paused: postmigrate (the guest now runs on the destination)';
    return `Paused: ${st}`;
  }

  /** Turns the state filters on; sets the capabilities they need. One result per requested filter. */
  async setStateFilters(ids: readonly StateFilterId[]): Promise<BreakpointResult[]> {
    this.filters.clear();
    for (const id of ids) this.filters.add(id);
    const results: BreakpointResult[] = [];
    const needEvents = ids.length > 0;
    const eventsOn: string[] = [];
    if (needEvents) {
      for (const s of this.liveSides()) {
        if (s.monitor.capabilities['events'] === true) continue;
        try {
          await this.setCapability(s, 'events', true);
          eventsOn.push(s.name);
        } catch (e) {
          this.say(`${s.name}: could not turn on the 'events' capability (${describeError(e)}): migration states are seen by polling only`, 'important');
        }
      }
      if (eventsOn.length > 0) {
        this.say(`Turned on the 'events' migration capability on the ${eventsOn.join(' and ')}: QEMU sends MIGRATION and MIGRATION_PASS events only with it; it is restored when the session ends`);
      }
    }
    for (const id of ids) results.push(await this.applyFilter(id));
    if (!ids.includes('before-switchover')) await this.releaseSwitchoverHold();
    return results;
  }

  private async applyFilter(id: StateFilterId): Promise<BreakpointResult> {
    const src = this.side('source');
    switch (id) {
      case 'before-switchover': {
        if (!src) return { verified: false, message: 'needs a source QEMU' };
        if (src.monitor.capabilities['pause-before-switchover'] === true) return { verified: true, message: "the source's pause-before-switchover is on" };
        try {
          await this.setCapability(src, 'pause-before-switchover', true);
          this.say("Set the source's pause-before-switchover capability: QEMU will hold the migration in pre-switchover");
          return { verified: true, message: "set the source's pause-before-switchover capability" };
        } catch (e) {
          return { verified: false, message: `cannot set pause-before-switchover on the source: ${describeError(e)}` };
        }
      }
      case 'pass':
        return src ? { verified: true, message: 'stops at MIGRATION_PASS events of the source' } : { verified: false, message: 'needs a source QEMU' };
      default:
        return { verified: true, message: '' };
    }
  }

  /** When "Before switchover" is turned off, the capability goes back and a held migration goes on. */
  private async releaseSwitchoverHold(): Promise<void> {
    const src = this.side('source');
    if (!src || !src.changedCapabilities.has('pause-before-switchover')) return;
    if (src.monitor.status === 'pre-switchover') await this.migrateContinue(src).catch(() => undefined);
    await this.restoreCapability(src, 'pause-before-switchover').catch((e: unknown) => this.say(`source: ${describeError(e)}`, 'important'));
  }

  private async setCapability(s: Side, name: string, state: boolean): Promise<void> {
    const before = s.monitor.capabilities[name] === true;
    await setCapabilities(s.monitor, { [name]: state });
    if (!s.changedCapabilities.has(name)) s.changedCapabilities.set(name, before);
    s.monitor.capabilities = { ...s.monitor.capabilities, [name]: state };
  }

  private async restoreCapability(s: Side, name: string): Promise<void> {
    const before = s.changedCapabilities.get(name);
    if (before === undefined) return;
    await setCapabilities(s.monitor, { [name]: before });
    s.changedCapabilities.delete(name);
    s.monitor.capabilities = { ...s.monitor.capabilities, [name]: before };
  }

  /** Enables the trace events of the function breakpoints on every QEMU and follows the logs that are known. */
  async setTraceBreakpoints(specs: readonly TraceBreakpointSpec[]): Promise<BreakpointResult[]> {
    const wanted = new Set(specs.map((s) => s.pattern));
    for (const s of this.liveSides()) {
      for (const p of s.trace.patterns()) if (!wanted.has(p)) await s.trace.disable(p).catch((e: unknown) => this.say(`${s.name}: ${describeError(e)}`, 'important'));
    }
    this.traceSpecs = specs.filter((s) => checkPattern(s.pattern) === undefined);
    const results: BreakpointResult[] = [];
    for (const spec of specs) {
      const bad = checkPattern(spec.pattern);
      if (bad) {
        results.push({ verified: false, message: bad });
        continue;
      }
      const parts: string[] = [];
      let matched = 0;
      for (const s of this.liveSides()) {
        try {
          await this.follow(s);
          const n = await s.trace.enable(spec.pattern);
          matched += n;
          if (n === 0) parts.push(`${s.name}: no such trace event`);
          else if (s.logFile === undefined) parts.push(`${s.name}: ${n} event(s) enabled, but its -D log is not known, so hits are not shown (set "traceLogs")`);
          else parts.push(`${s.name}: ${n} event(s), hits read from ${s.logFile}`);
        } catch (e) {
          parts.push(`${s.name}: ${describeError(e)}`);
        }
      }
      const stop = spec.stop ? '; stops the guest after a hit (late: QEMU cannot halt on a trace event)' : '';
      results.push({ verified: matched > 0, message: parts.join('; ') + stop });
    }
    return results;
  }

  private async follow(s: Side): Promise<void> {
    if (s.follower || s.logFile === undefined) return;
    // Hits count from here: the log's size now, before any event the breakpoints enabled is written.
    const from = (await stat(s.logFile).catch(() => undefined))?.size ?? 0;
    s.catalogue ??= await catalogueForQemuVersion(s.monitor.version, this.config.traceEventsDir);
    this.say(`${s.name}: trace hits from ${s.logFile} are decoded with ${s.catalogue.description}${s.facts.timestamps ? '' : ' (the log has no -msg timestamp=on: hit times are when they were read)'}`);
    s.follower = new LogFollower(s.name, s.logFile, s.catalogue.catalogue, () => this.traceSpecs, (hits) => void this.onTraceHits(s, hits), (m) => this.say(`${s.name}: ${m}`, 'stderr'), from);
  }

  private async onTraceHits(s: Side, hits: TraceHit[]): Promise<void> {
    for (const h of hits) {
      const at = h.eventTimeMs !== undefined ? new Date(h.eventTimeMs).toISOString().slice(11, 23) : 'read ' + new Date(h.readAtMs).toISOString().slice(11, 23);
      this.say(`[${s.name} ${at}] ${h.text}`);
    }
    const stopHit = hits.find((h) => h.stop || this.config.stopOnTraceHit);
    // A guest that is already stopped needs no stop; a stop shown only for the view gives way to this one.
    if (!stopHit || s.ended !== undefined || !(await s.runStateNow().catch(() => s)).running) return;
    try {
      await s.monitor.execute('stop');
    } catch (e) {
      this.say(`${s.name}: stop after ${stopHit.event} failed: ${describeError(e)}`, 'important');
      return;
    }
    const stoppedAt = Date.now();
    const lateMs = Math.round(stoppedAt - (stopHit.eventTimeMs ?? stopHit.readAtMs));
    const basis = stopHit.eventTimeMs !== undefined ? 'after QEMU wrote it' : 'after it was read from the log (the log has no timestamps: later than that)';
    const text = `Trace event ${stopHit.event} hit; the guest was stopped ${lateMs} ms ${basis}. QEMU cannot halt on a trace event: the stop is late, and migration threads go on (stop pauses the vCPUs only).`;
    this.say(text, 'important');
    this.showStop(s, { by: 'trace', description: `Trace event ${stopHit.event} (stop ${lateMs} ms late)`, breakpointIds: stopHit.breakpointIds, guestStopped: true }, 'function breakpoint', text);
  }

  // ------------------------------------------------------------------ QEMU events

  private onQmpEvent(s: Side, e: ReceivedEvent): void {
    const { event, data } = e.event;
    switch (event) {
      case 'STOP':
        if (s.shown === undefined) this.showStop(s, { by: 'pause', description: 'Paused' }, 'pause');
        break;
      case 'RESUME':
        if (s.shown !== undefined && !(s.shown.by === 'state' && s.shown.hit.held)) this.clearStop(s);
        break;
      case 'MIGRATION':
        if (typeof data['status'] === 'string') void this.onStatus(s, data['status']);
        break;
      case 'MIGRATION_PASS': {
        const hit = typeof data['pass'] === 'number' ? hitForPass(this.filters, s.name, data['pass']) : undefined;
        if (hit) this.showHit(s, hit);
        break;
      }
    }
  }

  private async onStatus(s: Side, status: string): Promise<void> {
    // A migration never returns to none: that is a poll answered before the event it crossed.
    if (status === s.lastStatus || (status === 'none' && s.lastStatus !== 'none')) return;
    s.lastStatus = status;
    this.emit({ kind: 'threadsChanged', side: s.name });
    let desc: string | undefined;
    if (status === 'failed') {
      const info = await s.monitor.execute<Record<string, unknown>>('query-migrate').catch(() => ({}) as Record<string, unknown>);
      desc = typeof info['error-desc'] === 'string' ? info['error-desc'] : undefined;
    }
    this.say(`${s.name}: migration ${status}${desc ? `: ${desc}` : ''}`);
    const hit = hitForStatus(this.filters, s.name, status, desc);
    if (hit) {
      this.showHit(s, hit);
      return;
    }
    if (status === 'completed' && s.name === 'source') {
      const st = await this.runStateAfterSwitchover(s);
      if (st && !st.running) this.showStop(s, { by: 'pause', description: this.pausedText(s) }, 'pause');
    }
  }

  /**
   * The source's run state once QEMU has left finish-migrate. Its MIGRATION "completed" event comes
   * a moment before the guest's run state becomes postmigrate; asked in between, QEMU still says
   * finish-migrate. Asks again for up to a second; undefined when the QEMU does not answer.
   */
  private async runStateAfterSwitchover(s: Side): Promise<{ running: boolean; status: string } | undefined> {
    for (let i = 0; i < 50; i++) {
      const st = await s.runStateNow().catch(() => undefined);
      if (st === undefined || st.status !== 'finish-migrate' || s.ended !== undefined) return st;
      await sleep(20);
    }
    return s.monitor.runState;
  }

  private showHit(s: Side, hit: StateHit): void {
    this.showStop(s, { by: 'state', hit }, 'exception', hit.text);
  }

  private showStop(s: Side, shown: ShownStop, reason: StopReason, text?: string): void {
    s.shown = shown;
    // The description is the short label VS Code shows on the thread; the text says the rest.
    const description = shown.by === 'state' ? (stateFilters.find((f) => f.id === shown.hit.filter)?.stopLabel ?? shown.hit.filter) : shown.description;
    if (shown.by === 'state') this.say(shown.hit.text, shown.hit.filter === 'failed' ? 'important' : 'console');
    this.emit({
      kind: 'stopped', side: s.name, reason, description, text: text ?? description,
      ...(shown.by === 'trace' ? { breakpointIds: shown.breakpointIds } : {}),
    });
  }

  private clearStop(s: Side): void {
    if (s.shown === undefined) return;
    s.shown = undefined;
    this.emit({ kind: 'continued', side: s.name });
  }

  private async endSide(s: Side, reason: string): Promise<void> {
    if (s.ended !== undefined) return;
    const proc = this.lab?.sides[s.name].process;
    await sleep(proc ? 100 : 0);
    const how = proc?.exitDescription;
    s.ended = how ? `QEMU ${how} (${reason})` : reason;
    s.detachAll();
    await s.follower?.stop();
    await s.lease.release().catch(() => undefined);
    // Ending the session (terminate quits the QEMUs) makes them go: nothing to report then.
    if (this.finished) return;
    this.say(`The ${s.name} QEMU is gone: ${s.ended}. Its side of the session has ended.`, 'important');
    this.emit({ kind: 'sideEnded', side: s.name, reason: s.ended });
    if (this.liveSides().length === 0 && !this.finished) this.emit({ kind: 'ended', reason: `every QEMU of the session is gone (${s.name}: ${s.ended})` });
  }

  // ------------------------------------------------------------------ execution control

  async pause(name: SideName): Promise<void> {
    const s = this.need(name);
    if (!(await s.runStateNow()).running) {
      if (s.shown === undefined) this.showStop(s, { by: 'pause', description: this.pausedText(s) }, 'pause');
      return;
    }
    await s.monitor.execute('stop');
  }

  /** Continue as the side's state asks: migrate-continue, recovery of a paused postcopy, `cont`, or just going on. */
  async continue(name: SideName): Promise<void> {
    const s = this.need(name);
    const shown = s.shown;
    await s.runStateNow();
    if (shown?.by === 'state' && shown.hit.filter === 'before-switchover' && s.monitor.status === 'pre-switchover') {
      await this.migrateContinue(s);
      this.clearStop(s);
      return;
    }
    if (shown?.by === 'state' && shown.hit.filter === 'postcopy-paused') {
      await this.recover();
      return;
    }
    if (shown?.by === 'state' && !shown.hit.held && s.running) {
      this.clearStop(s);
      return;
    }
    if (!s.running) {
      const st = s.monitor.runState?.status;
      if (s.name === 'source' && (st === 'postmigrate' || s.monitor.status === 'completed')) {
        throw new Error("the source's migration completed: its guest runs on the destination now, and resuming the source would run it twice (send cont in the debug console to do it anyway)");
      }
      if (st === 'finish-migrate' || s.monitor.status === 'pre-switchover') {
        throw new Error('the source is in the middle of its switchover; QEMU resumes it if the migration fails');
      }
      if (st === 'inmigrate') {
        throw new Error("the destination's guest waits for its incoming migration and starts when that completes: continue the source instead");
      }
      await s.monitor.execute('cont');
      await s.runStateNow().catch(() => undefined);
      if (s.running) this.clearStop(s);
      return;
    }
    this.clearStop(s);
  }

  private async migrateContinue(s: Side): Promise<void> {
    await continueMigration(s.monitor, 'pre-switchover');
    this.say('source: migrate-continue {"state": "pre-switchover"}: the switchover goes on');
  }

  private async recover(): Promise<void> {
    const src = this.side('source');
    const dst = this.side('destination');
    if (!src || !dst) throw new Error('recovering a paused postcopy migration needs both the source and the destination');
    let uri = this.config.recoverUri;
    if (uri === undefined) {
      this.tempDir ??= await mkdtemp(join(tmpdir(), 'qmig-debug-'));
      uri = unixMigrationUri(this.tempDir, `recover-${Date.now()}.sock`);
    }
    const r = await recoverPostcopyPair(src.monitor, dst.monitor, uri);
    this.say(`postcopy recovery: migrate-recover ${uri} on the destination${r.destinationOob ? ' (out-of-band)' : ''}, migrate resume=true on the source`);
    for (const s of [src, dst]) if (s.shown?.by === 'state' && s.shown.hit.filter === 'postcopy-paused') this.clearStop(s);
  }

  private need(name: SideName): Side {
    const s = this.sides.get(name);
    if (!s) throw new Error(`this session has no ${name} QEMU`);
    if (s.ended !== undefined) throw new Error(`the ${name} QEMU is gone: ${s.ended}`);
    return s;
  }

  sideOrThrow(name: SideName): Side {
    return this.need(name);
  }

  // ------------------------------------------------------------------ ending

  /**
   * Ends the session. A held pre-switchover is let go and changed capabilities restored; the
   * QEMUs keep running unless `terminate` (launch only): then a started lab pair is ended, and
   * QEMUs a preLaunchTask started are sent `quit`.
   */
  async shutdown(opts: { terminate: boolean }): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.controller.abort();
    const launched = this.config.request === 'launch';
    for (const s of this.liveSides()) {
      await s.follower?.stop();
      s.follower = undefined;
      if (!(opts.terminate && launched)) {
        await s.trace.disableAll().catch((e: unknown) => this.say(`${s.name}: ${describeError(e)}`, 'stderr'));
        if (s.monitor.status === 'pre-switchover' && s.changedCapabilities.has('pause-before-switchover')) {
          await this.migrateContinue(s).catch(() => undefined);
        }
        for (const cap of [...s.changedCapabilities.keys()]) {
          await this.restoreCapability(s, cap).catch((e: unknown) => this.say(`${s.name}: could not restore capability ${cap}: ${describeError(e)}`, 'stderr'));
        }
      }
    }
    if (opts.terminate && launched && !this.lab) {
      for (const s of this.liveSides()) await s.monitor.execute('quit').catch(() => undefined);
    }
    for (const s of this.sides.values()) {
      s.detachAll();
      await s.lease.release().catch(() => undefined);
    }
    if (this.lab) {
      if (opts.terminate || !launched) await this.lab.stop();
      else this.say(`The lab pair keeps running: ${this.lab.sides.source.socket} and ${this.lab.sides.destination.socket}`);
    }
    if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true });
  }
}
