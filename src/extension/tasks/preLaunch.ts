/**
 * The qemu-migration tasks a debug `launch` started through its preLaunchTask belong to that
 * session: when it ends (Stop, or its QEMUs gone) they are ended too, their processes stopped by
 * process group and their sockets removed, as a lab pair the launch started would be. A session
 * the user only disconnects from (`terminateDebuggee: false`) leaves them running. VS Code runs the
 * preLaunchTask after resolveDebugConfiguration (before resolveDebugConfigurationWithSubstitutedVariables,
 * as VS Code 1.139 does) and before the session starts: the tasks that start in between are the launch's.
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { TASK_TYPE } from '../../core/tasks/definition';
import type { WorkbenchContext } from '../context';

/** The key the launch configuration carries so its session can be recognised when it starts. */
const LAUNCH_KEY = '__qemuMigrationLaunch';

export class PreLaunchTasks {
  /** The launch whose preLaunchTask is running now, and the qemu-migration tasks it started. */
  private pending: { id: string; tasks: vscode.TaskExecution[] } | undefined;
  /** Tasks by debug session id. */
  private readonly bySession = new Map<string, vscode.TaskExecution[]>();
  /** Sessions the user disconnected from without ending what they started. */
  private readonly keep = new Set<string>();

  constructor(private readonly ctx: WorkbenchContext, debugType: string) {
    ctx.subscriptions.push(
      vscode.tasks.onDidStartTask((e) => {
        if (this.pending && e.execution.task.definition.type === TASK_TYPE) this.pending.tasks.push(e.execution);
      }),
      vscode.debug.onDidStartDebugSession((s) => {
        const id: unknown = s.configuration[LAUNCH_KEY];
        if (this.pending === undefined || id !== this.pending.id) return;
        if (this.pending.tasks.length > 0) this.bySession.set(s.id, this.pending.tasks);
        this.pending = undefined;
      }),
      vscode.debug.registerDebugAdapterTrackerFactory(debugType, {
        createDebugAdapterTracker: (s) => {
          // VS Code itself disconnects with terminateDebuggee false once a session has
          // terminated (Stop, or the QEMUs gone): only a disconnect before that is the user's.
          let ending = false;
          return {
            onWillReceiveMessage: (m: unknown) => {
              if (isMessage(m, 'request', 'terminate')) ending = true;
              else if (!ending && isMessage(m, 'request', 'disconnect') && keepsDebuggee(m)) this.keep.add(s.id);
            },
            onDidSendMessage: (m: unknown) => {
              if (isMessage(m, 'event', 'terminated')) ending = true;
            },
          };
        },
      }),
      vscode.debug.onDidTerminateDebugSession((s) => this.sessionEnded(s)),
    );
  }

  /** Called for a launch with a preLaunchTask, before VS Code runs it: marks the configuration. */
  expect(config: vscode.DebugConfiguration): void {
    const id = randomUUID();
    config[LAUNCH_KEY] = id;
    this.pending = { id, tasks: [] };
  }

  private sessionEnded(s: vscode.DebugSession): void {
    const tasks = this.bySession.get(s.id);
    this.bySession.delete(s.id);
    const keep = this.keep.delete(s.id);
    if (!tasks) return;
    const running = tasks.filter((t) => vscode.tasks.taskExecutions.includes(t));
    if (keep) {
      if (running.length) this.ctx.log.info(`debug: "${s.name}" disconnected; its preLaunchTask's tasks keep running: ${running.map((t) => t.task.name).join(', ')}`);
      return;
    }
    if (running.length) this.ctx.log.info(`debug: "${s.name}" ended; ending the tasks its preLaunchTask started: ${running.map((t) => t.task.name).join(', ')}`);
    for (const t of running) t.terminate();
  }
}

interface DapMessage {
  type?: unknown;
  command?: unknown;
  event?: unknown;
  arguments?: unknown;
}

function isMessage(m: unknown, type: 'request' | 'event', name: string): m is DapMessage {
  if (typeof m !== 'object' || m === null) return false;
  const d = m as DapMessage;
  return d.type === type && (type === 'request' ? d.command : d.event) === name;
}

/** A disconnect request that asks to leave the debuggee running. */
function keepsDebuggee(m: DapMessage): boolean {
  const args = m.arguments;
  return typeof args === 'object' && args !== null && (args as { terminateDebuggee?: unknown }).terminateDebuggee === false;
}
