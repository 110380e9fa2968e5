/**
 * The `qemu-migration` task type: a TaskProvider offering a source/destination pair with the
 * vhost-user bridge (and testpmd), the migrate task and the compound "Postcopy migration with
 * vhost-user-bridge"; tasks.json entries of the type are resolved the same way. Every task runs in
 * a pseudoterminal (src/extension/tasks/terminal.ts) over src/core/tasks. Nothing is provided in
 * an untrusted workspace; the provider appears once the workspace is trusted.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as vscode from 'vscode';
import { parseTaskDefinition, providedTaskDefinitions, TASK_TYPE, taskTitle, TaskDefinitionError, type TaskDefinition } from '../../core/tasks/definition';
import type { TaskSettings } from '../../core/tasks/runTask';
import * as config from '../config';
import type { WorkbenchContext } from '../context';
import { TaskTerminal, type TerminalDeps } from './terminal';

export const MATCHER = '$qemu-migration';

function runtimeDir(): string {
  const xdg = process.env['XDG_RUNTIME_DIR'];
  return xdg !== undefined && xdg !== '' && existsSync(xdg) ? xdg : tmpdir();
}

/** Settings as the tasks take them; binaries only from user settings in an untrusted window (which gets no tasks anyway). */
function taskSettings(): TaskSettings {
  const recordings = config.recordingsDir();
  if (!recordings) throw new Error(`Set "${config.settingKey('outputFolder')}" to an absolute path: tasks record their logs there.`);
  return {
    qemuBinary: config.qemuBinary(),
    configuredQemus: config.qemuBinaries(),
    buildDirs: config.qemuBuildDirs(),
    testpmdBinary: config.testpmdBinary(),
    recordingsDir: recordings.fsPath,
    runtimeDir: runtimeDir(),
  };
}

const BACKGROUND = new Set<TaskDefinition['kind']>(['vhost-user-bridge', 'qemu', 'testpmd']);

/** A definition that does not validate still makes a task: running it prints why, and fails. */
class InvalidTask implements vscode.Pseudoterminal {
  private readonly write = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.write.event;
  readonly onDidClose = this.closed.event;
  constructor(private readonly error: TaskDefinitionError) {}
  open(): void {
    for (const p of this.error.problems) this.write.fire(`\x1b[31mqemu-migration task: ${p}\x1b[0m\r\n`);
    this.closed.fire(2);
  }
  close(): void { /* nothing runs */ }
}

function makeTask(raw: vscode.TaskDefinition, scope: vscode.WorkspaceFolder | vscode.TaskScope, deps: TerminalDeps, name?: string): vscode.Task {
  let def: TaskDefinition | TaskDefinitionError;
  try {
    def = parseTaskDefinition(raw);
  } catch (e) {
    def = e instanceof TaskDefinitionError ? e : new TaskDefinitionError([e instanceof Error ? e.message : String(e)]);
  }
  const parsed = def;
  const execution = new vscode.CustomExecution(() => Promise.resolve(parsed instanceof TaskDefinitionError ? new InvalidTask(parsed) : new TaskTerminal(parsed, deps)));
  const task = new vscode.Task(raw, scope, name ?? (parsed instanceof TaskDefinitionError ? `${String(raw['kind'])} (invalid)` : taskTitle(parsed)), TASK_TYPE, execution, [MATCHER]);
  if (!(parsed instanceof TaskDefinitionError)) task.isBackground = BACKGROUND.has(parsed.kind);
  task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated, clear: true };
  return task;
}

export function registerTaskFeatures(ctx: WorkbenchContext): void {
  const deps: TerminalDeps = { ctx, settings: taskSettings };
  let registration: vscode.Disposable | undefined;
  const register = (): void => {
    if (registration || !vscode.workspace.isTrusted) return;
    registration = vscode.tasks.registerTaskProvider(TASK_TYPE, {
      provideTasks: () => {
        const scope = vscode.workspace.workspaceFolders?.[0] ?? vscode.TaskScope.Workspace;
        return providedTaskDefinitions().map((d) => makeTask({ ...d }, scope, deps));
      },
      resolveTask: (task) => {
        if (task.definition.type !== TASK_TYPE) return undefined;
        const scope = task.scope ?? vscode.TaskScope.Workspace;
        return makeTask(task.definition, scope, deps, task.name);
      },
    });
    ctx.subscriptions.push(registration);
    ctx.log.info('tasks: qemu-migration task provider registered');
  };
  register();
  if (!vscode.workspace.isTrusted) ctx.log.info('tasks: none offered in an untrusted workspace (they launch QEMU)');
  // Tasks launch QEMU: only once the workspace is trusted.
  ctx.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(register));
}
