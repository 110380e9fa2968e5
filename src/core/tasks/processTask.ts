/**
 * One task's process: started in its own process group with an argument array, its output kept
 * in its log file and passed on line by line (with a located line for every problem), ready when
 * its plan says so, and ended by its process group, its sockets removed, when the task ends.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManagedProcess } from '../lab/process';
import { QmpClient } from '../qmp/client';
import type { ProcessPlan } from './plan';
import { PreflightError, socketPathProblem, type PreflightProblem } from './preflight';
import { problemInLine, problemLine, readyLine, startingLine, type OutputProblem } from './problems';

/** Where a task writes: its terminal, one line at a time. */
export interface TaskOutput {
  line(text: string): void;
}

/** QEMU under TCG boots its firmware in a few seconds even on a busy machine. */
const READY_TIMEOUT_MS = 60_000;

export class ProcessTask {
  readonly proc: ManagedProcess;
  /** Resolves with what it said when ready; rejects when the process ends first or the wait is aborted. */
  readonly ready: Promise<string>;
  /** Problems seen in its output so far. */
  readonly problems: OutputProblem[] = [];
  private lines = 0;
  private sawReadyLine = false;
  private stopped = false;

  private constructor(readonly plan: ProcessPlan, private readonly out: TaskOutput, signal: AbortSignal) {
    mkdirSync(dirname(plan.logFile), { recursive: true });
    for (const s of plan.sockets) mkdirSync(dirname(s), { recursive: true });
    out.line(startingLine(`${plan.label}: ${[plan.binary, ...plan.args].join(' ')}`));
    this.proc = new ManagedProcess(plan.binary, plan.args, { label: plan.label, logFile: plan.logFile, onLine: (l) => this.onLine(l) });
    this.ready = this.waitReady(signal);
    // Nobody may be waiting yet; a failure is reported through `exit` too.
    this.ready.catch(() => undefined);
  }

  /** Checks the sockets the process will create, then starts it. */
  static async start(plan: ProcessPlan, out: TaskOutput, signal: AbortSignal): Promise<ProcessTask> {
    const problems = (await Promise.all(plan.sockets.map((s) => socketPathProblem(s, `${plan.label} socket`)))).filter((p): p is PreflightProblem => p !== undefined);
    if (problems.length) throw new PreflightError(problems);
    // A stale socket of an earlier run that ended without cleaning up: the new process replaces it.
    for (const s of plan.sockets) rmSync(s, { force: true });
    return new ProcessTask(plan, out, signal);
  }

  private onLine(text: string): void {
    this.lines++;
    this.out.line(text);
    const p = problemInLine(this.plan.source, text);
    if (p) {
      this.problems.push(p);
      this.out.line(problemLine(this.plan.logFile, this.lines, p));
    }
    if (this.plan.readiness.kind === 'line' && this.plan.readiness.pattern.test(text)) this.sawReadyLine = true;
  }

  private async waitReady(signal: AbortSignal): Promise<string> {
    const r = this.plan.readiness;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (signal.aborted) throw new Error(`${this.plan.label}: ended before it was ready`);
      if (Date.now() > deadline) throw new Error(`${this.plan.label} was not ready after ${READY_TIMEOUT_MS / 1000} s (see ${this.plan.logFile})`);
      const how = this.proc.exitDescription;
      if (how !== undefined) throw new Error(`${this.plan.label} ${how} before it was ready${this.problems.length ? `: ${this.problems.map((p) => p.message).join('; ')}` : ''}`);
      if (r.kind === 'line' && this.sawReadyLine) break;
      if (r.kind === 'socket' && existsSync(r.path)) break;
      if (r.kind === 'qmp' && existsSync(r.socket)) {
        // QEMU prints nothing when it is ready: its monitor greeting is the sign. The probe
        // leaves at once, so the monitor is free for the migrate task.
        const client = await QmpClient.connect(r.socket, { connectTimeoutMs: 10_000, signal }).catch(() => undefined);
        if (client) {
          const v = client.greeting.version.qemu;
          await client.close();
          const said = `${this.plan.label}: QEMU ${v.major}.${v.minor}.${v.micro} greets on ${r.socket}`;
          this.out.line(readyLine(said));
          return said;
        }
      }
      await sleep(50);
    }
    const said = `${this.plan.label}${r.kind === 'socket' ? ` listens on ${r.path}` : ''}`;
    this.out.line(readyLine(said));
    return said;
  }

  /** Resolves when the process has ended (on its own or stopped): 0, or 1 when it failed or reported an error. */
  async exit(): Promise<number> {
    await this.proc.waitForExit();
    const how = this.proc.exitDescription ?? '';
    const failed = this.problems.some((p) => p.severity === 'error') || (!this.stopped && !/status 0$/.test(how));
    return failed ? 1 : 0;
  }

  /** Ends the process group (TERM, then KILL) and removes its sockets. Never throws. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.proc.stop();
    for (const s of this.plan.sockets) rmSync(s, { force: true });
  }

  /** Synchronous last resort (an extension host that is going away): KILL the group, remove the sockets. */
  kill(): void {
    this.stopped = true;
    const pid = this.proc.pid;
    if (pid !== undefined && !this.proc.hasExited) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const s of this.plan.sockets) rmSync(s, { force: true });
  }
}
