import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { TaskDefinition, TaskRole } from '../../core/tasks/definition';
import { runTask, type TaskSettings } from '../../core/tasks/runTask';
import { cleanLine } from '../../core/vhostuser/backendLog';
import { CHECK_RECORDING_COMMAND } from '../vhostuser/index';
import { qmpSession } from '../qmp/index';
import type { WorkbenchContext } from '../context';

/** What a task terminal needs from the window. */
export interface TerminalDeps {
  readonly ctx: WorkbenchContext;
  /** Read when the task starts, so a settings change applies to the next run. */
  readonly settings: () => TaskSettings;
}

const RED = '\x1b[31m';
const RESET = '\x1b[0m';

/**
 * A task's pseudoterminal: runs the task (src/core/tasks) when VS Code opens it and shows its
 * lines; closing it (ending the task, or the window going away) aborts the run, whose processes
 * are ended by process group and whose sockets are removed. QEMUs with a free second monitor are
 * shown in the Connections view while they run; a finished recording is checked.
 */
export class TaskTerminal implements vscode.Pseudoterminal {
  private readonly write = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.write.event;
  readonly onDidClose = this.closed.event;
  private readonly controller = new AbortController();
  private readonly connections: string[] = [];
  private finished = false;

  constructor(private readonly def: TaskDefinition, private readonly deps: TerminalDeps) {}

  open(): void {
    const { ctx } = this.deps;
    const signal = AbortSignal.any([this.controller.signal, ctx.lifetime.signal]);
    const run = (async (): Promise<number> => {
      try {
        return await runTask(this.def, this.deps.settings(), {
          out: { line: (t) => this.line(t) },
          signal,
          onMonitor: (role, socket, label) => this.showInConnections(role, socket, label),
          onRecording: async (dir) => {
            ctx.recordingCreated.fire(vscode.Uri.file(dir));
            await vscode.commands.executeCommand(CHECK_RECORDING_COMMAND, vscode.Uri.file(dir), { showLadders: true });
          },
        });
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        ctx.log.error(`task ${this.def.kind}: ${msg}`);
        for (const l of msg.split('\n')) this.write.fire(`${RED}${cleanLine(l)}${RESET}\r\n`);
        return 1;
      } finally {
        await this.forgetConnections();
      }
    })();
    void ctx.lifetime.track(run).then((code) => this.finish(code));
  }

  /** The user ended the task (or VS Code closed its terminal). */
  close(): void {
    this.controller.abort();
  }

  private line(text: string): void {
    if (this.finished) return;
    // Process output is shown as text: control characters (escape sequences) are dropped. The
    // workbench's own lines stay plain, as the $qemu-migration matcher reads them.
    this.write.fire(`${cleanLine(text)}\r\n`);
  }

  private showInConnections(role: TaskRole, socket: string, label: string): void {
    const session = qmpSession();
    if (!session) return;
    const id = `task-${randomUUID()}`;
    // Not saved with the workspace: the QEMU goes away with the task.
    session.manager.add({ id, label: `${label} (task)`, role, address: socket }, false);
    this.connections.push(id);
  }

  private async forgetConnections(): Promise<void> {
    const session = qmpSession();
    for (const id of this.connections.splice(0)) await session?.forget(id).catch(() => undefined);
  }

  private finish(code: number): void {
    if (this.finished) return;
    this.finished = true;
    this.closed.fire(code);
    this.write.dispose();
    this.closed.dispose();
  }
}
