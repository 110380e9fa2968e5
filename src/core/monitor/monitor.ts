import { setTimeout as sleep } from 'node:timers/promises';
import type { QmpClient, QmpExecuteOptions } from '../qmp/client';
import type { QmpEvent } from '../qmp/messages';
import type { MigrationInfo, QmpReplies, VmStatus } from '../qmp/replies';
import { QmpSchema } from '../qmp/schema';
import { checkMonitorBlocked, checkSide, type MachineInfo, type MemdevInfo, type MonitorWarning, type Role } from './checks';
import { detectFeatures, type MonitorFeatures } from './features';
import { nextPollAt, realClock, skippedTicks, type PollClock } from './cadence';
import { Ring } from './ring';
import { mapThreads, type MappedThread, type MigrationThreadInfo } from './threads';
import { sampleOf, type MigrationSample } from './samples';

export interface MonitorOptions {
  role?: Role;
  /**
   * `query-migrate` interval while a migration is in progress, from the start of one poll to
   * the start of the next. Default 250 ms.
   */
  fastPollMs?: number;
  /** Interval otherwise. Default 2000 ms. */
  slowPollMs?: number;
  eventCapacity?: number;
  sampleCapacity?: number;
  /** Coalescing window of change notifications. Default 100 ms. */
  changeDelayMs?: number;
  /** Clock and timer of the polls. Default performance.now and setTimeout. */
  clock?: PollClock;
}

/** An entry of `query-jobs`. */
export interface JobInfo {
  id: string;
  type: string;
  status: string;
  'current-progress': number;
  'total-progress': number;
  error?: string;
}

export interface ReceivedEvent {
  receivedAt: number;
  event: QmpEvent;
}

export interface CommandTiming {
  command: string;
  sentAt: number;
  repliedAt: number;
  ok: boolean;
}

/** Statuses during which `query-migrate` is polled fast. */
export const activeStatuses: ReadonlySet<string> = new Set([
  'setup', 'active', 'cancelling', 'pre-switchover', 'device', 'wait-unplug', 'colo',
  'postcopy-active', 'postcopy-paused', 'postcopy-recover-setup', 'postcopy-recover',
]);

/**
 * The live model of one QMP connection: migration state polled fast while a migration is in
 * progress and slowly otherwise, run state, capabilities, parameters, threads, jobs, a bounded
 * ring of events and of chart samples, and the round-trip time of every command sent through it.
 */
export class MigrationMonitor {
  role: Role;
  runState: VmStatus | undefined;
  migration: MigrationInfo = {};
  capabilities: Record<string, boolean> = {};
  parameters: Record<string, unknown> = {};
  threads: MappedThread[] = [];
  jobs: JobInfo[] = [];
  memdevs: MemdevInfo[] | undefined;
  /** Machine facts the CPR checks need; read only where the QEMU has migration modes. */
  machine: MachineInfo = {};
  readonly events: Ring<ReceivedEvent>;
  readonly samples: Ring<MigrationSample>;
  readonly timings: Ring<CommandTiming>;
  readonly jobWarnings: MonitorWarning[] = [];
  /** The last polling error, cleared by the next successful poll. */
  pollError: string | undefined;
  /** Polls started, and cadence ticks skipped because the previous poll was still outstanding. */
  readonly pollStats = { polls: 0, skipped: 0 };
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(e: ReceivedEvent) => void>();
  private readonly concluded = new Map<string, number>();
  private timer: unknown;
  /**
   * The grid tick the armed timer stands for. A poll it starts counts as started on that tick
   * even when the timer fires a little early or late, so the cadence does not drift.
   */
  private dueAt: number | undefined;
  private changeTimer: NodeJS.Timeout | undefined;
  private polling = false;
  /** A poll was asked for (event, command) while one was outstanding: run one more after it. */
  private pollAgain = false;
  private disposed = false;
  private readonly detach: () => void;
  private readonly fastMs: number;
  private readonly slowMs: number;
  private readonly changeDelayMs: number;
  private lastSlowAt = 0;
  private readonly clock: PollClock;

  private constructor(
    readonly client: QmpClient,
    readonly schema: QmpSchema,
    readonly features: MonitorFeatures,
    opts: MonitorOptions,
  ) {
    this.role = opts.role ?? 'none';
    this.fastMs = opts.fastPollMs ?? 250;
    this.slowMs = opts.slowPollMs ?? 2000;
    this.changeDelayMs = opts.changeDelayMs ?? 100;
    this.clock = opts.clock ?? realClock;
    this.events = new Ring(opts.eventCapacity ?? 200);
    this.samples = new Ring(opts.sampleCapacity ?? 7200);
    this.timings = new Ring(500);
    this.detach = client.onEvent((e) => this.handleEvent(e));
  }

  /** Reads the schema and the full state, then starts polling. */
  static async attach(client: QmpClient, opts: MonitorOptions = {}): Promise<MigrationMonitor> {
    const schema = await QmpSchema.query(client);
    const m = new MigrationMonitor(client, schema, detectFeatures(schema), opts);
    await m.refresh();
    m.schedule(0);
    return m;
  }

  get version(): string {
    const q = this.client.greeting.version.qemu;
    return `${q.major}.${q.minor}.${q.micro}`;
  }

  get status(): string {
    return this.migration.status ?? 'none';
  }

  get active(): boolean {
    return activeStatuses.has(this.status);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onEvent(listener: (e: ReceivedEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Sends a command and records its round-trip time. */
  async execute<T = unknown>(command: string, args?: Record<string, unknown>, opts?: QmpExecuteOptions): Promise<T> {
    const sentAt = performance.now();
    try {
      const r = await this.client.execute<T>(command, args, opts);
      this.timings.push({ command, sentAt, repliedAt: performance.now(), ok: true });
      return r;
    } catch (e) {
      this.timings.push({ command, sentAt, repliedAt: performance.now(), ok: false });
      throw e;
    } finally {
      if (command.startsWith('migrate') || command === 'cont' || command === 'stop') this.schedule(0);
    }
  }

  /** Re-reads everything: status, capabilities, parameters, migration, threads, jobs. */
  async refresh(): Promise<void> {
    const has = (c: string): boolean => this.features.commands.has(c);
    const [status, caps, params, mig, memdevs] = await Promise.all([
      this.execute<VmStatus>('query-status'),
      has('query-migrate-capabilities') ? this.execute<Array<{ capability: string; state: boolean }>>('query-migrate-capabilities') : [],
      has('query-migrate-parameters') ? this.execute<Record<string, unknown>>('query-migrate-parameters') : {},
      this.execute<MigrationInfo>('query-migrate'),
      has('query-memdev') ? this.execute<MemdevInfo[]>('query-memdev') : undefined,
    ]);
    this.runState = status;
    this.capabilities = Object.fromEntries(caps.map((c) => [c.capability, c.state]));
    this.parameters = params;
    this.memdevs = memdevs;
    if (this.features.modes.length > 0) await this.readCprFacts();
    this.setMigration(mig);
    await Promise.all([this.refreshJobs(), this.refreshThreads()]);
    this.changed();
  }

  /** Backend types of the memory backends and the machine's aux-ram-share, where this QEMU has them. */
  private async readCprFacts(): Promise<void> {
    const [objects, aux] = await Promise.all([
      this.execute<QmpReplies['qom-list']>('qom-list', { path: '/objects' }).catch(() => []),
      this.execute<unknown>('qom-get', { path: '/machine', property: 'aux-ram-share' }).catch(() => undefined),
    ]);
    // A reply of the wrong shape (an older or odd peer) was refused by its decoder: no types.
    const types = new Map<string, string>(objects.map(({ name, type }) => [name, /^child<(.+)>$/.exec(type)?.[1] ?? type]));
    this.memdevs = this.memdevs?.map((m) => {
      const backend = m.id !== undefined ? types.get(m.id) : undefined;
      return backend !== undefined ? { ...m, backend } : m;
    });
    this.machine = typeof aux === 'boolean' ? { auxRamShare: aux } : {};
  }

  warnings(): MonitorWarning[] {
    const side = checkSide(this.role, { capabilities: this.capabilities, parameters: this.parameters }, this.runState?.status, this.status, this.memdevs, this.machine);
    return [...side, ...this.jobWarnings];
  }

  /**
   * Starts a job (`snapshot-save`, ...) whose arguments carry `job-id`, follows it to its end
   * through JOB_STATUS_CHANGE and `query-jobs`, dismisses it, and checks the monitor-blocked rule.
   */
  async runJob(command: string, args: Record<string, unknown> & { 'job-id': string }, onProgress?: (j: JobInfo) => void): Promise<JobInfo> {
    const id = args['job-id'];
    this.concluded.delete(id);
    const sentAt = performance.now();
    await this.execute(command, args);
    const repliedAt = performance.now();
    let last: JobInfo | undefined;
    for (;;) {
      await this.refreshJobs();
      const j = this.jobs.find((x) => x.id === id);
      if (j) {
        last = j;
        onProgress?.(j);
      }
      if (!j || j.status === 'concluded' || j.status === 'null') break;
      await sleep(Math.min(this.fastMs, 100));
      if (this.disposed) throw new Error(`connection closed while job ${id} was running`);
    }
    const concludedAt = this.concluded.get(id);
    const w = checkMonitorBlocked({ command, jobId: id, sentAt, repliedAt, ...(concludedAt !== undefined ? { concludedAt } : {}) });
    this.jobWarnings.splice(0, this.jobWarnings.length, ...w);
    if (last?.status === 'concluded') await this.execute('job-dismiss', { id }).catch(() => undefined);
    await this.refreshJobs();
    this.changed();
    return last ?? { id, type: command, status: 'concluded', 'current-progress': 1, 'total-progress': 1 };
  }

  /** Stops polling; the client stays open (its owner closes it). */
  dispose(): void {
    this.disposed = true;
    this.detach();
    this.clock.clearTimer(this.timer);
    this.timer = undefined;
    clearTimeout(this.changeTimer);
    this.listeners.clear();
    this.eventListeners.clear();
  }

  private handleEvent(event: QmpEvent): void {
    const item: ReceivedEvent = { receivedAt: performance.now(), event };
    this.events.push(item);
    for (const l of this.eventListeners) l(item);
    const data = event.data;
    switch (event.event) {
      case 'MIGRATION':
        if (typeof data['status'] === 'string') this.migration = { ...this.migration, status: data['status'] };
        this.schedule(0);
        break;
      case 'STOP':
      case 'RESUME':
        if (this.runState) this.runState = { ...this.runState, running: event.event === 'RESUME' };
        this.schedule(0);
        break;
      case 'JOB_STATUS_CHANGE':
        if (typeof data['id'] === 'string' && (data['status'] === 'concluded' || data['status'] === 'null') && !this.concluded.has(data['id'])) {
          this.concluded.set(data['id'], item.receivedAt);
        }
        break;
    }
    this.changed();
  }

  /** Samples are kept while a migration is in progress, plus the one that shows its end. */
  private setMigration(info: MigrationInfo): void {
    this.migration = info;
    const status = info.status ?? 'none';
    if (!activeStatuses.has(status) && this.samples.newest(1)[0]?.status === status) return;
    const s = sampleOf(info, Date.now());
    if (s) this.samples.push(s);
  }

  private async refreshJobs(): Promise<void> {
    if (!this.features.jobs) return;
    this.jobs = await this.execute<JobInfo[]>('query-jobs');
  }

  private async refreshThreads(): Promise<void> {
    if (!this.features.migrationThreads) return;
    this.threads = mapThreads(await this.execute<MigrationThreadInfo[]>('query-migrationthreads'));
  }

  /** Runs the next poll after `ms`; a poll already scheduled sooner is kept. */
  private schedule(ms: number, dueAt?: number): void {
    if (this.disposed) return;
    if (this.timer !== undefined && ms > 0) return;
    this.clock.clearTimer(this.timer);
    this.dueAt = dueAt;
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      void this.poll();
    }, ms);
  }

  private async poll(): Promise<void> {
    if (this.disposed || this.client.closed) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = true;
    this.pollAgain = false;
    this.pollStats.polls++;
    const startedAt = this.dueAt ?? this.clock.now();
    this.dueAt = undefined;
    const wasActive = this.active;
    try {
      this.setMigration(await this.execute<MigrationInfo>('query-migrate'));
      const now = this.clock.now();
      const ended = wasActive && !this.active;
      if (ended || this.settling || now - this.lastSlowAt >= this.slowMs) {
        this.lastSlowAt = now;
        this.runState = await this.execute<VmStatus>('query-status');
        await this.refreshJobs();
      }
      if (this.active && this.threads.length === 0) await this.refreshThreads();
      if (ended) await this.refresh();
      this.pollError = undefined;
    } catch (e) {
      this.pollError = e instanceof Error ? e.message : String(e);
    } finally {
      this.polling = false;
    }
    this.changed();
    if (this.client.closed) return;
    if (this.pollAgain) {
      this.schedule(0);
      return;
    }
    if (!this.active) {
      // QEMU sets the source's run state to postmigrate a moment after the migration completes:
      // a run state still in finish-migrate is read again soon, not after the slow interval.
      this.schedule(this.settling ? this.fastMs : this.slowMs);
      return;
    }
    const now = this.clock.now();
    const next = nextPollAt(startedAt, this.fastMs, now);
    this.pollStats.skipped += skippedTicks(startedAt, this.fastMs, next);
    this.schedule(Math.max(0, next - now), next);
  }

  /** Not migrating, but the guest's run state is one QEMU leaves by itself (finish-migrate). */
  private get settling(): boolean {
    return !this.active && this.runState?.status === 'finish-migrate';
  }

  private changed(): void {
    if (this.disposed || this.changeTimer !== undefined) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      for (const l of this.listeners) l();
    }, this.changeDelayMs);
  }
}
