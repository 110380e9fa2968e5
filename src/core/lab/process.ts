import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, statSync, writeSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/**
 * Resolves a program name the way execvp would (names with a slash are paths, others are looked
 * up on PATH). Returns undefined when there is no executable regular file.
 */
export function findExecutable(name: string, pathEnv: string = process.env.PATH ?? ''): string | undefined {
  const candidates = name.includes('/')
    ? [isAbsolute(name) ? name : resolve(name)]
    : pathEnv.split(delimiter).filter((d) => d !== '').map((d) => join(d, name));
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not there or not executable: try the next directory
    }
  }
  return undefined;
}

export interface ManagedProcessOptions {
  /** Short name for messages, e.g. `src QEMU`. */
  label: string;
  /** File descriptor that receives stdout and stderr instead of the in-memory tail. */
  outputFd?: number;
  /** Lines of stderr/stdout kept for error messages. Default 40. */
  tailLines?: number;
  /** Without outputFd: stdout and stderr are also written, as they come, to this file (truncated first). */
  logFile?: string;
  /** Without outputFd: called with each whole line of output (no newline), in order. */
  onLine?: (line: string) => void;
}

/** Every ManagedProcess that was spawned and has not exited yet. */
const running = new Set<ManagedProcess>();

/**
 * Sends signal to the process group of every ManagedProcess still running, synchronously:
 * for an owner that cannot wait for a graceful stop (an extension host about to exit).
 * Returns the pids of the groups signalled.
 */
export function signalRunningGroups(signal: NodeJS.Signals = 'SIGKILL'): number[] {
  const pids: number[] = [];
  for (const p of running) {
    const pid = p.pid;
    if (pid === undefined) continue;
    try {
      process.kill(-pid, signal);
      pids.push(pid);
    } catch {
      // ESRCH: the group is already gone
    }
  }
  return pids;
}

/**
 * A child process in its own process group (spawned detached, so setsid): stopping it signals the
 * whole group, which also ends anything it forked, and a Ctrl-C in the terminal reaches only us,
 * so teardown stays in our hands. Spawned with an argument array, never through a shell.
 */
export class ManagedProcess {
  readonly label: string;
  readonly argv: readonly string[];
  private readonly child: ChildProcess;
  private readonly tail: string[] = [];
  private readonly tailLines: number;
  private partial = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private spawnError: Error | undefined;
  private readonly exited: Promise<void>;
  private logFd: number | undefined;
  private readonly onLine: ((line: string) => void) | undefined;

  constructor(binary: string, args: readonly string[], opts: ManagedProcessOptions) {
    this.label = opts.label;
    this.argv = [binary, ...args];
    this.tailLines = opts.tailLines ?? 40;
    this.onLine = opts.outputFd === undefined ? opts.onLine : undefined;
    if (opts.outputFd === undefined && opts.logFile !== undefined) this.logFd = openSync(opts.logFile, 'w');
    const out = opts.outputFd ?? 'pipe';
    this.child = spawn(binary, [...args], { detached: true, stdio: ['ignore', out, out] });
    running.add(this);
    this.exited = new Promise((resolveExit) => {
      this.child.once('error', (e) => {
        this.spawnError = e;
        if (this.exitInfo === undefined) this.exitInfo = { code: null, signal: null };
        running.delete(this);
        this.closeLog();
        resolveExit();
      });
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        running.delete(this);
      });
      // 'close' comes after the last output: the log is complete when waitForExit resolves.
      this.child.once('close', (code, signal) => {
        this.exitInfo ??= { code, signal };
        running.delete(this);
        this.closeLog();
        resolveExit();
      });
    });
    this.child.stdout?.on('data', (b: Buffer) => this.collect(b));
    this.child.stderr?.on('data', (b: Buffer) => this.collect(b));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Human description of how the process ended, or undefined while it runs. */
  get exitDescription(): string | undefined {
    if (this.spawnError) return `could not be started: ${this.spawnError.message}`;
    if (!this.exitInfo) return undefined;
    return this.exitInfo.signal ? `was killed by ${this.exitInfo.signal}` : `exited with status ${this.exitInfo.code}`;
  }

  /** The last lines the process wrote (when its output is not redirected to a file). */
  lastLines(): string[] {
    return this.partial ? [...this.tail, this.partial] : [...this.tail];
  }

  /** Resolves when the process has ended. */
  waitForExit(): Promise<void> {
    return this.exited;
  }

  /**
   * Ends the process group: SIGTERM, then SIGKILL after graceMs. QEMU flushes its trace log and
   * testpmd closes its vhost-user socket on SIGTERM, so the grace period matters for the recording.
   */
  async stop(graceMs = 3000): Promise<void> {
    if (this.hasExited || this.child.pid === undefined) return;
    this.signalGroup('SIGTERM');
    const timer = new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref());
    const done = await Promise.race([this.exited.then(() => true), timer]);
    if (!done) {
      this.signalGroup('SIGKILL');
      await this.exited;
    }
  }

  private signalGroup(sig: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // ESRCH: the group is already gone
    }
  }

  private collect(b: Buffer): void {
    if (this.logFd !== undefined) writeSync(this.logFd, b);
    const text = this.partial + b.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const l of lines) {
      this.tail.push(l);
      if (this.tail.length > this.tailLines) this.tail.shift();
      this.onLine?.(l);
    }
  }

  /** The last line without a newline is a line too once the process has ended. */
  private closeLog(): void {
    if (this.partial !== '') {
      const last = this.partial;
      this.partial = '';
      this.tail.push(last);
      this.onLine?.(last);
    }
    if (this.logFd !== undefined) {
      closeSync(this.logFd);
      this.logFd = undefined;
    }
  }
}
