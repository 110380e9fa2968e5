/**
 * One QEMU of the debugged migration: its monitor, what is known about its process on this
 * host, its trace events, and why the session shows it stopped.
 */
import type { MigrationMonitor, ReceivedEvent } from '../../core/monitor/monitor';
import type { QmpReplies } from '../../core/qmp/replies';
import { parseQmpTarget } from '../../core/qmp/target';
import type { SideName } from '../config';
import type { VersionCatalogue } from '../../core/trace/catalogueResolver';
import { commandLineFacts, pidListeningOn, processCommandLine, type QemuCommandLineFacts } from './localQemu';
import type { MonitorLease } from './monitors';
import type { StateHit } from './stateBreakpoints';
import { listSideThreads, type SideThread } from './threads';
import { LogFollower, SideTraceControl } from './traceBreakpoints';

export interface LocalQemu {
  pid: number | undefined;
  facts: QemuCommandLineFacts;
}

/** Why a side is shown stopped. */
export type ShownStop =
  | { by: 'pause'; description: string }
  | { by: 'state'; hit: StateHit }
  | { by: 'trace'; description: string; breakpointIds: number[]; guestStopped: boolean };

export interface SideListeners {
  onEvent(side: Side, e: ReceivedEvent): void;
  onStatus(side: Side, status: string): void;
  onClosed(side: Side, reason: string): void;
}

export class Side {
  shown: ShownStop | undefined;
  lastStatus: string;
  ended: string | undefined;
  threads: SideThread[] = [];
  threadsNote: string | undefined;
  follower: LogFollower | undefined;
  catalogue: VersionCatalogue | undefined;
  readonly trace: SideTraceControl;
  /** Capabilities the session changed, with their value before, restored at the end. */
  readonly changedCapabilities = new Map<string, boolean>();
  private readonly detach: Array<() => void> = [];
  private hmpHelp: Promise<string> | undefined;

  private constructor(
    readonly name: SideName,
    readonly address: string,
    readonly lease: MonitorLease,
    readonly pid: number | undefined,
    readonly facts: QemuCommandLineFacts,
    readonly logFile: string | undefined,
  ) {
    this.trace = new SideTraceControl(lease.monitor);
    this.lastStatus = lease.monitor.status;
  }

  /** The local process behind an address (pid given, or the unix socket's listener) and what its command line says. */
  static async probeLocal(address: string, knownPid: number | undefined): Promise<LocalQemu> {
    const target = parseQmpTarget(address);
    const pid = knownPid ?? (target.kind === 'unix' ? await pidListeningOn(target.path) : undefined);
    const cmd = pid !== undefined ? await processCommandLine(pid) : undefined;
    return { pid, facts: cmd ? commandLineFacts(cmd.argv, cmd.cwd) : { timestamps: false, debugThreads: false } };
  }

  static create(name: SideName, address: string, lease: MonitorLease, local: LocalQemu, configuredLog: string | undefined): Side {
    return new Side(name, address, lease, local.pid, local.facts, configuredLog ?? local.facts.logFile);
  }

  get monitor(): MigrationMonitor {
    return this.lease.monitor;
  }

  get label(): string {
    return `${this.name} (QEMU ${this.monitor.version})`;
  }

  get running(): boolean {
    return this.monitor.runState?.running ?? false;
  }

  /**
   * The guest's run state read now. The monitor's copy follows STOP/RESUME and a slow poll,
   * and a poll answered just before an event can leave it stale for a while.
   */
  async runStateNow(): Promise<{ running: boolean; status: string }> {
    const st = await this.monitor.execute<QmpReplies['query-status']>('query-status');
    this.monitor.runState = st;
    return st;
  }

  listen(l: SideListeners): void {
    const m = this.monitor;
    this.detach.push(
      m.onEvent((e) => l.onEvent(this, e)),
      m.onChange(() => {
        if (m.status !== this.lastStatus) l.onStatus(this, m.status);
      }),
      m.client.onClose((err) => l.onClosed(this, err ? err.message : 'the QMP connection was closed')),
    );
  }

  async refreshThreads(): Promise<SideThread[]> {
    if (this.ended !== undefined) return [];
    const listing = await listSideThreads(this.monitor, this.pid);
    this.threads = listing.threads;
    this.threadsNote = listing.note;
    return this.threads;
  }

  /** HMP's command list (`help`), read once. */
  hmpHelpText(): Promise<string> {
    this.hmpHelp ??= this.monitor.client.hmp('help').catch(() => '');
    return this.hmpHelp;
  }

  /** Stops listening; the lease is released by the runtime. */
  detachAll(): void {
    for (const d of this.detach.splice(0)) d();
  }
}
